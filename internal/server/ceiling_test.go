package server

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
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

// referenceLegLimit is a leg's height limit as first built: a check of the
// leg alone at every height HighestCleared asks for.
func referenceLegLimit(t *testing.T, idx *geo.Index, q geo.RouteQuery, i int, f exemptions.Flight, snap *exemptions.Snapshot, fl *exemptions.Fleet) *noflyv1.HeightLimit {
	probe := func(a geo.Altitude) []geo.Hit {
		lq := q
		lq.AltRef = a.Ref
		lq.Waypoints = []geo.Waypoint{{Point: q.Waypoints[i].Point, Alt: a.Metres}, {Point: q.Waypoints[i+1].Point, Alt: a.Metres}}
		hits, err := idx.CheckRoute(lq)
		if err != nil {
			t.Fatal(err)
		}
		return hits
	}
	f.Route = []orb.Point{q.Waypoints[i].Point, q.Waypoints[i+1].Point}
	return heightLimitToProto(exemptions.HighestCleared(probe(geo.Altitude{}), probe, f, snap, fl, q.Window.Start), i)
}

// TestRouteHeightLimitsExact: on random zones and routes, the height limit
// of each leg (answered from the route's column) is the one a check of the
// leg at every height gives, and it is exact: the leg is cleared flown at
// the limit and not a metre above it, blocked at the ground when it says
// so. The whole route's limit is the lowest of its legs'.
func TestRouteHeightLimitsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 5))
	zones := ceilingZones(r, 60)
	s, err := New(context.Background(), Config{Load: func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return clock },
		Fleet: &FleetConfig{Ceiling: exemptions.DefaultCeiling}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	plan := func(wps []*noflyv1.Waypoint, buffer float64) *noflyv1.CheckFlightPlanRequest {
		return &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{Geometry: route(wps...), BufferM: buffer,
			Start: timestamppb.New(clock), Operator: &noflyv1.Operator{Unit: "U-1"}}}
	}
	mayFly := func(v noflyv1.Verdict) bool {
		return v == noflyv1.Verdict_VERDICT_CLEAR || v == noflyv1.Verdict_VERDICT_EXEMPTED
	}
	kinds := map[noflyv1.HeightLimitKind]int{}
	for range 150 {
		buffer := float64(r.IntN(3) * 50)
		var wps []*noflyv1.Waypoint
		lat, lon := 52.24+0.13*r.Float64(), 4.68+0.25*r.Float64()
		for range 2 + r.IntN(6) {
			wps = append(wps, wp(lat, lon, float64(r.IntN(150))))
			lat, lon = lat+0.01*r.NormFloat64(), lon+0.015*r.NormFloat64()
		}
		req := plan(wps, buffer)
		resp, err := s.CheckFlightPlan(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		set := s.current()
		c, err := newPlanCheck(ctx, set.idx, req, clock)
		if err != nil {
			t.Fatal(err)
		}
		legs := resp.GetLegHeightLimits()
		if len(legs) != len(wps)-1 {
			t.Fatalf("%d legs, %d limits", len(wps)-1, len(legs))
		}
		whole := legs[0]
		for i, got := range legs {
			want := referenceLegLimit(t, set.idx, *c.pq.route, i, c.f, s.snapshot(), s.rules())
			if !proto.Equal(got, want) {
				t.Fatalf("leg %d of %v: height limit %v, by a check at every height %v", i, wps, got, want)
			}
			kinds[got.GetKind()]++
			level := func(h float64) noflyv1.Verdict {
				resp, err := s.CheckFlightPlan(ctx, plan([]*noflyv1.Waypoint{wp(wps[i].Latitude, wps[i].Longitude, h), wp(wps[i+1].Latitude, wps[i+1].Longitude, h)}, buffer))
				if err != nil {
					t.Fatal(err)
				}
				return resp.GetVerdict()
			}
			switch got.GetKind() {
			case noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_BLOCKED:
				if mayFly(level(0)) {
					t.Fatalf("leg %d of %v: blocked from the ground, but cleared at 0 m", i, wps)
				}
			case noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_LIMITED:
				if m := got.GetMetres(); !mayFly(level(m)) || mayFly(level(m+1)) {
					t.Fatalf("leg %d of %v: limited to %v m, but %v there and %v a metre above", i, wps, m, level(m), level(m+1))
				}
			default:
				t.Fatalf("leg %d: %v under a general ceiling", i, got)
			}
			if got.GetKind() < whole.GetKind() || got.GetKind() == whole.GetKind() && got.GetMetres() < whole.GetMetres() {
				whole = got
			}
		}
		if g := resp.GetHeightLimit(); g.GetKind() != whole.GetKind() || g.GetMetres() != whole.GetMetres() {
			t.Fatalf("route %v: whole %v, lowest leg %v", wps, g, whole)
		}
	}
	if kinds[noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_BLOCKED] < 50 || kinds[noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_LIMITED] < 50 {
		t.Fatalf("leg limits met: %v; the zones do not exercise both kinds", kinds)
	}
}

