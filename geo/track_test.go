package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
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

// TestReach: a corridor's answers to the look-ahead tracks it holds
// are Index.Approaches' to the same tracks, hit for hit (band, times,
// caveats, entry distance), over random zones of every kind, and it holds
// no track that leaves its box.
func TestReach(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	ix := mustIndex(t, richZones(r, 600, true)...)
	describe := func(as []Approach) string {
		var out []string
		for _, a := range as {
			out = append(out, fmt.Sprintf("%s%v %.9f %v %v %v %.9f", a.Zone.ID, a.Legs, a.Distance, a.Band, a.When, a.Caveats, a.Entry))
		}
		return fmt.Sprint(out)
	}
	refs := []VerticalRef{RefUnknown, AGL, AMSL, WGS84}
	held, met := 0, 0
	for i := range 300 {
		p := randomPoint(r)
		bearing := r.Float64() * 360
		length := 100 + r.Float64()*3000
		c := ix.Reach(p, bearing, 2*length, length/4)
		alt := Altitude{Metres: float64(r.IntN(400)), Ref: refs[r.IntN(len(refs))]}
		if alt.Ref == RefUnknown {
			alt.Metres = 0
		}
		for k := range 12 {
			// Along the track, turning and drifting a little, sometimes
			// out of the box.
			from := Ahead(p, bearing+90, (r.Float64()-0.5)*length*0.6)
			from = Ahead(from, bearing, float64(k)*length/6)
			q := ApproachQuery{From: from, To: Ahead(from, bearing+(r.Float64()-0.5)*40, length), Alt: alt,
				Window: TimeWindow{Start: t0.Add(time.Duration(r.IntN(48)-24) * time.Hour)}, Category: Category(r.IntN(3))}
			q.Window.End = q.Window.Start.Add(time.Duration(r.IntN(600)) * time.Second)
			want, werr := ix.Approaches(q)
			if !c.Holds(ix, q) {
				s := newSegment(q.From, q.To, 0, 0, 0, 0)
				if c.box.Contains(s.q.Min) && c.box.Contains(s.q.Max) {
					t.Fatalf("track %d.%d lies in the box but is not held", i, k)
				}
				continue
			}
			held++
			got, gerr := c.Approaches(q)
			if (gerr == nil) != (werr == nil) || describe(got) != describe(want) {
				t.Fatalf("track %d.%d %+v:\n got %s %v\nwant %s %v", i, k, q, describe(got), gerr, describe(want), werr)
			}
			if len(want) > 0 {
				met++
			}
		}
	}
	t.Logf("%d tracks held by their corridor, %d meeting zones", held, met)
	if held < 1000 || met < 200 {
		t.Errorf("the test exercises too little")
	}
	if c := ix.Reach(orb.Point{4.5, 52}, 90, 1000, 100); c.Holds(mustIndex(t, richZones(r, 3, false)...), ApproachQuery{From: orb.Point{4.5, 52}, To: orb.Point{4.501, 52}}) {
		t.Error("a corridor holds tracks on another index")
	}
}
