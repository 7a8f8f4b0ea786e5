package storecore

import (
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/nofly-project/nofly/exemptions"
)

// Verifier checks an audit log and the rows derived from it, fed row by row
// by a Store's VerifyAudit from one snapshot of the database, so that every
// store judges alike: first every audit entry in seq order (Entries), then
// every record (Records), the zone rows (Zones), the requests answered
// (Requests), the authorisations (Authorisations) and the exemptions they
// relied on (AuthorisationExemptions), then Finish.
//
// It checks everything the stores' queries read besides the hashed
// entries: a record's JSON is the one its entry issued, and its columns
// (id, unit, validity, supersession, revocation), its zone rows and the
// requests naming it agree with the JSON and the log. An edit to any of
// them that the triggers did not stop shows, even with the chain intact.
//
// It streams: what it keeps is a few hashes per record and per request,
// never an entry or a record, so a log of any length verifies in bounded
// memory per record.
type Verifier struct {
	v          exemptions.Verification
	more       int                // problems beyond maxProblems
	prev       string             // hash of the last entry seen
	issued     map[string]digest  // id -> hash of the record JSON its entry issued
	revoked    map[string]digest  // id -> hash of the revocation JSON
	superseded map[string]string  // old id -> new id
	zones      map[string]digest  // id -> hash of the zone ids its record names (records that name some)
	seen       map[string]bool    // records seen
	zonesSeen  map[string]bool    // records whose zone rows were seen
	requests   map[string]request // request id -> the entry that holds it
	reqSeen    map[string]bool    // requests whose row was seen
	auth       authLog            // the authorisations issued and revoked
	drones     droneLog           // the drone registry's records as last logged
	refusals   refusalLog         // the refusal counts sealed
}

type digest [sha256.Size]byte

// request is what an audit entry says of the request that made it.
type request struct {
	seq                int64
	action, id, digest string
}

// maxProblems are listed; beyond them only counted, so that the answer
// stays small however broken the database.
const maxProblems = 100

// maxProblemLen bounds one problem's text (it may quote the database).
const maxProblemLen = 300

// NewVerifier returns a Verifier that has seen nothing.
func NewVerifier() *Verifier {
	return &Verifier{issued: map[string]digest{}, revoked: map[string]digest{}, superseded: map[string]string{},
		zones: map[string]digest{}, seen: map[string]bool{}, zonesSeen: map[string]bool{},
		requests: map[string]request{}, reqSeen: map[string]bool{}, auth: newAuthLog()}
}

// Problem notes something found wrong.
func (w *Verifier) Problem(format string, args ...any) {
	if len(w.v.Problems) >= maxProblems {
		w.more++
		return
	}
	p := fmt.Sprintf(format, args...)
	if len(p) > maxProblemLen {
		p = strings.ToValidUTF8(p[:maxProblemLen], "") + "…"
	}
	w.v.Problems = append(w.v.Problems, p)
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
	if e.Seq != seq || string(e.Action) != action || e.Actor != actor || IDsColumn(e.ExemptionIDs) != ids {
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
			w.issued[ex.ID] = sha256.Sum256(e.Detail)
			if len(ex.ZoneIDs) > 0 {
				w.zones[ex.ID] = zoneDigest(ex.ZoneIDs)
			}
			if e.Action == exemptions.ActionSupersede && len(e.ExemptionIDs) == 2 {
				w.superseded[e.ExemptionIDs[1]] = e.ExemptionIDs[0]
			}
		}
	case exemptions.ActionRevoke:
		if len(e.ExemptionIDs) == 1 {
			w.revoked[e.ExemptionIDs[0]] = sha256.Sum256(e.Detail)
		}
	case exemptions.ActionAuthorise, exemptions.ActionRevokeAuthorisation:
		w.authEntry(seq, &e)
	case exemptions.ActionDroneAdd, exemptions.ActionDroneUpdate, exemptions.ActionDroneRetire:
		w.droneEntry(seq, &e)
	case exemptions.ActionRefusals:
		w.refusalEntry(seq, &e)
	}
	if e.RequestID != "" && len(e.ExemptionIDs) > 0 {
		if _, dup := w.requests[e.RequestID]; dup {
			w.Problem("audit entry %d: request %s already made an earlier entry", seq, e.RequestID)
		}
		w.requests[e.RequestID] = request{seq: seq, action: string(e.Action), id: e.ExemptionIDs[0], digest: e.RequestDigest}
	}
}

