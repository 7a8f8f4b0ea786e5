package server

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// ceilingZones makes n random circular zones near (4.8, 52.3): one or two
// volumes each, lower limits from the ground or above it, in AGL or AMSL,
// in whole metres or feet, every restriction, and some active only part
// of the time.
func ceilingZones(r *rand.Rand, n int) []geo.Zone {
	refs := []geo.VerticalRef{geo.AGL, geo.AGL, geo.AMSL}
	var zones []geo.Zone
	for i := range n {
		z := geo.Zone{ID: fmt.Sprintf("C%03d", i), Restriction: geo.Restriction(1 + r.IntN(4))}
		c := orb.Point{4.7 + 0.2*r.Float64(), 52.25 + 0.1*r.Float64()}
		for range 1 + r.IntN(5)/4 {
			v := geo.Volume{Lower: geo.OpenLimit, Upper: geo.OpenLimit,
				Shape: geo.Shape{Kind: geo.ShapeCircle, Center: c, Radius: 300 + 1500*r.Float64()}}
			if r.IntN(4) > 0 {
				v.Lower = geo.Limit{Metres: float64(r.IntN(4) * 10 * r.IntN(8)), Ref: refs[r.IntN(3)]}
				if r.IntN(2) == 0 {
					v.Lower.Metres = geo.FeetToMetres(float64(r.IntN(400))) // not whole metres
				}
			}
			if r.IntN(3) > 0 {
				v.Upper = geo.Limit{Metres: float64(150 + r.IntN(300)), Ref: refs[r.IntN(3)]}
			}
			z.Volumes = append(z.Volumes, v)
			c = orb.Point{c[0] + 0.01*r.Float64(), c[1] + 0.005*r.Float64()}
		}
		if r.IntN(5) == 0 {
			z.Applicability.Periods = []geo.Period{{Start: clock.Add(-time.Hour), End: clock.Add(time.Duration(r.IntN(3)-1) * time.Hour)}}
		}
		zones = append(zones, z)
	}
	return zones
}

// referencePositionLimit is the height limit as first built: a position
// check of the index at every height HighestCleared asks for.
func referencePositionLimit(idx *geo.Index, q geo.PositionQuery, f exemptions.Flight, snap *exemptions.Snapshot, fl *exemptions.Fleet) *noflyv1.HeightLimit {
	probe := func(a geo.Altitude) []geo.Hit {
		pq := q
		pq.Alt = a
		return idx.CheckPosition(pq, nil)
	}
	return heightLimitToProto(exemptions.HighestCleared(probe(geo.Altitude{}), probe, f, snap, fl, q.At), 0)
}

// TestPositionHeightLimitExact: on random zones, the height limit of
// CheckPosition (answered from the position's column) is the one a check
// at every height gives, and it is exact: the flight is cleared at the
// limit and not a metre above it, blocked at the ground when it says so.
func TestPositionHeightLimitExact(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 3))
	zones := ceilingZones(r, 60)
	s, err := New(context.Background(), Config{Load: func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return clock },
		Fleet: &FleetConfig{Ceiling: exemptions.DefaultCeiling}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	check := func(lat, lon float64, a *noflyv1.Altitude) *noflyv1.CheckPositionResponse {
		t.Helper()
		resp, err := s.CheckPosition(ctx, &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: lat, Longitude: lon},
			Altitude: a, At: timestamppb.New(clock), Operator: &noflyv1.Operator{Unit: "U-1"}, View: noflyv1.CheckView(r.IntN(3))})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	kinds := map[noflyv1.HeightLimitKind]int{}
	byZone := 0 // limited below the general ceiling
	for range 1500 {
		lat, lon := 52.24+0.13*r.Float64(), 4.68+0.25*r.Float64()
		var a *noflyv1.Altitude
		if r.IntN(2) == 0 {
			a = alt(float64(r.IntN(200)))
		}
		got := check(lat, lon, a).GetHeightLimit()
		set := s.current()
		req := &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: lat, Longitude: lon}, Altitude: a,
			At: timestamppb.New(clock), Operator: &noflyv1.Operator{Unit: "U-1"}}
		c, err := newPositionCheck(set.idx, req, clock)
		if err != nil {
			t.Fatal(err)
		}
		want := referencePositionLimit(set.idx, c.q, c.f, s.snapshot(), s.rules())
		if !proto.Equal(got, want) {
			t.Fatalf("(%v, %v) at %v: height limit %v, by a check at every height %v", lat, lon, a, got, want)
		}
		kinds[got.GetKind()]++
		switch got.GetKind() {
		case noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_BLOCKED:
			if v := check(lat, lon, alt(0)).GetVerdict(); v == noflyv1.Verdict_VERDICT_CLEAR || v == noflyv1.Verdict_VERDICT_EXEMPTED {
				t.Fatalf("(%v, %v): blocked from the ground, but %v at 0 m", lat, lon, v)
			}
		case noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_LIMITED:
			m := got.GetMetres()
			if m < 120 {
				byZone++
			}
			if v := check(lat, lon, alt(m)).GetVerdict(); v != noflyv1.Verdict_VERDICT_CLEAR && v != noflyv1.Verdict_VERDICT_EXEMPTED {
				t.Fatalf("(%v, %v): limited to %v m, but %v there", lat, lon, m, v)
			}
			if v := check(lat, lon, alt(m+1)).GetVerdict(); v == noflyv1.Verdict_VERDICT_CLEAR || v == noflyv1.Verdict_VERDICT_EXEMPTED {
				t.Fatalf("(%v, %v): limited to %v m, but %v a metre above", lat, lon, m, v)
			}
		default:
			t.Fatalf("(%v, %v): %v under a general ceiling", lat, lon, got)
		}
	}
	if kinds[noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_BLOCKED] < 100 || kinds[noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_LIMITED] < 100 || byZone < 50 {
		t.Fatalf("height limits met: %v, %d below the general ceiling; the zones do not exercise every kind", kinds, byZone)
	}
}
