package sqlitestore

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/internal/storecore"
)

var _ exemptions.RefusalStore = (*Store)(nil)

// AddRefusals implements exemptions.RefusalStore: one transaction of
// upserts.
func (s *Store) AddRefusals(ctx context.Context, counts []exemptions.RefusalCount) error {
	if err := storecore.CheckRefusals(counts); err != nil {
		return err
	}
	if len(counts) == 0 {
		return nil
	}
	// In key order, so that two servers adding at once lock rows alike.
	counts = slices.Clone(counts)
	storecore.SortRefusals(counts)
	return s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, "INSERT INTO refusals ("+storecore.RefusalColumns+", count) VALUES (?, ?, ?, ?, ?, ?) "+
			"ON CONFLICT ("+storecore.RefusalColumns+") DO UPDATE SET count = count + excluded.count")
		if err != nil {
			return err
		}
		defer st.Close()
		for _, c := range counts {
			if _, err := st.ExecContext(ctx, c.Day, c.Unit, string(c.Purpose), string(c.Kind), c.Authorisation, c.Count); err != nil {
				return err
			}
		}
		return nil
	})
}

// unsealedBefore selects the unsealed part of the counters of days before
// the day given.
const unsealedBefore = "SELECT " + storecore.RefusalColumns + ", count - sealed FROM refusals WHERE count > sealed AND day < ? ORDER BY " + storecore.RefusalColumns

// SealRefusals implements exemptions.RefusalStore.
func (s *Store) SealRefusals(ctx context.Context, before, actor string, at time.Time) (exemptions.AuditEvent, bool, error) {
	// Most calls find nothing to seal: ask without the write lock first.
	var due bool
	if err := s.db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM refusals WHERE count > sealed AND day < ?)", before).Scan(&due); err != nil || !due {
		return exemptions.AuditEvent{}, false, err
	}
	var (
		e      exemptions.AuditEvent
		sealed bool
	)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, unsealedBefore, before)
		if err != nil {
			return err
		}
		counts, err := storecore.RefusalRows(rows)
		rows.Close()
		if counts = storecore.Sealable(counts); err != nil || len(counts) == 0 {
			return err
		}
		storecore.SortRefusals(counts)
		e, err = appendAudit(ctx, tx, exemptions.AuditEvent{At: at, Action: exemptions.ActionRefusals, Actor: actor},
			exemptions.RefusalSeal{Counts: counts})
		if err != nil {
			return err
		}
		// The write lock is held: no count changed since the read.
		for _, c := range counts {
			if _, err := tx.ExecContext(ctx, "UPDATE refusals SET sealed = sealed + ? WHERE day = ? AND unit = ? AND purpose = ? AND kind = ? AND authorisation = ?",
				c.Count, c.Day, c.Unit, string(c.Purpose), string(c.Kind), c.Authorisation); err != nil {
				return err
			}
		}
		sealed = true
		return nil
	})
	return e, sealed && err == nil, err
}

// UnsealedRefusals implements exemptions.RefusalStore.
func (s *Store) UnsealedRefusals(ctx context.Context, fromDay, untilDay string) ([]exemptions.RefusalCount, int64, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	var head int64
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM audit").Scan(&head); err != nil {
		return nil, 0, err
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+storecore.RefusalColumns+", count - sealed FROM refusals "+
		"WHERE count > sealed AND day >= ? AND day < ? ORDER BY "+storecore.RefusalColumns, fromDay, untilDay)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	counts, err := storecore.RefusalRows(rows)
	return counts, head, err
}

// RecordReportDetail implements exemptions.RefusalStore.
func (s *Store) RecordReportDetail(ctx context.Context, actor string, at time.Time, d exemptions.ReportDetail) (exemptions.AuditEvent, error) {
	var e exemptions.AuditEvent
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		e, err = appendAudit(ctx, tx, exemptions.AuditEvent{At: at, Action: exemptions.ActionReportDetail, Actor: actor}, d)
		return err
	})
	return e, err
}
