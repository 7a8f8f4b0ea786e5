package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/internal/storecore"
)

// bump counts a change of the record set and returns the new version.
func (h *head) bump() int64 {
	if !h.changed {
		h.version++
		h.changed = true
	}
	return h.version
}

// insert stores a new record, numbered from the head, replacing
// supersedes (or "").
func (h *head) insert(ex exemptions.Exemption, supersedes string) (exemptions.Exemption, error) {
	seq := h.nextRecord
	ex, rec, err := storecore.Issue(ex, seq, supersedes)
	if err != nil {
		return ex, err
	}
	v := h.bump()
	h.queue(`INSERT INTO exemptions (seq, id, unit, valid_from_ns, valid_until_ns, record, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, seq, ex.ID, ex.Holder.Unit, storecore.Nanos(ex.ValidFrom), storecore.Nanos(ex.ValidUntil), string(rec), v)
	for _, z := range ex.ZoneIDs {
		h.queue("INSERT INTO exemption_zones VALUES ($1, $2)", z, ex.ID)
	}
	h.nextRecord++
	return ex, nil
}

// Create implements Store.
func (s *Store) Create(ctx context.Context, req exemptions.Request, ex exemptions.Exemption) (exemptions.Exemption, error) {
	var out exemptions.Exemption
	err := s.write(ctx, "create", func(ctx context.Context, tx pgx.Tx, h *head) error {
		var (
			done bool
			err  error
		)
		if out, done, err = answered(ctx, tx, req, exemptions.ActionCreate); done || err != nil {
			return err
		}
		if out, err = h.insert(ex, ""); err != nil {
			return err
		}
		return h.appendWrite(req, exemptions.AuditEvent{At: out.IssuedAt, Action: exemptions.ActionCreate, Actor: out.IssuedBy,
			ExemptionIDs: []string{out.ID}}, out)
	})
	return out, err
}

// Supersede implements Store.
func (s *Store) Supersede(ctx context.Context, req exemptions.Request, oldID string, ex exemptions.Exemption) (exemptions.Exemption, error) {
	var out exemptions.Exemption
	err := s.write(ctx, "supersede", func(ctx context.Context, tx pgx.Tx, h *head) error {
		var (
			done bool
			err  error
		)
		if out, done, err = answered(ctx, tx, req, exemptions.ActionSupersede); done || err != nil {
			return err
		}
		old, err := pgGet(ctx, tx, oldID)
		if err != nil {
			return err
		}
		if old.Revocation != nil {
			return storecore.IDError(oldID, exemptions.ErrRevoked)
		}
		if old.SupersededBy != "" {
			return storecore.IDError(oldID, fmt.Errorf("%w by %s", exemptions.ErrSuperseded, old.SupersededBy))
		}
		if out, err = h.insert(ex, oldID); err != nil {
			return err
		}
		h.queue("UPDATE exemptions SET superseded_by = $1, version = $2 WHERE id = $3", out.ID, h.version, oldID)
		return h.appendWrite(req, exemptions.AuditEvent{At: out.IssuedAt, Action: exemptions.ActionSupersede, Actor: out.IssuedBy,
			ExemptionIDs: []string{out.ID, oldID}}, out)
	})
	return out, err
}

// Revoke implements Store.
func (s *Store) Revoke(ctx context.Context, req exemptions.Request, id string, rev exemptions.Revocation) (exemptions.Exemption, error) {
	var out exemptions.Exemption
	rev.At = rev.At.UTC()
	err := s.write(ctx, "revoke", func(ctx context.Context, tx pgx.Tx, h *head) error {
		// Read after taking the head: a revocation committed by another
		// writer meanwhile is seen here.
		var (
			done bool
			err  error
		)
		if out, done, err = answered(ctx, tx, req, exemptions.ActionRevoke); done || err != nil {
			return err
		}
		ex, err := pgGet(ctx, tx, id)
		if err != nil {
			return err
		}
		if ex.Revocation != nil {
			return storecore.IDError(id, fmt.Errorf("%w on %s by %s", exemptions.ErrRevoked, storecore.FmtTime(ex.Revocation.At), ex.Revocation.By))
		}
		if ex.SupersededBy != "" {
			return storecore.IDError(id, fmt.Errorf("%w by %s: revoke that one", exemptions.ErrSuperseded, ex.SupersededBy))
		}
		rj, err := json.Marshal(rev)
		if err != nil {
			return err
		}
		h.queue("UPDATE exemptions SET revoked_at_ns = $1, revocation = $2, version = $3 WHERE id = $4",
			storecore.Nanos(rev.At), string(rj), h.bump(), id)
		ex.Revocation = &rev
		out = ex
		return h.appendWrite(req, exemptions.AuditEvent{At: rev.At, Action: exemptions.ActionRevoke, Actor: rev.By,
			ExemptionIDs: []string{id}}, rev)
	})
	return out, err
}

func pgGet(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id string) (exemptions.Exemption, error) {
	ex, err := storecore.ScanRecord(q.QueryRow(ctx, "SELECT "+storecore.RecordCols+" FROM exemptions WHERE id = $1", id).Scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return ex, storecore.IDError(id, exemptions.ErrNotFound)
	}
	return ex, err
}

// Get implements Store.
func (s *Store) Get(caller context.Context, id string) (exemptions.Exemption, error) {
	ctx, cancel := s.call(caller)
	defer cancel()
	ex, err := pgGet(ctx, s.pool, id)
	return ex, fail(caller, "get", err)
}

// List implements Store.
func (s *Store) List(caller context.Context, f exemptions.ListFilter) ([]exemptions.Exemption, string, error) {
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
	if f.Unit != "" {
		where = append(where, "unit = "+arg(f.Unit))
	}
	if f.ZoneID != "" {
		where = append(where, "id IN (SELECT exemption_id FROM exemption_zones WHERE zone_id = "+arg(f.ZoneID)+")")
	}
	if !f.ActiveAt.IsZero() {
		t := arg(storecore.Nanos(f.ActiveAt))
		where = append(where, "valid_from_ns <= "+t+" AND valid_until_ns >= "+t+" AND (revoked_at_ns IS NULL OR revoked_at_ns > "+t+")")
	}
	if !f.IncludeRevoked {
		where = append(where, "revocation IS NULL AND superseded_by IS NULL")
	}
	n := storecore.PageSize(f.PageSize)
	ctx, cancel := s.call(caller)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT seq, "+storecore.RecordCols+" FROM exemptions WHERE "+
		strings.Join(where, " AND ")+" ORDER BY seq LIMIT "+arg(n+1), args...)
	if err != nil {
		return nil, "", fail(caller, "list", err)
	}
	defer rows.Close()
	var (
		out  []exemptions.Exemption
		seqs []int64
	)
	for rows.Next() {
		var seq int64
		ex, err := storecore.ScanRecord(func(dest ...any) error { return rows.Scan(append([]any{&seq}, dest...)...) })
		if err != nil {
			return nil, "", fail(caller, "list", err)
		}
		out, seqs = append(out, ex), append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fail(caller, "list", err)
	}
	next := ""
	if len(out) > n {
		out, next = out[:n], storecore.EncodeToken(seqs[n-1])
	}
	return out, next, nil
}

// All implements Store.
func (s *Store) All(ctx context.Context) ([]exemptions.Exemption, int64, error) {
	return s.Changed(ctx, -1)
}

// Changed implements Store.
func (s *Store) Changed(ctx context.Context, since int64) ([]exemptions.Exemption, int64, error) {
	var (
		out []exemptions.Exemption
		v   int64
	)
	err := s.readTx(ctx, "changed", func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		if err := tx.QueryRow(ctx, "SELECT records_version FROM chain_head").Scan(&v); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT "+storecore.RecordCols+" FROM exemptions WHERE version > $1 ORDER BY seq", since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ex, err := storecore.ScanRecord(rows.Scan)
			if err != nil {
				return err
			}
			out = append(out, ex)
		}
		return rows.Err()
	})
	return out, v, err
}

// Version implements Store.
func (s *Store) Version(caller context.Context) (int64, error) {
	ctx, cancel := s.call(caller)
	defer cancel()
	var v int64
	err := s.pool.QueryRow(ctx, "SELECT records_version FROM chain_head").Scan(&v)
	return v, fail(caller, "version", err)
}
