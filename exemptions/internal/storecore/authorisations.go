package storecore

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nofly-project/nofly/exemptions"
)

// Authorisations are kept in a table of their own (record JSON as issued,
// the signed bytes as issued, the revocation once revoked) with the
// exemptions each relied on in another, the rows that the cascade and the
// revocation list read.

// AuthorisationID is the id of the authorisation numbered seq.
func AuthorisationID(seq int64) string { return fmt.Sprintf("AU-%06d", seq) }

// NormaliseAuthorisation is rec as every store keeps it.
func NormaliseAuthorisation(rec exemptions.AuthorisationRecord) exemptions.AuthorisationRecord {
	rec.IssuedAt, rec.ValidFrom, rec.ValidUntil = rec.IssuedAt.UTC(), rec.ValidFrom.UTC(), rec.ValidUntil.UTC()
	rec.ExemptionIDs = slices.Compact(slices.Sorted(slices.Values(rec.ExemptionIDs)))
	rec.ZoneIDs = slices.Compact(slices.Sorted(slices.Values(rec.ZoneIDs)))
	rec.Revocation = nil
	return rec
}

// TokenDigest is the hex SHA-256 of signed bytes, as records keep it.
func TokenDigest(token []byte) string {
	h := sha256.Sum256(token)
	return hex.EncodeToString(h[:])
}

// AuthorisationIDs is an authorisation's audit ids: its own, then the
// exemptions it relied on.
func AuthorisationIDs(rec exemptions.AuthorisationRecord) []string {
	return append([]string{rec.ID}, rec.ExemptionIDs...)
}

// AuthorisationRevocationDetail is the Detail of a revoke-authorisation
// audit entry.
type AuthorisationRevocationDetail struct {
	ID string
	exemptions.AuthorisationRevocation
}

// AuthorisationCols are the columns ScanAuthorisation reads, in order.
const AuthorisationCols = "record, token, revocation"

// ScanAuthorisation reads an authorisation from AuthorisationCols, then
// the extra columns into extra.
func ScanAuthorisation(scan func(dest ...any) error, extra ...any) (exemptions.AuthorisationRecord, error) {
	var (
		rec   exemptions.AuthorisationRecord
		rj    string
		token []byte
		rev   sql.NullString
	)
	if err := scan(append([]any{&rj, &token, &rev}, extra...)...); err != nil {
		return rec, err
	}
	if err := json.Unmarshal([]byte(rj), &rec); err != nil {
		return rec, fmt.Errorf("authorisation record: %w", err)
	}
	rec.Token = token
	if rev.Valid {
		rec.Revocation = new(exemptions.AuthorisationRevocation)
		if err := json.Unmarshal([]byte(rev.String), rec.Revocation); err != nil {
			return rec, fmt.Errorf("%s: revocation: %w", rec.ID, err)
		}
	}
	return rec, nil
}

// AlreadyRevoked is the error of revoking the authorisation id again.
func AlreadyRevoked(id string, r *exemptions.AuthorisationRevocation) error {
	return IDError(id, fmt.Errorf("%w on %s by %s (%s)", exemptions.ErrAuthorisationRevoked, FmtTime(r.At), r.By, r.Reason))
}

// DerivedRevocation is the revocation of an authorisation that relied on
// an exemption revoked (at revokedAt, when known) or superseded, when no
// revocation was recorded on it.
func DerivedRevocation(exemptionID string, revoked bool, revokedAt, at time.Time) *exemptions.AuthorisationRevocation {
	r := &exemptions.AuthorisationRevocation{At: revokedAt, Reason: exemptions.AuthorisationExemptionSuperseded,
		Note: "relied on exemption " + exemptionID + ", superseded"}
	if revoked {
		r.Reason, r.Note = exemptions.AuthorisationExemptionRevoked, "relied on exemption "+exemptionID+", revoked"
	}
	if r.At.IsZero() {
		r.At = at
	}
	return r
}

// authLog is what the Verifier keeps of the authorisations the log issued
// and revoked: a few hashes and the revocation per authorisation.
type authLog struct {
	issued     map[string]digest                             // id -> hash of the record JSON its entry issued
	revoked    map[string]exemptions.AuthorisationRevocation // id -> revocation as the log has it
	exemptions map[string]digest                             // id -> hash of the exemption ids it relied on (those that relied on some)
	seen       map[string]bool                               // records seen
	exSeen     map[string]bool                               // authorisations whose exemption rows were seen
}

func newAuthLog() authLog {
	return authLog{issued: map[string]digest{}, revoked: map[string]exemptions.AuthorisationRevocation{},
		exemptions: map[string]digest{}, seen: map[string]bool{}, exSeen: map[string]bool{}}
}

// authEntry notes an authorise or revoke-authorisation entry.
func (w *Verifier) authEntry(seq int64, e *exemptions.AuditEvent) {
	switch e.Action {
	case exemptions.ActionAuthorise:
		var rec exemptions.AuthorisationRecord
		if err := json.Unmarshal(e.Detail, &rec); err != nil || rec.ID == "" {
			w.Problem("audit entry %d: not an authorisation: %v", seq, err)
			return
		}
		w.auth.issued[rec.ID] = sha256.Sum256(e.Detail)
		if len(rec.ExemptionIDs) > 0 {
			w.auth.exemptions[rec.ID] = zoneDigest(rec.ExemptionIDs)
		}
	case exemptions.ActionRevokeAuthorisation:
		var r AuthorisationRevocationDetail
		if err := json.Unmarshal(e.Detail, &r); err != nil || r.ID == "" {
			w.Problem("audit entry %d: not an authorisation's revocation: %v", seq, err)
			return
		}
		w.auth.revoked[r.ID] = r.AuthorisationRevocation
	}
}

