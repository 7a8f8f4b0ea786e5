package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/geo"
)

// serve serves srv over an in-memory connection and returns a client
// connection to it.
func serve(t *testing.T, srv *Server) *grpc.ClientConn {
	t.Helper()
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
	return conn
}

// healthOf returns what the health service says of service.
func healthOf(t *testing.T, conn *grpc.ClientConn, service string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		t.Fatalf("health check of %q: %v", service, err)
	}
	return resp.GetStatus()
}

func wantHealth(t *testing.T, conn *grpc.ClientConn, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	for _, svc := range []string{"", noflyv1.GeofenceService_ServiceDesc.ServiceName, noflyv1.ExemptionService_ServiceDesc.ServiceName} {
		if got := healthOf(t, conn, svc); got != want {
			t.Errorf("health of %q = %v, want %v", svc, got, want)
		}
	}
}

func openStore(t *testing.T) *sqlitestore.Store {
	t.Helper()
	store, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// TestReadiness follows a server from start to stop: NOT_SERVING (and
// checks refused) while the zones load, SERVING once they have, still
// SERVING after a failed reload, NOT_SERVING after Shutdown.
func TestReadiness(t *testing.T) {
	zones := readZones(t, testZones)
	release := make(chan struct{})
	fail := make(chan bool, 1)
	srv, err := Prepare(Config{
		Load: func(ctx context.Context) ([]geo.Zone, error) {
			select {
			case <-release: // the first load waits until the test lets it go
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			select {
			case <-fail:
				return nil, errors.New("zone file unreadable")
			default:
				return zones, nil
			}
		},
		Log:        slog.New(slog.DiscardHandler),
		Now:        func() time.Time { return clock },
		Exemptions: openStore(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	conn := serve(t, srv)
	started := make(chan error, 1)
	go func() { started <- srv.Start(context.Background()) }()

	wantHealth(t, conn, healthpb.HealthCheckResponse_NOT_SERVING)
	checks := noflyv1.NewGeofenceServiceClient(conn)
	req := &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, Altitude: alt(100)}
	if _, err := checks.CheckPosition(context.Background(), req); status.Code(err) != codes.Unavailable {
		t.Errorf("check while loading: %v, want UNAVAILABLE", err)
	}
	if _, err := noflyv1.NewExemptionServiceClient(conn).ListExemptions(context.Background(),
		&noflyv1.ListExemptionsRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("exemption call while loading: %v, want UNAVAILABLE", err)
	}
	if srv.Ready() {
		t.Error("Ready before the zones loaded")
	}

	close(release)
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	wantHealth(t, conn, healthpb.HealthCheckResponse_SERVING)
	resp, err := checks.CheckPosition(context.Background(), req)
	if err != nil || resp.GetVerdict() != noflyv1.Verdict_VERDICT_DENIED {
		t.Fatalf("check once serving: %v %v, want DENIED", resp.GetVerdict(), err)
	}

	fail <- true
	if err := srv.Reload(context.Background()); err == nil {
		t.Fatal("reload of an unreadable zone file succeeded")
	}
	wantHealth(t, conn, healthpb.HealthCheckResponse_SERVING)

	srv.Shutdown()
	wantHealth(t, conn, healthpb.HealthCheckResponse_NOT_SERVING)
}

// TestStartFails: a store that does not answer, or zones that do not load,
// leave the server NOT_SERVING.
func TestStartFails(t *testing.T) {
	zones := readZones(t, testZones)
	for _, tc := range []struct {
		name  string
		load  Loader
		store func(t *testing.T) exemptions.Store
	}{
		{
			name:  "store unreachable",
			load:  func(context.Context) ([]geo.Zone, error) { return zones, nil },
			store: func(t *testing.T) exemptions.Store { s := openStore(t); s.Close(); return s },
		},
		{
			name:  "zones do not load",
			load:  func(context.Context) ([]geo.Zone, error) { return nil, errors.New("no such file") },
			store: func(t *testing.T) exemptions.Store { return openStore(t) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := Prepare(Config{Load: tc.load, Log: slog.New(slog.DiscardHandler), Exemptions: tc.store(t)})
			if err != nil {
				t.Fatal(err)
			}
			conn := serve(t, srv)
			if err := srv.Start(context.Background()); err == nil {
				t.Fatal("Start succeeded")
			}
			wantHealth(t, conn, healthpb.HealthCheckResponse_NOT_SERVING)
			if srv.Ready() {
				t.Error("Ready after a failed Start")
			}
		})
	}
}
