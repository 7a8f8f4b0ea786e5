package geo

import (
	"math"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// TestAheadAccuracy: a point Ahead lies at the asked distance and bearing,
// as the geodesic measures them, within the frame's bound.
func TestAheadAccuracy(t *testing.T) {
	for _, lat := range []float64{0, 30, 52, 60, -45} {
		for _, bearing := range []float64{0, 45, 90, 180, 271} {
			for _, d := range []float64{10, 1000, MaxLookAhead} {
				p := orb.Point{4.5, lat}
				q := Ahead(p, bearing, d)
				gb, gd := Course(p, q)
				f := newFrame(p[0], p[1])
				bound := f.relErr(math.Abs(q[1]-p[1]), math.Abs(q[0]-p[0])) * d
				if math.Abs(gd-d) > bound+1e-6 {
					t.Errorf("lat %v bearing %v: %v m ahead is %v m away (bound %v m)", lat, bearing, d, gd, bound)
				}
				// The geodesic's bearing drifts from the straight lon/lat
				// track's by less than the meridian convergence over it,
				// Δλ·sin φ (measured: three quarters of it for a track at 45°).
				conv := math.Abs(q[0]-p[0]) * math.Abs(math.Sin(lat*rad))
				if db := math.Abs(math.Remainder(gb-bearing, 360)); db > 0.8*conv+1e-3 {
					t.Errorf("lat %v bearing %v, %v m: geodesic bearing %v", lat, bearing, d, gb)
				}
			}
		}
	}
}

// TestApproaches: the distance along a look-ahead track to a zone's
// boundary, for a square and a circle, from outside and from inside.
//
//	 from ──────────▶ ┌──────┐          ( circle )
//	4.97              │  SQ  │ 5.01
//	                  └──────┘
func TestApproaches(t *testing.T) {
	sq := orb.Ring{{4.99, 51.995}, {5.01, 51.995}, {5.01, 52.005}, {4.99, 52.005}, {4.99, 51.995}}
	high := polyZone("HIGH", orb.Ring{{4.98, 51.99}, {5.0, 51.99}, {5.0, 52.01}, {4.98, 52.01}, {4.98, 51.99}})
	high.Volumes[0].Lower = Limit{Metres: 200, Ref: AGL}
	ix := mustIndex(t, polyZone("SQ", sq), circleZone("C", orb.Point{5.1, 52}, 500), high)
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	alt := Altitude{Metres: 50, Ref: AGL}
	tests := []struct {
		name     string
		from, to orb.Point
		want     map[string]float64 // zone → entry, metres
	}{
		{"east into the square", orb.Point{4.97, 52}, orb.Point{5.0, 52}, map[string]float64{"SQ": Distance(orb.Point{4.97, 52}, orb.Point{4.99, 52})}},
		{"inside the square", orb.Point{5.0, 52}, orb.Point{5.02, 52}, map[string]float64{"SQ": 0}},
		{"east into the circle", orb.Point{5.05, 52}, orb.Point{5.1, 52}, map[string]float64{"C": Distance(orb.Point{5.05, 52}, orb.Point{5.1, 52}) - 500}},
		{"short of the square", orb.Point{4.97, 52}, orb.Point{4.985, 52}, map[string]float64{}},
		{"away from the square", orb.Point{4.97, 52}, orb.Point{4.95, 52}, map[string]float64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ix.Approaches(ApproachQuery{From: tc.from, To: tc.to, Alt: alt, Window: Instant(t0)})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d approaches %v, want %v", len(got), got, tc.want)
			}
			for _, a := range got {
				want, ok := tc.want[a.Zone.ID]
				if !ok {
					t.Fatalf("unexpected zone %s", a.Zone.ID)
				}
				// The circle is geodesic and the track a lon/lat line: a
				// centimetre; the square's edge is met exactly.
				if math.Abs(a.Entry-want) > 0.05 {
					t.Errorf("%s: entry %.3f m, want %.3f m", a.Zone.ID, a.Entry, want)
				}
			}
		})
	}
}
