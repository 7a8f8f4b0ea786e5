package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// locateRef is ring.locate as it was written before its loops read the
// latitudes in place: spans and edgeCase on whole points.
func locateRef(r *ring, p orb.Point) (inside, onEdge bool) {
	if !r.bound.Contains(p) {
		return false, false
	}
	if r.bands == nil {
		for i := 0; i+1 < len(r.pts); i++ {
			if spans(p, r.pts[i], r.pts[i+1]) && edgeCase(p, r.pts[i], r.pts[i+1], &inside) {
				return true, true
			}
		}
		return inside, false
	}
	for _, i := range r.bands[r.band(p[1])] {
		if spans(p, r.pts[i], r.pts[i+1]) && edgeCase(p, r.pts[i], r.pts[i+1], &inside) {
			return true, true
		}
	}
	return inside, false
}

// TestLocateMatchesReference: locate gives both answers of the reference
// for small rings (no bands) and big ones (bands), for random points in
// and around the ring's box and for points on it: vertices, edge
// midpoints, points a hair off them, and points at a vertex's latitude
// (where a ray meets an edge's end).
func TestLocateMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 7))
	c := orb.Point{7.5, 46.8}
	f := newFrame(c[0], c[1])
	wavy := func(n int) orb.Ring {
		ring := make(orb.Ring, 0, n+1)
		for k := 0; k < n; k++ {
			a := 2 * math.Pi * float64(k) / float64(n)
			rr := 30_000 * (1 + 0.2*math.Sin(7*a) + 0.05*math.Sin(53*a))
			ring = append(ring, f.lonlat(vec{rr * math.Cos(a), rr * math.Sin(a)}))
		}
		return append(ring, ring[0])
	}
	rings := []orb.Ring{
		{{7, 46}, {7.1, 46}, {7.1, 46.1}, {7, 46.1}, {7, 46}}, // axis-aligned: horizontal edges
		star(r, orb.Point{7, 46}, 2000, 40),
		star(r, orb.Point{-70, -33}, 5000, 64),
		star(r, orb.Point{7, 46}, 20000, 65),
		star(r, orb.Point{170, 60}, 20000, 3000),
		wavy(10_000),
	}
	if !testing.Short() {
		rings = append(rings, wavy(100_000))
	}
	points := 20_000
	if testing.Short() {
		points = 4_000
	}
	nIn, nOn := 0, 0
	for _, pts := range rings {
		rg := newRing(pts)
		check := func(p orb.Point) {
			t.Helper()
			in, on := rg.locate(p)
			win, won := locateRef(&rg, p)
			if in != win || on != won {
				t.Fatalf("%d vertices, %v: locate (in %v, on %v), reference (in %v, on %v)", len(pts)-1, p, in, on, win, won)
			}
			if in {
				nIn++
			}
			if on {
				nOn++
			}
		}
		b := rg.bound
		w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
		for range points {
			check(orb.Point{b.Min[0] - 0.1*w + 1.2*w*r.Float64(), b.Min[1] - 0.1*h + 1.2*h*r.Float64()})
		}
		for range points / 4 {
			i := r.IntN(len(pts) - 1)
			a, e := pts[i], pts[i+1]
			tt := r.Float64()
			mid := orb.Point{a[0] + (e[0]-a[0])*tt, a[1] + (e[1]-a[1])*tt}
			check(a)
			check(mid)
			check(orb.Point{mid[0] + (r.Float64()-0.5)*1e-9, mid[1]})
			check(orb.Point{a[0] + (r.Float64()-0.5)*w, a[1]})
			check(orb.Point{math.Nextafter(a[0], math.Inf(1)), a[1]})
		}
	}
	if nIn == 0 || nOn == 0 {
		t.Fatalf("the points found %d inside and %d on a boundary: the test does not test", nIn, nOn)
	}
}
