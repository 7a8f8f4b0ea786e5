package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/geo"
)

// limitString prints a height limit as "KIND [metres] [zone] (limited by)".
func limitString(c *noflyv1.HeightLimit) string {
	if c == nil {
		return "none"
	}
	s := strings.TrimPrefix(c.Kind.String(), "HEIGHT_LIMIT_KIND_")
	if c.Kind == noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_LIMITED {
		s += fmt.Sprintf(" %.0f", c.Metres)
	}
	if c.ZoneId != "" {
		s += " " + c.ZoneId
	}
	return s + " (" + c.LimitedBy + ")"
}

// TestMonitorFlightAltitude flies on the spot at the heights given, over
// fleetZones with the general ceiling of 120 m AGL, and asserts every
// answer's events and height limit. ALTITUDE comes once when the aircraft
// goes above the limit, and again only after it came back within one.
//
//	       │ T-FROM45 from 45 m (4.76) │  T-GROUND 0–120 m (4.80)  │ open (4.70)
//	120 m ─┼───────────────────────────┼───────────────────────────┼─ general ceiling
//	 45 m ─┤▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒│▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒│
//	  0 m ─┴───────────────────────────┴▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒┴─
func TestMonitorFlightAltitude(t *testing.T) {
	type step struct {
		alt    float64
		events string
		limit  string
	}
	const general = "LIMITED 120 (the general ceiling, 120 m AGL)"
	for _, tc := range []struct {
		name     string
		lon      float64
		noHeight bool
		steps    []step
	}{
		{"general ceiling", 4.70, false, []step{
			{100, "", general},
			{130, "ALTITUDE  NONE at 130: " + general, general},
			{140, "", general}, // still above: no second event
			{110, "", general}, // back within
			{125, "ALTITUDE  NONE at 125: " + general, general},
			{120, "", general}, // at the limit is within it
		}},
		{"zone above", 4.76, false, []step{
			{30, "", "LIMITED 44 T-FROM45 (T-FROM45 from 45 m AGL)"},
			{44.5, "ALTITUDE T-FROM45 BLOCKED at 44.5: LIMITED 44 T-FROM45 (T-FROM45 from 45 m AGL)", "LIMITED 44 T-FROM45 (T-FROM45 from 45 m AGL)"},
			{50, "ENTER T-FROM45 BLOCKED", "LIMITED 44 T-FROM45 (T-FROM45 from 45 m AGL)"},
			{20, "EXIT T-FROM45 BLOCKED", "LIMITED 44 T-FROM45 (T-FROM45 from 45 m AGL)"},
		}},
		{"blocked from the ground", 4.80, false, []step{
			{50, "ENTER T-GROUND BLOCKED", "BLOCKED (T-GROUND from the ground)"},
			// Out of its top, above the general ceiling: still blocked
			// from the ground, and over the general ceiling.
			{130, "EXIT T-GROUND BLOCKED; ALTITUDE  NONE at 130: " + general, "BLOCKED (T-GROUND from the ground)"},
			{100, "ENTER T-GROUND BLOCKED", "BLOCKED (T-GROUND from the ground)"},
		}},
		{"no heights", 4.70, true, []step{
			{0, "", general},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFleetFixture(t, "levels regular confidential\n", exemptions.RegistryEnforced)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			stream, err := f.checks.MonitorFlight(ctx)
			if err != nil {
				t.Fatal(err)
			}
			lf := liveFlightAMS()
			if tc.noHeight {
				lf.AltitudeReference = noflyv1.VerticalReference_VERTICAL_REFERENCE_UNSPECIFIED
			}
			if err := stream.Send(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Start{Start: &noflyv1.MonitorFlightStart{Flight: lf}}}); err != nil {
				t.Fatal(err)
			}
			for i, st := range tc.steps {
				p := telemetry(clock.Add(time.Duration(i)*10*time.Second), 52.31, tc.lon, st.alt)
				if tc.noHeight {
					p.AltitudeM = nil
				}
				if err := stream.Send(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Position{Position: p}}); err != nil {
					t.Fatal(err)
				}
				r, err := stream.Recv()
				if err != nil {
					t.Fatal(err)
				}
				var evs []string
				for _, e := range r.Events {
					s := fmt.Sprintf("%s %s %s", strings.TrimPrefix(e.Kind.String(), "FLIGHT_EVENT_KIND_"), e.ZoneId,
						strings.TrimPrefix(e.Verdict.String(), "ZONE_VERDICT_"))
					if e.Kind == noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_ALTITUDE {
						s = fmt.Sprintf("ALTITUDE %s %s at %v: %s", e.ZoneId, strings.TrimPrefix(e.Verdict.String(), "ZONE_VERDICT_"),
							e.GetAltitudeM(), limitString(e.HeightLimit))
						if r.HeightLimit.GetKind() == noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_LIMITED && !proto.Equal(e.HeightLimit, r.HeightLimit) {
							t.Errorf("step %d: the event's limit %v is not the answer's %v", i, e.HeightLimit, r.HeightLimit)
						}
					}
					evs = append(evs, strings.ReplaceAll(s, "UNSPECIFIED", "NONE"))
				}
				if got := strings.Join(evs, "; "); got != st.events {
					t.Errorf("step %d at %v m: events %q, want %q", i, st.alt, got, st.events)
				}
				if got := limitString(r.HeightLimit); got != st.limit {
					t.Errorf("step %d at %v m: limit %q, want %q", i, st.alt, got, st.limit)
				}
			}
			stream.CloseSend()
			if _, err := stream.Recv(); err != io.EOF {
				t.Errorf("after CloseSend: %v", err)
			}
		})
	}
}

