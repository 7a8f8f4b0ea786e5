package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/internal/storecore"
)

// appendAudit appends an entry with detail as its Detail, chained to the
// last entry.
func appendAudit(ctx context.Context, tx *sql.Tx, e exemptions.AuditEvent, detail any) (exemptions.AuditEvent, error) {
	var (
		seq  int64
		prev string
	)
	err := tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) + 1, coalesce((SELECT hash FROM audit ORDER BY seq DESC LIMIT 1), '') FROM audit").
		Scan(&seq, &prev)
	if err != nil {
		return e, err
	}
	e, entry, err := storecore.Seal(e, detail, seq, prev)
	if err != nil {
		return e, err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO audit (seq, action, actor, ids, entry, hash) VALUES (?, ?, ?, ?, ?, ?)",
		e.Seq, string(e.Action), e.Actor, storecore.IDsColumn(e.ExemptionIDs), string(entry), e.Hash)
	return e, err
}

// RecordCheck implements Store.
func (s *Store) RecordCheck(ctx context.Context, c exemptions.CheckRecord) (exemptions.AuditEvent, error) {
	var e exemptions.AuditEvent
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Read inside the write transaction (an immediate one: it holds
		// the write lock), so that no revocation commits in between.
		states, err := sqliteRecordStates(ctx, tx, c.ExemptionIDs)
		if err != nil {
			return err
		}
		if err := storecore.NotInForce(c.ExemptionIDs, states); err != nil {
			return err
		}
		e, err = appendAudit(ctx, tx, exemptions.AuditEvent{At: c.At, Action: exemptions.ActionCheck, Actor: c.ActorName(),
			ExemptionIDs: c.ExemptionIDs, ClientReference: c.ClientReference}, c)
		return err
	})
	return e, err
}

// sqliteRecordStates reads whether each of ids is superseded or revoked.
func sqliteRecordStates(ctx context.Context, tx *sql.Tx, ids []string) (map[string]storecore.RecordState, error) {
	states := make(map[string]storecore.RecordState, len(ids))
	for _, id := range ids {
		var st storecore.RecordState
		err := tx.QueryRowContext(ctx, "SELECT superseded_by IS NOT NULL, revocation IS NOT NULL FROM exemptions WHERE id = ?", id).
			Scan(&st.Superseded, &st.Revoked)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		states[id] = st
	}
	return states, nil
}

// Audit implements Store.
func (s *Store) Audit(ctx context.Context, f exemptions.AuditFilter) ([]exemptions.AuditEvent, string, error) {
	after, err := storecore.DecodeToken(f.PageToken)
	if err != nil {
		return nil, "", err
	}
	where, args := []string{"seq > ?"}, []any{after}
	if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, string(f.Action))
	}
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if f.ExemptionID != "" {
		where, args = append(where, "instr(ids, ?) > 0"), append(args, ","+f.ExemptionID+",")
	}
	n := storecore.PageSize(f.PageSize)
	rows, err := s.db.QueryContext(ctx, "SELECT entry, hash FROM audit WHERE "+strings.Join(where, " AND ")+
		" ORDER BY seq LIMIT ?", append(args, n+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	return storecore.PageAudit(rows, n, f.MaxBytes)
}

// VerifyAudit implements Store.
func (s *Store) VerifyAudit(ctx context.Context) (exemptions.Verification, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return exemptions.Verification{}, err
	}
	defer tx.Rollback()
	w := storecore.NewVerifier()
	rows, err := tx.QueryContext(ctx, storecore.VerifyEntriesQuery)
	if err != nil {
		return exemptions.Verification{}, err
	}
	err = w.Entries(rows)
	rows.Close()
	if err != nil {
		return exemptions.Verification{}, err
	}
	for _, step := range w.Tables() {
		rows, err := tx.QueryContext(ctx, step.Query)
		if err != nil {
			return exemptions.Verification{}, err
		}
		err = step.Check(rows)
		rows.Close()
		if err != nil {
			return exemptions.Verification{}, err
		}
	}
	return w.Finish(), nil
}

// AuditEntries returns up to n entries after the entry after, as stored,
// in order (n at most 10,000): the log for readers that decode it
// themselves (report.Compute).
func (s *Store) AuditEntries(ctx context.Context, after int64, n int) ([]exemptions.StoredAuditEntry, error) {
	n = storecore.RawPageSize(n)
	rows, err := s.db.QueryContext(ctx, "SELECT seq, entry, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", after, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// The entries are copied into one buffer a page (a report reads
	// 100,000 of them), not one allocation each.
	var (
		out   = make([]exemptions.StoredAuditEntry, 0, n)
		arena []byte
		raw   sql.RawBytes
	)
	for rows.Next() {
		var e exemptions.StoredAuditEntry
		if err := rows.Scan(&e.Seq, &raw, &e.Hash); err != nil {
			return nil, err
		}
		if len(arena)+len(raw) > cap(arena) {
			arena = make([]byte, 0, max(len(raw), 1<<20))
		}
		start := len(arena)
		arena = append(arena, raw...)
		e.Entry = arena[start:len(arena):len(arena)]
		out = append(out, e)
	}
	return out, rows.Err()
}
