package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/geo"
)

// downStore is a Store whose database can be made unreachable: while down,
// every call fails with ErrUnavailable, as the PostgreSQL store's do.
type downStore struct {
	exemptions.Store
	down atomic.Bool
}

func (d *downStore) fail() error {
	if d.down.Load() {
		return fmt.Errorf("%w: connection refused", exemptions.ErrUnavailable)
	}
	return nil
}

func (d *downStore) Create(ctx context.Context, req exemptions.Request, ex exemptions.Exemption) (exemptions.Exemption, error) {
	if err := d.fail(); err != nil {
		return ex, err
	}
	return d.Store.Create(ctx, req, ex)
}

func (d *downStore) Revoke(ctx context.Context, req exemptions.Request, id string, rev exemptions.Revocation) (exemptions.Exemption, error) {
	if err := d.fail(); err != nil {
		return exemptions.Exemption{}, err
	}
	return d.Store.Revoke(ctx, req, id, rev)
}

func (d *downStore) Version(ctx context.Context) (int64, error) {
	if err := d.fail(); err != nil {
		return 0, err
	}
	return d.Store.Version(ctx)
}

func (d *downStore) Changed(ctx context.Context, since int64) ([]exemptions.Exemption, int64, error) {
	if err := d.fail(); err != nil {
		return nil, 0, err
	}
	return d.Store.Changed(ctx, since)
}

func (d *downStore) RecordCheck(ctx context.Context, c exemptions.CheckRecord) (exemptions.AuditEvent, error) {
	if err := d.fail(); err != nil {
		return exemptions.AuditEvent{}, err
	}
	return d.Store.RecordCheck(ctx, c)
}

// TestExemptionStoreOutage: while the exemption database cannot be
// reached, checks are answered from the last known exemptions and say how
// old they are; an exempted check, which cannot be recorded, fails
// UNAVAILABLE (not cleared) and writes fail UNAVAILABLE; once the database
// answers, everything works again.
func TestExemptionStoreOutage(t *testing.T) {
	ctx := context.Background()
	sqlite, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close()
	store := &downStore{Store: sqlite}
	var now atomic.Int64
	now.Store(clock.UnixNano())
	zones := readZones(t, testZones)
	log := &syncBuffer{}
	srv, err := New(ctx, Config{
		Load:       func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log:        slog.New(slog.NewTextHandler(log, nil)),
		Now:        func() time.Time { return time.Unix(0, now.Load()) },
		Exemptions: store,
	})
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	g := srv.NewGRPCServer()
	go func() { _ = g.Serve(lis) }()
	defer g.Stop()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	checks, admin := noflyv1.NewGeofenceServiceClient(conn), noflyv1.NewExemptionServiceClient(conn)

	created, err := admin.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: record()})
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetExemption().GetId()
	asOf := srv.ExemptionsAsOf()
	if !asOf.Equal(clock) {
		t.Fatalf("ExemptionsAsOf %v, want the clock's %v", asOf, clock)
	}
	resp, err := checks.CheckPosition(ctx, positionIn(50, clock))
	if err != nil || resp.GetVerdict() != noflyv1.Verdict_VERDICT_EXEMPTED {
		t.Fatalf("before the outage: %v %v", resp, err)
	}
	if !resp.GetExemptionsAsOf().AsTime().Equal(clock) || resp.GetExemptionsStale() {
		t.Errorf("before the outage: as of %v, stale %v", resp.GetExemptionsAsOf().AsTime(), resp.GetExemptionsStale())
	}

	store.down.Store(true)
	now.Add(int64(time.Minute))
	if err := srv.exCache.Refresh(ctx); err == nil {
		t.Fatal("refreshed from a store that is down")
	}
	if !srv.ExemptionsAsOf().Equal(asOf) {
		t.Errorf("ExemptionsAsOf moved to %v while the store was down", srv.ExemptionsAsOf())
	}
	t.Run("a denied check is answered, stale", func(t *testing.T) {
		resp, err := checks.CheckPosition(ctx, positionIn(100, clock)) // above the exemption's 60 m ceiling
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetVerdict() != noflyv1.Verdict_VERDICT_DENIED || !resp.GetExemptionsStale() ||
			!resp.GetExemptionsAsOf().AsTime().Equal(asOf) {
			t.Errorf("verdict %v, as of %v, stale %v", resp.GetVerdict(), resp.GetExemptionsAsOf().AsTime(), resp.GetExemptionsStale())
		}
	})
	t.Run("a clear check is answered, stale", func(t *testing.T) {
		req := positionIn(50, clock)
		req.Position = &noflyv1.Position{Latitude: 40, Longitude: -30}
		resp, err := checks.CheckPosition(ctx, req)
		if err != nil || resp.GetVerdict() != noflyv1.Verdict_VERDICT_CLEAR || !resp.GetExemptionsStale() {
			t.Errorf("%v %v", resp, err)
		}
	})
	t.Run("an exempted check is not cleared", func(t *testing.T) {
		_, err := checks.CheckPosition(ctx, positionIn(50, clock))
		if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "NOT CLEARED: exemption "+id) {
			t.Fatalf("%v, want UNAVAILABLE saying the flight is not cleared", err)
		}
		if strings.Contains(err.Error(), "connection refused") {
			t.Errorf("the cause reached the client: %v", err)
		}
		var info *errdetails.ErrorInfo
		for _, d := range status.Convert(err).Details() {
			if ei, ok := d.(*errdetails.ErrorInfo); ok {
				info = ei
			}
		}
		if info.GetReason() != reasonExemptionDatabaseUnavailable {
			t.Errorf("detail %v, want the reason %s", info, reasonExemptionDatabaseUnavailable)
		}
	})
	t.Run("writes fail", func(t *testing.T) {
		_, err := admin.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: record()})
		if status.Code(err) != codes.Unavailable {
			t.Errorf("create: %v, want UNAVAILABLE", err)
		}
		_, err = admin.RevokeExemption(ctx, &noflyv1.RevokeExemptionRequest{Id: id, RevokedBy: "chief", Reason: "r"})
		if status.Code(err) != codes.Unavailable {
			t.Errorf("revoke: %v, want UNAVAILABLE", err)
		}
	})
	if !strings.Contains(log.String(), "connection refused") {
		t.Errorf("the cause is not in the log:\n%s", log)
	}

	store.down.Store(false)
	if err := srv.exCache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	resp, err = checks.CheckPosition(ctx, positionIn(50, clock))
	if err != nil || resp.GetVerdict() != noflyv1.Verdict_VERDICT_EXEMPTED || resp.GetExemptionsStale() {
		t.Fatalf("after the outage: %v %v", resp, err)
	}
	events, _, err := sqlite.Audit(ctx, exemptions.AuditFilter{Action: exemptions.ActionCheck})
	if err != nil || len(events) != 2 {
		t.Fatalf("%d checks in the audit log, want the two answered EXEMPTED (%v)", len(events), err)
	}
}

// TestExemptionsStaleAfter: the as-of age that makes a response stale.
func TestExemptionsStaleAfter(t *testing.T) {
	for _, tc := range []struct {
		name string
		age  time.Duration
		want bool
	}{
		{"just confirmed", 0, false},
		{"at the limit", exemptionsStaleAfter, false},
		{"past the limit", exemptionsStaleAfter + time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exemptionsStale(clock, clock.Add(tc.age)); got != tc.want {
				t.Errorf("stale %v, want %v", got, tc.want)
			}
		})
	}
	if exemptionsStale(time.Time{}, clock) {
		t.Error("no exemption store is not stale")
	}
}
