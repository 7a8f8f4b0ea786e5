package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/internal/storecore"
)

var _ exemptions.AuthorisationStore = (*Store)(nil)

type pgQuerier interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}

func pgGetAuthorisation(ctx context.Context, q pgQuerier, id string) (exemptions.AuthorisationRecord, error) {
	rec, err := storecore.ScanAuthorisation(q.QueryRow(ctx, "SELECT "+storecore.AuthorisationCols+" FROM authorisations WHERE id = $1", id).Scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return rec, storecore.IDError(id, exemptions.ErrAuthorisationNotFound)
	}
	return rec, err
}

// IssueAuthorisation implements exemptions.AuthorisationStore.
func (s *Store) IssueAuthorisation(ctx context.Context, rec exemptions.AuthorisationRecord, sign func(id string) ([]byte, error)) (exemptions.AuthorisationRecord, error) {
	rec = storecore.NormaliseAuthorisation(rec)
	err := s.write(ctx, "issue authorisation", func(ctx context.Context, tx pgx.Tx, h *head) error {
		rows, err := tx.Query(ctx, "SELECT id, superseded_by IS NOT NULL, revocation IS NOT NULL FROM exemptions WHERE id = ANY($1)",
			rec.ExemptionIDs)
		if err != nil {
			return err
		}
		states := make(map[string]storecore.RecordState, len(rec.ExemptionIDs))
		for rows.Next() {
			var (
				id string
				st storecore.RecordState
			)
			if err := rows.Scan(&id, &st.Superseded, &st.Revoked); err != nil {
				rows.Close()
				return err
			}
			states[id] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if err := storecore.NotInForce(rec.ExemptionIDs, states); err != nil {
			return err
		}
		// The chain head is locked: no other writer numbers at once.
		var seq int64
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM authorisations").Scan(&seq); err != nil {
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
		h.queue(`INSERT INTO authorisations (seq, id, unit, valid_until_ns, record, token) VALUES ($1, $2, $3, $4, $5, $6)`,
			seq, rec.ID, rec.Unit, storecore.Nanos(rec.ValidUntil), string(rj), rec.Token)
		for _, ex := range rec.ExemptionIDs {
			h.queue("INSERT INTO authorisation_exemptions VALUES ($1, $2)", ex, rec.ID)
		}
		_, err = h.appendAudit(exemptions.AuditEvent{At: rec.IssuedAt, Action: exemptions.ActionAuthorise, Actor: rec.IssuedBy,
			ExemptionIDs: storecore.AuthorisationIDs(rec), ClientReference: rec.ClientReference}, rec)
		return err
	})
	return rec, err
}

// GetAuthorisation implements exemptions.AuthorisationStore.
func (s *Store) GetAuthorisation(caller context.Context, id string) (exemptions.AuthorisationRecord, error) {
	ctx, cancel := s.call(caller)
	defer cancel()
	rec, err := pgGetAuthorisation(ctx, s.pool, id)
	return rec, fail(caller, "get authorisation", err)
}

// ListAuthorisations implements exemptions.AuthorisationStore.
func (s *Store) ListAuthorisations(caller context.Context, f exemptions.AuthorisationFilter) ([]exemptions.AuthorisationRecord, string, error) {
	after, err := storecore.DecodeToken(f.PageToken)
	if err != nil {
		return nil, "", err
	}
	where, args := []string{"seq > $1"}, []any{after}
	if f.Unit != "" {
		args = append(args, f.Unit)
		where = append(where, fmt.Sprintf("unit = $%d", len(args)))
	}
	if f.ExemptionID != "" {
		args = append(args, f.ExemptionID)
		where = append(where, fmt.Sprintf("id IN (SELECT authorisation_id FROM authorisation_exemptions WHERE exemption_id = $%d)", len(args)))
	}
	n := storecore.PageSize(f.PageSize)
	args = append(args, n+1)
	ctx, cancel := s.call(caller)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT "+storecore.AuthorisationCols+", seq FROM authorisations WHERE "+
		strings.Join(where, " AND ")+fmt.Sprintf(" ORDER BY seq LIMIT $%d", len(args)), args...)
	if err != nil {
		return nil, "", fail(caller, "list authorisations", err)
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
			return nil, "", fail(caller, "list authorisations", err)
		}
		out, seqs = append(out, rec), append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fail(caller, "list authorisations", err)
	}
	next := ""
	if len(out) > n {
		out, next = out[:n], storecore.EncodeToken(seqs[n-1])
	}
	return out, next, nil
}

