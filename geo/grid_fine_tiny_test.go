package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/paulmach/orb"
)

// TestFineCellsTinyZonesEveryHemisphere: tiny boxes, triangles and circles
// (centimetres to metres) whose corners sit on fine-cell and cell
// boundaries, in all four hemispheres (negative cell indexes) and at high
// latitude, answer as the brute force at their corners, a few units in the
// last place around them, and points at random within a metre.
func TestFineCellsTinyZonesEveryHemisphere(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 5))
	var zs []Zone
	var anchors []orb.Point
	// Points of each circle's slack: up to boundarySlack beyond its
	// radius, which its test takes in.
	var rims []orb.Point
	for _, base := range []orb.Point{{5.0, 52.0}, {-73.95, 40.75}, {151.2, -33.85}, {-58.4, -34.6}, {18.95, 69.65}, {-0.05, -0.05}} {
		for i := 0; i < 40; i++ {
			sh := 2 + r.IntN(3)
			f := gridDeg / float64(int(1)<<sh)
			cx := math.Floor(base[0]/gridDeg)*gridDeg + float64(r.IntN(3)-1)*gridDeg
			cy := math.Floor(base[1]/gridDeg)*gridDeg + float64(r.IntN(3)-1)*gridDeg
			a := orb.Point{cx + float64(r.IntN(1<<sh+1))*f, cy + float64(r.IntN(1<<sh+1))*f}
			d := []float64{1e-7, 3e-7, 1e-6, 1e-5}[r.IntN(4)]
			anchors = append(anchors, a)
			id := fmt.Sprintf("TINY%03d", len(zs))
			var sh2 Shape
			switch i % 3 {
			case 0:
				x0, y0 := a[0]-d*float64(r.IntN(2)), a[1]-d*float64(r.IntN(2))
				sh2 = Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{{{x0, y0}, {x0 + d, y0}, {x0 + d, y0 + d}, {x0, y0 + d}, {x0, y0}}}}}
			case 1:
				sh2 = Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{{a, {a[0] + d, a[1] + d/3}, {a[0] - d/2, a[1] + d}, a}}}}
			default:
				// The circle's edge 2.5 cm short of the fine-cell boundary
				// through a, so that only its slack crosses the boundary.
				rad := []float64{0.01, 0.05, 0.3, 2}[r.IntN(4)]
				sgn := float64(1 - 2*r.IntN(2))
				c := orb.Point{a[0] + sgn*(rad+0.025)/(111_320*math.Cos(a[1]*math.Pi/180)), a[1]}
				sh2 = Shape{Kind: ShapeCircle, Center: c, Radius: rad}
				rims = append(rims, orb.Point{a[0] - sgn*0.01/(111_320*math.Cos(a[1]*math.Pi/180)), a[1]})
				a = c
				for k := 0; k < 16; k++ {
					m := sh2.Radius + boundarySlack*(0.5+0.45*r.Float64())
					th := r.Float64() * 2 * math.Pi
					rims = append(rims, orb.Point{a[0] + m*math.Cos(th)/(111_320*math.Cos(a[1]*math.Pi/180)), a[1] + m*math.Sin(th)/110_574})
				}
			}
			zs = append(zs, Zone{ID: id, Restriction: Prohibited, Volumes: []Volume{{Shape: sh2, Lower: OpenLimit, Upper: OpenLimit}}})
		}
	}
	ix := mustIndex(t, zs...)
	brute := *ix
	brute.scanAll = true
	hits := 0
	for _, a := range anchors {
		for k := 0; k < 60; k++ {
			p := a
			switch k % 3 {
			case 0:
				for j := r.IntN(4); j > 0; j-- {
					p[0] = math.Nextafter(p[0], p[0]+r.Float64()*2-1)
					p[1] = math.Nextafter(p[1], p[1]+r.Float64()*2-1)
				}
			case 1:
				p[0] += (r.Float64()*2 - 1) * 2e-5
				p[1] += (r.Float64()*2 - 1) * 2e-5
			default:
				p[0] += (r.Float64()*2 - 1) * 2e-7
				p[1] += (r.Float64()*2 - 1) * 2e-7
			}
			if !pointOK(p) {
				continue
			}
			q := PositionQuery{Point: p, At: t0, Alt: Altitude{Metres: 10, Ref: AGL}}
			got, want := ix.CheckPosition(q, nil), brute.CheckPosition(q, nil)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("position %v: index %v, brute force %v", p, hitIDs(got), hitIDs(want))
			}
			hits += len(got)
		}
	}
	for _, p := range rims {
		q := PositionQuery{Point: p, At: t0, Alt: Altitude{Metres: 10, Ref: AGL}}
		got, want := ix.CheckPosition(q, nil), brute.CheckPosition(q, nil)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("position %v in a circle's slack: index %v, brute force %v", p, hitIDs(got), hitIDs(want))
		}
		hits += len(got)
	}
	if hits == 0 {
		t.Fatal("no hits compared")
	}
	t.Logf("%d hits compared", hits)
}
