package pgstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/internal/storecore"
)

// appendAudit appends an entry, with detail as its Detail, after the head.
func (h *head) appendAudit(e exemptions.AuditEvent, detail any) (exemptions.AuditEvent, error) {
	e, entry, err := storecore.Seal(e, detail, h.auditSeq+1, h.auditHash)
	if err != nil {
		return e, err
	}
	h.queue("INSERT INTO audit (seq, action, actor, ids, entry, hash) VALUES ($1, $2, $3, $4, $5, $6)",
		e.Seq, string(e.Action), e.Actor, storecore.IDsColumn(e.ExemptionIDs), string(entry), e.Hash)
	h.auditSeq, h.auditHash = e.Seq, e.Hash
	return e, nil
}

// RecordCheck implements Store.
func (s *Store) RecordCheck(ctx context.Context, c exemptions.CheckRecord) (exemptions.AuditEvent, error) {
	var e exemptions.AuditEvent
	err := s.write(ctx, "record check", func(ctx context.Context, tx pgx.Tx, h *head) error {
		// Read after taking the head: a revocation or supersession
		// committed by any process before is seen here, and none can
		// commit before this entry does.
		rows, err := tx.Query(ctx, "SELECT id, superseded_by IS NOT NULL, revocation IS NOT NULL FROM exemptions WHERE id = ANY($1)",
			c.ExemptionIDs)
		if err != nil {
			return err
		}
		states := make(map[string]storecore.RecordState, len(c.ExemptionIDs))
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
		if err := storecore.NotInForce(c.ExemptionIDs, states); err != nil {
			return err
		}
		e, err = h.appendAudit(exemptions.AuditEvent{At: c.At, Action: exemptions.ActionCheck, Actor: c.ActorName(),
			ExemptionIDs: c.ExemptionIDs, ClientReference: c.ClientReference}, c)
		return err
	})
	return e, err
}

// Audit implements Store.
func (s *Store) Audit(caller context.Context, f exemptions.AuditFilter) ([]exemptions.AuditEvent, string, error) {
	after, err := storecore.DecodeToken(f.PageToken)
	if err != nil {
		return nil, "", err
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where = append(where, "seq > "+arg(after))
	if f.Action != "" {
		where = append(where, "action = "+arg(string(f.Action)))
	}
	if f.Actor != "" {
		where = append(where, "actor = "+arg(f.Actor))
	}
	if f.ExemptionID != "" {
		where = append(where, "strpos(ids, "+arg(","+f.ExemptionID+",")+") > 0")
	}
	n := storecore.PageSize(f.PageSize)
	ctx, cancel := s.call(caller)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT entry, hash FROM audit WHERE "+strings.Join(where, " AND ")+
		" ORDER BY seq LIMIT "+arg(n+1), args...)
	if err != nil {
		return nil, "", fail(caller, "audit", err)
	}
	defer rows.Close()
	out, next, err := storecore.PageAudit(rows, n, f.MaxBytes)
	if err != nil {
		return nil, "", fail(caller, "audit", err)
	}
	return out, next, nil
}

// VerifyAudit implements Store. Beyond what every store checks, the chain
// head must name the last entry: entries removed from the end show.
func (s *Store) VerifyAudit(ctx context.Context) (exemptions.Verification, error) {
	var v exemptions.Verification
	// A long log takes longer than one call's timeout to read.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		w := storecore.NewVerifier()
		rows, err := tx.Query(ctx, storecore.VerifyEntriesQuery)
		if err != nil {
			return err
		}
		err = w.Entries(rows)
		rows.Close()
		if err != nil {
			return err
		}
		var (
			headSeq  int64
			headHash string
		)
		if err := tx.QueryRow(ctx, "SELECT audit_seq, audit_hash FROM chain_head").Scan(&headSeq, &headHash); err != nil {
			return err
		}
		if n, last := w.Chain(); headSeq != n || headHash != last {
			w.Problem("audit log ends at entry %d (%.12s…), but its head records entry %d (%.12s…): entries missing from the end",
				n, last, headSeq, headHash)
		}
		for _, step := range w.Tables() {
			rows, err := tx.Query(ctx, step.Query)
			if err != nil {
				return err
			}
			err = step.Check(rows)
			rows.Close()
			if err != nil {
				return err
			}
		}
		v = w.Finish()
		return nil
	})
	return v, fail(ctx, "verify audit", err)
}

// AuditEntries returns up to n entries after the entry after, as stored,
// in order (n at most 10,000): the log for readers that decode it
// themselves (report.Compute).
func (s *Store) AuditEntries(caller context.Context, after int64, n int) ([]exemptions.StoredAuditEntry, error) {
	ctx, cancel := s.call(caller)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT seq, entry, hash FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2", after, storecore.RawPageSize(n))
	if err != nil {
		return nil, fail(caller, "audit entries", err)
	}
	defer rows.Close()
	out, err := storecore.StoredEntries(rows)
	if err != nil {
		return nil, fail(caller, "audit entries", err)
	}
	return out, nil
}