// The queries whose rows Authorisations and AuthorisationExemptions read.
const (
	VerifyAuthorisationsQuery          = "SELECT seq, id, unit, valid_until_ns, record, token, revoked_at_ns, revocation FROM authorisations ORDER BY seq"
	VerifyAuthorisationExemptionsQuery = "SELECT authorisation_id, exemption_id FROM authorisation_exemptions ORDER BY authorisation_id"
)

// Authorisations checks every row of VerifyAuthorisationsQuery: each
// authorisation is as its audit entries say it was issued (the record's
// JSON byte for byte, the signed bytes by their SHA-256) and revoked, and
// its columns agree with its JSON.
func (w *Verifier) Authorisations(rows RowScanner) error {
	for rows.Next() {
		var (
			seq, until int64
			id, unit   string
			rj         string
			token      []byte
			revokedAt  sql.NullInt64
			rev        sql.NullString
		)
		if err := rows.Scan(&seq, &id, &unit, &until, &rj, &token, &revokedAt, &rev); err != nil {
			return err
		}
		w.authorisation(seq, id, unit, until, rj, token, revokedAt, rev)
	}
	return rows.Err()
}

func (w *Verifier) authorisation(seq int64, id, unit string, until int64, rj string, token []byte, revokedAt sql.NullInt64, rev sql.NullString) {
	w.auth.seen[id] = true
	var rec exemptions.AuthorisationRecord
	recErr := json.Unmarshal([]byte(rj), &rec)
	want, ok := w.auth.issued[id]
	switch {
	case !ok:
		w.Problem("%s: no audit entry issued it", id)
	case sha256.Sum256([]byte(rj)) != want:
		w.Problem("%s: the record differs from the one its audit entry issued", id)
	case recErr != nil || rec.TokenSHA256 != TokenDigest(token):
		w.Problem("%s: the signed authorisation stored is not the one issued", id)
	}
	logRev, logged := w.auth.revoked[id]
	var got exemptions.AuthorisationRevocation
	revErr := rev.Valid && json.Unmarshal([]byte(rev.String), &got) != nil
	switch {
	case !rev.Valid && logged:
		w.Problem("%s: revoked in the audit log, not in the records", id)
	case rev.Valid && !logged:
		w.Problem("%s: revoked in the records, with no audit entry", id)
	case rev.Valid && (revErr || !got.At.Equal(logRev.At) || got.By != logRev.By || got.Reason != logRev.Reason || got.Note != logRev.Note):
		w.Problem("%s: revocation differs from the audit log's", id)
	}
	if recErr != nil {
		w.Problem("%s: the record is not valid JSON: %v", id, recErr)
		return
	}
	// The columns the lists, the cascade and the revocation list filter on.
	var cols []string
	if id != rec.ID || id != AuthorisationID(seq) {
		cols = append(cols, "id")
	}
	if unit != rec.Unit {
		cols = append(cols, "unit")
	}
	if until != Nanos(rec.ValidUntil) {
		cols = append(cols, "valid_until")
	}
	if !revErr && (rev.Valid != revokedAt.Valid || (rev.Valid && revokedAt.Int64 != Nanos(got.At))) {
		cols = append(cols, "revoked_at")
	}
	if len(cols) > 0 {
		w.Problem("%s: column%s %s differ%s from the record (lists and the revocation list that filter on %s answer wrongly)",
			id, plural(len(cols)), strings.Join(cols, ", "), verbS(len(cols)), strings.Join(cols, ", "))
	}
}

// AuthorisationExemptions checks every row of
// VerifyAuthorisationExemptionsQuery: each authorisation's rows are exactly
// the exemptions its record relied on (the rows that revoking an exemption
// and the revocation list read).
func (w *Verifier) AuthorisationExemptions(rows RowScanner) error {
	var (
		cur   string
		ids   []string
		first = true
	)
	flush := func() {
		if first {
			return
		}
		w.auth.exSeen[cur] = true
		want, ok := w.auth.exemptions[cur]
		switch {
		case !w.auth.seen[cur]:
			w.Problem("%s: exemption rows for an authorisation that does not exist", cur)
		case !ok || zoneDigest(ids) != want:
			w.Problem("%s: exemption rows differ from the exemptions its record relied on (its exemption's revocation would not revoke it)", cur)
		}
	}
	for rows.Next() {
		var id, ex string
		if err := rows.Scan(&id, &ex); err != nil {
			return err
		}
		if first || id != cur {
			flush()
			cur, ids, first = id, ids[:0], false
		}
		ids = append(ids, ex)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	flush()
	return nil
}

// finishAuthorisations notes the authorisations and rows the log has and
// the tables lack.
func (w *Verifier) finishAuthorisations() {
	for id := range w.auth.issued {
		if !w.auth.seen[id] {
			w.Problem("%s: issued in the audit log but missing from the records", id)
		}
	}
	for id := range w.auth.exemptions {
		if w.auth.seen[id] && !w.auth.exSeen[id] {
			w.Problem("%s: exemption rows missing (its exemption's revocation would not revoke it)", id)
		}
	}
}
