package server

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

func liveFlightAMS() *noflyv1.LiveFlight {
	return &noflyv1.LiveFlight{Operator: &noflyv1.Operator{Unit: "AMS", PilotId: "P1"}, Purpose: noflyv1.Purpose_PURPOSE_FORENSIC,
		ClientReference: "M-1", AltitudeReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}
}

func telemetry(at time.Time, lat, lon, altM float64) *noflyv1.TelemetryPosition {
	return &noflyv1.TelemetryPosition{At: timestamppb.New(at), Latitude: lat, Longitude: lon, AltitudeM: proto.Float64(altM)}
}

// eventsString prints an answer's events as "KIND ZONE VERDICT [EXEMPTION]
// [d=…m] [t=…s]", one per event, for comparison.
func eventsString(resp *noflyv1.MonitorFlightResponse) string {
	var out []string
	for _, e := range resp.Events {
		s := fmt.Sprintf("%s %s %s", strings.TrimPrefix(e.Kind.String(), "FLIGHT_EVENT_KIND_"), e.ZoneId,
			strings.TrimPrefix(e.Verdict.String(), "ZONE_VERDICT_"))
		if e.ExemptionId != "" {
			s += " " + e.ExemptionId
		}
		if e.Kind == noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_APPROACH {
			s += fmt.Sprintf(" d=%.0fm", e.DistanceM)
		}
		if e.TimeS != nil {
			s += fmt.Sprintf(" t=%.0fs", *e.TimeS)
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

// TestMonitorFlight flies east through T-PROHIB (lon 4.0 to 4.1 at lat
// 52.05) at 20 m/s, 50 m AGL:
//
//	3.995 ──▶ │ 4.005 … (exemption issued) … 4.099 │ ──▶ 4.2
//	approach  │ enter blocked, changed to exempted,│ exit
//	          │ expiring                           │
func TestMonitorFlight(t *testing.T) {
	f := newExFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := f.checks.MonitorFlight(ctx)
	if err != nil {
		t.Fatal(err)
	}
	send := func(m *noflyv1.MonitorFlightRequest) {
		t.Helper()
		if err := stream.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() *noflyv1.MonitorFlightResponse {
		t.Helper()
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	pos := func(p *noflyv1.TelemetryPosition) *noflyv1.MonitorFlightRequest {
		return &noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Position{Position: p}}
	}
	send(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Start{Start: &noflyv1.MonitorFlightStart{Flight: liveFlightAMS()}}})

	moving := telemetry(clock, 52.05, 3.995, 50)
	moving.GroundSpeedMps, moving.TrackDeg = proto.Float64(20), proto.Float64(90)
	send(pos(moving))
	r := recv()
	// 0.005° of longitude at 52.05°: 343 m, 17 s at 20 m/s, within 30 s.
	if got, want := eventsString(r), "APPROACH T-PROHIB BLOCKED d=343m t=17s"; got != want {
		t.Errorf("approach: got %q, want %q", got, want)
	}
	if r.Verdict != noflyv1.Verdict_VERDICT_CLEAR || r.ZoneSet.GetVersion() == "" || r.Reason != noflyv1.MonitorReason_MONITOR_REASON_POSITION ||
		r.ExemptionsAsOf == nil || r.ExemptionsStale {
		t.Errorf("approach: %v", r)
	}
	// Speed and track from the previous position: no second APPROACH.
	send(pos(telemetry(clock.Add(10*time.Second), 52.05, 3.998, 50)))
	if r := recv(); len(r.Events) != 0 || r.ZoneSet != nil {
		t.Errorf("still approaching: %v", r)
	}
	send(pos(telemetry(clock.Add(20*time.Second), 52.05, 4.005, 50)))
	r = recv()
	if got, want := eventsString(r), "ENTER T-PROHIB BLOCKED"; got != want || r.Verdict != noflyv1.Verdict_VERDICT_DENIED {
		t.Errorf("enter: got %q %v, want %q DENIED", got, r.Verdict, want)
	}

	// An exemption issued while the aircraft is in the zone reaches the
	// stream without a position.
	ex := f.create(t, record())
	r = recv()
	if got, want := eventsString(r), "CHANGED T-PROHIB EXEMPTED "+ex.Id; got != want ||
		r.Reason != noflyv1.MonitorReason_MONITOR_REASON_EXEMPTIONS_CHANGED || r.Verdict != noflyv1.Verdict_VERDICT_EXEMPTED {
		t.Errorf("exemption issued: got %q %v %v, want %q", got, r.Reason, r.Verdict, want)
	}
	// The flight's use of the exemption is in the audit log.
	audit, err := f.admin.ListAuditEvents(ctx, &noflyv1.ListAuditEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if last := audit.Events[len(audit.Events)-1]; !strings.Contains(fmt.Sprint(last), ex.Id) || !strings.Contains(fmt.Sprint(last), "M-1") {
		t.Errorf("last audit event %v does not record the flight's use of %s", last, ex.Id)
	}

	// Three hours less two minutes after the clock the exemption has two
	// minutes left.
	send(pos(telemetry(clock.Add(3*time.Hour-2*time.Minute), 52.05, 4.05, 50)))
	r = recv()
	if got, want := eventsString(r), "EXPIRING T-PROHIB EXEMPTED "+ex.Id+" t=120s"; got != want {
		t.Errorf("expiring: got %q, want %q", got, want)
	}
	// Climbing above the exemption's 60 m ceiling: the same zone, no
	// longer covered.
	send(pos(telemetry(clock.Add(3*time.Hour-time.Minute), 52.05, 4.05, 80)))
	if got, want := eventsString(recv()), "CHANGED T-PROHIB BLOCKED"; got != want {
		t.Errorf("climb: got %q, want %q", got, want)
	}
	send(pos(telemetry(clock.Add(3*time.Hour-50*time.Second), 52.05, 4.2, 80)))
	r = recv()
	if got, want := eventsString(r), "EXIT T-PROHIB BLOCKED"; got != want || r.Verdict != noflyv1.Verdict_VERDICT_CLEAR {
		t.Errorf("exit: got %q %v, want %q CLEAR", got, r.Verdict, want)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("after CloseSend: %v, want EOF", err)
	}
}

// TestMonitorFlightSkips: positions sent faster than they are answered are
// skipped, counted, never lost silently, and the newest is always checked.
func TestMonitorFlightSkips(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := f.client.MonitorFlight(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lf := liveFlightAMS()
	if err := stream.Send(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Start{Start: &noflyv1.MonitorFlightStart{Flight: lf}}}); err != nil {
		t.Fatal(err)
	}
	const n = 500
	for i := range n {
		p := telemetry(clock.Add(time.Duration(i)*100*time.Millisecond), 52.05, 3.5+float64(i)*0.001, 50)
		if err := stream.Send(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Position{Position: p}}); err != nil {
			t.Fatal(err)
		}
	}
	stream.CloseSend()
	var answered, skipped int64
	var last *noflyv1.MonitorFlightResponse
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
		last = r
	}
	if answered+skipped != n {
		t.Errorf("%d answered + %d skipped, want %d", answered, skipped, n)
	}
	if want := clock.Add((n - 1) * 100 * time.Millisecond); !last.At.AsTime().Equal(want) {
		t.Errorf("last answer at %v, want the last position's %v", last.At.AsTime(), want)
	}
	t.Logf("%d answered, %d skipped", answered, skipped)
}

// TestMonitorFlightInOrder sends positions in bursts and pauses, so that
// some come to a stream with nothing waiting (answered by the receiving
// goroutine) and some behind others (queued, answered together by the
// handler's): every answer answers the positions after the last one
// answered, in order, and its instant is its newest position's.
func TestMonitorFlightInOrder(t *testing.T) {
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
	const n = 1500
	at := func(i int64) time.Time { return clock.Add(time.Duration(i) * 100 * time.Millisecond) }
	sendErr := make(chan error, 1)
	go func() {
		rnd := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < n; {
			for burst := 1 + rnd.IntN(40); burst > 0 && i < n; burst-- {
				// Through T-PROHIB and out again, so that events come too.
				p := telemetry(at(int64(i)), 52.05, 3.99+float64(i)*0.0001, 50)
				if err := stream.Send(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Position{Position: p}}); err != nil {
					sendErr <- err
					return
				}
				i++
			}
			time.Sleep(time.Duration(rnd.IntN(1500)) * time.Microsecond)
		}
		sendErr <- stream.CloseSend()
	}()
	var covered, answers, together int64
	var kinds []string
	for {
		r, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		answers++
		if r.SkippedPositions > 0 {
			together++
		}
		covered += 1 + r.SkippedPositions
		if want := at(covered - 1); !r.At.AsTime().Equal(want) {
			t.Fatalf("answer %d (%d positions so far) at %v, want %v", answers, covered, r.At.AsTime(), want)
		}
		for _, e := range r.Events {
			if e.Kind != noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_APPROACH {
				kinds = append(kinds, strings.TrimPrefix(e.Kind.String(), "FLIGHT_EVENT_KIND_")+" "+e.ZoneId)
			}
		}
	}
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
	if covered != n {
		t.Errorf("answers covered %d positions, want %d", covered, n)
	}
	if got, want := strings.Join(kinds, "; "), "ENTER T-PROHIB; EXIT T-PROHIB"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	t.Logf("%d answers, %d of them for several positions", answers, together)
}

func TestMonitorFlightBadRequests(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name  string
		msgs  []*noflyv1.MonitorFlightRequest
		field string
	}{
		{"no start", []*noflyv1.MonitorFlightRequest{{Kind: &noflyv1.MonitorFlightRequest_Position{Position: telemetry(clock, 52, 4, 50)}}}, "start"},
		{"look-ahead too far", []*noflyv1.MonitorFlightRequest{{Kind: &noflyv1.MonitorFlightRequest_Start{Start: &noflyv1.MonitorFlightStart{
			Flight: liveFlightAMS(), LookAheadS: 601}}}}, "start.look_ahead_s"},
		{"latitude", []*noflyv1.MonitorFlightRequest{
			{Kind: &noflyv1.MonitorFlightRequest_Start{Start: &noflyv1.MonitorFlightStart{Flight: liveFlightAMS()}}},
			{Kind: &noflyv1.MonitorFlightRequest_Position{Position: telemetry(clock, 91, 4, 50)}}}, "position.latitude"},
		{"no altitude", []*noflyv1.MonitorFlightRequest{
			{Kind: &noflyv1.MonitorFlightRequest_Start{Start: &noflyv1.MonitorFlightStart{Flight: liveFlightAMS()}}},
			{Kind: &noflyv1.MonitorFlightRequest_Position{Position: &noflyv1.TelemetryPosition{At: timestamppb.New(clock), Latitude: 52, Longitude: 4}}}}, "position.altitude_m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := f.client.MonitorFlight(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range tc.msgs {
				if err := stream.Send(m); err != nil {
					t.Fatal(err)
				}
			}
			_, err = stream.Recv()
			code, vs := violations(t, err)
			if code != codes.InvalidArgument || len(vs) == 0 || vs[0].Field != tc.field {
				t.Errorf("got %v %v, want INVALID_ARGUMENT at %s", code, vs, tc.field)
			}
		})
	}
}

