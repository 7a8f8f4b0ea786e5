package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/pgstore"
	"github.com/nofly-project/nofly/exemptions/storetest"
	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

func openPostgresURL(t testing.TB, url string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPostgresStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) exemptions.Store { return openPostgresURL(t, pgtest.New(t)) })
}

// rawPG connects to the store's database directly, as someone tampering
// with it would.
func rawPG(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestPostgresReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.New(t)
	s := openPostgresURL(t, url)
	ex, err := s.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openPostgresURL(t, url) // migrations already applied: no-op
	defer s.Close()
	if _, err := s.Get(ctx, ex.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := rawPG(t, url).QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(pgstore.Migrations) {
		t.Fatalf("%d migrations recorded (%v), want %d", n, err, len(pgstore.Migrations))
	}
}

// TestPostgresOpenConcurrently: replicas starting at once migrate the new
// database once between them.
func TestPostgresOpenConcurrently(t *testing.T) {
	t.Parallel()
	url := pgtest.New(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := pgstore.Open(context.Background(), url)
			if err == nil {
				s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestPostgresRefusesEditsAndDeletes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.New(t)
	s := openPostgresURL(t, url)
	defer s.Close()
	ex, err := s.Create(ctx, exemptions.Request{ID: "00000000-0000-4000-8000-00000000000a", Digest: "d"}, storetest.Record("AMS", "NL-A"))
	if err != nil {
		t.Fatal(err)
	}
	db := rawPG(t, url)
	for _, q := range []string{
		"DELETE FROM audit",
		"UPDATE audit SET actor = 'someone else'",
		"TRUNCATE audit",
		"DELETE FROM exemptions",
		"TRUNCATE exemptions CASCADE",
		"UPDATE exemptions SET record = replace(record, '120', '500')",
		"UPDATE exemptions SET unit = 'RTM'",
		"DELETE FROM exemption_zones",
		"UPDATE exemption_zones SET zone_id = 'NL-B'",
		"INSERT INTO exemption_zones VALUES ('NL-B', 'EX-000001')",
		"INSERT INTO exemptions (seq, id, unit, valid_from_ns, valid_until_ns, record, version) SELECT 2, 'EX-000002', 'RTM', valid_from_ns, valid_until_ns, replace(record, 'EX-000001', 'EX-000002'), 1 FROM exemptions",
		"UPDATE requests SET exemption_id = 'EX-000002'",
		"DELETE FROM requests",
		"TRUNCATE requests",
		"DELETE FROM chain_head",
	} {
		if _, err := db.Exec(ctx, q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
	if _, err := s.Get(ctx, ex.ID); err != nil {
		t.Fatal(err)
	}
	if v, err := s.VerifyAudit(ctx); err != nil || !v.OK() {
		t.Fatalf("after the refused changes: %+v %v", v, err)
	}
}

// TestPostgresVerifyFindsTampering drops the guards and changes the
// database behind the store's back: each change must show in VerifyAudit.
func TestPostgresVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sql  string
		want string
	}{
		{"entry changed", "UPDATE audit SET entry = replace(entry, 'admin-1', 'admin-2') WHERE seq = 2", "audit entry 2: changed"},
		{"entry removed", "DELETE FROM audit WHERE seq = 2", "entries missing"},
		{"last entry removed", "DELETE FROM requests; DELETE FROM audit WHERE seq = 5", "entries missing from the end"},
		{"record changed", "UPDATE exemptions SET record = replace(record, '120', '500') WHERE seq = 1", "differs from the one its audit entry issued"},
		{"revocation removed", "UPDATE exemptions SET revocation = NULL, revoked_at_ns = NULL WHERE seq = 2", "revocation differs"},
		{"record removed", "DELETE FROM exemption_zones WHERE exemption_id = 'EX-000003'; DELETE FROM exemptions WHERE seq = 3", "missing from the records"},
		// The columns and rows the list queries read beside the hashed
		// record: each edit makes a list answer wrongly.
		{"valid_until edited", "UPDATE exemptions SET valid_until_ns = valid_until_ns + 86400000000000 WHERE seq = 1", "EX-000001: column valid_until differs"},
		{"valid_from edited", "UPDATE exemptions SET valid_from_ns = 0 WHERE seq = 1", "EX-000001: column valid_from differs"},
		{"unit edited", "UPDATE exemptions SET unit = 'RTM' WHERE seq = 3", "EX-000003: column unit differs"},
		{"revocation time edited", "UPDATE exemptions SET revoked_at_ns = revoked_at_ns + 3600000000000 WHERE seq = 2", "EX-000002: column revoked_at differs"},
		{"zone row added", "INSERT INTO exemption_zones VALUES ('NL-B', 'EX-000001')", "EX-000001: zone rows differ"},
		{"zone row for a record naming none", "INSERT INTO exemption_zones VALUES ('NL-A', 'EX-000004')", "EX-000004: zone rows differ"},
		{"zone row removed", "DELETE FROM exemption_zones WHERE exemption_id = 'EX-000001'", "EX-000001: zone rows missing"},
		{"request edited", "UPDATE requests SET exemption_id = 'EX-000001'", "request 00000000-0000-4000-8000-00000000000a: differs from audit entry 5"},
		{"request removed", "DELETE FROM requests", "request 00000000-0000-4000-8000-00000000000a: made audit entry 5 but is missing"},
		{"request added", "INSERT INTO requests VALUES ('00000000-0000-4000-8000-00000000000b', 'd', 'create', 'EX-000001', 1)", "request 00000000-0000-4000-8000-00000000000b: no audit entry made it"},
		// Authorisations: the signed bytes, and the rows the cascade reads.
		{"authorisation token changed", "UPDATE authorisations SET token = '\\x00'", "AU-000001: the signed authorisation stored is not the one issued"},
		{"authorisation exemption row removed", "DELETE FROM authorisation_exemptions", "AU-000001: exemption rows missing"},
		{"authorisation valid_until edited", "UPDATE authorisations SET valid_until_ns = 0", "AU-000001: column valid_until differs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each on a database of its own
			ctx := context.Background()
			url := pgtest.New(t)
			s := openPostgresURL(t, url)
			defer s.Close()
			for range 3 {
				if _, err := s.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A")); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Revoke(ctx, exemptions.Request{}, "EX-000002", exemptions.Revocation{By: "c", At: storetest.T0, Reason: "r"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Create(ctx, exemptions.Request{ID: "00000000-0000-4000-8000-00000000000a", Digest: "d"}, storetest.Record("AMS")); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(tc.name, "authorisation") {
				t0 := storetest.T0
				if _, err := s.IssueAuthorisation(ctx, exemptions.AuthorisationRecord{IssuedAt: t0, ValidFrom: t0, ValidUntil: t0.Add(time.Hour),
					Unit: "AMS", Drone: "D1", Verdict: "EXEMPTED", ExemptionIDs: []string{"EX-000001"}},
					func(id string) ([]byte, error) { return []byte("signed " + id), nil }); err != nil {
					t.Fatal(err)
				}
			}
			if v, err := s.VerifyAudit(ctx); err != nil || !v.OK() {
				t.Fatalf("before tampering: %+v %v", v, err)
			}
			db := rawPG(t, url)
			for _, q := range []string{
				"DROP TRIGGER audit_no_update ON audit", "DROP TRIGGER exemptions_no_delete ON exemptions",
				"DROP TRIGGER exemption_zones_no_change ON exemption_zones", "DROP TRIGGER exemptions_no_edit ON exemptions",
				"DROP TRIGGER exemption_zones_named ON exemption_zones", "DROP TRIGGER requests_no_change ON requests",
				"DROP TRIGGER authorisations_no_edit ON authorisations", "DROP TRIGGER authorisation_exemptions_no_change ON authorisation_exemptions",
				tc.sql,
			} {
				if _, err := db.Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
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

// TestPostgresReplicasRace: two stores on one database (two pools, as two
// noflyd have) race revocations and supersessions of the same records,
// and creations beside them: one change per record wins, the losers fail
// as preconditions, ids stay unique and the chain stays whole.
func TestPostgresReplicasRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.New(t)
	a, b := openPostgresURL(t, url), openPostgresURL(t, url)
	defer a.Close()
	defer b.Close()
	storetest.RaceRevokes(t, []exemptions.Store{a, b}, 6, 6)

	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]bool{}
	for w := range 6 {
		s := []exemptions.Store{a, b}[w%2]
		wg.Go(func() {
			for range 5 {
				ex, err := s.Create(ctx, exemptions.Request{}, storetest.Record(fmt.Sprintf("U%d", w), "NL-A"))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := s.RecordCheck(ctx, exemptions.CheckRecord{At: storetest.T0, Unit: ex.Holder.Unit,
					ExemptionIDs: []string{ex.ID}, Verdict: "EXEMPTED"}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[ex.ID] {
					t.Errorf("id %s issued twice", ex.ID)
				}
				seen[ex.ID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	v, err := a.VerifyAudit(ctx)
	if err != nil || !v.OK() {
		t.Fatalf("verification %+v, %v", v, err)
	}
	// 6 creates + 6 winning changes, then 30 creates and 30 checks.
	if v.Entries != 12+60 {
		t.Errorf("%d audit entries, want 72", v.Entries)
	}
}

// TestPostgresReplicasChecksRaceRevokes: two stores on one database record
// checks while the records they rely on are revoked: no check entry
// follows the revocation of a record it relied on.
func TestPostgresReplicasChecksRaceRevokes(t *testing.T) {
	t.Parallel()
	url := pgtest.New(t)
	a, b := openPostgresURL(t, url), openPostgresURL(t, url)
	defer a.Close()
	defer b.Close()
	storetest.RaceChecks(t, []exemptions.Store{a, b}, 8)
}

// TestPostgresReplicasRetriesRace: a client's retries of one create reach
// two replicas at once: one record, one audit entry.
func TestPostgresReplicasRetriesRace(t *testing.T) {
	url := pgtest.New(t)
	a, b := openPostgresURL(t, url), openPostgresURL(t, url)
	defer a.Close()
	defer b.Close()
	storetest.RaceRetries(t, []exemptions.Store{a, b}, 8)
}

// TestPostgresUnavailable cuts the database off (a proxy in front of it):
// reads and writes fail with ErrUnavailable, promptly; once it is back the
// same store works again by itself.
func TestPostgresUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	proxy, url := pgtest.NewProxy(t, pgtest.New(t))
	s := openPostgresURL(t, url)
	defer s.Close()
	ex, err := s.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A"))
	if err != nil {
		t.Fatal(err)
	}
	proxy.Cut()
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"create", func() error {
			_, err := s.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A"))
			return err
		}},
		{"revoke", func() error {
			_, err := s.Revoke(ctx, exemptions.Request{}, ex.ID, exemptions.Revocation{By: "c", At: storetest.T0, Reason: "r"})
			return err
		}},
		{"record check", func() error {
			_, err := s.RecordCheck(ctx, exemptions.CheckRecord{At: storetest.T0, Unit: "AMS"})
			return err
		}},
		{"get", func() error { _, err := s.Get(ctx, ex.ID); return err }},
		{"version", func() error { _, err := s.Version(ctx); return err }},
		{"changed", func() error { _, _, err := s.Changed(ctx, 0); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := tc.call()
			if !errors.Is(err, exemptions.ErrUnavailable) {
				t.Fatalf("%v, want ErrUnavailable", err)
			}
			if took := time.Since(start); took > 2*pgstore.DefaultTimeout {
				t.Errorf("took %v to fail", took)
			}
		})
	}
	proxy.Restore()
	// The pool dials again on demand; the first calls may still meet
	// connections that broke during the outage.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Revoke(ctx, exemptions.Request{}, ex.ID, exemptions.Revocation{By: "c", At: storetest.T0, Reason: "r"})
		if err == nil {
			break
		}
		if !errors.Is(err, exemptions.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("after the database came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v, err := s.VerifyAudit(ctx); err != nil || !v.OK() || v.Entries != 2 {
		t.Fatalf("verification %+v, %v", v, err)
	}
}

// TestPostgresCacheFollowsAnotherReplica: a cache on one store sees a
// change written through another store (another replica) at once, through
// NOTIFY, long before its poll would; after the notifications' connection
// is cut and restored it catches up again.
func TestPostgresCacheFollowsAnotherReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := pgtest.New(t)
	proxy, url := pgtest.NewProxy(t, base)
	mine := openPostgresURL(t, url)
	defer mine.Close()
	other := openPostgresURL(t, base)
	defer other.Close()
	var clock atomic.Int64
	clock.Store(storetest.T0.UnixNano())
	c, err := exemptions.NewCache(ctx, mine, func() time.Time { return time.Unix(0, clock.Load()) })
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	// A poll every minute: only a notification can refresh in time.
	go func() { c.Watch(wctx, time.Minute, nil); close(done) }()
	defer func() { cancel(); <-done }()

	waitLen := func(n int, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for c.Snapshot().Len != n {
			if time.Now().After(deadline) {
				t.Fatalf("the cache holds %d records %v after the change, want %d", c.Snapshot().Len, within, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitListening(t, base)
	if _, err := other.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A")); err != nil {
		t.Fatal(err)
	}
	waitLen(1, time.Second)

	proxy.Cut()
	if _, err := other.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if c.Snapshot().Len != 1 {
		t.Fatal("refreshed through a cut connection")
	}
	proxy.Restore()
	// Reconnecting (backoff from 100 ms) refreshes: the change made while
	// cut arrives without a poll.
	waitLen(2, 10*time.Second)
	snap := c.Snapshot()
	zone := &geo.Zone{ID: "NL-A", Country: "NLD", Restriction: geo.Prohibited}
	if got := snap.Candidates("AMS", zone); len(got) != 2 {
		t.Fatalf("%d candidates, want 2", len(got))
	}
}

// waitListening waits until a session of the database at url listens for
// changes.
func waitListening(t *testing.T, url string) {
	t.Helper()
	db := rawPG(t, url)
	for deadline := time.Now().Add(10 * time.Second); ; {
		var n int
		err := db.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no session listens for changes")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPostgresLeastPrivilege: once the schema is made (by its owner),
// replicas may run as a role that can only read, insert, and mark records
// revoked or superseded: it works, and it cannot delete or rewrite history
// even without the triggers' help.
func TestPostgresLeastPrivilege(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	server := pgtest.ServerURL(t)
	url := pgtest.New(t)
	role := "nofly_app_" + strings.TrimPrefix(url[strings.LastIndex(url, "/")+1:], "nofly_test_")
	role = strings.SplitN(role, "?", 2)[0]
	owner := openPostgresURL(t, url)
	owner.Close()
	admin := rawPG(t, url)
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN PASSWORD 'test-only'",
		"GRANT USAGE ON SCHEMA public TO " + role,
		"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO " + role,
		"GRANT UPDATE ON exemptions, chain_head, authorisations, refusals TO " + role,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Dropped after the database (cleanups run last first).
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), server)
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
			conn.Close(context.Background())
		}
	})
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	u.User = neturl.UserPassword(role, "test-only")
	app := openPostgresURL(t, u.String())
	defer app.Close()
	ex, err := app.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Revoke(ctx, exemptions.Request{}, ex.ID, exemptions.Revocation{By: "c", At: storetest.T0, Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	// An authorisation issued under a record, revoked with it.
	ex2, err := app.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := storetest.T0
	if _, err := app.IssueAuthorisation(ctx, exemptions.AuthorisationRecord{IssuedAt: t0, ValidFrom: t0, ValidUntil: t0.Add(time.Hour),
		Unit: "AMS", Drone: "D1", Verdict: "EXEMPTED", ExemptionIDs: []string{ex2.ID}},
		func(id string) ([]byte, error) { return []byte("signed " + id), nil }); err != nil {
		t.Fatal(err)
	}
	if rs, err := app.RevokeAuthorisationsRelyingOn(ctx, ex2.ID, exemptions.AuthorisationRevocation{At: t0, By: "c",
		Reason: exemptions.AuthorisationExemptionRevoked}); err != nil || len(rs) != 1 {
		t.Fatalf("cascade: %v %v", rs, err)
	}
	// Refusals counted twice (the upsert), and sealed.
	for range 2 {
		if err := app.AddRefusals(ctx, []exemptions.RefusalCount{{Day: "2026-04-30", Unit: "AMS", Kind: exemptions.RefusedAirspace, Count: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, sealed, err := app.SealRefusals(ctx, "2026-05-01", "noflyd", t0); err != nil || !sealed {
		t.Fatalf("seal: %v %v", sealed, err)
	}
	if v, err := app.VerifyAudit(ctx); err != nil || !v.OK() {
		t.Fatalf("%+v %v", v, err)
	}
	conn := rawPG(t, u.String())
	for _, q := range []string{"DELETE FROM audit", "TRUNCATE audit", "DROP TRIGGER audit_no_update ON audit", "DELETE FROM exemptions",
		"DELETE FROM authorisations", "DELETE FROM authorisation_exemptions", "UPDATE authorisations SET revocation = NULL",
		"DELETE FROM refusals", "TRUNCATE refusals", "UPDATE refusals SET sealed = 0"} {
		if _, err := conn.Exec(ctx, q); err == nil {
			t.Errorf("%s: accepted from the application's role", q)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"password in the user info", "postgres://nofly:s3cret@db:5432/nofly?sslmode=require", "postgres://nofly:xxxxx@db:5432/nofly?sslmode=require"},
		{"password parameter", "postgresql://nofly@db/nofly?password=s3cret", "postgresql://nofly@db/nofly?password=xxxxx"},
		{"no password", "postgres://nofly@db/nofly", "postgres://nofly@db/nofly"},
		{"not a URL", "postgres://nofly:s3cret@db:port/nofly", "(unparsable database URL)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pgstore.RedactURL(tc.in); got != tc.want {
				t.Errorf("RedactURL = %q, want %q", got, tc.want)
			}
		})
	}
	for in, want := range map[string]bool{"postgres://db/x": true, "postgresql://db/x": true, "nofly.db": false, "/var/lib/postgres.db": false} {
		if got := pgstore.IsURL(in); got != want {
			t.Errorf("IsPostgresURL(%q) = %v", in, got)
		}
	}
}

// TestPostgresMigrateFromSchema1: a database at the first migration,
// holding a record and its entry, is upgraded at Open; the old record
// verifies, and writes with request ids work.
func TestPostgresMigrateFromSchema1(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t)
	// A record written without a request id touches only the first
	// migration's tables; then the newer migrations' objects go, as if
	// they had never been made.
	first := openPostgresURL(t, url)
	if _, err := first.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A")); err != nil {
		t.Fatal(err)
	}
	first.Close()
	db := rawPG(t, url)
	for _, q := range []string{
		"DROP TABLE requests",
		"DROP TRIGGER exemption_zones_named ON exemption_zones", "DROP FUNCTION nofly_exemption_zones_named()",
		"DROP TRIGGER exemptions_columns ON exemptions", "DROP FUNCTION nofly_exemptions_columns()",
		"DROP TABLE authorisation_exemptions", "DROP TABLE authorisations",
		"DROP FUNCTION nofly_authorisations_no_edit()", "DROP FUNCTION nofly_authorisations_columns()",
		"DROP FUNCTION nofly_authorisation_exemptions_named()",
		"DROP TABLE drones", "DROP FUNCTION nofly_drones_no_delete()", "DROP FUNCTION nofly_drones_guard()",
		"DROP TABLE refusals", "DROP FUNCTION nofly_refusals_grow()",
		"DELETE FROM schema_migrations WHERE version > 1",
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if len(pgstore.Migrations) != 5 {
		t.Fatalf("%d migrations: undo the newer ones above too", len(pgstore.Migrations))
	}
	s := openPostgresURL(t, url)
	defer s.Close()
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(pgstore.Migrations) {
		t.Fatalf("%d migrations recorded, want %d (%v)", n, len(pgstore.Migrations), err)
	}
	req := exemptions.Request{ID: "00000000-0000-4000-8000-000000000001", Digest: "d"}
	a, err := s.Create(ctx, req, storetest.Record("AMS", "NL-A"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := s.Create(ctx, req, storetest.Record("AMS", "NL-A")); err != nil || b.ID != a.ID {
		t.Fatalf("retry: %v %v", b, err)
	}
	t0 := storetest.T0
	if _, err := s.IssueAuthorisation(ctx, exemptions.AuthorisationRecord{IssuedAt: t0, ValidFrom: t0, ValidUntil: t0.Add(time.Hour),
		Unit: "AMS", Drone: "D1", Verdict: "EXEMPTED", ExemptionIDs: []string{"EX-000001"}},
		func(id string) ([]byte, error) { return []byte("signed " + id), nil }); err != nil {
		t.Fatal(err)
	}
	if v, err := s.VerifyAudit(ctx); err != nil || !v.OK() || v.Records != 2 {
		t.Fatalf("%+v %v", v, err)
	}
}

// TestPostgresDroneTampered: a registry row changed behind the log's back
// is found by VerifyAudit.
func TestPostgresDroneTampered(t *testing.T) {
	url := pgtest.New(t)
	s := openPostgresURL(t, url)
	defer s.Close()
	db := rawPG(t, url)
	storetest.DroneTampered(t, s, func(serial string) {
		if _, err := db.Exec(context.Background(), `UPDATE drones SET record = jsonb_set(record::jsonb, '{clearance}', '"confidential"')::text WHERE serial = $1`, serial); err != nil {
			t.Fatal(err)
		}
	})
}
