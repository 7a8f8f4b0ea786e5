package storecore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nofly-project/nofly/exemptions"
)

// ChainHash is the hash of an entry whose canonical JSON is entry, after
// the entry hashing to prev.
func ChainHash(prev string, entry []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write(entry)
	return hex.EncodeToString(h.Sum(nil))
}

// Seal makes e the entry number seq after the entry hashing to prev, with
// detail as its Detail, and returns it with its canonical JSON.
func Seal(e exemptions.AuditEvent, detail any, seq int64, prev string) (exemptions.AuditEvent, []byte, error) {
	d, err := json.Marshal(detail)
	if err != nil {
		return e, nil, err
	}
	e.Detail = d
	e.At = e.At.UTC()
	if e.ExemptionIDs == nil {
		e.ExemptionIDs = []string{}
	}
	e.Seq, e.PrevHash = seq, prev
	entry, err := e.Canonical()
	if err != nil {
		return e, nil, err
	}
	e.Hash = ChainHash(e.PrevHash, entry)
	return e, entry, nil
}

// IDsColumn is how the audit table keeps an entry's ids, so that a
// substring search for ",EX-000001," finds one.
func IDsColumn(ids []string) string { return "," + strings.Join(ids, ",") + "," }

// AuditEntry returns the entry stored as entry with hash, as Audit lists it.
func AuditEntry(entry, hash string) (exemptions.AuditEvent, error) {
	var e exemptions.AuditEvent
	if err := json.Unmarshal([]byte(entry), &e); err != nil {
		return e, err
	}
	e.Hash, e.Entry = hash, json.RawMessage(entry)
	return e, nil
}

// EntrySize bounds what an entry stored as entry with hash takes in an
// answer: its canonical JSON, and again the parts of it (actor, ids,
// reference, detail, previous hash) sent beside it, its hash, and a little
// for the encoding.
func EntrySize(entry, hash string) int { return 2*len(entry) + len(hash) + 256 }

// PageAudit reads the rows (entry, hash) of a query for a page of n
// entries that asked for n+1 rows, and returns the page and the token of
// the next. The page also ends, early, before the entry that would take
// its size (EntrySize) past maxBytes (0: no bound); the first entry is
// always in it, so that paging makes progress.
func PageAudit(rows RowScanner, n, maxBytes int) ([]exemptions.AuditEvent, string, error) {
	var (
		out  []exemptions.AuditEvent
		size int
	)
	for rows.Next() {
		var entry, hash string
		if err := rows.Scan(&entry, &hash); err != nil {
			return nil, "", err
		}
		size += EntrySize(entry, hash)
		if len(out) == n || (maxBytes > 0 && len(out) > 0 && size > maxBytes) {
			return out, EncodeToken(out[len(out)-1].Seq), nil
		}
		e, err := AuditEntry(entry, hash)
		if err != nil {
			return nil, "", fmt.Errorf("audit entry: %w", err)
		}
		out = append(out, e)
	}
	return out, "", rows.Err()
}

// maxRawPage bounds a page of AuditEntries.
const maxRawPage = 10_000

// RawPageSize is the number of rows a page of n stored entries asks for:
// n within 1 to 10,000.
func RawPageSize(n int) int { return min(max(n, 1), maxRawPage) }

// StoredEntries reads the rows (seq, entry, hash) of a query for stored
// entries.
func StoredEntries(rows RowScanner) ([]exemptions.StoredAuditEntry, error) {
	var out []exemptions.StoredAuditEntry
	for rows.Next() {
		var e exemptions.StoredAuditEntry
		if err := rows.Scan(&e.Seq, &e.Entry, &e.Hash); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