// pgRevokeAuthorisation queues rev on rec and its audit entry.
func pgRevokeAuthorisation(h *head, rec exemptions.AuthorisationRecord, rev exemptions.AuthorisationRevocation) (exemptions.AuthorisationRecord, error) {
	rev.At = rev.At.UTC()
	rj, err := json.Marshal(rev)
	if err != nil {
		return rec, err
	}
	h.queue("UPDATE authorisations SET revoked_at_ns = $1, revocation = $2 WHERE id = $3", storecore.Nanos(rev.At), string(rj), rec.ID)
	rec.Revocation = &rev
	_, err = h.appendAudit(exemptions.AuditEvent{At: rev.At, Action: exemptions.ActionRevokeAuthorisation, Actor: rev.By,
		ExemptionIDs: storecore.AuthorisationIDs(rec)}, storecore.AuthorisationRevocationDetail{ID: rec.ID, AuthorisationRevocation: rev})
	return rec, err
}

// RevokeAuthorisation implements exemptions.AuthorisationStore.
func (s *Store) RevokeAuthorisation(ctx context.Context, id string, rev exemptions.AuthorisationRevocation) (exemptions.AuthorisationRecord, error) {
	var out exemptions.AuthorisationRecord
	err := s.write(ctx, "revoke authorisation", func(ctx context.Context, tx pgx.Tx, h *head) error {
		rec, err := pgGetAuthorisation(ctx, tx, id)
		if err != nil {
			return err
		}
		if r := rec.Revocation; r != nil {
			return storecore.AlreadyRevoked(id, r)
		}
		out, err = pgRevokeAuthorisation(h, rec, rev)
		return err
	})
	return out, err
}

// RevokeAuthorisationsRelyingOn implements exemptions.AuthorisationStore.
func (s *Store) RevokeAuthorisationsRelyingOn(ctx context.Context, exemptionID string, rev exemptions.AuthorisationRevocation) ([]exemptions.AuthorisationRecord, error) {
	var out []exemptions.AuthorisationRecord
	err := s.write(ctx, "revoke authorisations", func(ctx context.Context, tx pgx.Tx, h *head) error {
		out = nil
		rows, err := tx.Query(ctx, "SELECT "+storecore.AuthorisationCols+` FROM authorisations
			WHERE revocation IS NULL AND valid_until_ns >= $1
			AND id IN (SELECT authorisation_id FROM authorisation_exemptions WHERE exemption_id = $2) ORDER BY seq`,
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
			r, err := pgRevokeAuthorisation(h, rec, rev)
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
func (s *Store) RevokedAuthorisations(caller context.Context, at time.Time) ([]exemptions.AuthorisationRecord, error) {
	var out []exemptions.AuthorisationRecord
	err := s.readTx(caller, "revoked authorisations", func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, "SELECT a.record, a.token, a.revocation, e.id, e.revocation IS NOT NULL, e.revoked_at_ns"+`
			FROM authorisations a
			LEFT JOIN authorisation_exemptions ae ON ae.authorisation_id = a.id
			LEFT JOIN exemptions e ON e.id = ae.exemption_id AND (e.revocation IS NOT NULL OR e.superseded_by IS NOT NULL)
			WHERE a.valid_until_ns >= $1 AND (a.revocation IS NOT NULL OR e.id IS NOT NULL)
			ORDER BY a.id, e.id`, storecore.Nanos(at))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				exID      *string
				exRevoked *bool
				exAt      *int64
			)
			rec, err := storecore.ScanAuthorisation(rows.Scan, &exID, &exRevoked, &exAt)
			if err != nil {
				return err
			}
			if n := len(out); n > 0 && out[n-1].ID == rec.ID {
				continue
			}
			if rec.Revocation == nil && exID != nil {
				var t time.Time
				if exAt != nil {
					t = time.Unix(0, *exAt).UTC()
				}
				rec.Revocation = storecore.DerivedRevocation(*exID, exRevoked != nil && *exRevoked, t, at)
			}
			out = append(out, rec)
		}
		return rows.Err()
	})
	return out, err
}