// TestBasicProtoSameAnswer: the unary check's BASIC answer (basicProto) is
// the message basicResultToProto builds, on random checks among random
// zones, with an exemption store (so conflicts say no record covers them).
func TestBasicProtoSameAnswer(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 6))
	zones := ceilingZones(r, 60)
	store, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s, err := New(context.Background(), Config{Load: func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return clock }, Exemptions: store,
		Fleet: &FleetConfig{Ceiling: exemptions.DefaultCeiling}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Records of the checks' unit that cover some conflicts and refuse
	// others (above their ceiling), so that the answers name records that
	// do not cover a conflict.
	exs := &exemptionServer{s: s}
	for i := range 12 {
		rec := record()
		rec.Holder.Unit, rec.ZoneIds, rec.Purposes = "U-1", nil, nil
		for j := range 4 {
			rec.ZoneIds = append(rec.ZoneIds, zones[(i*5+j*7)%len(zones)].ID)
		}
		rec.CeilingM = float64(40 + 10*(i%6))
		if _, err := exs.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: rec}); err != nil {
			t.Fatal(err)
		}
	}
	wrap := func(p checkProto) *noflyv1.CheckPositionResponse {
		return &noflyv1.CheckPositionResponse{Verdict: p.verdict, Conflicts: p.conflicts, Advisories: p.advisories, Caveats: p.caveats, Exemptions: p.applied}
	}
	compared, named := 0, 0
	for range 1000 {
		req := &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.24 + 0.13*r.Float64(), Longitude: 4.68 + 0.25*r.Float64()},
			At: timestamppb.New(clock), Operator: &noflyv1.Operator{Unit: "U-1"}}
		if r.IntN(3) > 0 {
			req.Altitude = alt(float64(r.IntN(200)))
		}
		c, err := newPositionCheck(s.current().idx, req, clock)
		if err != nil {
			t.Fatal(err)
		}
		res, _, err := s.decide(ctx, c.hits, c.f, "", clock)
		if err != nil {
			t.Fatal(err)
		}
		got, want := wrap(basicProto(&res, new(basicRoom))), wrap(basicResultToProto(&res))
		if !proto.Equal(got, want) {
			t.Fatalf("%v: basicProto\n%v\nbasicResultToProto\n%v", req, got, want)
		}
		// The handler's BASIC answer (decided without words) is the same.
		req.View = noflyv1.CheckView_CHECK_VIEW_BASIC
		resp, err := s.CheckPosition(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if h := wrap(checkProto{verdict: resp.Verdict, conflicts: resp.Conflicts, advisories: resp.Advisories, caveats: resp.Caveats,
			applied: resp.Exemptions}); !proto.Equal(h, want) {
			t.Fatalf("%v: CheckPosition BASIC\n%v\nbasicResultToProto\n%v", req, h, want)
		}
		compared += len(want.GetConflicts()) + len(want.GetAdvisories())
		for _, c := range want.GetConflicts() {
			for _, nc := range c.GetNotCovered() {
				if nc.GetExemptionId() != "" {
					named++
				}
			}
		}
	}
	if compared < 500 || named < 50 {
		t.Fatalf("only %d hits compared, %d refusals naming a record", compared, named)
	}
}
