package sqlitestore_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/exemptions/storetest"
)

// TestVerifyAuditFindsAuthorisationTampering edits authorisation records
// behind the store's back (the triggers dropped, as someone with the
// database file could): VerifyAudit names each change.
func TestVerifyAuditFindsAuthorisationTampering(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want string
	}{
		{"token changed", "UPDATE authorisations SET token = x'00' WHERE id = 'AU-000001'", "AU-000001: the signed authorisation stored is not the one issued"},
		{"revocation removed", "UPDATE authorisations SET revocation = NULL, revoked_at_ns = NULL WHERE id = 'AU-000002'", "AU-000002: revoked in the audit log, not in the records"},
		{"revocation added", `UPDATE authorisations SET revoked_at_ns = 0, revocation = '{"At":"1970-01-01T00:00:00Z"}' WHERE id = 'AU-000003'`, "AU-000003: revoked in the records, with no audit entry"},
		{"record changed", `UPDATE authorisations SET record = replace(record, '"D1"', '"D2"') WHERE id = 'AU-000003'`, "AU-000003: the record differs from the one its audit entry issued"},
		{"record removed", "DELETE FROM authorisation_exemptions WHERE authorisation_id = 'AU-000003'; DELETE FROM authorisations WHERE id = 'AU-000003'", "AU-000003: issued in the audit log but missing from the records"},
		// The columns and rows that lists, the cascade and the revocation
		// list read beside the hashed record.
		{"valid_until edited", "UPDATE authorisations SET valid_until_ns = 0 WHERE id = 'AU-000001'", "AU-000001: column valid_until differs"},
		{"unit edited", "UPDATE authorisations SET unit = 'RTM' WHERE id = 'AU-000001'", "AU-000001: column unit differs"},
		{"revocation time edited", "UPDATE authorisations SET revoked_at_ns = revoked_at_ns + 1 WHERE id = 'AU-000002'", "AU-000002: column revoked_at differs"},
		{"exemption row removed", "DELETE FROM authorisation_exemptions WHERE authorisation_id = 'AU-000001'", "AU-000001: exemption rows missing"},
		{"exemption row changed", "UPDATE authorisation_exemptions SET exemption_id = 'EX-000009' WHERE authorisation_id = 'AU-000001'", "AU-000001: exemption rows differ"},
		{"exemption row added", "INSERT INTO authorisation_exemptions VALUES ('EX-000001', 'AU-000004')", "AU-000004: exemption rows differ"},
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
			ex, err := s.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A"))
			if err != nil {
				t.Fatal(err)
			}
			t0 := storetest.T0
			// Three under the exemption, a fourth (CLEAR) under none.
			for _, ids := range [][]string{{ex.ID}, {ex.ID}, {ex.ID}, nil} {
				if _, err := s.IssueAuthorisation(ctx, exemptions.AuthorisationRecord{IssuedAt: t0, ValidFrom: t0, ValidUntil: t0.Add(time.Hour),
					Unit: "AMS", Drone: "D1", Verdict: "EXEMPTED", ExemptionIDs: ids},
					func(id string) ([]byte, error) { return []byte("signed " + id), nil }); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.RevokeAuthorisation(ctx, "AU-000002", exemptions.AuthorisationRevocation{At: t0, By: "admin", Reason: "withdrawn", Note: "x"}); err != nil {
				t.Fatal(err)
			}
			if v, err := s.VerifyAudit(ctx); err != nil || !v.OK() {
				t.Fatalf("before tampering: %+v %v", v, err)
			}
			db := rawDB(t, path)
			for _, trg := range []string{"authorisations_no_edit", "authorisations_no_delete", "authorisation_exemptions_no_delete",
				"authorisation_exemptions_no_update", "authorisation_exemptions_named", "authorisations_columns"} {
				if _, err := db.ExecContext(ctx, "DROP TRIGGER "+trg); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.ExecContext(ctx, tc.sql); err != nil {
				t.Fatalf("%s: %v", tc.sql, err)
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

// TestSQLiteRefusesAuthorisationEdits: the triggers keep authorisations
// append-only, revoked once, and their other rows as the record says.
func TestSQLiteRefusesAuthorisationEdits(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nofly.db")
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ex, err := s.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := storetest.T0
	if _, err := s.IssueAuthorisation(ctx, exemptions.AuthorisationRecord{IssuedAt: t0, ValidFrom: t0, ValidUntil: t0.Add(time.Hour),
		Unit: "AMS", Drone: "D1", Verdict: "EXEMPTED", ExemptionIDs: []string{ex.ID}},
		func(id string) ([]byte, error) { return []byte("signed " + id), nil }); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	for _, q := range []string{
		"DELETE FROM authorisations",
		"DELETE FROM authorisation_exemptions",
		"UPDATE authorisations SET token = x'00'",
		"UPDATE authorisations SET unit = 'RTM'",
		"UPDATE authorisation_exemptions SET exemption_id = 'EX-000009'",
		"INSERT INTO authorisation_exemptions VALUES ('EX-000009', 'AU-000001')",
		`INSERT INTO authorisations (seq, id, unit, valid_until_ns, record, token) VALUES (2, 'AU-000002', 'RTM', 0, '{"ID":"AU-000002","Unit":"AMS"}', x'00')`,
	} {
		if _, err := db.ExecContext(ctx, q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
	if _, err := s.RevokeAuthorisation(ctx, "AU-000001", exemptions.AuthorisationRevocation{At: t0, By: "admin", Reason: "withdrawn"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "UPDATE authorisations SET revocation = NULL, revoked_at_ns = NULL"); err == nil {
		t.Error("a revocation was undone")
	}
	if v, err := s.VerifyAudit(ctx); err != nil || !v.OK() {
		t.Fatalf("%+v %v", v, err)
	}
}
