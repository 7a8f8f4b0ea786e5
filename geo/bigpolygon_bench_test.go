package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// BenchmarkBigPolygon shows that a check against one polygon grows with
// far less than its vertex count: containment looks at one band of edges,
// distances at the edges near the flight. The polygon is a wavy ring of
// short edges, as real boundaries are (the Swiss zones' largest ring has
// 4,696 vertices). Besides the wall clock it reports the CPU time of the
// benchmark's own thread (cpu-ns/op), which other work on a shared machine
// does not inflate: the points lie all over the polygon, so that a 100,000-
// vertex ring's bands, points and R-tree (several MB) are read from the
// shared cache or memory, and the wall time follows whatever else runs.
func BenchmarkBigPolygon(b *testing.B) {
	for _, n := range []int{100, 1000, 10_000, 100_000} {
		r := rand.New(rand.NewPCG(9, uint64(n)))
		c := orb.Point{7.5, 46.8}
		f := newFrame(c[0], c[1])
		ring := make(orb.Ring, 0, n+1)
		for k := 0; k < n; k++ {
			a := 2 * math.Pi * float64(k) / float64(n)
			rr := 30_000 * (1 + 0.2*math.Sin(7*a) + 0.05*math.Sin(53*a))
			ring = append(ring, f.lonlat(vec{rr * math.Cos(a), rr * math.Sin(a)}))
		}
		ring = append(ring, ring[0])
		ix := mustIndex(b, polyZone("BIG", ring))
		pts := make([]orb.Point, 1024)
		for i := range pts {
			pts[i] = f.lonlat(vec{(r.Float64() - 0.5) * 60_000, (r.Float64() - 0.5) * 60_000})
		}
		b.Run(fmt.Sprintf("position/vertices=%d", n), func(b *testing.B) {
			dst := make([]Hit, 0, 4)
			i := 0
			b.ReportAllocs()
			defer benchThreadCPU(b)()
			for b.Loop() {
				dst = ix.CheckPosition(PositionQuery{Point: pts[i%len(pts)], At: t0}, dst[:0])
				i++
			}
		})
		b.Run(fmt.Sprintf("route/vertices=%d", n), func(b *testing.B) {
			i := 0
			b.ReportAllocs()
			defer benchThreadCPU(b)()
			for b.Loop() {
				p := pts[i%len(pts)]
				q := RouteQuery{Buffer: 50, Window: TimeWindow{t0, t0.Add(time.Hour)},
					Waypoints: []Waypoint{{Point: p}, {Point: orb.Point{p[0] + 0.01, p[1] + 0.005}}}}
				if _, err := ix.CheckRoute(q); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// benchThreadCPU locks the benchmark to its thread and starts its CPU
// clock; the function it returns reports cpu-ns/op over b.N.
func benchThreadCPU(b *testing.B) func() {
	runtime.LockOSThread()
	start, ok := threadCPU()
	return func() {
		if end, ok2 := threadCPU(); ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
		runtime.UnlockOSThread()
	}
}