// TestCheckPositionsHeightLimit: every answer of a batch carries the
// height limit CheckPosition gives at that position.
func TestCheckPositionsHeightLimit(t *testing.T) {
	f := newFleetFixture(t, "levels regular confidential\n", exemptions.RegistryEnforced)
	ctx := context.Background()
	var ps []*noflyv1.TelemetryPosition
	for i, lon := range []float64{4.70, 4.76, 4.80, 4.70, 4.76} {
		ps = append(ps, telemetry(clock.Add(time.Duration(i)*time.Second), 52.31, lon, 30))
	}
	resp, err := f.checks.CheckPositions(ctx, &noflyv1.CheckPositionsRequest{Flight: liveFlightAMS(), Positions: ps})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		one, err := f.checks.CheckPosition(ctx, &noflyv1.CheckPositionRequest{
			Position: &noflyv1.Position{Latitude: p.Latitude, Longitude: p.Longitude}, Altitude: alt(*p.AltitudeM),
			At: p.At, Operator: &noflyv1.Operator{Unit: "AMS", PilotId: "P1"}, Purpose: noflyv1.Purpose_PURPOSE_FORENSIC})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := resp.Answers[i].HeightLimit, one.HeightLimit; !proto.Equal(got, want) || want == nil {
			t.Errorf("position %d: limit %v, CheckPosition's %v", i, got, want)
		}
	}
}

// TestMonitorFlightSkippedEnter: one position of hundreds sent at once is
// in a blocking zone, the ones around it are not. However the server
// groups the answers, the ENTER and EXIT of that position are in them,
// once, at its instant.
func TestMonitorFlightSkippedEnter(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := f.client.MonitorFlight(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Start{Start: &noflyv1.MonitorFlightStart{Flight: liveFlightAMS()}}}); err != nil {
		t.Fatal(err)
	}
	const n, in = 600, 450
	for i := range n {
		lon := 3.5 + float64(i)*1e-4 // west of T-PROHIB (4.0 to 4.1), 7 m apart
		if i == in {
			lon = 4.05
		}
		p := telemetry(clock.Add(time.Duration(i)*100*time.Millisecond), 52.05, lon, 50)
		if err := stream.Send(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Position{Position: p}}); err != nil {
			t.Fatal(err)
		}
	}
	stream.CloseSend()
	var got []string
	var answered, skipped int64
	for {
		r, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		answered++
		skipped += r.SkippedPositions
		for _, e := range r.Events {
			got = append(got, fmt.Sprintf("%s %s %s %v", strings.TrimPrefix(e.Kind.String(), "FLIGHT_EVENT_KIND_"), e.ZoneId,
				strings.TrimPrefix(e.Verdict.String(), "ZONE_VERDICT_"), e.At.AsTime().Sub(clock)))
		}
	}
	if answered+skipped != n {
		t.Errorf("%d answered + %d skipped, want %d", answered, skipped, n)
	}
	want := "ENTER T-PROHIB BLOCKED 45s; EXIT T-PROHIB BLOCKED 45.1s"
	if strings.Join(got, "; ") != want {
		t.Errorf("events %q, want %q", strings.Join(got, "; "), want)
	}
	t.Logf("%d answers for %d positions", answered, n)
}

