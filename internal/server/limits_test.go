package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/geo"
)

// longRoute is a route of n waypoints with altitudes near T-COND.
func longRoute(n int) *noflyv1.FlightPlan {
	wps := make([]*noflyv1.Waypoint, n)
	for i := range wps {
		wps[i] = wp(52.0+float64(i%1000)*1e-5, 5.0+float64(i/1000)*1e-5, 50)
	}
	return &noflyv1.FlightPlan{Geometry: &noflyv1.FlightPlan_Route{Route: &noflyv1.Route{Waypoints: wps,
		AltitudeReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}}}
}

// bigArea is an operating area whose one ring has n vertices, on a circle
// of about 1 km around (5.0, 52.0).
func bigArea(n int) *noflyv1.FlightPlan {
	ps := make([]*noflyv1.Position, n)
	for i := range ps {
		// A star-free polygon: vertices in order around the centre.
		a := 2 * math.Pi * float64(i) / float64(n)
		ps[i] = &noflyv1.Position{Latitude: 52.0 + 0.009*math.Sin(a), Longitude: 5.0 + 0.015*math.Cos(a)}
	}
	return &noflyv1.FlightPlan{Geometry: &noflyv1.FlightPlan_Area{Area: &noflyv1.Area{
		Shape: &noflyv1.Area_Polygon{Polygon: &noflyv1.Polygon{Rings: []*noflyv1.Ring{{Positions: ps}}}}}}}
}

func TestLimits(t *testing.T) {
	f := newFixture(t)
	ex := newExFixture(t)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		code codes.Code
		msg  string // in the status message
	}{
		{name: "largest route is within the message limit", code: codes.OK, call: func() error {
			_, err := f.client.CheckFlightPlan(ctx, &noflyv1.CheckFlightPlanRequest{FlightPlan: longRoute(geo.MaxWaypoints)})
			return err
		}},
		{name: "one waypoint too many", code: codes.InvalidArgument,
			msg: "flight_plan.route.waypoints: at most 10000 waypoints, got 10001", call: func() error {
				_, err := f.client.CheckFlightPlan(ctx, &noflyv1.CheckFlightPlanRequest{FlightPlan: longRoute(geo.MaxWaypoints + 1)})
				return err
			}},
		{name: "largest area is within the message limit", code: codes.OK, call: func() error {
			_, err := f.client.CheckFlightPlan(ctx, &noflyv1.CheckFlightPlanRequest{FlightPlan: bigArea(MaxAreaVertices - 1)})
			return err
		}},
		{name: "one area vertex too many", code: codes.InvalidArgument,
			msg: "flight_plan.area.polygon.rings: at most 10000 vertices in all, got 10001", call: func() error {
				_, err := f.client.CheckFlightPlan(ctx, &noflyv1.CheckFlightPlanRequest{FlightPlan: bigArea(MaxAreaVertices + 1)})
				return err
			}},
		{name: "message over the size limit", code: codes.ResourceExhausted, msg: "larger than max", call: func() error {
			_, err := f.client.CheckFlightPlan(ctx, &noflyv1.CheckFlightPlanRequest{FlightPlan: bigArea(60_000)})
			return err
		}},
		{name: "metadata over the header limit", code: codes.Internal, msg: "header list size to send violates the maximum size (16384 bytes) set by server", call: func() error {
			ctx := metadata.AppendToOutgoingContext(ctx, "x-padding", strings.Repeat("x", MaxHeaderBytes))
			_, err := f.client.GetZone(ctx, &noflyv1.GetZoneRequest{Id: "T-PROHIB"})
			return err
		}},
		{name: "zone page too large", code: codes.InvalidArgument, msg: "page_size: 1001 is more than the limit of 1000", call: func() error {
			_, err := f.client.ListZones(ctx, &noflyv1.ListZonesRequest{PageSize: MaxPageSize + 1})
			return err
		}},
		{name: "largest zone page", code: codes.OK, call: func() error {
			_, err := f.client.ListZones(ctx, &noflyv1.ListZonesRequest{PageSize: MaxPageSize})
			return err
		}},
		{name: "exemption page too large", code: codes.InvalidArgument, msg: "page_size: 1001 is more than the limit of 1000", call: func() error {
			_, err := ex.admin.ListExemptions(ctx, &noflyv1.ListExemptionsRequest{PageSize: MaxPageSize + 1})
			return err
		}},
		{name: "audit page too large", code: codes.InvalidArgument, msg: "page_size: 5000 is more than the limit of 1000", call: func() error {
			_, err := ex.admin.ListAuditEvents(ctx, &noflyv1.ListAuditEventsRequest{PageSize: 5000})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if status.Code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.msg) {
				t.Fatalf("want %v %q, got %v", tc.code, tc.msg, err)
			}
		})
	}
	// The size of the largest valid requests, for the documented margin.
	for name, fp := range map[string]*noflyv1.FlightPlan{"route": longRoute(geo.MaxWaypoints), "area": bigArea(MaxAreaVertices)} {
		n := proto.Size(&noflyv1.CheckFlightPlanRequest{FlightPlan: fp})
		if n > MaxMessageBytes/2 {
			t.Errorf("the largest %s takes %d bytes: less than twice under MaxMessageBytes", name, n)
		}
		t.Logf("largest %s: %d bytes", name, n)
	}
}