func TestCheckPositions(t *testing.T) {
	f := newExFixture(t)
	ex := f.create(t, record())
	req := &noflyv1.CheckPositionsRequest{Flight: liveFlightAMS(), Positions: []*noflyv1.TelemetryPosition{
		telemetry(clock, 52.05, 3.9, 50),  // outside
		telemetry(clock, 52.05, 4.05, 50), // T-PROHIB, exempted
		telemetry(clock, 52.05, 4.05, 90), // T-PROHIB above the exemption's ceiling
		telemetry(clock, 52.0, 5.0, 50),   // T-COND
		telemetry(clock, 52.05, 4.06, 40), // T-PROHIB again
	}}
	resp, err := f.checks.CheckPositions(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range resp.Answers {
		got = append(got, fmt.Sprintf("%s %v %v %v %v", strings.TrimPrefix(a.Verdict.String(), "VERDICT_"),
			a.ConflictZoneIds, a.UncoveredZoneIds, a.AdvisoryZoneIds, a.ExemptionIds))
	}
	want := []string{
		"CLEAR [] [] [] []",
		"EXEMPTED [T-PROHIB] [] [] [" + ex.Id + "]",
		"DENIED [T-PROHIB] [T-PROHIB] [] []",
		"CLEAR [] [] [T-COND] []",
		"EXEMPTED [T-PROHIB] [] [] [" + ex.Id + "]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("answers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(resp.Zones) != 2 || resp.Zones[0].Id != "T-COND" || resp.Zones[1].Id != "T-PROHIB" || resp.Zones[1].Message != "keep out" {
		t.Errorf("zones: %v", resp.Zones)
	}
	if len(resp.Exemptions) != 1 || resp.Exemptions[0].Id != ex.Id {
		t.Errorf("exemptions: %v", resp.Exemptions)
	}
	// One audit entry for the call, naming the exemption.
	audit, err := f.admin.ListAuditEvents(context.Background(), &noflyv1.ListAuditEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(audit.Events); n != 2 || !strings.Contains(fmt.Sprint(audit.Events[1]), ex.Id) {
		t.Errorf("audit: %v", audit.Events)
	}

	req.Positions = make([]*noflyv1.TelemetryPosition, MaxBatchPositions+1)
	_, err = f.checks.CheckPositions(context.Background(), req)
	if code, vs := violations(t, err); code != codes.InvalidArgument || vs[0].Field != "positions" {
		t.Errorf("too many: %v %v", code, vs)
	}
}

func TestCheckPositionBasicView(t *testing.T) {
	f := newExFixture(t)
	ex := f.create(t, record())
	req := positionIn(50, clock)
	full, err := f.checks.CheckPosition(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	req.View = noflyv1.CheckView_CHECK_VIEW_BASIC
	basic, err := f.checks.CheckPosition(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	c := basic.Conflicts[0]
	if basic.Verdict != full.Verdict || c.Zone.Id != "T-PROHIB" || c.Zone.Restriction != noflyv1.Restriction_RESTRICTION_PROHIBITED ||
		c.Zone.Message != "" || c.Zone.Name != "" || c.Exemption.Id != ex.Id || c.Exemption.Conditions != "" || basic.Exemptions[0].LegalBasis != "" {
		t.Errorf("basic: %v", basic)
	}
	if full.Conflicts[0].Zone.Message != "keep out" || full.Exemptions[0].Conditions == "" {
		t.Errorf("full: %v", full)
	}
	if proto.Size(basic) >= proto.Size(full) {
		t.Errorf("basic %d bytes, full %d", proto.Size(basic), proto.Size(full))
	}
	// BASIC is FULL without the texts, nothing else: for an exempted
	// position, one above the ceiling (refusal reasons), and an advisory.
	for _, q := range []*noflyv1.CheckPositionRequest{positionIn(50, clock), positionIn(90, clock),
		{Position: &noflyv1.Position{Latitude: 52.0, Longitude: 5.0}, Altitude: alt(40)}} {
		q.View = noflyv1.CheckView_CHECK_VIEW_FULL
		full, err := f.checks.CheckPosition(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		q.View = noflyv1.CheckView_CHECK_VIEW_BASIC
		basic, err := f.checks.CheckPosition(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range append(full.Conflicts, full.Advisories...) {
			h.Zone = &noflyv1.ZoneSummary{Id: h.Zone.Id, Restriction: h.Zone.Restriction, RegulationExemption: h.Zone.RegulationExemption}
			if h.Exemption != nil {
				h.Exemption.LegalBasis, h.Exemption.Conditions = "", ""
			}
			for _, nc := range h.NotCovered {
				nc.Reason = ""
			}
		}
		for _, ex := range full.Exemptions {
			ex.LegalBasis, ex.Conditions = "", ""
		}
		if !proto.Equal(full, basic) {
			t.Errorf("basic:\n%v\nwant full without texts:\n%v", basic, full)
		}
	}
}

// TestMonitorFlightAtTheAntimeridian: a look-ahead that would cross the
// antimeridian is not followed, and the stream goes on.
func TestMonitorFlightAtTheAntimeridian(t *testing.T) {
	f := newFixture(t)
	stream, err := f.client.MonitorFlight(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Start{Start: &noflyv1.MonitorFlightStart{Flight: liveFlightAMS()}}}); err != nil {
		t.Fatal(err)
	}
	for i, lon := range []float64{179.9995, -179.9995} {
		p := telemetry(clock.Add(time.Duration(i)*5*time.Second), 0, lon, 50)
		p.GroundSpeedMps, p.TrackDeg = proto.Float64(30), proto.Float64(90)
		if err := stream.Send(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Position{Position: p}}); err != nil {
			t.Fatal(err)
		}
		r, err := stream.Recv()
		if err != nil {
			t.Fatalf("at %v: %v", lon, err)
		}
		if r.Verdict != noflyv1.Verdict_VERDICT_CLEAR {
			t.Errorf("at %v: %v", lon, r)
		}
	}
}
