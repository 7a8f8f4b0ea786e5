package exemptions

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// sqliteAuthorisationsSchema is migration 3 of the SQLite store: signed
// authorisations, the exemptions each relied on, and the triggers that
// keep them append-only (a record changes once, when revoked).
const sqliteAuthorisationsSchema = `CREATE TABLE authorisations (
		seq            INTEGER PRIMARY KEY,
		id             TEXT NOT NULL UNIQUE,
		unit           TEXT NOT NULL,
		valid_until_ns INTEGER NOT NULL, -- Unix nanoseconds
		record         TEXT NOT NULL,    -- JSON of the record as issued
		token          BLOB NOT NULL,    -- the signed bytes as issued
		revoked_at_ns  INTEGER,
		revocation     TEXT              -- JSON of the revocation
	);
	CREATE INDEX authorisations_unit ON authorisations (unit, seq);
	CREATE INDEX authorisations_valid ON authorisations (valid_until_ns);
	CREATE TABLE authorisation_exemptions (
		exemption_id     TEXT NOT NULL,
		authorisation_id TEXT NOT NULL REFERENCES authorisations (id),
		PRIMARY KEY (exemption_id, authorisation_id)
	) WITHOUT ROWID;
	CREATE TRIGGER authorisations_no_delete BEFORE DELETE ON authorisations
		BEGIN SELECT RAISE(ABORT, 'authorisations are never deleted'); END;
	CREATE TRIGGER authorisation_exemptions_no_delete BEFORE DELETE ON authorisation_exemptions
		BEGIN SELECT RAISE(ABORT, 'authorisations are never deleted'); END;
	CREATE TRIGGER authorisations_no_edit BEFORE UPDATE ON authorisations
		WHEN OLD.id IS NOT NEW.id OR OLD.seq IS NOT NEW.seq OR OLD.unit IS NOT NEW.unit
			OR OLD.valid_until_ns IS NOT NEW.valid_until_ns OR OLD.record IS NOT NEW.record OR OLD.token IS NOT NEW.token
			OR OLD.revocation IS NOT NULL
		BEGIN SELECT RAISE(ABORT, 'authorisations are never edited: revoke'); END;`

// authorisationID is the id of the authorisation number seq.
func authorisationID(seq int64) string { return fmt.Sprintf("AU-%06d", seq) }

// normalise is rec as every store keeps it.
func (rec AuthorisationRecord) normalise() AuthorisationRecord {
	rec.IssuedAt, rec.ValidFrom, rec.ValidUntil = rec.IssuedAt.UTC(), rec.ValidFrom.UTC(), rec.ValidUntil.UTC()
	rec.ExemptionIDs = slices.Compact(slices.Sorted(slices.Values(rec.ExemptionIDs)))
	rec.ZoneIDs = slices.Compact(slices.Sorted(slices.Values(rec.ZoneIDs)))
	rec.Revocation = nil
	return rec
}

