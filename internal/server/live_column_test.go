package server

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
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

// layeredZones are zones of several volumes that differ in shape by
// height, around (5.0, 52.0), for TestLiveHeightsMatchCheckPosition:
//
//	          W-CAKE                 W-HIGH (from 90 m, to the east)
//	150 m  ┌───────────────┐
//	       │   r 2,000 m   │       W-SIDE: west half 0–100 m AGL,
//	 60 m  └───┐       ┌───┘               east half 50–200 m AMSL
//	           │ r 600 │           W-SCHED 0–120 m, 12:30–13:00 UTC daily
//	  0 m ─────┴───────┴─────      W-INFO everywhere, informative
func layeredZones() []geo.Zone {
	c := orb.Point{5.0, 52.0}
	circle := func(p orb.Point, r, lo float64, loRef geo.VerticalRef, hi float64, hiRef geo.VerticalRef) geo.Volume {
		v := geo.Volume{Shape: geo.Shape{Kind: geo.ShapeCircle, Center: p, Radius: r}, Lower: geo.Limit{Metres: lo, Ref: loRef}, Upper: geo.Limit{Metres: hi, Ref: hiRef}}
		if hi == 0 {
			v.Upper = geo.OpenLimit
		}
		return v
	}
	box := func(w, s, e, n, lo float64, loRef geo.VerticalRef, hi float64, hiRef geo.VerticalRef) geo.Volume {
		return geo.Volume{Shape: geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{{{{w, s}, {e, s}, {e, n}, {w, n}, {w, s}}}}},
			Lower: geo.Limit{Metres: lo, Ref: loRef}, Upper: geo.Limit{Metres: hi, Ref: hiRef}}
	}
	return []geo.Zone{
		{ID: "W-CAKE", Name: "cake", Restriction: geo.Prohibited, Volumes: []geo.Volume{
			circle(c, 2000, 60, geo.AGL, 150, geo.AGL), circle(c, 600, 0, geo.AGL, 60, geo.AGL)}},
		{ID: "W-SIDE", Name: "sides", Restriction: geo.ReqAuthorisation, Volumes: []geo.Volume{
			box(4.985, 51.995, 5.0, 52.005, 0, geo.AGL, 100, geo.AGL), box(5.0, 51.995, 5.015, 52.005, 50, geo.AMSL, 200, geo.AMSL)}},
		{ID: "W-HIGH", Name: "high", Restriction: geo.Prohibited, Volumes: []geo.Volume{circle(orb.Point{5.012, 52.0}, 1500, 90, geo.AGL, 0, 0)}},
		{ID: "W-SCHED", Name: "scheduled", Restriction: geo.Prohibited, Volumes: []geo.Volume{circle(orb.Point{4.99, 52.004}, 800, 0, geo.AGL, 120, geo.AGL)},
			Applicability: geo.Applicability{Periods: []geo.Period{{Schedule: []geo.DailyPeriod{{Days: geo.AllDays, Start: 45000, End: 46800}}}}}},
		{ID: "W-INFO", Name: "info", Restriction: geo.NoRestriction, Volumes: []geo.Volume{circle(c, 5000, 0, geo.AGL, 0, 0)}},
	}
}

