package server

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/geo"
)

// fleetZones: a zone from 45 m AGL around (4.76, 52.31), one from the
// ground around (4.80, 52.31).
const fleetZones = `{"type":"FeatureCollection","features":[
  {"type":"Feature","properties":{"id":"T-FROM45","name":"from 45 m","restriction":"REQ_AUTHORISATION",
   "lower_m":45,"lower_ref":"AGL","upper_m":300,"upper_ref":"AGL","radius_m":1000},"geometry":{"type":"Point","coordinates":[4.76,52.31]}},
  {"type":"Feature","properties":{"id":"T-GROUND","name":"from the ground","restriction":"PROHIBITED",
   "lower_m":0,"lower_ref":"AGL","upper_m":120,"upper_ref":"AGL","radius_m":500},"geometry":{"type":"Point","coordinates":[4.80,52.31]}}]}`

type fleetFixture struct {
	checks noflyv1.GeofenceServiceClient
	drones noflyv1.DroneServiceClient
	srv    *Server
}

func newFleetFixture(t *testing.T, policy string, mode exemptions.RegistryMode) *fleetFixture {
	t.Helper()
	zones := readZones(t, fleetZones)
	store, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	path := filepath.Join(t.TempDir(), "policy.txt")
	if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := New(context.Background(), Config{
		Load:       func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log:        slog.New(slog.DiscardHandler),
		Now:        func() time.Time { return clock },
		Exemptions: store,
		Fleet:      &FleetConfig{PolicyFile: path, Registry: mode, Ceiling: exemptions.DefaultCeiling},
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
	return &fleetFixture{checks: noflyv1.NewGeofenceServiceClient(conn), drones: noflyv1.NewDroneServiceClient(conn), srv: srv}
}

func TestDroneServiceRefuses(t *testing.T) {
	f := newFleetFixture(t, "levels regular confidential\n", exemptions.RegistryEnforced)
	ctx := context.Background()
	good := func() *noflyv1.Drone {
		return &noflyv1.Drone{Serial: "pa-1", Manufacturer: "Parrot", Model: "Anafi USA", Unit: "AMS", Clearance: "regular", ClassMark: "c2", Status: noflyv1.DroneStatus_DRONE_STATUS_ACTIVE}
	}
	got, err := f.drones.AddDrone(ctx, &noflyv1.AddDroneRequest{Drone: good()})
	if err != nil || got.GetDrone().GetSerial() != "PA-1" || got.GetDrone().GetStatus() != noflyv1.DroneStatus_DRONE_STATUS_ACTIVE || got.GetDrone().GetClassMark() != "C2" {
		t.Fatalf("add: %v, %v", got, err)
	}
	for _, tc := range []struct {
		name   string
		call   func() error
		code   codes.Code
		inText string
	}{
		{"again", func() error { _, err := f.drones.AddDrone(ctx, &noflyv1.AddDroneRequest{Drone: good()}); return err }, codes.AlreadyExists, "already registered"},
		{"bad class", func() error {
			d := good()
			d.Serial, d.ClassMark = "PA-2", "C9"
			_, err := f.drones.AddDrone(ctx, &noflyv1.AddDroneRequest{Drone: d})
			return err
		}, codes.InvalidArgument, "class"},
		{"unknown clearance", func() error {
			d := good()
			d.Serial, d.Clearance = "PA-2", "secret"
			_, err := f.drones.AddDrone(ctx, &noflyv1.AddDroneRequest{Drone: d})
			return err
		}, codes.InvalidArgument, `clearance: "secret" is no level`},
		{"retired by update", func() error {
			d := good()
			d.Status = noflyv1.DroneStatus_DRONE_STATUS_RETIRED
			_, err := f.drones.UpdateDrone(ctx, &noflyv1.UpdateDroneRequest{Drone: d})
			return err
		}, codes.InvalidArgument, "RetireDrone"},
		{"retire without reason", func() error {
			_, err := f.drones.RetireDrone(ctx, &noflyv1.RetireDroneRequest{Serial: "PA-1"})
			return err
		}, codes.InvalidArgument, "reason"},
		{"unknown", func() error { _, err := f.drones.GetDrone(ctx, &noflyv1.GetDroneRequest{Serial: "NOPE"}); return err }, codes.NotFound, "NOPE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.inText) {
				t.Errorf("got %v; want %v with %q", err, tc.code, tc.inText)
			}
		})
	}
	if _, err := f.drones.RetireDrone(ctx, &noflyv1.RetireDroneRequest{Serial: "pa-1", Reason: "crashed"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.drones.UpdateDrone(ctx, &noflyv1.UpdateDroneRequest{Drone: good()}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("update of a retired drone: %v", err)
	}
}

func TestFleetAnswers(t *testing.T) {
	f := newFleetFixture(t, "levels regular confidential\nmanufacturer DJI: only regular\n", exemptions.RegistryWarn)
	ctx := context.Background()
	pos := func(lon, height float64, drone, cls string) *noflyv1.CheckPositionResponse {
		t.Helper()
		req := &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.31, Longitude: lon}, At: timestamppb.New(clock),
			Operator: &noflyv1.Operator{Unit: "AMS", DroneSerial: drone}, Classification: cls}
		if height >= 0 {
			req.Altitude = alt(height)
		}
		resp, err := f.checks.CheckPosition(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// The registry only warns: an unregistered drone is CLEAR, and said so.
	r := pos(4.76, 30, "UNKNOWN-1", "")
	if r.GetVerdict() != noflyv1.Verdict_VERDICT_CLEAR || !strings.Contains(strings.Join(r.GetWarnings(), "\n"), "drone UNKNOWN-1 is not registered") ||
		!strings.Contains(strings.Join(r.GetWarnings(), "\n"), "registry is not enforced") {
		t.Errorf("warn mode: %v %q", r.GetVerdict(), r.GetWarnings())
	}
	if l := r.GetHeightLimit(); l.GetKind() != noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_LIMITED || l.GetMetres() != 44 || l.GetZoneId() != "T-FROM45" {
		t.Errorf("height limit %v", l)
	}
	// An unknown drone on a confidential operation: refused by the
	// clearance rule and the DJI rule (the drone cannot be shown not DJI).
	r = pos(4.76, 30, "UNKNOWN-1", "confidential")
	if r.GetVerdict() != noflyv1.Verdict_VERDICT_DENIED || len(r.GetPolicyRefusals()) != 2 || len(r.GetConflicts()) != 0 {
		t.Errorf("confidential, unknown drone: %v %v %v", r.GetVerdict(), r.GetPolicyRefusals(), r.GetConflicts())
	}
	if l := pos(4.80, -1, "", "").GetHeightLimit(); l.GetKind() != noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_BLOCKED || !strings.Contains(l.GetLimitedBy(), "T-GROUND") {
		t.Errorf("height limit from the ground: %v", l)
	}
	// A route through both: per leg, and the whole the lowest.
	plan, err := f.checks.CheckFlightPlan(ctx, &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{
		Operator: &noflyv1.Operator{Unit: "AMS"}, Start: timestamppb.New(clock),
		Geometry: &noflyv1.FlightPlan_Route{Route: &noflyv1.Route{AltitudeReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL,
			Waypoints: []*noflyv1.Waypoint{wp(52.31, 4.74, 30), wp(52.31, 4.76, 30), wp(52.31, 4.80, 30)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	legs := plan.GetLegHeightLimits()
	if len(legs) != 2 || legs[0].GetMetres() != 44 || legs[1].GetKind() != noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_BLOCKED ||
		plan.GetHeightLimit().GetKind() != noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_BLOCKED {
		t.Errorf("route limits: legs %v, whole %v", legs, plan.GetHeightLimit())
	}
}

// TestFleetLive: the batch and the stream judge every position by the
// fleet rules too, as CheckPosition does: an unregistered drone on a
// confidential operation is DENIED clear of every zone, the same flight on
// a regular operation is not.
func TestFleetLive(t *testing.T) {
	f := newFleetFixture(t, "levels regular confidential\nmanufacturer DJI: only regular\n", exemptions.RegistryWarn)
	ctx := context.Background()
	flight := func(cls string) *noflyv1.LiveFlight {
		return &noflyv1.LiveFlight{Operator: &noflyv1.Operator{Unit: "AMS", DroneSerial: "UNKNOWN-1"},
			AltitudeReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL, Classification: cls}
	}
	// 4.70 E: clear of both zones.
	away := &noflyv1.TelemetryPosition{At: timestamppb.New(clock), Latitude: 52.31, Longitude: 4.70, AltitudeM: proto.Float64(30)}
	for _, tc := range []struct {
		cls  string
		want noflyv1.Verdict
	}{{"", noflyv1.Verdict_VERDICT_CLEAR}, {"confidential", noflyv1.Verdict_VERDICT_DENIED}} {
		batch, err := f.checks.CheckPositions(ctx, &noflyv1.CheckPositionsRequest{Flight: flight(tc.cls),
			Positions: []*noflyv1.TelemetryPosition{away}})
		if err != nil {
			t.Fatal(err)
		}
		if got := batch.GetAnswers()[0].GetVerdict(); got != tc.want {
			t.Errorf("batch, classification %q: %v, want %v", tc.cls, got, tc.want)
		}
		stream, err := f.checks.MonitorFlight(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []*noflyv1.MonitorFlightRequest{
			{Kind: &noflyv1.MonitorFlightRequest_Start{Start: &noflyv1.MonitorFlightStart{Flight: flight(tc.cls)}}},
			{Kind: &noflyv1.MonitorFlightRequest_Position{Position: away}},
		} {
			if err := stream.Send(m); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetVerdict() != tc.want {
			t.Errorf("stream, classification %q: %v, want %v", tc.cls, resp.GetVerdict(), tc.want)
		}
		_ = stream.CloseSend()
	}
}