// IssueAuthorisation implements AuthorisationStore.
func (s *SQLiteStore) IssueAuthorisation(ctx context.Context, rec AuthorisationRecord, sign func(id string) ([]byte, error)) (AuthorisationRecord, error) {
	rec = rec.normalise()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		states, err := sqliteRecordStates(ctx, tx, rec.ExemptionIDs)
		if err != nil {
			return err
		}
		if err := notInForce(rec.ExemptionIDs, states); err != nil {
			return err
		}
		var seq int64
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM authorisations").Scan(&seq); err != nil {
			return err
		}
		rec.ID = authorisationID(seq)
		if rec.Token, err = sign(rec.ID); err != nil {
			return fmt.Errorf("signing %s: %w", rec.ID, err)
		}
		rec.TokenSHA256 = tokenDigest(rec.Token)
		rj, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO authorisations (seq, id, unit, valid_until_ns, record, token)
			VALUES (?, ?, ?, ?, ?, ?)`, seq, rec.ID, rec.Unit, nanos(rec.ValidUntil), string(rj), rec.Token); err != nil {
			return err
		}
		for _, ex := range rec.ExemptionIDs {
			if _, err := tx.ExecContext(ctx, "INSERT INTO authorisation_exemptions VALUES (?, ?)", ex, rec.ID); err != nil {
				return err
			}
		}
		_, err = appendAudit(ctx, tx, AuditEvent{At: rec.IssuedAt, Action: ActionAuthorise, Actor: rec.IssuedBy,
			ExemptionIDs: authorisationIDs(rec), ClientReference: rec.ClientReference}, rec)
		return err
	})
	return rec, err
}

const authorisationCols = "record, token, revocation"

func scanAuthorisation(scan func(dest ...any) error, extra ...any) (AuthorisationRecord, error) {
	var (
		rec   AuthorisationRecord
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
		rec.Revocation = new(AuthorisationRevocation)
		if err := json.Unmarshal([]byte(rev.String), rec.Revocation); err != nil {
			return rec, fmt.Errorf("%s: revocation: %w", rec.ID, err)
		}
	}
	return rec, nil
}

func sqliteGetAuthorisation(ctx context.Context, q querier, id string) (AuthorisationRecord, error) {
	rec, err := scanAuthorisation(q.QueryRowContext(ctx, "SELECT "+authorisationCols+" FROM authorisations WHERE id = ?", id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, idError(id, ErrAuthorisationNotFound)
	}
	return rec, err
}

// GetAuthorisation implements AuthorisationStore.
func (s *SQLiteStore) GetAuthorisation(ctx context.Context, id string) (AuthorisationRecord, error) {
	return sqliteGetAuthorisation(ctx, s.db, id)
}

// ListAuthorisations implements AuthorisationStore.
func (s *SQLiteStore) ListAuthorisations(ctx context.Context, f AuthorisationFilter) ([]AuthorisationRecord, string, error) {
	after, err := decodeToken(f.PageToken)
	if err != nil {
		return nil, "", err
	}
	where, args := []string{"seq > ?"}, []any{after}
	if f.Unit != "" {
		where, args = append(where, "unit = ?"), append(args, f.Unit)
	}
	if f.ExemptionID != "" {
		where, args = append(where, "id IN (SELECT authorisation_id FROM authorisation_exemptions WHERE exemption_id = ?)"), append(args, f.ExemptionID)
	}
	n := pageSize(f.PageSize)
	rows, err := s.db.QueryContext(ctx, "SELECT "+authorisationCols+", seq FROM authorisations WHERE "+
		strings.Join(where, " AND ")+" ORDER BY seq LIMIT ?", append(args, n+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var (
		out  []AuthorisationRecord
		seqs []int64
	)
	for rows.Next() {
		var seq int64
		rec, err := scanAuthorisation(rows.Scan, &seq)
		if err != nil {
			return nil, "", err
		}
		out, seqs = append(out, rec), append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > n {
		out, next = out[:n], encodeToken(seqs[n-1])
	}
	return out, next, nil
}

// sqliteRevokeAuthorisation records rev on rec (read in tx) and appends its
// audit entry.
func sqliteRevokeAuthorisation(ctx context.Context, tx *sql.Tx, rec AuthorisationRecord, rev AuthorisationRevocation) (AuthorisationRecord, error) {
	rev.At = rev.At.UTC()
	rj, err := json.Marshal(rev)
	if err != nil {
		return rec, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE authorisations SET revoked_at_ns = ?, revocation = ? WHERE id = ?",
		nanos(rev.At), string(rj), rec.ID); err != nil {
		return rec, err
	}
	rec.Revocation = &rev
	_, err = appendAudit(ctx, tx, AuditEvent{At: rev.At, Action: ActionRevokeAuthorisation, Actor: rev.By,
		ExemptionIDs: authorisationIDs(rec)}, struct {
		ID string
		AuthorisationRevocation
	}{rec.ID, rev})
	return rec, err
}

// RevokeAuthorisation implements AuthorisationStore.
func (s *SQLiteStore) RevokeAuthorisation(ctx context.Context, id string, rev AuthorisationRevocation) (AuthorisationRecord, error) {
	var out AuthorisationRecord
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rec, err := sqliteGetAuthorisation(ctx, tx, id)
		if err != nil {
			return err
		}
		if r := rec.Revocation; r != nil {
			return idError(id, fmt.Errorf("%w on %s by %s (%s)", ErrAuthorisationRevoked, fmtTime(r.At), r.By, r.Reason))
		}
		out, err = sqliteRevokeAuthorisation(ctx, tx, rec, rev)
		return err
	})
	return out, err
}

// RevokeAuthorisationsRelyingOn implements AuthorisationStore.
func (s *SQLiteStore) RevokeAuthorisationsRelyingOn(ctx context.Context, exemptionID string, rev AuthorisationRevocation) ([]AuthorisationRecord, error) {
	var out []AuthorisationRecord
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, "SELECT "+authorisationCols+` FROM authorisations
			WHERE revocation IS NULL AND valid_until_ns >= ?
			AND id IN (SELECT authorisation_id FROM authorisation_exemptions WHERE exemption_id = ?) ORDER BY seq`,
			nanos(rev.At), exemptionID)
		if err != nil {
			return err
		}
		var recs []AuthorisationRecord
		for rows.Next() {
			rec, err := scanAuthorisation(rows.Scan)
			if err != nil {
				rows.Close()
				return err
			}
			recs = append(recs, rec)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, rec := range recs {
			r, err := sqliteRevokeAuthorisation(ctx, tx, rec, rev)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// RevokedAuthorisations implements AuthorisationStore.
func (s *SQLiteStore) RevokedAuthorisations(ctx context.Context, at time.Time) ([]AuthorisationRecord, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT a.record, a.token, a.revocation, e.id, e.revocation IS NOT NULL, e.revoked_at_ns"+`
		FROM authorisations a
		LEFT JOIN authorisation_exemptions ae ON ae.authorisation_id = a.id
		LEFT JOIN exemptions e ON e.id = ae.exemption_id AND (e.revocation IS NOT NULL OR e.superseded_by IS NOT NULL)
		WHERE a.valid_until_ns >= ? AND (a.revocation IS NOT NULL OR e.id IS NOT NULL)
		ORDER BY a.id, e.id`, nanos(at))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuthorisationRecord
	for rows.Next() {
		var (
			exID      sql.NullString
			exRevoked sql.NullBool
			exAt      sql.NullInt64
		)
		rec, err := scanAuthorisation(rows.Scan, &exID, &exRevoked, &exAt)
		if err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].ID == rec.ID {
			continue
		}
		if rec.Revocation == nil {
			var t time.Time
			if exAt.Valid {
				t = time.Unix(0, exAt.Int64).UTC()
			}
			rec.Revocation = derivedRevocation(exID.String, exRevoked.Bool, t, at)
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}
