package storecore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/nofly-project/nofly/exemptions"
)

// Verifier checks an audit log and the records against it, fed row by row
// by a Store's VerifyAudit, so that every store judges alike: first every
// audit entry in seq order (entry), then every record (record), then
// finish.
type Verifier struct {
	v          exemptions.Verification
	prev       string            // hash of the last entry seen
	issued     map[string]string // id -> record JSON as the audit log has it
	revoked    map[string]string // id -> revocation JSON
	superseded map[string]string // old id -> new id
	seen       map[string]bool   // records seen
}

func NewVerifier() *Verifier {
	return &Verifier{issued: map[string]string{}, revoked: map[string]string{}, superseded: map[string]string{},
		seen: map[string]bool{}}
}

func (w *Verifier) Problem(format string, args ...any) {
	if len(w.v.Problems) < 100 {
		w.v.Problems = append(w.v.Problems, fmt.Sprintf(format, args...))
	}
}

// entry checks one audit row: numbered 1, 2, 3 … in order, its columns as
// the hashed entry says, and hashing to its stored hash from the previous
// one's.
func (w *Verifier) entry(seq int64, action, actor, ids, entry, got string) {
	w.v.Entries++
	if seq != w.v.Entries {
		w.Problem("audit entry %d: expected entry %d (entries missing)", seq, w.v.Entries)
		w.v.Entries = seq
	}
	var e exemptions.AuditEvent
	if err := json.Unmarshal([]byte(entry), &e); err != nil {
		w.Problem("audit entry %d: not valid JSON: %v", seq, err)
		w.prev = got
		return
	}
	if e.Seq != seq || string(e.Action) != action || e.Actor != actor || ","+strings.Join(e.ExemptionIDs, ",")+"," != ids {
		w.Problem("audit entry %d: columns differ from the hashed entry", seq)
	}
	if e.PrevHash != w.prev {
		w.Problem("audit entry %d: previous hash %.12s…, the entry before it hashes to %.12s…", seq, e.PrevHash, w.prev)
	}
	if want := ChainHash(e.PrevHash, []byte(entry)); want != got {
		w.Problem("audit entry %d: changed (its hash is %.12s…, its content hashes to %.12s…)", seq, got, want)
	}
	w.prev = got
	switch e.Action {
	case exemptions.ActionCreate, exemptions.ActionSupersede:
		var ex exemptions.Exemption
		if json.Unmarshal(e.Detail, &ex) == nil {
			w.issued[ex.ID] = string(e.Detail)
			if e.Action == exemptions.ActionSupersede && len(e.ExemptionIDs) == 2 {
				w.superseded[e.ExemptionIDs[1]] = e.ExemptionIDs[0]
			}
		}
	case exemptions.ActionRevoke:
		if len(e.ExemptionIDs) == 1 {
			w.revoked[e.ExemptionIDs[0]] = string(e.Detail)
		}
	}
}

// endChain is called after the last entry.
func (w *Verifier) endChain() { w.v.HeadHash = w.prev }

// Chain returns the number of entries read and the last one's hash.
func (w *Verifier) Chain() (entries int64, head string) { return w.v.Entries, w.v.HeadHash }

// The queries whose rows entries and records read: every store keeps the
// same columns.
const (
	VerifyEntriesQuery = "SELECT seq, action, actor, ids, entry, hash FROM audit ORDER BY seq"
	VerifyRecordsQuery = "SELECT id, record, superseded_by, revocation FROM exemptions ORDER BY seq"
)

// RowScanner is what entries and records read rows from: *sql.Rows and
// pgx.Rows alike. The caller closes it.
type RowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Entries checks every row of VerifyEntriesQuery (entry), then ends the
// chain.
func (w *Verifier) Entries(rows RowScanner) error {
	for rows.Next() {
		var (
			seq                            int64
			action, actor, ids, entry, got string
		)
		if err := rows.Scan(&seq, &action, &actor, &ids, &entry, &got); err != nil {
			return err
		}
		w.entry(seq, action, actor, ids, entry, got)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	w.endChain()
	return nil
}

// Records checks every row of VerifyRecordsQuery (record).
func (w *Verifier) Records(rows RowScanner) error {
	for rows.Next() {
		var (
			id, rec  string
			sup, rev sql.NullString
		)
		if err := rows.Scan(&id, &rec, &sup, &rev); err != nil {
			return err
		}
		w.record(id, rec, sup, rev)
	}
	return rows.Err()
}

// record checks one record: exactly as issued, superseded and revoked in
// the log.
func (w *Verifier) record(id, rec string, sup, rev sql.NullString) {
	w.v.Records++
	w.seen[id] = true
	if want, ok := w.issued[id]; !ok {
		w.Problem("%s: no audit entry issued it", id)
	} else if want != rec {
		w.Problem("%s: the record differs from the one its audit entry issued", id)
	}
	if sup.String != w.superseded[id] {
		w.Problem("%s: superseded by %q, the audit log says %q", id, sup.String, w.superseded[id])
	}
	if rev.String != w.revoked[id] {
		w.Problem("%s: revocation differs from the audit log's", id)
	}
}

// Finish returns what was found.
func (w *Verifier) Finish() exemptions.Verification {
	for id := range w.issued {
		if !w.seen[id] {
			w.Problem("%s: issued in the audit log but missing from the records", id)
		}
	}
	slices.Sort(w.v.Problems)
	return w.v
}