// zoneDigest is the hash of a set of zone ids, in any order.
func zoneDigest(ids []string) digest {
	ids = slices.Sorted(slices.Values(ids))
	return sha256.Sum256([]byte(strings.Join(ids, "\x00")))
}

// endChain is called after the last entry.
func (w *Verifier) endChain() { w.v.HeadHash = w.prev }

// Chain returns the number of entries read and the last one's hash.
func (w *Verifier) Chain() (entries int64, head string) { return w.v.Entries, w.v.HeadHash }

// The queries whose rows Entries, Records, Zones and Requests read: every
// store keeps the same columns. Zone rows need only come grouped by record.
const (
	VerifyEntriesQuery  = "SELECT seq, action, actor, ids, entry, hash FROM audit ORDER BY seq"
	VerifyRecordsQuery  = "SELECT seq, id, unit, valid_from_ns, valid_until_ns, record, superseded_by, revoked_at_ns, revocation FROM exemptions ORDER BY seq"
	VerifyZonesQuery    = "SELECT exemption_id, zone_id FROM exemption_zones ORDER BY exemption_id"
	VerifyRequestsQuery = "SELECT request_id, digest, action, exemption_id, audit_seq FROM requests ORDER BY audit_seq"
)

// RowScanner is what Entries and the others read rows from: *sql.Rows and
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
			r        recordRow
			sup, rev sql.NullString
		)
		if err := rows.Scan(&r.seq, &r.id, &r.unit, &r.from, &r.until, &r.rec, &sup, &r.revokedAt, &rev); err != nil {
			return err
		}
		r.sup, r.rev = sup.String, rev
		w.record(r)
	}
	return rows.Err()
}

// recordRow is a row of the records table.
type recordRow struct {
	seq, from, until int64
	id, unit, rec    string
	sup              string
	revokedAt        sql.NullInt64
	rev              sql.NullString
}

// record checks one record: exactly as issued, superseded and revoked in
// the log, and its columns as its JSON says.
func (w *Verifier) record(r recordRow) {
	w.v.Records++
	w.seen[r.id] = true
	if want, ok := w.issued[r.id]; !ok {
		w.Problem("%s: no audit entry issued it", r.id)
	} else if sha256.Sum256([]byte(r.rec)) != want {
		w.Problem("%s: the record differs from the one its audit entry issued", r.id)
	}
	if r.sup != w.superseded[r.id] {
		w.Problem("%s: superseded by %q, the audit log says %q", r.id, r.sup, w.superseded[r.id])
	}
	want, revoked := w.revoked[r.id]
	if r.rev.Valid != revoked || (revoked && sha256.Sum256([]byte(r.rev.String)) != want) {
		w.Problem("%s: revocation differs from the audit log's", r.id)
	}
	var ex exemptions.Exemption
	if err := json.Unmarshal([]byte(r.rec), &ex); err != nil {
		w.Problem("%s: the record is not valid JSON: %v", r.id, err)
		return
	}
	// The columns the list queries filter on.
	var cols []string
	if r.id != ex.ID || r.id != RecordID(r.seq) {
		cols = append(cols, "id")
	}
	if r.unit != ex.Holder.Unit {
		cols = append(cols, "unit")
	}
	if r.from != Nanos(ex.ValidFrom) {
		cols = append(cols, "valid_from")
	}
	if r.until != Nanos(ex.ValidUntil) {
		cols = append(cols, "valid_until")
	}
	var rv exemptions.Revocation
	switch {
	case r.rev.Valid && json.Unmarshal([]byte(r.rev.String), &rv) != nil:
		cols = append(cols, "revocation")
	case r.rev.Valid != r.revokedAt.Valid || (r.rev.Valid && r.revokedAt.Int64 != Nanos(rv.At)):
		cols = append(cols, "revoked_at")
	}
	if len(cols) > 0 {
		w.Problem("%s: column%s %s differ%s from the record (lists that filter on %s answer wrongly)",
			r.id, plural(len(cols)), strings.Join(cols, ", "), verbS(len(cols)), strings.Join(cols, ", "))
	}
}

