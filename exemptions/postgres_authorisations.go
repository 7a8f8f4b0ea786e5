package exemptions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgAuthorisationsSchema is migration 2 of the PostgreSQL store: signed
// authorisations, the exemptions each relied on, and the triggers that
// keep them append-only (a record changes once, when revoked).
const pgAuthorisationsSchema = `CREATE TABLE authorisations (
		seq            bigint PRIMARY KEY,
		id             text NOT NULL UNIQUE,
		unit           text NOT NULL,
		valid_until_ns bigint NOT NULL, -- Unix nanoseconds
		record         text NOT NULL,   -- JSON of the record as issued
		token          bytea NOT NULL,  -- the signed bytes as issued
		revoked_at_ns  bigint,
		revocation     text             -- JSON of the revocation
	);
	CREATE INDEX authorisations_unit ON authorisations (unit, seq);
	CREATE INDEX authorisations_valid ON authorisations (valid_until_ns);
	CREATE TABLE authorisation_exemptions (
		exemption_id     text NOT NULL,
		authorisation_id text NOT NULL REFERENCES authorisations (id),
		PRIMARY KEY (exemption_id, authorisation_id)
	);
	CREATE TRIGGER authorisations_no_delete BEFORE DELETE ON authorisations
		FOR EACH ROW EXECUTE FUNCTION nofly_refuse('authorisations are never deleted');
	CREATE TRIGGER authorisations_no_truncate BEFORE TRUNCATE ON authorisations
		FOR EACH STATEMENT EXECUTE FUNCTION nofly_refuse('authorisations are never deleted');
	CREATE TRIGGER authorisation_exemptions_no_change BEFORE UPDATE OR DELETE ON authorisation_exemptions
		FOR EACH ROW EXECUTE FUNCTION nofly_refuse('authorisations are never edited or deleted');
	CREATE TRIGGER authorisation_exemptions_no_truncate BEFORE TRUNCATE ON authorisation_exemptions
		FOR EACH STATEMENT EXECUTE FUNCTION nofly_refuse('authorisations are never deleted');
	CREATE FUNCTION nofly_authorisations_no_edit() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF OLD.id IS DISTINCT FROM NEW.id OR OLD.seq IS DISTINCT FROM NEW.seq OR OLD.unit IS DISTINCT FROM NEW.unit
			OR OLD.valid_until_ns IS DISTINCT FROM NEW.valid_until_ns OR OLD.record IS DISTINCT FROM NEW.record
			OR OLD.token IS DISTINCT FROM NEW.token OR OLD.revocation IS NOT NULL
		THEN
			RAISE EXCEPTION 'authorisations are never edited: revoke' USING ERRCODE = 'integrity_constraint_violation';
		END IF;
		RETURN NEW;
	END $$;
	CREATE TRIGGER authorisations_no_edit BEFORE UPDATE ON authorisations
		FOR EACH ROW EXECUTE FUNCTION nofly_authorisations_no_edit();`

type pgQuerier interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}

func pgGetAuthorisation(ctx context.Context, q pgQuerier, id string) (AuthorisationRecord, error) {
	rec, err := scanAuthorisation(q.QueryRow(ctx, "SELECT "+authorisationCols+" FROM authorisations WHERE id = $1", id).Scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return rec, idError(id, ErrAuthorisationNotFound)
	}
	return rec, err
}

// IssueAuthorisation implements AuthorisationStore.
func (s *PostgresStore) IssueAuthorisation(ctx context.Context, rec AuthorisationRecord, sign func(id string) ([]byte, error)) (AuthorisationRecord, error) {
	rec = rec.normalise()
	err := s.write(ctx, "issue authorisation", func(ctx context.Context, tx pgx.Tx, h *head) error {
		rows, err := tx.Query(ctx, "SELECT id, superseded_by IS NOT NULL, revocation IS NOT NULL FROM exemptions WHERE id = ANY($1)",
			rec.ExemptionIDs)
		if err != nil {
			return err
		}
		states := make(map[string]recordState, len(rec.ExemptionIDs))
		for rows.Next() {
			var (
				id string
				st recordState
			)
			if err := rows.Scan(&id, &st.superseded, &st.revoked); err != nil {
				rows.Close()
				return err
			}
			states[id] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if err := notInForce(rec.ExemptionIDs, states); err != nil {
			return err
		}
		// The chain head is locked: no other writer numbers at once.
		var seq int64
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM authorisations").Scan(&seq); err != nil {
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
		h.queue(`INSERT INTO authorisations (seq, id, unit, valid_until_ns, record, token) VALUES ($1, $2, $3, $4, $5, $6)`,
			seq, rec.ID, rec.Unit, nanos(rec.ValidUntil), string(rj), rec.Token)
		for _, ex := range rec.ExemptionIDs {
			h.queue("INSERT INTO authorisation_exemptions VALUES ($1, $2)", ex, rec.ID)
		}
		_, err = h.appendAudit(AuditEvent{At: rec.IssuedAt, Action: ActionAuthorise, Actor: rec.IssuedBy,
			ExemptionIDs: authorisationIDs(rec), ClientReference: rec.ClientReference}, rec)
		return err
	})
	return rec, err
}

// GetAuthorisation implements AuthorisationStore.
func (s *PostgresStore) GetAuthorisation(caller context.Context, id string) (AuthorisationRecord, error) {
	ctx, cancel := s.call(caller)
	defer cancel()
	rec, err := pgGetAuthorisation(ctx, s.pool, id)
	return rec, fail(caller, "get authorisation", err)
}

// ListAuthorisations implements AuthorisationStore.
func (s *PostgresStore) ListAuthorisations(caller context.Context, f AuthorisationFilter) ([]AuthorisationRecord, string, error) {
	after, err := decodeToken(f.PageToken)
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
	n := pageSize(f.PageSize)
	args = append(args, n+1)
	ctx, cancel := s.call(caller)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT "+authorisationCols+", seq FROM authorisations WHERE "+
		strings.Join(where, " AND ")+fmt.Sprintf(" ORDER BY seq LIMIT $%d", len(args)), args...)
	if err != nil {
		return nil, "", fail(caller, "list authorisations", err)
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
			return nil, "", fail(caller, "list authorisations", err)
		}
		out, seqs = append(out, rec), append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fail(caller, "list authorisations", err)
	}
	next := ""
	if len(out) > n {
		out, next = out[:n], encodeToken(seqs[n-1])
	}
	return out, next, nil
}

