package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/google/go-cmp/cmp"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/geo"
)

// testZones, seen from above (longitude east, latitude north):
//
//	52.1 +----------+                    .--.
//	     | T-PROHIB |                   ( T-COND )   r = 1000 m around (5.0, 52.0)
//	52.0 +----------+                    '--'
//	    4.0        4.1                  5.0
//
//	T-HIGH: 6.0..6.1 x 52.0..52.1, PROHIBITED from 300 to 500 m AGL only.
const testZones = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"T-PROHIB","name":"Test prohibited","restriction":"PROHIBITED","reasons":["SENSITIVE"],"message":"keep out",
  "lower_m":0,"lower_ref":"AGL","upper_m":120,"upper_ref":"AGL"},
 "geometry":{"type":"Polygon","coordinates":[[[4.0,52.0],[4.1,52.0],[4.1,52.1],[4.0,52.1],[4.0,52.0]]]}},
{"type":"Feature","properties":{"id":"T-COND","name":"Test conditional","restriction":"CONDITIONAL","message":"below 50 m only",
  "lower_m":0,"lower_ref":"AGL","upper_m":120,"upper_ref":"AGL","radius_m":1000},
 "geometry":{"type":"Point","coordinates":[5.0,52.0]}},
{"type":"Feature","properties":{"id":"T-HIGH","name":"Test high","restriction":"PROHIBITED",
  "lower_m":300,"lower_ref":"AGL","upper_m":500,"upper_ref":"AGL"},
 "geometry":{"type":"Polygon","coordinates":[[[6.0,52.0],[6.1,52.0],[6.1,52.1],[6.0,52.1],[6.0,52.0]]]}}
]}`

// clock is the fixed time the test servers read.
var clock = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func readZones(t testing.TB, js string) []geo.Zone {
	t.Helper()
	zs, err := geo.Read(strings.NewReader(js), "test.geojson")
	if err != nil {
		t.Fatalf("test zones: %v", err)
	}
	return zs
}

// syncBuffer is a log destination that tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	srv    *Server
	client noflyv1.GeofenceServiceClient
	conn   *grpc.ClientConn
	log    *syncBuffer
	// load is what the server's loader returns next.
	mu   sync.Mutex
	load func() ([]geo.Zone, error)
}

func (f *fixture) setLoad(fn func() ([]geo.Zone, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.load = fn
}

// newFixture serves testZones over an in-memory connection.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	zones := readZones(t, testZones)
	f := &fixture{log: &syncBuffer{}, load: func() ([]geo.Zone, error) { return zones, nil }}
	srv, err := New(context.Background(), Config{
		Load: func(context.Context) ([]geo.Zone, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.load()
		},
		Sources: []string{"test.geojson"},
		Log:     slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:     func() time.Time { return clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
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
	f.conn = conn
	f.client = noflyv1.NewGeofenceServiceClient(conn)
	return f
}

func ids(hits []*noflyv1.ZoneHit) []string {
	out := []string{}
	for _, h := range hits {
		out = append(out, h.GetZone().GetId())
	}
	return out
}

func alt(m float64) *noflyv1.Altitude {
	return &noflyv1.Altitude{Metres: m, Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}
}

func TestCheckPosition(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name        string
		req         *noflyv1.CheckPositionRequest
		verdict     noflyv1.Verdict
		conflicts   []string
		advisories  []string
		noAltCaveat bool
	}{
		{
			name:    "inside a prohibited zone",
			req:     &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, Altitude: alt(100)},
			verdict: noflyv1.Verdict_VERDICT_DENIED, conflicts: []string{"T-PROHIB"}, advisories: []string{},
		},
		{
			name:    "above the prohibited zone's ceiling",
			req:     &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, Altitude: alt(200)},
			verdict: noflyv1.Verdict_VERDICT_CLEAR, conflicts: []string{}, advisories: []string{},
		},
		{
			name:    "on the prohibited zone's boundary counts as inside",
			req:     &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.0, Longitude: 4.05}, Altitude: alt(10)},
			verdict: noflyv1.Verdict_VERDICT_DENIED, conflicts: []string{"T-PROHIB"}, advisories: []string{},
		},
		{
			name:    "inside a conditional zone informs but does not block",
			req:     &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.0, Longitude: 5.0}, Altitude: alt(30)},
			verdict: noflyv1.Verdict_VERDICT_CLEAR, conflicts: []string{}, advisories: []string{"T-COND"},
		},
		{
			name:    "no altitude: every height counts, with a caveat",
			req:     &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.05, Longitude: 6.05}},
			verdict: noflyv1.Verdict_VERDICT_DENIED, conflicts: []string{"T-HIGH"}, advisories: []string{},
			noAltCaveat: true,
		},
		{
			name:    "far from every zone",
			req:     &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 53.5, Longitude: 3.5}},
			verdict: noflyv1.Verdict_VERDICT_CLEAR, conflicts: []string{}, advisories: []string{},
			noAltCaveat: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := f.client.CheckPosition(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetVerdict() != tc.verdict {
				t.Errorf("verdict %v, want %v", resp.GetVerdict(), tc.verdict)
			}
			if diff := cmp.Diff(tc.conflicts, ids(resp.GetConflicts())); diff != "" {
				t.Errorf("conflicts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.advisories, ids(resp.GetAdvisories())); diff != "" {
				t.Errorf("advisories (-want +got):\n%s", diff)
			}
			var gotNoAlt bool
			for _, c := range resp.GetCaveats() {
				gotNoAlt = gotNoAlt || c.GetKind() == noflyv1.CaveatKind_CAVEAT_KIND_NO_ALTITUDE
			}
			if gotNoAlt != tc.noAltCaveat {
				t.Errorf("NO_ALTITUDE caveat %v, want %v (caveats %v)", gotNoAlt, tc.noAltCaveat, resp.GetCaveats())
			}
			if !resp.GetAt().AsTime().Equal(clock) || !resp.GetCheckedAt().AsTime().Equal(clock) {
				t.Errorf("at %v, checked_at %v: want the server's clock %v", resp.GetAt().AsTime(), resp.GetCheckedAt().AsTime(), clock)
			}
			if zs := resp.GetZoneSet(); zs.GetZoneCount() != 3 || zs.GetVersion() == "" || zs.GetLoadedAt() == nil {
				t.Errorf("zone set %v", zs)
			}
		})
	}
}

func TestCheckPositionHitDetails(t *testing.T) {
	f := newFixture(t)
	at := clock.Add(48 * time.Hour)
	resp, err := f.client.CheckPosition(context.Background(), &noflyv1.CheckPositionRequest{
		Position: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05},
		Altitude: alt(100),
		At:       timestamppb.New(at),
		Operator: &noflyv1.Operator{Unit: "U1", PilotId: "P1", DroneSerial: "D1"},
		Purpose:  noflyv1.Purpose_PURPOSE_FORENSIC,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &noflyv1.ZoneHit{
		Zone: &noflyv1.ZoneSummary{
			Id: "T-PROHIB", Name: "Test prohibited", Restriction: noflyv1.Restriction_RESTRICTION_PROHIBITED,
			Reasons: []string{"SENSITIVE"}, Message: "keep out", Authorities: []*noflyv1.Authority{},
		},
		Inside:     true,
		HeightBand: &noflyv1.HeightBand{LowerM: proto.Float64(100), UpperM: proto.Float64(100), Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL},
		TimeWindow: &noflyv1.TimeWindow{Start: timestamppb.New(at), End: timestamppb.New(at)},
	}
	if len(resp.GetConflicts()) != 1 {
		t.Fatalf("conflicts %v, want one", resp.GetConflicts())
	}
	if diff := cmp.Diff(want, resp.GetConflicts()[0], protocmp.Transform()); diff != "" {
		t.Errorf("hit (-want +got):\n%s", diff)
	}
	if !resp.GetAt().AsTime().Equal(at) {
		t.Errorf("at %v, want the request's %v", resp.GetAt().AsTime(), at)
	}
	if log := f.log.String(); !strings.Contains(log, "unit=U1") || !strings.Contains(log, "purpose=FORENSIC") || !strings.Contains(log, "verdict=DENIED") {
		t.Errorf("the check's log does not name operator, purpose and verdict:\n%s", log)
	}
}

func wp(lat, lon, alt float64) *noflyv1.Waypoint {
	return &noflyv1.Waypoint{Latitude: lat, Longitude: lon, AltitudeM: proto.Float64(alt)}
}

func route(wps ...*noflyv1.Waypoint) *noflyv1.FlightPlan_Route {
	return &noflyv1.FlightPlan_Route{Route: &noflyv1.Route{Waypoints: wps, AltitudeReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}}
}

func TestCheckFlightPlan(t *testing.T) {
	f := newFixture(t)
	square := &noflyv1.Polygon{Rings: []*noflyv1.Ring{{Positions: []*noflyv1.Position{
		{Latitude: 51.99, Longitude: 4.95}, {Latitude: 51.99, Longitude: 5.05}, {Latitude: 52.01, Longitude: 5.05}, {Latitude: 52.01, Longitude: 4.95},
	}}}} // not closed: the server closes it
	tests := []struct {
		name       string
		fp         *noflyv1.FlightPlan
		verdict    noflyv1.Verdict
		conflicts  []string
		advisories []string
		legs       []int32 // of the first conflict
		window     *noflyv1.TimeWindow
	}{
		{
			name: "route through the prohibited zone on its second leg",
			fp: &noflyv1.FlightPlan{ClientReference: "R1", Geometry: route(
				wp(51.90, 3.90, 50), wp(51.95, 3.95, 50), wp(52.05, 4.05, 50), wp(52.20, 4.05, 50))},
			verdict: noflyv1.Verdict_VERDICT_DENIED, conflicts: []string{"T-PROHIB"}, advisories: []string{}, legs: []int32{1, 2},
			window: &noflyv1.TimeWindow{Start: timestamppb.New(clock), End: timestamppb.New(clock.Add(time.Hour))},
		},
		{
			name:    "route above the ceiling",
			fp:      &noflyv1.FlightPlan{Geometry: route(wp(51.95, 4.05, 200), wp(52.15, 4.05, 200))},
			verdict: noflyv1.Verdict_VERDICT_CLEAR, conflicts: []string{}, advisories: []string{},
		},
		{
			name:    "route passing 700 m west of the zone, buffer 1000 m",
			fp:      &noflyv1.FlightPlan{BufferM: 1000, Geometry: route(wp(52.0, 3.99, 50), wp(52.1, 3.99, 50))},
			verdict: noflyv1.Verdict_VERDICT_DENIED, conflicts: []string{"T-PROHIB"}, advisories: []string{}, legs: []int32{0},
		},
		{
			name:    "same route without buffer",
			fp:      &noflyv1.FlightPlan{Geometry: route(wp(52.0, 3.99, 50), wp(52.1, 3.99, 50))},
			verdict: noflyv1.Verdict_VERDICT_CLEAR, conflicts: []string{}, advisories: []string{},
		},
		{
			name: "polygon area over the conditional zone, explicit window",
			fp: &noflyv1.FlightPlan{
				Start: timestamppb.New(clock.Add(time.Hour)), End: timestamppb.New(clock.Add(3 * time.Hour)),
				Geometry: &noflyv1.FlightPlan_Area{Area: &noflyv1.Area{
					Shape: &noflyv1.Area_Polygon{Polygon: square},
					Band:  &noflyv1.AltitudeBand{LowerM: 0, UpperM: 40, Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL},
				}},
			},
			verdict: noflyv1.Verdict_VERDICT_CLEAR, conflicts: []string{}, advisories: []string{"T-COND"},
			window: &noflyv1.TimeWindow{Start: timestamppb.New(clock.Add(time.Hour)), End: timestamppb.New(clock.Add(3 * time.Hour))},
		},
		{
			name: "circle area reaching into the prohibited zone",
			fp: &noflyv1.FlightPlan{Geometry: &noflyv1.FlightPlan_Area{Area: &noflyv1.Area{
				Shape: &noflyv1.Area_Circle{Circle: &noflyv1.Circle{Center: &noflyv1.Position{Latitude: 52.05, Longitude: 3.995}, RadiusM: 1000}},
			}}},
			verdict: noflyv1.Verdict_VERDICT_DENIED, conflicts: []string{"T-PROHIB"}, advisories: []string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := f.client.CheckFlightPlan(context.Background(), &noflyv1.CheckFlightPlanRequest{FlightPlan: tc.fp})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetVerdict() != tc.verdict {
				t.Errorf("verdict %v, want %v", resp.GetVerdict(), tc.verdict)
			}
			if diff := cmp.Diff(tc.conflicts, ids(resp.GetConflicts())); diff != "" {
				t.Errorf("conflicts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.advisories, ids(resp.GetAdvisories())); diff != "" {
				t.Errorf("advisories (-want +got):\n%s", diff)
			}
			if tc.legs != nil {
				if diff := cmp.Diff(tc.legs, resp.GetConflicts()[0].GetLegs()); diff != "" {
					t.Errorf("legs (-want +got):\n%s", diff)
				}
			}
			if tc.window != nil {
				if diff := cmp.Diff(tc.window, resp.GetWindow(), protocmp.Transform()); diff != "" {
					t.Errorf("window (-want +got):\n%s", diff)
				}
			}
			if resp.GetClientReference() != tc.fp.GetClientReference() {
				t.Errorf("client_reference %q, want %q", resp.GetClientReference(), tc.fp.GetClientReference())
			}
		})
	}
}

// violation is a BadRequest field violation, for comparing.
type violation struct{ Field, Description string }

func violations(t *testing.T, err error) (codes.Code, []violation) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("error %v is not a status", err)
	}
	var out []violation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, violation{v.GetField(), v.GetDescription()})
			}
		}
	}
	return st.Code(), out
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	pos := func(lat, lon float64) *noflyv1.CheckPositionRequest {
		return &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: lat, Longitude: lon}}
	}
	plan := func(fp *noflyv1.FlightPlan) *noflyv1.CheckFlightPlanRequest {
		return &noflyv1.CheckFlightPlanRequest{FlightPlan: fp}
	}
	okRoute := route(wp(52, 4, 10), wp(52.1, 4.1, 10))
	many := make([]*noflyv1.Waypoint, geo.MaxWaypoints+1)
	for i := range many {
		many[i] = wp(50+float64(i)*1e-4, 4, 10)
	}
	withWaypoint3 := func(w *noflyv1.Waypoint) *noflyv1.FlightPlan_Route {
		r := route(wp(52, 4, 10), wp(52, 4.1, 10), wp(52, 4.2, 10), w)
		return r
	}
	type call func(context.Context) error
	cp := func(req *noflyv1.CheckPositionRequest) call {
		return func(ctx context.Context) error { _, err := f.client.CheckPosition(ctx, req); return err }
	}
	cf := func(req *noflyv1.CheckFlightPlanRequest) call {
		return func(ctx context.Context) error { _, err := f.client.CheckFlightPlan(ctx, req); return err }
	}
	lz := func(req *noflyv1.ListZonesRequest) call {
		return func(ctx context.Context) error { _, err := f.client.ListZones(ctx, req); return err }
	}
	gz := func(req *noflyv1.GetZoneRequest) call {
		return func(ctx context.Context) error { _, err := f.client.GetZone(ctx, req); return err }
	}
	tests := []struct {
		name string
		call call
		want []violation
	}{
		{"latitude above 90", cp(pos(91, 4)), []violation{{"position.latitude", "91 is outside -90..90 degrees"}}},
		{"latitude below -90", cp(pos(-90.5, 4)), []violation{{"position.latitude", "-90.5 is outside -90..90 degrees"}}},
		{"longitude above 180", cp(pos(52, 180.5)), []violation{{"position.longitude", "180.5 is outside -180..180 degrees"}}},
		{"NaN latitude and infinite longitude", cp(pos(math.NaN(), math.Inf(1))), []violation{
			{"position.latitude", "not a number"}, {"position.longitude", "+Inf is outside -180..180 degrees"}}},
		{"no position", cp(&noflyv1.CheckPositionRequest{}), []violation{{"position", "required"}}},
		{"altitude without reference", cp(&noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52, Longitude: 4}, Altitude: &noflyv1.Altitude{Metres: 50}}),
			[]violation{{"altitude.reference", "required: AGL, AMSL or WGS84"}}},
		{"unknown vertical reference", cp(&noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52, Longitude: 4}, Altitude: &noflyv1.Altitude{Metres: 50, Reference: 9}}),
			[]violation{{"altitude.reference", "unknown value 9"}}},
		{"altitude out of range", cp(&noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52, Longitude: 4}, Altitude: alt(200_000)}),
			[]violation{{"altitude.metres", "200000 m is outside -1000..100000 m"}}},
		{"unknown purpose", cp(&noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52, Longitude: 4}, Purpose: 42}),
			[]violation{{"purpose", "unknown value 42"}}},
		{"invalid timestamp", cp(&noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52, Longitude: 4}, At: &timestamppb.Timestamp{Nanos: -1}}),
			[]violation{{"at", "not a valid timestamp: want years 0001 to 9999 and nanos 0 to 999999999"}}},

		{"no flight plan", cf(&noflyv1.CheckFlightPlanRequest{}), []violation{{"flight_plan", "required"}}},
		{"no geometry", cf(plan(&noflyv1.FlightPlan{})), []violation{{"flight_plan.geometry", "required: a route or an area"}}},
		{"end before start", cf(plan(&noflyv1.FlightPlan{Start: timestamppb.New(clock), End: timestamppb.New(clock.Add(-time.Minute)), Geometry: okRoute})),
			[]violation{{"flight_plan.end", "2026-05-01T11:59:00Z is before start 2026-05-01T12:00:00Z"}}},
		{"end before the default start (now)", cf(plan(&noflyv1.FlightPlan{End: timestamppb.New(clock.Add(-time.Hour)), Geometry: okRoute})),
			[]violation{{"flight_plan.end", "2026-05-01T11:00:00Z is before start 2026-05-01T12:00:00Z"}}},
		{"negative buffer", cf(plan(&noflyv1.FlightPlan{BufferM: -5, Geometry: okRoute})), []violation{{"flight_plan.buffer_m", "-5 m is negative"}}},
		{"NaN buffer", cf(plan(&noflyv1.FlightPlan{BufferM: math.NaN(), Geometry: okRoute})), []violation{{"flight_plan.buffer_m", "not a number"}}},
		{"huge buffer", cf(plan(&noflyv1.FlightPlan{BufferM: 1e6, Geometry: okRoute})), []violation{{"flight_plan.buffer_m", "1e+06 m is more than 100000 m"}}},
		{"unknown plan purpose", cf(plan(&noflyv1.FlightPlan{Purpose: 99, Geometry: okRoute})), []violation{{"flight_plan.purpose", "unknown value 99"}}},
		{"empty route", cf(plan(&noflyv1.FlightPlan{Geometry: &noflyv1.FlightPlan_Route{Route: &noflyv1.Route{}}})),
			[]violation{{"flight_plan.route.waypoints", "a route needs at least 2 waypoints, got 0"}}},
		{"single-point route", cf(plan(&noflyv1.FlightPlan{Geometry: route(wp(52, 4, 10))})),
			[]violation{{"flight_plan.route.waypoints", "a route needs at least 2 waypoints, got 1"}}},
		{"too many waypoints", cf(plan(&noflyv1.FlightPlan{Geometry: route(many...)})),
			[]violation{{"flight_plan.route.waypoints", "at most 10000 waypoints, got 10001"}}},
		{"bad waypoint latitude", cf(plan(&noflyv1.FlightPlan{Geometry: withWaypoint3(wp(100, 4, 10))})),
			[]violation{{"flight_plan.route.waypoints[3].latitude", "100 is outside -90..90 degrees"}}},
		{"waypoint without altitude", cf(plan(&noflyv1.FlightPlan{Geometry: withWaypoint3(&noflyv1.Waypoint{Latitude: 52, Longitude: 4.3})})),
			[]violation{{"flight_plan.route.waypoints[3].altitude_m", "required when altitude_reference is set"}}},
		{"altitudes without reference", cf(plan(&noflyv1.FlightPlan{Geometry: &noflyv1.FlightPlan_Route{Route: &noflyv1.Route{Waypoints: []*noflyv1.Waypoint{wp(52, 4, 1), {Latitude: 52, Longitude: 4.1}}}}})),
			[]violation{{"flight_plan.route.waypoints[0].altitude_m", "given but altitude_reference is not set: say what the heights are measured from"}}},
		{"unknown route reference", cf(plan(&noflyv1.FlightPlan{Geometry: &noflyv1.FlightPlan_Route{Route: &noflyv1.Route{AltitudeReference: 7, Waypoints: []*noflyv1.Waypoint{{Latitude: 52, Longitude: 4}, {Latitude: 52, Longitude: 4.1}}}}})),
			[]violation{{"flight_plan.route.altitude_reference", "unknown value 7"}}},
		{"area without shape", cf(plan(&noflyv1.FlightPlan{Geometry: &noflyv1.FlightPlan_Area{Area: &noflyv1.Area{}}})),
			[]violation{{"flight_plan.area.shape", "required: a polygon or a circle"}}},
		{"area ring of two positions", cf(plan(&noflyv1.FlightPlan{Geometry: &noflyv1.FlightPlan_Area{Area: &noflyv1.Area{Shape: &noflyv1.Area_Polygon{Polygon: &noflyv1.Polygon{Rings: []*noflyv1.Ring{{Positions: []*noflyv1.Position{{Latitude: 52, Longitude: 4}, {Latitude: 52.1, Longitude: 4}}}}}}}}})),
			[]violation{{"flight_plan.area.polygon.rings[0].positions", "a ring needs at least 3 distinct positions"}}},
		{"area polygon without rings", cf(plan(&noflyv1.FlightPlan{Geometry: &noflyv1.FlightPlan_Area{Area: &noflyv1.Area{Shape: &noflyv1.Area_Polygon{Polygon: &noflyv1.Polygon{}}}}})),
			[]violation{{"flight_plan.area.polygon.rings", "a polygon needs an outer ring"}}},
		{"circle of radius 0 without centre", cf(plan(&noflyv1.FlightPlan{Geometry: &noflyv1.FlightPlan_Area{Area: &noflyv1.Area{Shape: &noflyv1.Area_Circle{Circle: &noflyv1.Circle{}}}}})),
			[]violation{{"flight_plan.area.circle.center", "required"}, {"flight_plan.area.circle.radius_m", "0 m is not positive"}}},
		{"band upside down", cf(plan(&noflyv1.FlightPlan{Geometry: &noflyv1.FlightPlan_Area{Area: &noflyv1.Area{
			Shape: &noflyv1.Area_Circle{Circle: &noflyv1.Circle{Center: &noflyv1.Position{Latitude: 52, Longitude: 4}, RadiusM: 100}},
			Band:  &noflyv1.AltitudeBand{LowerM: 100, UpperM: 50, Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AMSL}}}})),
			[]violation{{"flight_plan.area.band.upper_m", "50 m is below lower_m 100 m"}}},

		{"negative page size", lz(&noflyv1.ListZonesRequest{PageSize: -1}), []violation{{"page_size", "-1 is negative"}}},
		{"forged page token", lz(&noflyv1.ListZonesRequest{PageToken: "not-a-token!"}), []violation{{"page_token", "not a token from a previous ListZones response"}}},
		{"box upside down", lz(&noflyv1.ListZonesRequest{Bbox: &noflyv1.BoundingBox{MinLatitude: 53, MaxLatitude: 52, MinLongitude: 4, MaxLongitude: 5}}),
			[]violation{{"bbox.max_latitude", "52 is south of min_latitude 53"}}},
		{"box across the antimeridian", lz(&noflyv1.ListZonesRequest{Bbox: &noflyv1.BoundingBox{MinLatitude: 52, MaxLatitude: 53, MinLongitude: 179, MaxLongitude: -179}}),
			[]violation{{"bbox.max_longitude", "-179 is west of min_longitude 179 (boxes across the antimeridian are not supported)"}}},
		{"unknown view", lz(&noflyv1.ListZonesRequest{View: 5}), []violation{{"view", "unknown value 5"}}},
		{"no zone id", gz(&noflyv1.GetZoneRequest{}), []violation{{"id", "required"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(context.Background())
			code, got := violations(t, err)
			if code != codes.InvalidArgument {
				t.Fatalf("code %v (%v), want InvalidArgument", code, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
			// The status message alone (what a plain client shows) names
			// the first problem.
			if msg := status.Convert(err).Message(); !strings.HasPrefix(msg, tc.want[0].Field+": "+tc.want[0].Description) {
				t.Errorf("message %q does not start with the first violation", msg)
			}
		})
	}
}

func TestGetZone(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	full, err := f.client.GetZone(ctx, &noflyv1.GetZoneRequest{Id: "T-COND"})
	if err != nil {
		t.Fatal(err)
	}
	z := full.GetZone()
	if z.GetId() != "T-COND" || z.GetRestriction() != noflyv1.Restriction_RESTRICTION_CONDITIONAL || len(z.GetVolumes()) != 1 {
		t.Fatalf("zone %v", z)
	}
	c := z.GetVolumes()[0].GetCircle()
	if c.GetRadiusM() != 1000 || c.GetCenter().GetLatitude() != 52 || c.GetCenter().GetLongitude() != 5 {
		t.Errorf("circle %v, want 1000 m around 52 N 5 E", c)
	}
	if l, u := z.GetVolumes()[0].GetLower(), z.GetVolumes()[0].GetUpper(); l.GetMetres() != 0 || u.GetMetres() != 120 ||
		u.GetReference() != noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL {
		t.Errorf("limits %v %v, want 0 and 120 m AGL", l, u)
	}
	if z.GetSource().GetFile() != "test.geojson" || z.GetSource().GetFeature() != 1 {
		t.Errorf("source %v", z.GetSource())
	}

	basic, err := f.client.GetZone(ctx, &noflyv1.GetZoneRequest{Id: "T-PROHIB", View: noflyv1.ZoneView_ZONE_VIEW_BASIC})
	if err != nil {
		t.Fatal(err)
	}
	if v := basic.GetZone().GetVolumes(); len(v) != 1 || v[0].GetShape() != nil || v[0].GetUpper().GetMetres() != 120 {
		t.Errorf("BASIC volumes %v, want one without shape, with limits", v)
	}
	if b := basic.GetZone().GetBounds(); b.GetMinLatitude() != 52 || b.GetMaxLongitude() != 4.1 {
		t.Errorf("bounds %v", b)
	}

	_, err = f.client.GetZone(ctx, &noflyv1.GetZoneRequest{Id: "NOPE"})
	st := status.Convert(err)
	if st.Code() != codes.NotFound || st.Message() != `zone "NOPE" not found` {
		t.Fatalf("status %v, want NotFound naming the zone", st)
	}
	var ri *errdetails.ResourceInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.ResourceInfo); ok {
			ri = r
		}
	}
	if ri.GetResourceName() != "NOPE" || ri.GetResourceType() != "nofly.v1.Zone" {
		t.Errorf("ResourceInfo %v", ri)
	}
}

func TestListZones(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		bbox     *noflyv1.BoundingBox
		pageSize int32
		want     []string
		pages    int
	}{
		{name: "all, default page", want: []string{"T-COND", "T-HIGH", "T-PROHIB"}, pages: 1},
		{name: "all, one per page", pageSize: 1, want: []string{"T-COND", "T-HIGH", "T-PROHIB"}, pages: 3},
		{name: "two per page", pageSize: 2, want: []string{"T-COND", "T-HIGH", "T-PROHIB"}, pages: 2},
		{name: "box around the west", bbox: &noflyv1.BoundingBox{MinLatitude: 51.9, MinLongitude: 3.9, MaxLatitude: 52.2, MaxLongitude: 4.5}, want: []string{"T-PROHIB"}, pages: 1},
		{name: "box around the east, one per page", pageSize: 1, bbox: &noflyv1.BoundingBox{MinLatitude: 51.9, MinLongitude: 4.9, MaxLatitude: 52.2, MaxLongitude: 6.5}, want: []string{"T-COND", "T-HIGH"}, pages: 2},
		{name: "empty box", bbox: &noflyv1.BoundingBox{MinLatitude: 10, MinLongitude: 10, MaxLatitude: 11, MaxLongitude: 11}, want: []string{}, pages: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &noflyv1.ListZonesRequest{Bbox: tc.bbox, PageSize: tc.pageSize}
			got := []string{}
			pages := 0
			for {
				resp, err := f.client.ListZones(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, z := range resp.GetZones() {
					got = append(got, z.GetId())
					if z.GetVolumes()[0].GetShape() != nil {
						t.Errorf("zone %s: ListZones defaults to the BASIC view, got a shape", z.GetId())
					}
				}
				if resp.GetNextPageToken() == "" {
					break
				}
				req.PageToken = resp.GetNextPageToken()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("zones (-want +got):\n%s", diff)
			}
			if pages != tc.pages {
				t.Errorf("%d pages, want %d", pages, tc.pages)
			}
		})
	}
}

func TestReload(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	before, err := f.client.ListZones(ctx, &noflyv1.ListZonesRequest{})
	if err != nil {
		t.Fatal(err)
	}

	// A set with a zone more.
	extra := strings.Replace(testZones, `{"type":"Feature","properties":{"id":"T-HIGH"`,
		`{"type":"Feature","properties":{"id":"T-NEW","restriction":"PROHIBITED","lower_m":0,"lower_ref":"AGL","upper_m":120,"upper_ref":"AGL","radius_m":500},"geometry":{"type":"Point","coordinates":[3.0,53.0]}},
{"type":"Feature","properties":{"id":"T-HIGH"`, 1)
	zones := readZones(t, extra)
	f.setLoad(func() ([]geo.Zone, error) { return zones, nil })
	if err := f.srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := f.client.GetZone(ctx, &noflyv1.GetZoneRequest{Id: "T-NEW"})
	if err != nil {
		t.Fatalf("new zone after reload: %v", err)
	}
	if after.GetZoneSet().GetVersion() == before.GetZoneSet().GetVersion() || after.GetZoneSet().GetZoneCount() != 4 {
		t.Errorf("zone set after reload %v, before %v: want a new version of 4 zones", after.GetZoneSet(), before.GetZoneSet())
	}

	// A broken set: every problem is logged and the old zones stay.
	_, loadErr := geo.Read(strings.NewReader(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"BAD","restriction":"MAYBE"},"geometry":{"type":"Point","coordinates":[3,53]}}]}`), "broken.geojson")
	if loadErr == nil {
		t.Fatal("the broken zone file read without error")
	}
	f.setLoad(func() ([]geo.Zone, error) { return nil, loadErr })
	err = f.srv.Reload(ctx)
	if !errors.Is(err, geo.ErrInvalidZone) {
		t.Fatalf("Reload error %v, want one wrapping geo.ErrInvalidZone", err)
	}
	if _, err := f.client.GetZone(ctx, &noflyv1.GetZoneRequest{Id: "T-NEW"}); err != nil {
		t.Errorf("after a failed reload the previous zones must stay: %v", err)
	}
	log := f.log.String()
	if !strings.Contains(log, "zone data problem") || !strings.Contains(log, "broken.geojson") || !strings.Contains(log, "MAYBE") {
		t.Errorf("the log does not name the problem:\n%s", log)
	}

	// Loading the same data again gives the same version.
	f.setLoad(func() ([]geo.Zone, error) { return readZones(t, testZones), nil })
	if err := f.srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := f.client.ListZones(ctx, &noflyv1.ListZonesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if again.GetZoneSet().GetVersion() != before.GetZoneSet().GetVersion() {
		t.Errorf("version %s after reloading the first set, want %s", again.GetZoneSet().GetVersion(), before.GetZoneSet().GetVersion())
	}
}

func TestNewFailsOnBadZones(t *testing.T) {
	_, err := New(context.Background(), Config{
		Load: func(context.Context) ([]geo.Zone, error) {
			return nil, &geo.LoadError{Problems: []geo.Problem{{File: "x", Feature: -1, Msg: "boom"}}}
		},
		Log: slog.New(slog.DiscardHandler),
	})
	if !errors.Is(err, geo.ErrInvalidZone) {
		t.Fatalf("New error %v, want one wrapping geo.ErrInvalidZone", err)
	}
}

func TestHealthAndReflection(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	hc := healthpb.NewHealthClient(f.conn)
	for _, svc := range []string{"", "nofly.v1.GeofenceService"} {
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q: %v, %v; want SERVING", svc, resp, err)
		}
	}

	stream, err := reflectionpb.NewServerReflectionClient(f.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	if !strings.Contains(strings.Join(names, " "), "nofly.v1.GeofenceService") {
		t.Errorf("reflection lists %v, want nofly.v1.GeofenceService among them", names)
	}
	_ = stream.CloseSend()

	f.srv.Shutdown()
	resp2, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp2.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health after Shutdown: %v, %v; want NOT_SERVING", resp2, err)
	}
}

func TestInterceptorRecoversPanics(t *testing.T) {
	f := newFixture(t)
	_, err := f.srv.UnaryInterceptor()(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/x/Y"},
		func(context.Context, any) (any, error) { panic("boom") })
	if status.Code(err) != codes.Internal {
		t.Fatalf("code %v, want Internal", status.Code(err))
	}
	if !strings.Contains(f.log.String(), "panic in handler") {
		t.Errorf("the panic was not logged")
	}
}

func TestToStatus(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		err  error
		code codes.Code
	}{
		{&notFoundError{kind: "zone", id: "x"}, codes.NotFound},
		{errors.Join(errors.New("wrapped"), &notFoundError{kind: "zone", id: "x"}), codes.NotFound},
		{geo.ErrInvalidQuery, codes.InvalidArgument},
		{context.Canceled, codes.Canceled},
		{context.DeadlineExceeded, codes.DeadlineExceeded},
		{errors.New("disk on fire"), codes.Internal},
	}
	for _, tc := range tests {
		if got := status.Code(f.srv.toStatus(ctx, tc.err)); got != tc.code {
			t.Errorf("toStatus(%v) = %v, want %v", tc.err, got, tc.code)
		}
	}
	if msg := status.Convert(f.srv.toStatus(ctx, errors.New("disk on fire"))).Message(); strings.Contains(msg, "disk") {
		t.Errorf("an internal error's text reached the client: %q", msg)
	}
}