func TestServerDeadline(t *testing.T) {
	const def, longest = 30 * time.Millisecond, 60 * time.Millisecond
	ic := deadlineUnary(def, longest)
	wait := func(ctx context.Context, _ any) (any, error) {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	info := &grpc.UnaryServerInfo{FullMethod: "/test/Wait"}
	tests := []struct {
		name    string
		timeout time.Duration // 0: none
		msg     string
		took    time.Duration // at least
	}{
		{name: "no deadline gets the default", msg: "the call took longer than the server's limit of 30ms", took: def},
		{name: "a longer deadline is capped", timeout: time.Hour, msg: "the call took longer than the server's limit of 60ms", took: longest},
		{name: "a shorter deadline is the client's", timeout: 5 * time.Millisecond, msg: "context deadline exceeded"},
		{name: "a deadline just within the limit is the client's", timeout: 55 * time.Millisecond, msg: "context deadline exceeded", took: 55 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			start := time.Now()
			_, err := ic(ctx, nil, info, wait)
			if status.Code(err) != codes.DeadlineExceeded || status.Convert(err).Message() != tc.msg {
				t.Fatalf("got %v, want DEADLINE_EXCEEDED %q", err, tc.msg)
			}
			if took := time.Since(start); took < tc.took {
				t.Errorf("stopped after %v, before %v", took, tc.took)
			}
		})
	}
	t.Run("a call within the limit is untouched", func(t *testing.T) {
		want := errors.New("x")
		_, err := ic(context.Background(), nil, info, func(context.Context, any) (any, error) { return nil, want })
		if err != want {
			t.Fatalf("got %v", err)
		}
	})
}

// TestConcurrentStreams fills one connection with MaxConcurrentStreams
// streams: a further call waits until one ends.
func TestConcurrentStreams(t *testing.T) {
	f := newFixture(t)
	hc := healthpb.NewHealthClient(f.conn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancels := make([]context.CancelFunc, MaxConcurrentStreams)
	for i := range cancels {
		sctx, c := context.WithCancel(ctx)
		cancels[i] = c
		st, err := hc.Watch(sctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); err != nil { // the stream is open on the server
			t.Fatal(err)
		}
	}
	short, c := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err := f.client.GetZone(short, &noflyv1.GetZoneRequest{Id: "T-PROHIB"})
	c()
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("call %d on a full connection: want it to wait (DEADLINE_EXCEEDED), got %v", MaxConcurrentStreams+1, err)
	}
	cancels[0]()
	short, c = context.WithTimeout(ctx, 5*time.Second)
	defer c()
	if _, err := f.client.GetZone(short, &noflyv1.GetZoneRequest{Id: "T-PROHIB"}); err != nil {
		t.Fatalf("after a stream ended: %v", err)
	}
}

// bigRing is a zone whose one ring has n vertices on a circle of r metres
// around (lon, lat).
func bigRing(t *testing.T, lon, lat, r float64, n int) []geo.Zone {
	ring := make(orb.Ring, n+1)
	for i := range n {
		a := 2 * math.Pi * float64(i) / float64(n)
		ring[i] = orb.Point{lon + r*math.Cos(a)/(111_320*math.Cos(lat*math.Pi/180)), lat + r*math.Sin(a)/111_320}
	}
	ring[n] = ring[0]
	zones := []geo.Zone{{ID: "BIG", Name: "a ring of many vertices", Restriction: geo.Prohibited, Volumes: []geo.Volume{{
		Shape: geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{{ring}}}, Lower: geo.OpenLimit, Upper: geo.OpenLimit}}}}
	if _, err := geo.NewIndex(zones); err != nil {
		t.Fatal(err)
	}
	return zones
}

