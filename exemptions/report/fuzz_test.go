package report_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/report"
)

// FuzzAddStored: whatever an entry holds — if it hashes right — the
// Builder counts it or refuses it with ErrChain, and never panics; a
// report follows either way.
func FuzzAddStored(f *testing.F) {
	for _, e := range log(&testing.T{}) {
		f.Add([]byte(e.Entry))
	}
	f.Add([]byte(`{"seq":1,"action":"check","prev_hash":"","detail":{"At":"2026-03-02T00:00:00Z","ZoneIDs":[null,""],"ExemptionIDs":[]}}`))
	f.Add([]byte(`{"seq":1,"action":"authorise","prev_hash":"","detail":{"ValidFrom":"2026-03-02T00:00:00Z","IssuedAt":"x"}}`))
	f.Add([]byte(`{"seq":1,"action":"create","prev_hash":"","detail":{"id":"EX-1","selector":{"restrictions":["PROHIBITED"]}}}`))
	f.Fuzz(func(t *testing.T, entry []byte) {
		b, err := report.New(report.Options{From: mar, Until: may, By: report.Groupings[:3]})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(entry)
		err = b.AddStored(exemptions.StoredAuditEntry{Seq: 1, Entry: entry, Hash: hex.EncodeToString(h[:])})
		if err != nil && !errors.Is(err, report.ErrChain) {
			t.Fatalf("an error that is not ErrChain: %v", err)
		}
		if r := b.Report(); err == nil && r.HeadSeq != 1 {
			t.Fatalf("entry read, head %d", r.HeadSeq)
		}
	})
}
