package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/internal/storecore"
)

// Create implements Store.
func (s *Store) Create(ctx context.Context, req exemptions.Request, ex exemptions.Exemption) (exemptions.Exemption, error) {
	var out exemptions.Exemption
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var (
			done bool
			err  error
		)
		if out, done, err = answered(ctx, tx, req, exemptions.ActionCreate); done || err != nil {
			return err
		}
		out, _, err = insertRecord(ctx, tx, ex, "")
		if err != nil {
			return err
		}
		return appendWrite(ctx, tx, req, exemptions.AuditEvent{At: out.IssuedAt, Action: exemptions.ActionCreate, Actor: out.IssuedBy,
			ExemptionIDs: []string{out.ID}}, out)
	})
	return out, err
}

// Supersede implements Store.
func (s *Store) Supersede(ctx context.Context, req exemptions.Request, oldID string, ex exemptions.Exemption) (exemptions.Exemption, error) {
	var out exemptions.Exemption
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var (
			done bool
			err  error
		)
		if out, done, err = answered(ctx, tx, req, exemptions.ActionSupersede); done || err != nil {
			return err
		}
		old, err := getRecord(ctx, tx, oldID)
		if err != nil {
			return err
		}
		if old.Revocation != nil {
			return storecore.IDError(oldID, exemptions.ErrRevoked)
		}
		if old.SupersededBy != "" {
			return storecore.IDError(oldID, fmt.Errorf("%w by %s", exemptions.ErrSuperseded, old.SupersededBy))
		}
		var v int64
		out, v, err = insertRecord(ctx, tx, ex, oldID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE exemptions SET superseded_by = ?, version = ? WHERE id = ?", out.ID, v, oldID); err != nil {
			return err
		}
		return appendWrite(ctx, tx, req, exemptions.AuditEvent{At: out.IssuedAt, Action: exemptions.ActionSupersede, Actor: out.IssuedBy,
			ExemptionIDs: []string{out.ID, oldID}}, out)
	})
	return out, err
}

// Revoke implements Store.
func (s *Store) Revoke(ctx context.Context, req exemptions.Request, id string, rev exemptions.Revocation) (exemptions.Exemption, error) {
	var out exemptions.Exemption
	rev.At = rev.At.UTC()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var (
			done bool
			err  error
		)
		if out, done, err = answered(ctx, tx, req, exemptions.ActionRevoke); done || err != nil {
			return err
		}
		ex, err := getRecord(ctx, tx, id)
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
		v, err := bumpVersion(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE exemptions SET revoked_at_ns = ?, revocation = ?, version = ? WHERE id = ?",
			storecore.Nanos(rev.At), string(rj), v, id); err != nil {
			return err
		}
		ex.Revocation = &rev
		out = ex
		return appendWrite(ctx, tx, req, exemptions.AuditEvent{At: rev.At, Action: exemptions.ActionRevoke, Actor: rev.By,
			ExemptionIDs: []string{id}}, rev)
	})
	return out, err
}

// insertRecord stores a new record, with its id and Supersedes set, and
// returns it with the record set's new version.
func insertRecord(ctx context.Context, tx *sql.Tx, ex exemptions.Exemption, supersedes string) (exemptions.Exemption, int64, error) {
	var seq int64
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM exemptions").Scan(&seq); err != nil {
		return ex, 0, err
	}
	v, err := bumpVersion(ctx, tx)
	if err != nil {
		return ex, 0, err
	}
	ex, rec, err := storecore.Issue(ex, seq, supersedes)
	if err != nil {
		return ex, 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO exemptions (seq, id, unit, valid_from_ns, valid_until_ns, record, version)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, seq, ex.ID, ex.Holder.Unit, storecore.Nanos(ex.ValidFrom), storecore.Nanos(ex.ValidUntil), string(rec), v); err != nil {
		return ex, 0, err
	}
	for _, z := range ex.ZoneIDs {
		if _, err := tx.ExecContext(ctx, "INSERT INTO exemption_zones VALUES (?, ?)", z, ex.ID); err != nil {
			return ex, 0, err
		}
	}
	return ex, v, nil
}

// bumpVersion counts a change of the record set and returns the new
// version.
func bumpVersion(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, "UPDATE meta SET value = value + 1 WHERE key = 'records_version' RETURNING value").Scan(&v)
	return v, err
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getRecord(ctx context.Context, q querier, id string) (exemptions.Exemption, error) {
	ex, err := storecore.ScanRecord(q.QueryRowContext(ctx, "SELECT "+storecore.RecordCols+" FROM exemptions WHERE id = ?", id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return ex, storecore.IDError(id, exemptions.ErrNotFound)
	}
	return ex, err
}

// Get implements Store.
func (s *Store) Get(ctx context.Context, id string) (exemptions.Exemption, error) {
	return getRecord(ctx, s.db, id)
}

// List implements Store.
func (s *Store) List(ctx context.Context, f exemptions.ListFilter) ([]exemptions.Exemption, string, error) {
	after, err := storecore.DecodeToken(f.PageToken)
	if err != nil {
		return nil, "", err
	}
	where, args := []string{"seq > ?"}, []any{after}
	if f.Unit != "" {
		where, args = append(where, "unit = ?"), append(args, f.Unit)
	}
	if f.ZoneID != "" {
		where, args = append(where, "id IN (SELECT exemption_id FROM exemption_zones WHERE zone_id = ?)"), append(args, f.ZoneID)
	}
	if !f.ActiveAt.IsZero() {
		t := storecore.Nanos(f.ActiveAt)
		where, args = append(where, "valid_from_ns <= ? AND valid_until_ns >= ? AND (revoked_at_ns IS NULL OR revoked_at_ns > ?)"), append(args, t, t, t)
	}
	if !f.IncludeRevoked {
		where = append(where, "revocation IS NULL AND superseded_by IS NULL")
	}
	n := storecore.PageSize(f.PageSize)
	rows, err := s.db.QueryContext(ctx, "SELECT seq, "+storecore.RecordCols+" FROM exemptions WHERE "+
		strings.Join(where, " AND ")+" ORDER BY seq LIMIT ?", append(args, n+1)...)
	if err != nil {
		return nil, "", err
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
			return nil, "", err
		}
		out, seqs = append(out, ex), append(seqs, seq)
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

// All implements Store.
func (s *Store) All(ctx context.Context) ([]exemptions.Exemption, int64, error) {
	return s.Changed(ctx, -1)
}

// Changed implements Store.
func (s *Store) Changed(ctx context.Context, since int64) ([]exemptions.Exemption, int64, error) {
	// One read transaction: the records and the version agree.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	var v int64
	if err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'records_version'").Scan(&v); err != nil {
		return nil, 0, err
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+storecore.RecordCols+" FROM exemptions WHERE version > ? ORDER BY seq", since)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []exemptions.Exemption
	for rows.Next() {
		ex, err := storecore.ScanRecord(rows.Scan)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, ex)
	}
	return out, v, rows.Err()
}

// Version implements Store.
func (s *Store) Version(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'records_version'").Scan(&v)
	return v, err
}
