package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/paulmach/orb"
)

// TestCellsThinShapesMatchBruteForce: CheckPosition answers as a scan of
// every volume with the ring test for random jagged polygons (some with a
// hole) from a micrometre to a hundred kilometres across, as thin as
// 10⁻¹⁴ of their width, many within 10⁻⁶° of the equator, at random points
// of their boxes and at points within 10⁻¹⁵ to 10⁻⁷ of their size of their
// edges. Rings the index refuses (too thin to enclose an area once
// rounded) are left out.
func TestCellsThinShapesMatchBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	compared := 0
	for round := 0; round < 60; round++ {
		var zs []Zone
		for i := 0; i < 30; i++ {
			c := orb.Point{r.Float64()*358 - 179, r.Float64()*170 - 85}
			if r.IntN(3) == 0 {
				c[1] = (r.Float64() - 0.5) * math.Pow(10, -20+r.Float64()*14)
			}
			sx := math.Pow(10, -6+r.Float64()*6)
			sy := min(2.0, sx*math.Pow(10, -14+r.Float64()*18))
			n := 3 + r.IntN(40)
			ring := orb.Ring{}
			for k := 0; k < n; k++ {
				a := 2 * math.Pi * float64(k) / float64(n)
				rr := 0.2 + r.Float64()
				ring = append(ring, orb.Point{c[0] + sx*rr*math.Cos(a), c[1] + sy*rr*math.Sin(a)})
			}
			ring = append(ring, ring[0])
			pg := orb.Polygon{ring}
			if r.IntN(2) == 0 {
				hole := orb.Ring{}
				for k := 0; k < 6; k++ {
					a := -2 * math.Pi * float64(k) / 6
					hole = append(hole, orb.Point{c[0] + 0.1*sx*math.Cos(a), c[1] + 0.1*sy*math.Sin(a)})
				}
				pg = append(pg, append(hole, hole[0]))
			}
			z1 := Zone{ID: fmt.Sprintf("Z%02d", i), Restriction: Prohibited, Volumes: []Volume{{
				Shape: Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{pg}}, Lower: OpenLimit, Upper: OpenLimit}}}
			if _, err := NewIndex([]Zone{z1}); err == nil {
				zs = append(zs, z1)
			}
		}
		ix, err := NewIndex(zs)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		brute := *ix
		brute.scanAll = true
		for vi := range ix.vols {
			v := &ix.vols[vi]
			b := v.bound
			for k := 0; k < 400; k++ {
				compared++
				var p orb.Point
				if k%2 == 0 {
					p = orb.Point{b.Min[0] + r.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + r.Float64()*(b.Max[1]-b.Min[1])}
				} else {
					rg := v.poly.polys[0][r.IntN(len(v.poly.polys[0]))].pts
					e := r.IntN(len(rg) - 1)
					p = lerpLL(rg[e], rg[e+1], r.Float64())
					d := math.Pow(10, -15+r.Float64()*8) * (b.Max[1] - b.Min[1] + b.Max[0] - b.Min[0])
					p[0] += d * (r.Float64()*2 - 1)
					p[1] += d * (r.Float64()*2 - 1)
				}
				if !pointOK(p) {
					continue
				}
				q := PositionQuery{Point: p, At: t0, Alt: Altitude{Metres: 10, Ref: AGL}}
				got, want := ix.CheckPosition(q, nil), brute.CheckPosition(q, nil)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("round %d, position %v: index %v, brute force %v", round, p, hitIDs(got), hitIDs(want))
				}
			}
		}
	}
	if compared < 100000 {
		t.Errorf("%d positions compared", compared)
	}
}
