package pgstore

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/internal/storecore"
)

var _ exemptions.RefusalStore = (*Store)(nil)

// AddRefusals implements exemptions.RefusalStore: one round trip of
// upserts, without the chain head (refused checks never wait on the log).
func (s *Store) AddRefusals(caller context.Context, counts []exemptions.RefusalCount) error {
	if err := storecore.CheckRefusals(counts); err != nil {
		return err
	}
	if len(counts) == 0 {
		return nil
	}
	// In key order, so that two servers adding at once lock rows alike.
	counts = slices.Clone(counts)
	storecore.SortRefusals(counts)
	ctx, cancel := s.call(caller)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var b pgx.Batch
		for _, c := range counts {
			b.Queue("INSERT INTO refusals ("+storecore.RefusalColumns+", count) VALUES ($1, $2, $3, $4, $5, $6) "+
				"ON CONFLICT ("+storecore.RefusalColumns+") DO UPDATE SET count = refusals.count + excluded.count",
				c.Day, c.Unit, string(c.Purpose), string(c.Kind), c.Authorisation, c.Count)
		}
		return tx.SendBatch(ctx, &b).Close()
	})
	return fail(caller, "add refusals", err)
}

// SealRefusals implements exemptions.RefusalStore.
func (s *Store) SealRefusals(caller context.Context, before, actor string, at time.Time) (exemptions.AuditEvent, bool, error) {
	var due bool
	ctx, cancel := s.call(caller)
	err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM refusals WHERE count > sealed AND day < $1)", before).Scan(&due)
	cancel()
	if err != nil || !due {
		return exemptions.AuditEvent{}, false, fail(caller, "seal refusals", err)
	}
	var e exemptions.AuditEvent
	err = s.write(caller, "seal refusals", func(ctx context.Context, tx pgx.Tx, h *head) error {
		// Read under the chain head: no other seal runs; counts added
		// meanwhile by other noflyd stay unsealed (sealed grows by what
		// this entry holds, not to count).
		rows, err := tx.Query(ctx, "SELECT "+storecore.RefusalColumns+", count - sealed FROM refusals WHERE count > sealed AND day < $1", before)
		if err != nil {
			return err
		}
		counts, err := storecore.RefusalRows(rows)
		rows.Close()
		if counts = storecore.Sealable(counts); err != nil || len(counts) == 0 {
			return err
		}
		storecore.SortRefusals(counts)
		e, err = h.appendAudit(exemptions.AuditEvent{At: at, Action: exemptions.ActionRefusals, Actor: actor},
			exemptions.RefusalSeal{Counts: counts})
		if err != nil {
			return err
		}
		for _, c := range counts {
			h.queue("UPDATE refusals SET sealed = sealed + $6 WHERE day = $1 AND unit = $2 AND purpose = $3 AND kind = $4 AND authorisation = $5",
				c.Day, c.Unit, string(c.Purpose), string(c.Kind), c.Authorisation, c.Count)
		}
		return nil
	})
	return e, err == nil && e.Seq > 0, err
}

// UnsealedRefusals implements exemptions.RefusalStore.
func (s *Store) UnsealedRefusals(caller context.Context, fromDay, untilDay string) ([]exemptions.RefusalCount, int64, error) {
	var (
		counts []exemptions.RefusalCount
		head   int64
	)
	err := s.readTx(caller, "unsealed refusals", func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT audit_seq FROM chain_head").Scan(&head); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT "+storecore.RefusalColumns+", count - sealed FROM refusals "+
			"WHERE count > sealed AND day >= $1 AND day < $2 ORDER BY "+storecore.RefusalColumns, fromDay, untilDay)
		if err != nil {
			return err
		}
		defer rows.Close()
		counts, err = storecore.RefusalRows(rows)
		return err
	})
	return counts, head, err
}

// RecordReportDetail implements exemptions.RefusalStore.
func (s *Store) RecordReportDetail(ctx context.Context, actor string, at time.Time, d exemptions.ReportDetail) (exemptions.AuditEvent, error) {
	var e exemptions.AuditEvent
	err := s.write(ctx, "record report detail", func(ctx context.Context, tx pgx.Tx, h *head) error {
		var err error
		e, err = h.appendAudit(exemptions.AuditEvent{At: at, Action: exemptions.ActionReportDetail, Actor: actor}, d)
		return err
	})
	return e, err
}
