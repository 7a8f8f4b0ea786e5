package geo

import (
	"fmt"
	"testing"

	"github.com/paulmach/orb"
)

// TestCellsNearlyHorizontalEdge: an edge so close to horizontal that its
// slope (longitude per latitude) times the margin overflows an int when
// turned into a cell index (an edge along the equator whose ends differ in
// latitude by rounding noise; or by a subnormal, the slope infinite) still
// marks the cells it passes through as edge cells: a point just inside it
// must be found in the zone.
func TestCellsNearlyHorizontalEdge(t *testing.T) {
	for _, dy := range []float64{5e-324, 1e-310, 1e-30, 1e-25, 1e-20} {
		// Inside: above the edge (0.01, 0) → (1, dy); a spike down to
		// −0.3 puts lat 0 in a row's middle.
		ring := orb.Ring{{0, 1}, {0, -0.3}, {0.01, -0.3}, {0.01, 0}, {1, dy}, {1, 1}, {0, 1}}
		z := Zone{ID: "EQ", Restriction: Prohibited, Volumes: []Volume{{
			Shape: Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{ring}}}, Lower: OpenLimit, Upper: OpenLimit}}}
		ix := mustIndex(t, z)
		brute := *ix
		brute.scanAll = true
		bad := 0
		for i := 1; i < 100; i++ {
			for _, lat := range []float64{1e-9, 1e-6, 1e-4, 1e-3, 5e-3, -1e-9, -1e-6, -1e-3} {
				p := orb.Point{0.01 + 0.99*float64(i)/100, lat}
				q := PositionQuery{Point: p, At: t0, Alt: Altitude{Metres: 10, Ref: AGL}}
				got, want := ix.CheckPosition(q, nil), brute.CheckPosition(q, nil)
				if len(got) != len(want) {
					if bad++; bad < 5 {
						t.Errorf("dy %g, position %v: index %d hits, ring test %d", dy, p, len(got), len(want))
					}
				}
			}
		}
		if bad > 0 {
			t.Errorf("dy %g: %s", dy, fmt.Sprint(bad, " positions wrong"))
		}
	}
}
