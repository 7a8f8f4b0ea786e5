// Package pgstore is the exemptions.Store that several noflyd share: one
// PostgreSQL database.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nofly-project/nofly/exemptions"
)

// Store is the exemptions.Store that several noflyd share: one PostgreSQL
// database (github.com/jackc/pgx/v5, a connection pool) holding the same
// tables as the SQLite store.
//
// Every write transaction first locks the one row of chain_head (SELECT …
// FOR UPDATE), which holds the record set's version, the next record
// number and the audit log's last entry. Writers from every process
// therefore take turns: the audit chain stays linear, versions commit in
// order, and a revocation or supersession that lost a race reads the
// winner's committed row after the lock and fails with exemptions.ErrRevoked or
// exemptions.ErrSuperseded. Record numbers come from that row rather than from a
// sequence, which would skip a number at every rolled-back transaction.
//
// Each committed change sends NOTIFY nofly_exemptions with the new
// version; Notify listens for them so that caches refresh at once.
//
// Errors that mean the database cannot be reached (connection refused or
// lost, server shutting down, a read-only standby, the per-call timeout)
// wrap exemptions.ErrUnavailable; others are internal. No pgx error type reaches the
// caller unwrapped.
//
// pool and listen are read-only after Open.
type Store struct {
	pool    *pgxpool.Pool
	listen  *pgx.ConnConfig // for the LISTEN connection, outside the pool
	timeout time.Duration   // of each call, when the caller's context allows longer
}

var (
	_ exemptions.Store    = (*Store)(nil)
	_ exemptions.Notifier = (*Store)(nil)
)

// unavailableError is an exemptions.ErrUnavailable with its cause, for the logs.
type unavailableError struct {
	op  string
	err error
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("%s: %s: %v", exemptions.ErrUnavailable, e.op, e.err)
}
func (e *unavailableError) Is(target error) bool { return target == exemptions.ErrUnavailable }

// DefaultTimeout bounds each call to the database, so that a
// database that stopped answering (rather than refusing) fails the call
// with exemptions.ErrUnavailable instead of hanging it.
const DefaultTimeout = 5 * time.Second

// Open connects to the database at dbURL (postgres:// or
// postgresql://; pgxpool's pool_* parameters set the pool) and brings its
// schema up to date. Each later call to the database is bounded by
// DefaultTimeout.
func Open(ctx context.Context, dbURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		// pgx's message may quote the URL, password and all.
		return nil, fmt.Errorf("exemptions: %s: not a valid PostgreSQL URL", RedactURL(dbURL))
	}
	if !strings.Contains(dbURL, "connect_timeout=") {
		cfg.ConnConfig.ConnectTimeout = DefaultTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("exemptions: %s: %w", RedactURL(dbURL), err)
	}
	s := &Store{pool: pool, listen: cfg.ConnConfig.Copy(), timeout: DefaultTimeout}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("exemptions: %s: %w", RedactURL(dbURL), err)
	}
	return s, nil
}

// RedactURL returns a database URL with its password replaced by "xxxxx",
// for logs and messages; a string that is no URL comes back as "(unparsable
// database URL)", since it may hold a password anywhere.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable database URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// IsURL reports whether db names a PostgreSQL database rather than
// an SQLite file.
func IsURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// call bounds ctx by the store's timeout.
func (s *Store) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// fail maps err from operation op: the store's own errors and the
// caller's cancellation pass through, an unreachable database becomes
// exemptions.ErrUnavailable, anything else an internal error with pgx's text.
func fail(caller context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, exemptions.ErrNotFound) || exemptions.IsFailedPrecondition(err) || errors.Is(err, exemptions.ErrBadPageToken) || errors.Is(err, exemptions.ErrNotInForce) ||
		errors.Is(err, exemptions.ErrRequestReused) || exemptions.IsDroneError(err) {
		return err
	}
	if cerr := caller.Err(); cerr != nil {
		return fmt.Errorf("exemptions: %s: %w", op, cerr)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),  // insufficient resources (too many connections …)
			strings.HasPrefix(pe.Code, "57P"), // shutting down, cannot connect now
			pe.Code == "25006",                // read-only transaction: a standby
			pe.Code == "40001", pe.Code == "40P01":
			return &unavailableError{op: op, err: err}
		}
		// %v: the driver's error types stay inside this package.
		return fmt.Errorf("exemptions: %s: %v", op, err)
	}
	// Every other pgx error (dial, TLS, a closed or broken connection, our
	// own per-call timeout) is about reaching the database.
	return &unavailableError{op: op, err: err}
}

// head is the chain_head row, as locked by a write, and the statements
// the write queued.
type head struct {
	version, nextRecord, auditSeq int64
	auditHash                     string
	changed                       bool // the record set changed: bump the version and notify
	// writes are sent in one round trip after fn has done its reads:
	// every decision is taken before the first write, so nothing in fn
	// needs a write's result.
	writes pgx.Batch
}

// queue adds a statement to the write's batch.
func (h *head) queue(sql string, args ...any) { h.writes.Queue(sql, args...) }

// write runs fn in a transaction holding the chain head, then sends the
// writes fn queued with the head fn left and, when the record set changed,
// a notification to listeners.
func (s *Store) write(caller context.Context, op string, fn func(ctx context.Context, tx pgx.Tx, h *head) error) error {
	ctx, cancel := s.call(caller)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var h head
		if err := tx.QueryRow(ctx, "SELECT records_version, next_record, audit_seq, audit_hash FROM chain_head FOR UPDATE").
			Scan(&h.version, &h.nextRecord, &h.auditSeq, &h.auditHash); err != nil {
			return err
		}
		if err := fn(ctx, tx, &h); err != nil {
			return err
		}
		if h.writes.Len() == 0 {
			return nil // a retry answered from what the first write stored: nothing to write
		}
		h.queue("UPDATE chain_head SET records_version = $1, next_record = $2, audit_seq = $3, audit_hash = $4",
			h.version, h.nextRecord, h.auditSeq, h.auditHash)
		if h.changed {
			// Delivered at commit, to every session listening.
			h.queue("SELECT pg_notify($1, $2)", notifyChannel, strconv.FormatInt(h.version, 10))
		}
		// Close reports the first statement that failed.
		return tx.SendBatch(ctx, &h.writes).Close()
	})
	return fail(caller, op, err)
}

// readTx runs fn in a read-only REPEATABLE READ transaction: one snapshot
// of the database, so that what fn reads agrees.
func (s *Store) readTx(caller context.Context, op string, fn func(ctx context.Context, tx pgx.Tx) error) error {
	ctx, cancel := s.call(caller)
	defer cancel()
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(ctx, tx) })
	return fail(caller, op, err)
}
