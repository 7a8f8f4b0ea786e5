package sqlitestore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/nofly-project/nofly/exemptions"
)

// TestMigrateFromSchema1 opens a database made by a nofly with only the
// first migration, holding a record: the newer migrations run, the old
// record is read by caches that start over, and authorisations may rely on
// it.
func TestMigrateFromSchema1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nofly.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
		migrations[0],
		"INSERT INTO schema_migrations VALUES (1, '2026-01-01T00:00:00Z')",
		`INSERT INTO exemptions (seq, id, unit, valid_from_ns, valid_until_ns, record) VALUES (1, 'EX-000001', 'AMS', 0, 1, '{"id":"EX-000001","holder":{"unit":"AMS"}}')`,
		"UPDATE meta SET value = 1",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(migrations) {
		t.Fatalf("%d migrations recorded, want %d (%v)", n, len(migrations), err)
	}
	c, err := exemptions.NewCache(ctx, s, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Snapshot().Len != 1 {
		t.Fatalf("cache holds %d records, want the old one", c.Snapshot().Len)
	}
	// Authorisations (migration 4) rely on the old record.
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	a, err := s.IssueAuthorisation(ctx, exemptions.AuthorisationRecord{IssuedAt: t0, ValidFrom: t0, ValidUntil: t0.Add(time.Hour),
		Unit: "AMS", Drone: "D1", Verdict: "EXEMPTED", ExemptionIDs: []string{"EX-000001"}},
		func(id string) ([]byte, error) { return []byte("signed " + id), nil })
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetAuthorisation(ctx, a.ID); err != nil || string(got.Token) != "signed AU-000001" {
		t.Fatalf("%+v %v", got, err)
	}
}
