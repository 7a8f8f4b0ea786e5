package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/exemptions/storetest"
)

func openSQLite(t *testing.T) exemptions.Store {
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSQLiteStore(t *testing.T) { storetest.Run(t, openSQLite) }

func TestSQLiteReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nofly.db")
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := s.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlitestore.Open(ctx, path) // migrations already applied: no-op
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
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ex, _ := s.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A"))
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
			s, err := sqlitestore.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for range 3 {
				if _, err := s.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A")); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Revoke(ctx, exemptions.Request{}, "EX-000002", exemptions.Revocation{By: "c", At: storetest.T0, Reason: "r"}); err != nil {
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
