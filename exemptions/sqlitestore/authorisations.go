package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/internal/storecore"
)

var _ exemptions.AuthorisationStore = (*Store)(nil)

// IssueAuthorisation implements exemptions.AuthorisationStore.
func (s *Store) IssueAuthorisation(ctx context.Context, rec exemptions.AuthorisationRecord, sign func(id string) ([]byte, error)) (exemptions.AuthorisationRecord, error) {
	rec = storecore.NormaliseAuthorisation(rec)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		states, err := sqliteRecordStates(ctx, tx, rec.ExemptionIDs)
		if err != nil {
			return err
		}
		if err := storecore.NotInForce(rec.ExemptionIDs, states); err != nil {
			return err
		}
		var seq int64
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM authorisations").Scan(&seq); err != nil {
			return err
		}
		rec.ID = storecore.AuthorisationID(seq)
		if rec.Token, err = sign(rec.ID); err != nil {
			return fmt.Errorf("signing %s: %w", rec.ID, err)
		}
		rec.TokenSHA256 = storecore.TokenDigest(rec.Token)
		rj, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO authorisations (seq, id, unit, valid_until_ns, record, token)
			VALUES (?, ?, ?, ?, ?, ?)`, seq, rec.ID, rec.Unit, storecore.Nanos(rec.ValidUntil), string(rj), rec.Token); err != nil {
			return err
		}
		for _, ex := range rec.ExemptionIDs {
			if _, err := tx.ExecContext(ctx, "INSERT INTO authorisation_exemptions VALUES (?, ?)", ex, rec.ID); err != nil {
				return err
			}
		}
		_, err = appendAudit(ctx, tx, exemptions.AuditEvent{At: rec.IssuedAt, Action: exemptions.ActionAuthorise, Actor: rec.IssuedBy,
			ExemptionIDs: storecore.AuthorisationIDs(rec), ClientReference: rec.ClientReference}, rec)
		return err
	})
	return rec, err
}

func sqliteGetAuthorisation(ctx context.Context, q querier, id string) (exemptions.AuthorisationRecord, error) {
	rec, err := storecore.ScanAuthorisation(q.QueryRowContext(ctx, "SELECT "+storecore.AuthorisationCols+" FROM authorisations WHERE id = ?", id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, storecore.IDError(id, exemptions.ErrAuthorisationNotFound)
	}
	return rec, err
}

// GetAuthorisation implements exemptions.AuthorisationStore.
func (s *Store) GetAuthorisation(ctx context.Context, id string) (exemptions.AuthorisationRecord, error) {
	return sqliteGetAuthorisation(ctx, s.db, id)
}

// ListAuthorisations implements exemptions.AuthorisationStore.
func (s *Store) ListAuthorisations(ctx context.Context, f exemptions.AuthorisationFilter) ([]exemptions.AuthorisationRecord, string, error) {
	after, err := storecore.DecodeToken(f.PageToken)
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
	n := storecore.PageSize(f.PageSize)
	rows, err := s.db.QueryContext(ctx, "SELECT "+storecore.AuthorisationCols+", seq FROM authorisations WHERE "+
		strings.Join(where, " AND ")+" ORDER BY seq LIMIT ?", append(args, n+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var (
		out  []exemptions.AuthorisationRecord
		seqs []int64
	)
	for rows.Next() {
		var seq int64
		rec, err := storecore.ScanAuthorisation(rows.Scan, &seq)
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
		out, next = out[:n], storecore.EncodeToken(seqs[n-1])
	}
	return out, next, nil
}

// sqliteRevokeAuthorisation records rev on rec (read in tx) and appends its
// audit entry.
func sqliteRevokeAuthorisation(ctx context.Context, tx *sql.Tx, rec exemptions.AuthorisationRecord, rev exemptions.AuthorisationRevocation) (exemptions.AuthorisationRecord, error) {
	rev.At = rev.At.UTC()
	rj, err := json.Marshal(rev)
	if err != nil {
		return rec, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE authorisations SET revoked_at_ns = ?, revocation = ? WHERE id = ?",
		storecore.Nanos(rev.At), string(rj), rec.ID); err != nil {
		return rec, err
	}
	rec.Revocation = &rev
	_, err = appendAudit(ctx, tx, exemptions.AuditEvent{At: rev.At, Action: exemptions.ActionRevokeAuthorisation, Actor: rev.By,
		ExemptionIDs: storecore.AuthorisationIDs(rec)}, storecore.AuthorisationRevocationDetail{ID: rec.ID, AuthorisationRevocation: rev})
	return rec, err
}

// RevokeAuthorisation implements exemptions.AuthorisationStore.
func (s *Store) RevokeAuthorisation(ctx context.Context, id string, rev exemptions.AuthorisationRevocation) (exemptions.AuthorisationRecord, error) {
	var out exemptions.AuthorisationRecord
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rec, err := sqliteGetAuthorisation(ctx, tx, id)
		if err != nil {
			return err
		}
		if r := rec.Revocation; r != nil {
			return storecore.AlreadyRevoked(id, r)
		}
		out, err = sqliteRevokeAuthorisation(ctx, tx, rec, rev)
		return err
	})
	return out, err
}

// RevokeAuthorisationsRelyingOn implements exemptions.AuthorisationStore.
func (s *Store) RevokeAuthorisationsRelyingOn(ctx context.Context, exemptionID string, rev exemptions.AuthorisationRevocation) ([]exemptions.AuthorisationRecord, error) {
	var out []exemptions.AuthorisationRecord
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, "SELECT "+storecore.AuthorisationCols+` FROM authorisations
			WHERE revocation IS NULL AND valid_until_ns >= ?
			AND id IN (SELECT authorisation_id FROM authorisation_exemptions WHERE exemption_id = ?) ORDER BY seq`,
			storecore.Nanos(rev.At), exemptionID)
		if err != nil {
			return err
		}
		var recs []exemptions.AuthorisationRecord
		for rows.Next() {
			rec, err := storecore.ScanAuthorisation(rows.Scan)
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

// RevokedAuthorisations implements exemptions.AuthorisationStore.
func (s *Store) RevokedAuthorisations(ctx context.Context, at time.Time) ([]exemptions.AuthorisationRecord, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT a.record, a.token, a.revocation, e.id, e.revocation IS NOT NULL, e.revoked_at_ns"+`
		FROM authorisations a
		LEFT JOIN authorisation_exemptions ae ON ae.authorisation_id = a.id
		LEFT JOIN exemptions e ON e.id = ae.exemption_id AND (e.revocation IS NOT NULL OR e.superseded_by IS NOT NULL)
		WHERE a.valid_until_ns >= ? AND (a.revocation IS NOT NULL OR e.id IS NOT NULL)
		ORDER BY a.id, e.id`, storecore.Nanos(at))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []exemptions.AuthorisationRecord
	for rows.Next() {
		var (
			exID      sql.NullString
			exRevoked sql.NullBool
			exAt      sql.NullInt64
		)
		rec, err := storecore.ScanAuthorisation(rows.Scan, &exID, &exRevoked, &exAt)
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
			rec.Revocation = storecore.DerivedRevocation(exID.String, exRevoked.Bool, t, at)
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}
