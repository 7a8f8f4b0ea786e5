package server

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

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
