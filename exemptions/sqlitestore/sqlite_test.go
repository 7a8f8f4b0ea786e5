package sqlitestore_test

import (
	"context"
	"database/sql"
	"encoding/json"
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
	ex, _ := s.Create(ctx, exemptions.Request{ID: "00000000-0000-4000-8000-00000000000a", Digest: "d"}, storetest.Record("AMS", "NL-A"))
	db := rawDB(t, path)
	for _, q := range []string{
		"DELETE FROM audit",
		"UPDATE audit SET actor = 'someone else'",
		"DELETE FROM exemptions",
		"UPDATE exemptions SET record = replace(record, '120', '500')",
		"UPDATE exemptions SET unit = 'RTM'",
		"UPDATE exemptions SET valid_until_ns = valid_until_ns + 1",
		"INSERT INTO exemption_zones VALUES ('NL-B', 'EX-000001')",
		"UPDATE exemption_zones SET zone_id = 'NL-B'",
		"DELETE FROM exemption_zones",
		"INSERT INTO exemptions (seq, id, unit, valid_from_ns, valid_until_ns, record) SELECT 2, 'EX-000002', 'RTM', valid_from_ns, valid_until_ns, replace(record, 'EX-000001', 'EX-000002') FROM exemptions",
		"UPDATE requests SET exemption_id = 'EX-000002'",
		"DELETE FROM requests",
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
		// Sealed refusal counts marked unsealed would be sealed (and
		// counted) again; a counter removed hides what was sealed.
		{"refusals unsealed", "UPDATE refusals SET sealed = 0", "refusal counter 2026-03-01 AMS FORENSIC airspace: 0 marked sealed, the audit log sealed 3"},
		{"refusal counter removed", "DELETE FROM refusals", "3 sealed in the audit log, but the counter is missing"},
		// A counter noflyd would not keep: a day that is no date.
		{"refusal counter forged", "INSERT INTO refusals VALUES ('2026-1', 'AMS', '', 'airspace', 0, 2, 0)",
			`refusal counter "2026-1" "AMS" "" "airspace": not one noflyd keeps`},
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
			if _, err := s.Create(ctx, exemptions.Request{ID: "00000000-0000-4000-8000-00000000000a", Digest: "d"}, storetest.Record("AMS")); err != nil {
				t.Fatal(err)
			}
			if err := s.AddRefusals(ctx, []exemptions.RefusalCount{{Day: "2026-03-01", Unit: "AMS", Purpose: exemptions.PurposeForensic,
				Kind: exemptions.RefusedAirspace, Count: 3}}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.SealRefusals(ctx, "2026-03-02", "noflyd", storetest.T0); err != nil {
				t.Fatal(err)
			}
			if v, err := s.VerifyAudit(ctx); err != nil || !v.OK() {
				t.Fatalf("before tampering: %+v %v", v, err)
			}
			db := rawDB(t, path)
			for _, trg := range []string{"audit_no_update", "audit_no_delete", "exemptions_no_delete", "exemption_zones_no_delete", "exemptions_no_edit",
				"exemption_zones_named", "exemption_zones_no_update", "exemptions_unit", "requests_no_update", "requests_no_delete",
				"refusals_no_delete", "refusals_grow"} {
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

// TestSQLiteSealLeavesMalformedCounters: a counter noflyd would not keep
// (written beside it) is not sealed into the append-only log, where no
// report could ever count it: it stays unsealed, and verify reports it.
func TestSQLiteSealLeavesMalformedCounters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nofly.db")
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AddRefusals(ctx, []exemptions.RefusalCount{{Day: "2026-03-01", Unit: "AMS", Kind: exemptions.RefusedAirspace, Count: 3}}); err != nil {
		t.Fatal(err)
	}
	if _, err := rawDB(t, path).ExecContext(ctx, "INSERT INTO refusals VALUES ('2025', 'AMS', '', 'airspace', 0, 2, 0)"); err != nil {
		t.Fatal(err)
	}
	e, sealed, err := s.SealRefusals(ctx, "2026-03-02", "noflyd", storetest.T0)
	if err != nil || !sealed {
		t.Fatalf("seal: %v %v", sealed, err)
	}
	var seal exemptions.RefusalSeal
	if err := json.Unmarshal(e.Detail, &seal); err != nil || len(seal.Counts) != 1 || seal.Counts[0].Day != "2026-03-01" {
		t.Errorf("sealed %s (%v), want the one counter of 2026-03-01", e.Detail, err)
	}
	v, err := s.VerifyAudit(ctx)
	if err != nil || len(v.Problems) != 1 || !strings.Contains(v.Problems[0], `refusal counter "2025"`) {
		t.Errorf("verify: %q %v", v.Problems, err)
	}
}