// pgRevokeAuthorisation queues rev on rec and its audit entry.
func pgRevokeAuthorisation(h *head, rec AuthorisationRecord, rev AuthorisationRevocation) (AuthorisationRecord, error) {
	rev.At = rev.At.UTC()
	rj, err := json.Marshal(rev)
	if err != nil {
		return rec, err
	}
	h.queue("UPDATE authorisations SET revoked_at_ns = $1, revocation = $2 WHERE id = $3", nanos(rev.At), string(rj), rec.ID)
	rec.Revocation = &rev
	_, err = h.appendAudit(AuditEvent{At: rev.At, Action: ActionRevokeAuthorisation, Actor: rev.By,
		ExemptionIDs: authorisationIDs(rec)}, struct {
		ID string
		AuthorisationRevocation
	}{rec.ID, rev})
	return rec, err
}

// RevokeAuthorisation implements AuthorisationStore.
func (s *PostgresStore) RevokeAuthorisation(ctx context.Context, id string, rev AuthorisationRevocation) (AuthorisationRecord, error) {
	var out AuthorisationRecord
	err := s.write(ctx, "revoke authorisation", func(ctx context.Context, tx pgx.Tx, h *head) error {
		rec, err := pgGetAuthorisation(ctx, tx, id)
		if err != nil {
			return err
		}
		if r := rec.Revocation; r != nil {
			return idError(id, fmt.Errorf("%w on %s by %s (%s)", ErrAuthorisationRevoked, fmtTime(r.At), r.By, r.Reason))
		}
		out, err = pgRevokeAuthorisation(h, rec, rev)
		return err
	})
	return out, err
}

// RevokeAuthorisationsRelyingOn implements AuthorisationStore.
func (s *PostgresStore) RevokeAuthorisationsRelyingOn(ctx context.Context, exemptionID string, rev AuthorisationRevocation) ([]AuthorisationRecord, error) {
	var out []AuthorisationRecord
	err := s.write(ctx, "revoke authorisations", func(ctx context.Context, tx pgx.Tx, h *head) error {
		out = nil
		rows, err := tx.Query(ctx, "SELECT "+authorisationCols+` FROM authorisations
			WHERE revocation IS NULL AND valid_until_ns >= $1
			AND id IN (SELECT authorisation_id FROM authorisation_exemptions WHERE exemption_id = $2) ORDER BY seq`,
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

// RevokedAuthorisations implements AuthorisationStore.
func (s *PostgresStore) RevokedAuthorisations(caller context.Context, at time.Time) ([]AuthorisationRecord, error) {
	var out []AuthorisationRecord
	err := s.readTx(caller, "revoked authorisations", func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, "SELECT a.record, a.token, a.revocation, e.id, e.revocation IS NOT NULL, e.revoked_at_ns"+`
			FROM authorisations a
			LEFT JOIN authorisation_exemptions ae ON ae.authorisation_id = a.id
			LEFT JOIN exemptions e ON e.id = ae.exemption_id AND (e.revocation IS NOT NULL OR e.superseded_by IS NOT NULL)
			WHERE a.valid_until_ns >= $1 AND (a.revocation IS NOT NULL OR e.id IS NOT NULL)
			ORDER BY a.id, e.id`, nanos(at))
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
			rec, err := scanAuthorisation(rows.Scan, &exID, &exRevoked, &exAt)
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
				rec.Revocation = derivedRevocation(*exID, exRevoked != nil && *exRevoked, t, at)
			}
			out = append(out, rec)
		}
		return rows.Err()
	})
	return out, err
}
