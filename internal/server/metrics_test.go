package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// scrape fetches m's /metrics and returns every sample by its series, as
// printed: `name{label="value",...}`.
func scrape(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func sample(t *testing.T, got map[string]float64, series string) float64 {
	t.Helper()
	v, ok := got[series]
	if !ok {
		t.Fatalf("no series %s", series)
	}
	return v
}

const (
	checkPosition = `{code="OK",method="/nofly.v1.GeofenceService/CheckPosition"}`
	badPosition   = `{code="InvalidArgument",method="/nofly.v1.GeofenceService/CheckPosition"}`
	healthOK      = `{code="OK",method="/grpc.health.v1.Health/Check"}`
)

func TestMetricsCountCalls(t *testing.T) {
	zones := readZones(t, testZones)
	m := NewMetrics()
	srv, err := New(context.Background(), Config{
		Load:       func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log:        slog.New(slog.DiscardHandler),
		Now:        func() time.Time { return clock },
		Exemptions: openStore(t),
		Metrics:    m,
	})
	if err != nil {
		t.Fatal(err)
	}
	conn := serve(t, srv)
	before := scrape(t, m)
	// Every served method is exported from zero, before its first call.
	for _, series := range []string{"nofly_rpc_requests_total" + checkPosition,
		`nofly_rpc_requests_total{code="OK",method="/nofly.v1.ExemptionService/CreateExemption"}`} {
		if v := sample(t, before, series); v != 0 {
			t.Errorf("%s = %v before any call", series, v)
		}
	}
	if v := sample(t, before, "nofly_zones_loaded"); v != 3 {
		t.Errorf("nofly_zones_loaded = %v, want 3", v)
	}
	if v := sample(t, before, "nofly_ready"); v != 1 {
		t.Errorf("nofly_ready = %v, want 1", v)
	}
	version := srv.current().info.GetVersion()
	if v := sample(t, before, `nofly_zone_set_info{version="`+version+`"}`); v != 1 {
		t.Errorf("zone set info = %v", v)
	}
	if v := sample(t, before, "nofly_zone_set_loaded_timestamp_seconds"); v != float64(clock.Unix()) {
		t.Errorf("zone set loaded at %v, want %v", v, clock.Unix())
	}
	if age := sample(t, before, "nofly_exemption_cache_age_seconds"); math.IsNaN(age) || age < 0 || age > 60 {
		t.Errorf("exemption cache age %v s, want a few seconds at most", age)
	}

	checks := noflyv1.NewGeofenceServiceClient(conn)
	good := &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, Altitude: alt(100)}
	for range 3 {
		if _, err := checks.CheckPosition(context.Background(), good); err != nil {
			t.Fatal(err)
		}
	}
	bad := &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 91, Longitude: 4.05}}
	if _, err := checks.CheckPosition(context.Background(), bad); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad request: %v", err)
	}
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	after := scrape(t, m)
	for _, tc := range []struct {
		series string
		want   float64
	}{
		{"nofly_rpc_requests_total" + checkPosition, 3},
		{"nofly_rpc_duration_seconds_count" + checkPosition, 3},
		{"nofly_rpc_requests_total" + badPosition, 1},
		{"nofly_rpc_duration_seconds_count" + badPosition, 1},
		{"nofly_rpc_requests_total" + healthOK, 1},
	} {
		if got := sample(t, after, tc.series) - before[tc.series]; got != tc.want {
			t.Errorf("%s moved by %v, want %v", tc.series, got, tc.want)
		}
	}
	if sum := sample(t, after, "nofly_rpc_duration_seconds_sum"+checkPosition); sum <= 0 || sum > 10 {
		t.Errorf("3 checks took %v s in all", sum)
	}
	if _, ok := after["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

func TestMetricsReloads(t *testing.T) {
	zones := readZones(t, testZones)
	m := NewMetrics()
	fail := false
	srv, err := New(context.Background(), Config{
		Load: func(context.Context) ([]geo.Zone, error) {
			if fail {
				return nil, errors.New("zone file unreadable")
			}
			return zones, nil
		},
		Log:     slog.New(slog.DiscardHandler),
		Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name               string
		fail               bool
		reloads, failures  float64
		zonesLoadedAfterwd float64
	}{
		{"at start", false, 1, 0, 3},
		{"failed reload", true, 2, 1, 3},
		{"good reload", false, 3, 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name != "at start" {
				fail = tc.fail
				if err := srv.Reload(context.Background()); (err != nil) != tc.fail {
					t.Fatalf("reload: %v", err)
				}
			}
			got := scrape(t, m)
			if v := sample(t, got, "nofly_zone_reloads_total"); v != tc.reloads {
				t.Errorf("reloads %v, want %v", v, tc.reloads)
			}
			if v := sample(t, got, "nofly_zone_reload_failures_total"); v != tc.failures {
				t.Errorf("failures %v, want %v", v, tc.failures)
			}
			if v := sample(t, got, "nofly_zones_loaded"); v != tc.zonesLoadedAfterwd {
				t.Errorf("zones loaded %v, want %v", v, tc.zonesLoadedAfterwd)
			}
		})
	}
	// No store: no exemption series.
	if _, ok := scrape(t, m)["nofly_exemption_cache_age_seconds"]; ok {
		t.Error("exemption cache age exported without a store")
	}
}

// TestMetricsStoreErrors: answers (not found) are not errors; a store that
// fails is counted by operation; the cache age grows while it fails.
func TestMetricsStoreErrors(t *testing.T) {
	zones := readZones(t, testZones)
	m := NewMetrics()
	store := openStore(t)
	srv, err := New(context.Background(), Config{
		Load:       func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log:        slog.New(slog.DiscardHandler),
		Exemptions: store,
		Metrics:    m,
	})
	if err != nil {
		t.Fatal(err)
	}
	admin := noflyv1.NewExemptionServiceClient(serve(t, srv))
	ctx := context.Background()
	if _, err := admin.GetExemption(ctx, &noflyv1.GetExemptionRequest{Id: "EX-999999"}); status.Code(err) != codes.NotFound {
		t.Fatalf("get of an unknown id: %v", err)
	}
	asOf := srv.ExemptionsAsOf()
	if asOf.IsZero() {
		t.Fatal("ExemptionsAsOf is zero after start")
	}
	time.Sleep(10 * time.Millisecond)
	if err := srv.exCache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if !srv.ExemptionsAsOf().After(asOf) {
		t.Errorf("a refresh that found the store unchanged did not move ExemptionsAsOf (%v)", asOf)
	}

	store.Close()
	if _, err := admin.ListExemptions(ctx, &noflyv1.ListExemptionsRequest{}); err == nil {
		t.Fatal("list on a closed store succeeded")
	}
	asOf = srv.ExemptionsAsOf()
	if err := srv.exCache.Refresh(ctx); err == nil {
		t.Fatal("refresh from a closed store succeeded")
	}
	if got := srv.ExemptionsAsOf(); !got.Equal(asOf) {
		t.Errorf("a failed refresh moved ExemptionsAsOf from %v to %v", asOf, got)
	}
	got := scrape(t, m)
	for op, want := range map[string]float64{"get": 0, "list": 1, "version": 1, "create": 0} {
		if v := sample(t, got, `nofly_exemption_store_errors_total{operation="`+op+`"}`); v != want {
			t.Errorf("store errors of %s = %v, want %v", op, v, want)
		}
	}
}

// TestMetricsCountPanics: a handler that panics is counted as INTERNAL,
// whether the recovering interceptor sits inside the metrics' (as
// NewGRPCServer orders them) or there is none and the panic goes on.
func TestMetricsCountPanics(t *testing.T) {
	m := NewMetrics()
	srv := newFixture(t).srv
	info := &grpc.UnaryServerInfo{FullMethod: "/nofly.v1.GeofenceService/CheckPosition"}
	boom := func(context.Context, any) (any, error) { panic("boom") }

	_, err := m.UnaryInterceptor()(context.Background(), nil, info, func(ctx context.Context, req any) (any, error) {
		return srv.UnaryInterceptor()(ctx, req, info, boom)
	})
	if status.Code(err) != codes.Internal {
		t.Fatalf("recovered panic: %v, want INTERNAL", err)
	}
	panicked := func() (p any) {
		defer func() { p = recover() }()
		_, _ = m.UnaryInterceptor()(context.Background(), nil, info, boom)
		return nil
	}()
	if panicked == nil {
		t.Error("the metrics interceptor swallowed a panic")
	}
	// m was not bound to a gRPC server: its methods are all "unknown".
	if v := sample(t, scrape(t, m), `nofly_rpc_requests_total{code="Internal",method="unknown"}`); v != 2 {
		t.Errorf("panicking calls counted %v times as INTERNAL, want 2", v)
	}
	// Another server's metrics count their own calls only, even with the
	// same method and code.
	other := NewMetrics()
	_, _ = other.UnaryInterceptor()(context.Background(), nil, info, func(context.Context, any) (any, error) {
		return nil, status.Error(codes.Internal, "")
	})
	if v, ok := scrape(t, other)[`nofly_rpc_requests_total{code="Internal",method="unknown"}`]; v != 1 {
		t.Errorf("the other metrics counted %v calls (present %v), want 1", v, ok)
	}
	if v := sample(t, scrape(t, m), `nofly_rpc_requests_total{code="Internal",method="unknown"}`); v != 2 {
		t.Errorf("the first metrics counted %v, want still 2", v)
	}
}

// recordCheckStore answers every RecordCheck with err.
type recordCheckStore struct {
	exemptions.Store
	err error
}

func (r recordCheckStore) RecordCheck(context.Context, exemptions.CheckRecord) (exemptions.AuditEvent, error) {
	return exemptions.AuditEvent{}, r.err
}

// TestMetricsStoreErrorsAreFaults: only faults count as store errors; a
// check refused because an exemption it relied on changed meanwhile (it is
// judged again) and a revocation that lost a race are answers.
func TestMetricsStoreErrorsAreFaults(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want float64
	}{
		{"exemption no longer in force", fmt.Errorf("EX-000001: %w", exemptions.ErrNotInForce), 0},
		{"already revoked", fmt.Errorf("EX-000001: %w", exemptions.ErrRevoked), 0},
		{"database unreachable", fmt.Errorf("record check: %w", exemptions.ErrUnavailable), 1},
		{"anything else", errors.New("disk I/O error"), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMetrics()
			o := observeStore(recordCheckStore{err: tc.err}, m)
			if _, err := o.RecordCheck(context.Background(), exemptions.CheckRecord{}); !errors.Is(err, tc.err) {
				t.Fatalf("RecordCheck returned %v, want %v", err, tc.err)
			}
			series := `nofly_exemption_store_errors_total{operation="record_check"}`
			if v := sample(t, scrape(t, m), series); v != tc.want {
				t.Errorf("%s = %v, want %v", series, v, tc.want)
			}
		})
	}
}