// TestLiveHeightsMatchCheckPosition: along random tracks through zones of
// several volumes that differ in shape by height, with hovering (the same
// point and instant at other heights), across a zone's schedule and an
// exemption's end, every answer of a batch and of a stream (its verdict,
// zones and height limit) is CheckPosition's at that position, for a unit
// holding an exemption there and for one holding none (whose limits are
// kept from one position to the next).
func TestLiveHeightsMatchCheckPosition(t *testing.T) {
	zones := layeredZones()
	store, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	srv, err := New(context.Background(), Config{
		Load:       func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log:        slog.New(slog.DiscardHandler),
		Now:        func() time.Time { return clock },
		Exemptions: store,
		Fleet:      &FleetConfig{Registry: exemptions.RegistryEnforced, Ceiling: exemptions.DefaultCeiling},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ex := record()
	ex.ZoneIds, ex.CeilingM, ex.ValidUntil = []string{"W-SIDE"}, 80, timestamppb.New(clock.Add(30*time.Minute))
	if _, err := (&exemptionServer{s: srv}).CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: ex}); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(15, 4))
	// 11:30 to 13:50: across W-SCHED's half hour and the
	// exemption's end at 12:30.
	var ps []*noflyv1.TelemetryPosition
	// Legs of 10 positions 30 or 200 m apart from random points around
	// the zones, each fifth position hovering (the same point and
	// instant).
	var lat, lon, bearing, step float64
	at := clock.Add(-30 * time.Minute)
	for i := range 600 {
		if i%10 == 0 {
			lat, lon, bearing = 51.98+r.Float64()*0.04, 4.97+r.Float64()*0.06, r.Float64()*2*math.Pi
			step = float64(30 + 170*(i/10%2))
		}
		if i%5 != 4 {
			lat += step * math.Cos(bearing) / 111_320
			lon += step * math.Sin(bearing) / (111_320 * math.Cos(lat*math.Pi/180))
			at = at.Add(14 * time.Second)
		}
		ps = append(ps, telemetry(at, lat, lon, float64(r.IntN(220))))
	}
	for _, unit := range []string{"AMS", "XYZ"} {
		t.Run(unit, func(t *testing.T) {
			lf := liveFlightAMS()
			lf.Operator.Unit = unit
			batch, err := srv.CheckPositions(ctx, &noflyv1.CheckPositionsRequest{Flight: lf, Positions: ps})
			if err != nil {
				t.Fatal(err)
			}
			stream := &fakeMonitorStream{ctx: ctx, msgs: []*noflyv1.MonitorFlightRequest{{Kind: &noflyv1.MonitorFlightRequest_Start{Start: &noflyv1.MonitorFlightStart{Flight: lf}}}}}
			m, err := srv.startMonitor(ctx, stream.msgs[0])
			if err != nil {
				t.Fatal(err)
			}
			limits, verdicts := map[string]int{}, map[noflyv1.Verdict]int{}
			for i, p := range ps {
				one, err := srv.CheckPosition(ctx, &noflyv1.CheckPositionRequest{
					Position: &noflyv1.Position{Latitude: p.Latitude, Longitude: p.Longitude}, Altitude: alt(*p.AltitudeM),
					At: p.At, Operator: lf.Operator, Purpose: lf.Purpose})
				if err != nil {
					t.Fatal(err)
				}
				var conflicts, uncovered, advisories []string
				for _, c := range one.Conflicts {
					conflicts = append(conflicts, c.Zone.Id)
					if c.Exemption == nil {
						uncovered = append(uncovered, c.Zone.Id)
					}
				}
				for _, a := range one.Advisories {
					advisories = append(advisories, a.Zone.Id)
				}
				a := batch.Answers[i]
				if a.Verdict != one.Verdict || !slices.Equal(a.ConflictZoneIds, conflicts) || !slices.Equal(a.UncoveredZoneIds, uncovered) ||
					!slices.Equal(a.AdvisoryZoneIds, advisories) || !proto.Equal(a.HeightLimit, one.HeightLimit) || one.HeightLimit == nil {
					t.Fatalf("position %d %v at %v m, %v: batch %v %v/%v %v %s, CheckPosition %v %v/%v %v %s", i, p.At.AsTime().Format(time.TimeOnly), *p.AltitudeM, []float64{p.Longitude, p.Latitude},
						a.Verdict, a.ConflictZoneIds, a.UncoveredZoneIds, a.AdvisoryZoneIds, limitString(a.HeightLimit),
						one.Verdict, conflicts, uncovered, advisories, limitString(one.HeightLimit))
				}
				q := checkTelemetry(&badRequest{}, positionField, p, &m.lf)
				resp, err := m.positions(ctx, []livePosition{q})
				if err != nil {
					t.Fatal(err)
				}
				if resp.Verdict != one.Verdict || !proto.Equal(resp.HeightLimit, one.HeightLimit) {
					t.Fatalf("position %d: stream %v %s, CheckPosition %v %s", i, resp.Verdict, limitString(resp.HeightLimit), one.Verdict, limitString(one.HeightLimit))
				}
				limits[limitString(one.HeightLimit)]++
				verdicts[one.Verdict]++
			}
			t.Log(verdicts, limits)
			if len(limits) < 4 || len(verdicts) < 2 {
				t.Errorf("the track meets too little")
			}
		})
	}
}

// TestCheckTelemetryAllocs: a valid position is checked without putting
// its field paths together; a bad one's problems are at its path.
func TestCheckTelemetryAllocs(t *testing.T) {
	lf := liveFlight{ref: geo.AGL}
	p := telemetry(clock, 52.0, 5.0, 60)
	i := 17
	field := func() string { return "positions[" + strconv.Itoa(i) + "]" }
	var b badRequest
	if n := testing.AllocsPerRun(100, func() { checkTelemetry(&b, field, p, &lf) }); n != 0 || len(b.violations) != 0 {
		t.Errorf("a valid position: %v allocations, %v", n, b.violations)
	}
	bad := telemetry(clock, 91, 5.0, 60)
	bad.AltitudeM = nil
	checkTelemetry(&b, field, bad, &lf)
	checkTelemetry(&b, field, nil, &lf)
	var got []string
	for _, v := range b.violations {
		got = append(got, v.Field)
	}
	if want := []string{"positions[17].latitude", "positions[17].altitude_m", "positions[17]"}; !slices.Equal(got, want) {
		t.Errorf("fields %q, want %q", got, want)
	}
}

// TestCheckPositionsSharedSummaries: batches on one zone set share each
// zone's summary, which is the zone's as a check gives it, and marshal
// them at the same time (run with -race).
func TestCheckPositionsSharedSummaries(t *testing.T) {
	zones := layeredZones()
	srv, err := New(context.Background(), Config{
		Load: func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log:  slog.New(slog.DiscardHandler), Now: func() time.Time { return clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	req := &noflyv1.CheckPositionsRequest{Flight: liveFlightAMS()}
	for i := range 50 {
		req.Positions = append(req.Positions, telemetry(clock, 52.0, 4.97+float64(i)*0.001, 80))
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	resps := make([]*noflyv1.CheckPositionsResponse, 4)
	for g := range resps {
		wg.Go(func() {
			for range 20 {
				r, err := srv.CheckPositions(ctx, req)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := proto.Marshal(r); err != nil {
					t.Error(err)
				}
				resps[g] = r
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	var ids []string
	for i, z := range resps[0].Zones {
		ids = append(ids, z.Id)
		if resps[1].Zones[i] != z {
			t.Errorf("zone %s: the batches' summaries are not shared", z.Id)
		}
		for j := range zones {
			if zones[j].ID == z.Id && !proto.Equal(z, summaryToProto(&zones[j])) {
				t.Errorf("zone %s: summary %v, want %v", z.Id, z, summaryToProto(&zones[j]))
			}
		}
	}
	if want := []string{"W-CAKE", "W-INFO", "W-SIDE"}; !slices.Equal(ids, want) {
		t.Errorf("zones %v, want %v", ids, want)
	}
}