// TestCheckPositionsHeightLimitAlongATrack: along a track through
// T-PROHIB at changing heights, across the end of an exemption for it,
// every batch answer's height limit is the one CheckPosition gives, for a
// unit holding the exemption and for one holding none (whose limits the
// batch may keep from one position to the next).
func TestCheckPositionsHeightLimitAlongATrack(t *testing.T) {
	f := newAuFleetFixture(t, nil, &FleetConfig{Registry: exemptions.RegistryEnforced, Ceiling: exemptions.DefaultCeiling})
	f.create(t, record()) // AMS, T-PROHIB up to 60 m AGL, until clock+3h
	ctx := context.Background()
	for _, unit := range []string{"AMS", "XYZ"} {
		t.Run(unit, func(t *testing.T) {
			lf := liveFlightAMS()
			lf.Operator.Unit = unit
			var ps []*noflyv1.TelemetryPosition
			for i := range 200 {
				// 3.99 to 4.11 and back into it, then into T-COND;
				// 0 to 147 m; the exemption ends at position 180.
				lat, lon := 52.05, 3.99+float64(i%150)*0.0008
				if i >= 190 {
					lat, lon = 52.0, 5.0 // T-COND, advisory
				}
				ps = append(ps, telemetry(clock.Add(time.Duration(i)*time.Minute), lat, lon, float64(i*7%150)))
			}
			resp, err := f.checks.CheckPositions(ctx, &noflyv1.CheckPositionsRequest{Flight: lf, Positions: ps})
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for i, p := range ps {
				one, err := f.checks.CheckPosition(ctx, &noflyv1.CheckPositionRequest{
					Position: &noflyv1.Position{Latitude: p.Latitude, Longitude: p.Longitude}, Altitude: alt(*p.AltitudeM),
					At: p.At, Operator: lf.Operator, Purpose: lf.Purpose})
				if err != nil {
					t.Fatal(err)
				}
				if got, want := resp.Answers[i].HeightLimit, one.HeightLimit; !proto.Equal(got, want) || want == nil {
					t.Fatalf("position %d: limit %v, CheckPosition's %v", i, got, want)
				}
				kinds[limitString(one.HeightLimit)]++
			}
			t.Log(kinds)
			if len(kinds) < 2 {
				t.Errorf("limits %v: the track should meet more than one", kinds)
			}
		})
	}
}

// TestMonitorFlightTimePasses: an aircraft in a zone under an exemption
// sends no more positions; when the server's clock passes the exemption's
// end the stream says so (CHANGED, reason TIME) without a position. A
// stream whose last position is long past is not judged at the clock.
func TestMonitorFlightTimePasses(t *testing.T) {
	zones := readZones(t, testZones)
	store, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var now atomic.Int64
	now.Store(clock.UnixNano())
	srv, err := New(context.Background(), Config{
		Load:       func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log:        slog.New(slog.DiscardHandler),
		Now:        func() time.Time { return time.Unix(0, now.Load()).UTC() },
		Exemptions: store,
	})
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	g := srv.NewGRPCServer()
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ex, err := noflyv1.NewExemptionServiceClient(conn).CreateExemption(context.Background(), &noflyv1.CreateExemptionRequest{Exemption: record()})
	if err != nil {
		t.Fatal(err)
	}
	id := ex.GetExemption().GetId()

	for _, tc := range []struct {
		name  string
		at    time.Time // of the position
		clock time.Time // the server's, after it
		want  string    // events of the next answer; "" none within 2.5 s
	}{
		{"the exemption ends", clock.Add(3*time.Hour - 10*time.Second), clock.Add(3*time.Hour + 5*time.Second), "TIME CHANGED T-PROHIB BLOCKED 3h0m5s"},
		{"a replay of long ago", clock.Add(3*time.Hour - 10*time.Second), clock.Add(4 * time.Hour), ""},
		{"still valid", clock.Add(2 * time.Hour), clock.Add(2*time.Hour + 5*time.Second), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now.Store(tc.at.UnixNano())
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			stream, err := noflyv1.NewGeofenceServiceClient(conn).MonitorFlight(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := stream.Send(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Start{Start: &noflyv1.MonitorFlightStart{Flight: liveFlightAMS()}}}); err != nil {
				t.Fatal(err)
			}
			if err := stream.Send(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Position{Position: telemetry(tc.at, 52.05, 4.05, 50)}}); err != nil {
				t.Fatal(err)
			}
			r, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(eventsString(r), "ENTER T-PROHIB EXEMPTED "+id) {
				t.Fatalf("first answer: %s", eventsString(r))
			}
			now.Store(tc.clock.UnixNano())
			got := make(chan string, 1)
			go func() {
				r, err := stream.Recv()
				if err != nil {
					got <- err.Error()
					return
				}
				var evs []string
				for _, e := range r.Events {
					evs = append(evs, fmt.Sprintf("%s %s %s %v", strings.TrimPrefix(e.Kind.String(), "FLIGHT_EVENT_KIND_"), e.ZoneId,
						strings.TrimPrefix(e.Verdict.String(), "ZONE_VERDICT_"), e.At.AsTime().Sub(clock)))
				}
				got <- strings.TrimPrefix(r.Reason.String(), "MONITOR_REASON_") + " " + strings.Join(evs, "; ")
			}()
			select {
			case g := <-got:
				if g != tc.want {
					t.Errorf("got %q, want %q", g, tc.want)
				}
			case <-time.After(2500 * time.Millisecond):
				if tc.want != "" {
					t.Errorf("no answer within 2.5 s, want %q", tc.want)
				}
			}
			cancel()
		})
	}
}