// Zones checks every row of VerifyZonesQuery: each record's zone rows are
// exactly the zones its record names (the rows list --zone reads).
func (w *Verifier) Zones(rows RowScanner) error {
	var (
		cur   string
		ids   []string
		first = true
	)
	flush := func() {
		if first {
			return
		}
		w.zonesSeen[cur] = true
		want, ok := w.zones[cur]
		switch {
		case !w.seen[cur]:
			w.Problem("%s: zone rows for a record that does not exist", cur)
		case !ok || zoneDigest(ids) != want:
			w.Problem("%s: zone rows differ from the zones its record names (list --zone answers wrongly)", cur)
		}
	}
	for rows.Next() {
		var id, zone string
		if err := rows.Scan(&id, &zone); err != nil {
			return err
		}
		if first || id != cur {
			flush()
			cur, ids, first = id, ids[:0], false
		}
		ids = append(ids, zone)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	flush()
	return nil
}

// Requests checks every row of VerifyRequestsQuery against the entry that
// holds the same request: a tampered row would answer a retry wrongly.
func (w *Verifier) Requests(rows RowScanner) error {
	for rows.Next() {
		var (
			r   request
			rid string
		)
		if err := rows.Scan(&rid, &r.digest, &r.action, &r.id, &r.seq); err != nil {
			return err
		}
		w.reqSeen[rid] = true
		if want, ok := w.requests[rid]; !ok {
			w.Problem("request %s: no audit entry made it", rid)
		} else if r != want {
			w.Problem("request %s: differs from audit entry %d that made it", rid, want.seq)
		}
	}
	return rows.Err()
}

// Finish returns what was found.
func (w *Verifier) Finish() exemptions.Verification {
	for id := range w.issued {
		if !w.seen[id] {
			w.Problem("%s: issued in the audit log but missing from the records", id)
		}
	}
	for id := range w.zones {
		if w.seen[id] && !w.zonesSeen[id] {
			w.Problem("%s: zone rows missing (list --zone does not find it)", id)
		}
	}
	for rid, r := range w.requests {
		if !w.reqSeen[rid] {
			w.Problem("request %s: made audit entry %d but is missing from the requests answered", rid, r.seq)
		}
	}
	w.finishAuthorisations()
	w.finishDrones()
	w.finishRefusals()
	slices.Sort(w.v.Problems)
	if w.more > 0 {
		w.v.Problems = append(w.v.Problems, fmt.Sprintf("… and %d more problem%s not listed", w.more, plural(w.more)))
	}
	return w.v
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func verbS(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

// Step is a query whose rows one of the Verifier's checks reads.
type Step struct {
	Query string
	Check func(RowScanner) error
}

// Tables are the steps that follow Entries, in order.
func (w *Verifier) Tables() []Step {
	return []Step{{VerifyRecordsQuery, w.Records}, {VerifyZonesQuery, w.Zones}, {VerifyRequestsQuery, w.Requests},
		{VerifyAuthorisationsQuery, w.Authorisations}, {VerifyAuthorisationExemptionsQuery, w.AuthorisationExemptions},
		{VerifyDronesQuery, w.Drones}, {VerifyRefusalsQuery, w.Refusals}}
}
