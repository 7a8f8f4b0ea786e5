package exemptions_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/storetest"
	"github.com/nofly-project/nofly/geo"
)

func openSQLite(t *testing.T) exemptions.Store {
	s, err := exemptions.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSQLiteStore(t *testing.T) { storetest.Run(t, openSQLite) }

func TestSQLiteReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nofly.db")
	s, err := exemptions.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := s.Create(ctx, storetest.Record("AMS", "NL-A"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = exemptions.OpenSQLite(ctx, path) // migrations already applied: no-op
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(ctx, ex.ID); err != nil {
		t.Fatal(err)
	}
}

// rawDB opens the store's file directly, as someone tampering with it would.
func rawDB(t *testing.T, path string) *sql.DB {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLiteRefusesEditsAndDeletes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nofly.db")
	s, err := exemptions.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ex, _ := s.Create(ctx, storetest.Record("AMS", "NL-A"))
	db := rawDB(t, path)
	for _, q := range []string{
		"DELETE FROM audit",
		"UPDATE audit SET actor = 'someone else'",
		"DELETE FROM exemptions",
		"UPDATE exemptions SET record = replace(record, '120', '500')",
		"UPDATE exemptions SET unit = 'RTM'",
	} {
		if _, err := db.ExecContext(ctx, q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
	if _, err := s.Get(ctx, ex.ID); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyAuditFindsTampering drops the guards and changes the database
// behind the store's back: each change must show in VerifyAudit.
func TestVerifyAuditFindsTampering(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want string
	}{
		{"entry changed", "UPDATE audit SET entry = replace(entry, 'admin-1', 'admin-2') WHERE seq = 2", "audit entry 2: changed"},
		{"entry removed", "DELETE FROM audit WHERE seq = 2", "entries missing"},
		{"record changed", "UPDATE exemptions SET record = replace(record, '120', '500') WHERE seq = 1", "differs from the one its audit entry issued"},
		{"revocation removed", "UPDATE exemptions SET revocation = NULL, revoked_at_ns = NULL WHERE seq = 2", "revocation differs"},
		{"record removed", "DELETE FROM exemption_zones; DELETE FROM exemptions WHERE seq = 3", "missing from the records"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "nofly.db")
			s, err := exemptions.OpenSQLite(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for range 3 {
				if _, err := s.Create(ctx, storetest.Record("AMS", "NL-A")); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Revoke(ctx, "EX-000002", exemptions.Revocation{By: "c", At: storetest.T0, Reason: "r"}); err != nil {
				t.Fatal(err)
			}
			if v, err := s.VerifyAudit(ctx); err != nil || !v.OK() {
				t.Fatalf("before tampering: %+v %v", v, err)
			}
			db := rawDB(t, path)
			for _, trg := range []string{"audit_no_update", "audit_no_delete", "exemptions_no_delete", "exemption_zones_no_delete", "exemptions_no_edit"} {
				if _, err := db.ExecContext(ctx, "DROP TRIGGER "+trg); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.ExecContext(ctx, tc.sql); err != nil {
				t.Fatal(err)
			}
			v, err := s.VerifyAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if v.OK() || !strings.Contains(strings.Join(v.Problems, "\n"), tc.want) {
				t.Fatalf("problems %q, want one with %q", v.Problems, tc.want)
			}
		})
	}
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	defer s.Close()
	c, err := exemptions.NewCache(ctx, s, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	zone := &geo.Zone{ID: "NL-A", Country: "NLD", Restriction: geo.Prohibited}
	hit := &geo.Hit{Zone: zone, Band: geo.Band{Upper: 50, Ref: geo.AGL},
		When: geo.TimeWindow{Start: storetest.T0.Add(time.Hour), End: storetest.T0.Add(2 * time.Hour)}}
	f := exemptions.Flight{Unit: "AMS", Pilot: "P1", Purpose: exemptions.PurposeForensic, Kind: exemptions.FlightPosition}
	if d := c.Snapshot().Cover(hit, f, storetest.T0); d.Covered() {
		t.Fatal("covered by an empty store")
	}
	ex, _ := s.Create(ctx, storetest.Record("AMS", "NL-A"))
	sel := storetest.Record("AMS")
	sel.Selector = exemptions.Selector{Country: "NLD"}
	sel.Ceiling.Metres = 10
	s.Create(ctx, sel)
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	snap := c.Snapshot()
	if got := snap.Candidates("AMS", zone); len(got) != 2 {
		t.Fatalf("%d candidates, want the named one and the selector", len(got))
	}
	if d := snap.Cover(hit, f, storetest.T0); d.By == nil || d.By.ID != ex.ID {
		t.Fatalf("not covered by %s: %+v", ex.ID, d)
	}
	s.Revoke(ctx, ex.ID, exemptions.Revocation{By: "c", At: storetest.T0, Reason: "r"})
	if c.Snapshot() != snap {
		t.Fatal("snapshot changed before Refresh")
	}
	c.Refresh(ctx)
	d := c.Snapshot().Cover(hit, f, storetest.T0)
	if d.Covered() || len(d.Reasons) != 2 {
		t.Fatalf("after revocation: %+v", d)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { c.Watch(wctx, 10*time.Millisecond, nil); close(done) }()
	s.Create(ctx, storetest.Record("AMS", "NL-A"))
	for deadline := time.Now().Add(5 * time.Second); c.Snapshot().Len != 3; {
		if time.Now().After(deadline) {
			t.Fatal("Watch did not pick up the new record")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

// switchStore is a Store that can be pointed at another database, as a
// restore from a backup does behind a running cache.
type switchStore struct {
	exemptions.Store
	to atomic.Pointer[exemptions.Store]
}

func (s *switchStore) cur() exemptions.Store { return *s.to.Load() }
func (s *switchStore) Version(ctx context.Context) (int64, error) {
	return s.cur().Version(ctx)
}
func (s *switchStore) Changed(ctx context.Context, since int64) ([]exemptions.Exemption, int64, error) {
	return s.cur().Changed(ctx, since)
}
func (s *switchStore) All(ctx context.Context) ([]exemptions.Exemption, int64, error) {
	return s.cur().All(ctx)
}

// TestCacheReloadHeals: a store whose history changed under the cache
// with a version that moved forward (a restored database written to again)
// misleads Refresh, which reads only what changed since its version;
// Reload reads everything and holds exactly the store's records.
func TestCacheReloadHeals(t *testing.T) {
	ctx := context.Background()
	a, b := openSQLite(t), openSQLite(t)
	defer a.Close()
	defer b.Close()
	for range 2 {
		a.Create(ctx, storetest.Record("AMS", "NL-A"))
	}
	for range 3 {
		b.Create(ctx, storetest.Record("RTM", "NL-B"))
	}
	s := &switchStore{}
	var sa, sb exemptions.Store = a, b
	s.to.Store(&sa)
	c, err := exemptions.NewCache(ctx, s, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	s.to.Store(&sb)
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	zone := &geo.Zone{ID: "NL-A"}
	if len(c.Snapshot().Candidates("AMS", zone)) == 0 {
		t.Fatal("Refresh already dropped the records of the other history: this test shows nothing")
	}
	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	snap := c.Snapshot()
	if snap.Len != 3 || len(snap.Candidates("AMS", zone)) != 0 || len(snap.Candidates("RTM", &geo.Zone{ID: "NL-B"})) != 3 {
		t.Fatalf("after Reload: %d records", snap.Len)
	}
}

// slowNotifier is a Notifier whose listener takes a while to stop once its
// context ends, as a database connection's close does.
type slowNotifier struct {
	exemptions.Store
	stopped atomic.Bool
}

func (n *slowNotifier) Notify(ctx context.Context, _ *slog.Logger, changed func()) {
	changed()
	<-ctx.Done()
	time.Sleep(50 * time.Millisecond)
	n.stopped.Store(true)
}

// TestWatchWaitsForItsListener: Watch returns only after the listener it
// started has stopped, so that the store can be closed after it without a
// listener still using it.
func TestWatchWaitsForItsListener(t *testing.T) {
	ctx := context.Background()
	n := &slowNotifier{Store: openSQLite(t)}
	defer n.Close()
	c, err := exemptions.NewCache(ctx, n, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { c.Watch(wctx, time.Minute, nil); close(done) }()
	cancel()
	<-done
	if !n.stopped.Load() {
		t.Error("Watch returned while its listener was still running")
	}
}

// backwardStore is a Store whose version can be made to go back (a
// database restored from a backup) and whose Changed can be made to fail.
type backwardStore struct {
	exemptions.Store
	back, failChanged atomic.Bool
}

func (b *backwardStore) Version(ctx context.Context) (int64, error) {
	if b.back.Load() {
		return 0, nil
	}
	return b.Store.Version(ctx)
}

func (b *backwardStore) Changed(ctx context.Context, since int64) ([]exemptions.Exemption, int64, error) {
	if b.failChanged.Load() {
		return nil, 0, exemptions.ErrUnavailable
	}
	return b.Store.Changed(ctx, since)
}

// TestCacheRefreshFailingAfterReset: a refresh that finds the version gone
// back and then fails to read keeps the cache's records as they were, so
// that the next refresh, reading only what changed, still holds every
// record.
func TestCacheRefreshFailingAfterReset(t *testing.T) {
	ctx := context.Background()
	b := &backwardStore{Store: openSQLite(t)}
	defer b.Close()
	for range 2 {
		if _, err := b.Create(ctx, storetest.Record("AMS", "NL-A")); err != nil {
			t.Fatal(err)
		}
	}
	c, err := exemptions.NewCache(ctx, b, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	b.back.Store(true)
	b.failChanged.Store(true)
	if err := c.Refresh(ctx); err == nil {
		t.Fatal("refreshed through a failing Changed")
	}
	b.back.Store(false)
	b.failChanged.Store(false)
	if _, err := b.Create(ctx, storetest.Record("AMS", "NL-A")); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n := c.Snapshot().Len; n != 3 {
		t.Errorf("the cache holds %d records after the refresh, want 3", n)
	}
}
