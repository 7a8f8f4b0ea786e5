package exemptions

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"

	"github.com/jackc/pgx/v5"
)

// VerifyAudit's part for authorisations: every authorisation record is as
// its audit entries say it was issued (the record's JSON byte for byte,
// the signed bytes by their SHA-256) and revoked, and every authorisation
// the log issued has its record. The chain itself is checked with the
// other entries.

const (
	verifyAuthorisationEntriesQuery = "SELECT seq, action, entry FROM audit WHERE action IN ('authorise', 'revoke-authorisation') ORDER BY seq"
	verifyAuthorisationRecordsQuery = "SELECT id, record, token, revocation FROM authorisations ORDER BY seq"
)

// tokenDigest is the hex SHA-256 of signed bytes, as records keep it.
func tokenDigest(token []byte) string {
	h := sha256.Sum256(token)
	return hex.EncodeToString(h[:])
}

// authVerifier checks authorisation records against the log, adding its
// problems to w.
type authVerifier struct {
	w       *verifier
	issued  map[string]string                  // id -> record JSON as the log issued it
	revoked map[string]AuthorisationRevocation // id -> revocation as the log has it
	seen    map[string]bool
}

func newAuthVerifier(w *verifier) *authVerifier {
	return &authVerifier{w: w, issued: map[string]string{}, revoked: map[string]AuthorisationRevocation{}, seen: map[string]bool{}}
}

// entries reads the rows of verifyAuthorisationEntriesQuery.
func (a *authVerifier) entries(rows rowScanner) error {
	for rows.Next() {
		var (
			seq           int64
			action, entry string
		)
		if err := rows.Scan(&seq, &action, &entry); err != nil {
			return err
		}
		var e AuditEvent
		if json.Unmarshal([]byte(entry), &e) != nil {
			continue // the chain check reports it
		}
		switch e.Action {
		case ActionAuthorise:
			var rec AuthorisationRecord
			if err := json.Unmarshal(e.Detail, &rec); err != nil || rec.ID == "" {
				a.w.problem("audit entry %d: not an authorisation: %v", seq, err)
				continue
			}
			a.issued[rec.ID] = string(e.Detail)
		case ActionRevokeAuthorisation:
			var r struct {
				ID string
				AuthorisationRevocation
			}
			if err := json.Unmarshal(e.Detail, &r); err != nil || r.ID == "" {
				a.w.problem("audit entry %d: not an authorisation's revocation: %v", seq, err)
				continue
			}
			a.revoked[r.ID] = r.AuthorisationRevocation
		}
	}
	return rows.Err()
}

// records reads the rows of verifyAuthorisationRecordsQuery.
func (a *authVerifier) records(rows rowScanner) error {
	for rows.Next() {
		var (
			id, rec string
			token   []byte
			rev     sql.NullString
		)
		if err := rows.Scan(&id, &rec, &token, &rev); err != nil {
			return err
		}
		a.seen[id] = true
		want, ok := a.issued[id]
		switch {
		case !ok:
			a.w.problem("%s: no audit entry issued it", id)
		case want != rec:
			a.w.problem("%s: the record differs from the one its audit entry issued", id)
		default:
			var r AuthorisationRecord
			if json.Unmarshal([]byte(rec), &r) != nil || r.TokenSHA256 != tokenDigest(token) {
				a.w.problem("%s: the signed authorisation stored is not the one issued", id)
			}
		}
		logRev, logged := a.revoked[id]
		switch {
		case !rev.Valid && logged:
			a.w.problem("%s: revoked in the audit log, not in the records", id)
		case rev.Valid && !logged:
			a.w.problem("%s: revoked in the records, with no audit entry", id)
		case rev.Valid:
			var got AuthorisationRevocation
			if json.Unmarshal([]byte(rev.String), &got) != nil || !got.At.Equal(logRev.At) || got.By != logRev.By ||
				got.Reason != logRev.Reason || got.Note != logRev.Note {
				a.w.problem("%s: revocation differs from the audit log's", id)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for id := range a.issued {
		if !a.seen[id] {
			a.w.problem("%s: issued in the audit log but missing from the records", id)
		}
	}
	return nil
}

// sqliteVerifyAuthorisations runs the authorisations' part of VerifyAudit
// in tx.
func sqliteVerifyAuthorisations(ctx context.Context, tx *sql.Tx, w *verifier) error {
	a := newAuthVerifier(w)
	rows, err := tx.QueryContext(ctx, verifyAuthorisationEntriesQuery)
	if err != nil {
		return err
	}
	err = a.entries(rows)
	rows.Close()
	if err != nil {
		return err
	}
	if rows, err = tx.QueryContext(ctx, verifyAuthorisationRecordsQuery); err != nil {
		return err
	}
	defer rows.Close()
	return a.records(rows)
}

// pgVerifyAuthorisations runs the authorisations' part of VerifyAudit in
// tx.
func pgVerifyAuthorisations(ctx context.Context, tx pgx.Tx, w *verifier) error {
	a := newAuthVerifier(w)
	rows, err := tx.Query(ctx, verifyAuthorisationEntriesQuery)
	if err != nil {
		return err
	}
	err = a.entries(rows)
	rows.Close()
	if err != nil {
		return err
	}
	if rows, err = tx.Query(ctx, verifyAuthorisationRecordsQuery); err != nil {
		return err
	}
	defer rows.Close()
	return a.records(rows)
}