// TestExpensiveCheckStops: a valid flight plan that would take seconds
// (10,000 legs along the boundary of a ring of 200,000 vertices) ends, on
// the server, within 100 ms of the client's deadline and of the server's
// own; the server's log says when.
func TestExpensiveCheckStops(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a ring of 200,000 vertices")
	}
	f := newFixture(t)
	zones := bigRing(t, 5, 52, 50_000, 200_000)
	f.setLoad(func() ([]geo.Zone, error) { return zones, nil })
	if err := f.srv.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	west := 5 - 50_000/(111_320*math.Cos(52*math.Pi/180))
	wps := make([]*noflyv1.Waypoint, geo.MaxWaypoints)
	for i := range wps {
		lon := west - 0.025
		if i%2 == 1 {
			lon = west + 0.025
		}
		wps[i] = wp(51.8+float64(i)*0.00004, lon, 50)
	}
	req := &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{Geometry: route(wps...), BufferM: 2000}}
	const deadline = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	_, err := f.client.CheckFlightPlan(ctx, req)
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("got %v, want DEADLINE_EXCEEDED", err)
	}
	// The server's debug line for the call: `… code=Canceled took=…` (the
	// client's deadline reaches the server as its own, a little earlier,
	// or as the client's cancellation).
	var took time.Duration
	for wait := time.Now(); time.Since(wait) < 10*time.Second && took == 0; time.Sleep(10 * time.Millisecond) {
		for _, line := range strings.Split(f.log.String(), "\n") {
			if strings.Contains(line, "method=/nofly.v1.GeofenceService/CheckFlightPlan code=") && strings.Contains(line, " took=") {
				took, _ = time.ParseDuration(line[strings.LastIndex(line, "=")+1:])
			}
		}
	}
	if took == 0 {
		t.Fatalf("the server did not end the call within 10 s:\n%s", f.log.String())
	}
	t.Logf("the server ended the call %v after its deadline", took-deadline)
	// geo's TestCheckStops bounds the work between two asks of Stop (100 ms
	// of CPU at most, a few ms measured); here, by the wall clock on a
	// machine that may be busy with other tests, only that the call's
	// deadline reaches the geometry: without it the check runs for minutes.
	if took > deadline+time.Second {
		t.Errorf("the server ended the call after %v, more than 1 s after the %v deadline", took, deadline)
	}
}

// TestCheckWorkLimits: checks too large to run, or meeting too many zones,
// are refused with the limit named.
func TestCheckWorkLimits(t *testing.T) {
	f := newFixture(t)
	var zones []geo.Zone
	for i := range 1100 {
		zones = append(zones, geo.Zone{ID: fmt.Sprintf("Z%04d", i), Restriction: geo.Conditional, Volumes: []geo.Volume{{
			Shape: geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{5 + float64(i%30)*0.015, 52 + float64(i/30)*0.009}, Radius: 50},
			Lower: geo.OpenLimit, Upper: geo.OpenLimit}}})
	}
	f.setLoad(func() ([]geo.Zone, error) { return zones, nil })
	if err := f.srv.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	circle := func(r float64) *noflyv1.CheckFlightPlanRequest {
		return &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{Geometry: &noflyv1.FlightPlan_Area{Area: &noflyv1.Area{
			Shape: &noflyv1.Area_Circle{Circle: &noflyv1.Circle{Center: &noflyv1.Position{Latitude: 52.2, Longitude: 5.2}, RadiusM: r}}}}}}
	}
	_, err := f.client.CheckFlightPlan(ctx, circle(50_000))
	if status.Code(err) != codes.ResourceExhausted || status.Convert(err).Message() != "too many zones: the flight meets more than 1000 zones; check it in parts" {
		t.Errorf("1,100 zones met: %v", err)
	}
	if resp, err := f.client.CheckFlightPlan(ctx, circle(2000)); err != nil || len(resp.GetAdvisories()) == 0 {
		t.Errorf("a few zones met: %v", err)
	}
	var legs []*noflyv1.Waypoint
	for i := range 100 {
		legs = append(legs, wp(52, 2+float64(i%2)*3.8, 50))
	}
	_, err = f.client.CheckFlightPlan(ctx, &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{Geometry: route(legs...), BufferM: 100_000}})
	if d := violationAt(err, "flight_plan.route"); status.Code(err) != codes.InvalidArgument ||
		!strings.HasPrefix(d, "waypoints: the check would search 20988007 km²") || !strings.Contains(d, "more than the limit of 1000000 km²") {
		t.Errorf("100 legs of 260 km with a 100 km buffer: %v", err)
	}
}
