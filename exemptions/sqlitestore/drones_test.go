package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/exemptions/storetest"
)

// TestDroneTampered: a registry row changed behind the log's back (the
// clearance raised, bypassing the store) is found by VerifyAudit.
func TestDroneTampered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nofly.db")
	s, err := sqlitestore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.DroneTampered(t, s, func(serial string) {
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`UPDATE drones SET record = json_set(record, '$.clearance', 'confidential') WHERE serial = ?`, serial); err != nil {
			t.Fatal(err)
		}
	})
}
