package exemptions_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/exemptions/storetest"
	"github.com/nofly-project/nofly/geo"
)

func openSQLite(t *testing.T) exemptions.Store {
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
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
	ex, _ := s.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A"))
	sel := storetest.Record("AMS")
	sel.Selector = exemptions.Selector{Country: "NLD"}
	sel.Ceiling.Metres = 10
	s.Create(ctx, exemptions.Request{}, sel)
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
	s.Revoke(ctx, exemptions.Request{}, ex.ID, exemptions.Revocation{By: "c", At: storetest.T0, Reason: "r"})
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
	s.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A"))
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
		a.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A"))
	}
	for range 3 {
		b.Create(ctx, exemptions.Request{}, storetest.Record("RTM", "NL-B"))
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
		if _, err := b.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A")); err != nil {
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
	if _, err := b.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A")); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n := c.Snapshot().Len; n != 3 {
		t.Errorf("the cache holds %d records after the refresh, want 3", n)
	}
}
