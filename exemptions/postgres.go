package exemptions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresStore is the Store that several noflyd share: one PostgreSQL
// database (github.com/jackc/pgx/v5, a connection pool) holding the same
// tables as the SQLite store.
//
// Every write transaction first locks the one row of chain_head (SELECT …
// FOR UPDATE), which holds the record set's version, the next record
// number and the audit log's last entry. Writers from every process
// therefore take turns: the audit chain stays linear, versions commit in
// order, and a revocation or supersession that lost a race reads the
// winner's committed row after the lock and fails with ErrRevoked or
// ErrSuperseded. Record numbers come from that row rather than from a
// sequence, which would skip a number at every rolled-back transaction.
//
// Each committed change sends NOTIFY nofly_exemptions with the new
// version; Notify listens for them so that caches refresh at once.
//
// Errors that mean the database cannot be reached (connection refused or
// lost, server shutting down, a read-only standby, the per-call timeout)
// wrap ErrUnavailable; others are internal. No pgx error type reaches the
// caller unwrapped.
//
// pool and listen are read-only after OpenPostgres.
type PostgresStore struct {
	pool    *pgxpool.Pool
	listen  *pgx.ConnConfig // for the LISTEN connection, outside the pool
	timeout time.Duration   // of each call, when the caller's context allows longer
}

var (
	_ Store    = (*PostgresStore)(nil)
	_ Notifier = (*PostgresStore)(nil)
)

// unavailableError is an ErrUnavailable with its cause, for the logs.
type unavailableError struct {
	op  string
	err error
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("%s: %s: %v", ErrUnavailable, e.op, e.err)
}
func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }

// notifyChannel is the LISTEN/NOTIFY channel of record changes; its
// payload is the new version.
const notifyChannel = "nofly_exemptions"

// DefaultPostgresTimeout bounds each call to the database, so that a
// database that stopped answering (rather than refusing) fails the call
// with ErrUnavailable instead of hanging it.
const DefaultPostgresTimeout = 5 * time.Second

// pgMigrations are applied in order, each in its own transaction under an
// advisory lock (several noflyd may start at once); never change one that
// has shipped, add a new one.
var pgMigrations = []string{
	// 1: records, the zones they name, the audit log, the chain head, and
	// triggers that refuse edits and deletes.
	`CREATE TABLE exemptions (
		seq            bigint PRIMARY KEY,
		id             text NOT NULL UNIQUE,
		unit           text NOT NULL,
		valid_from_ns  bigint NOT NULL, -- Unix nanoseconds
		valid_until_ns bigint NOT NULL,
		record         text NOT NULL,   -- JSON of the record as issued, byte for byte
		superseded_by  text,
		revoked_at_ns  bigint,
		revocation     text,            -- JSON of the revocation
		version        bigint NOT NULL  -- record set version of the last change
	);
	CREATE INDEX exemptions_unit ON exemptions (unit, seq);
	CREATE INDEX exemptions_version ON exemptions (version);
	CREATE TABLE exemption_zones (
		zone_id      text NOT NULL,
		exemption_id text NOT NULL REFERENCES exemptions (id),
		PRIMARY KEY (zone_id, exemption_id)
	);
	CREATE TABLE audit (
		seq    bigint PRIMARY KEY,
		action text NOT NULL,
		actor  text NOT NULL,
		ids    text NOT NULL, -- ',EX-000001,EX-000002,'
		entry  text NOT NULL, -- canonical JSON, as hashed
		hash   text NOT NULL
	);
	CREATE TABLE chain_head (
		one             boolean PRIMARY KEY DEFAULT true CHECK (one),
		records_version bigint NOT NULL,
		next_record     bigint NOT NULL,
		audit_seq       bigint NOT NULL,
		audit_hash      text NOT NULL
	);
	INSERT INTO chain_head VALUES (true, 0, 1, 0, '');

	CREATE FUNCTION nofly_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
	END $$;
	CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
		FOR EACH ROW EXECUTE FUNCTION nofly_refuse('the audit log is append-only');
	CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
		FOR EACH STATEMENT EXECUTE FUNCTION nofly_refuse('the audit log is append-only');
	CREATE TRIGGER exemptions_no_delete BEFORE DELETE ON exemptions
		FOR EACH ROW EXECUTE FUNCTION nofly_refuse('exemptions are never deleted');
	CREATE TRIGGER exemptions_no_truncate BEFORE TRUNCATE ON exemptions
		FOR EACH STATEMENT EXECUTE FUNCTION nofly_refuse('exemptions are never deleted');
	CREATE TRIGGER exemption_zones_no_change BEFORE UPDATE OR DELETE ON exemption_zones
		FOR EACH ROW EXECUTE FUNCTION nofly_refuse('exemptions are never edited or deleted');
	CREATE TRIGGER exemption_zones_no_truncate BEFORE TRUNCATE ON exemption_zones
		FOR EACH STATEMENT EXECUTE FUNCTION nofly_refuse('exemptions are never deleted');
	CREATE TRIGGER chain_head_no_delete BEFORE DELETE ON chain_head
		FOR EACH ROW EXECUTE FUNCTION nofly_refuse('the chain head is never deleted');
	CREATE TRIGGER chain_head_no_truncate BEFORE TRUNCATE ON chain_head
		FOR EACH STATEMENT EXECUTE FUNCTION nofly_refuse('the chain head is never deleted');

	-- A record changes only by being marked superseded or revoked, once.
	CREATE FUNCTION nofly_exemptions_no_edit() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF OLD.id IS DISTINCT FROM NEW.id OR OLD.seq IS DISTINCT FROM NEW.seq OR OLD.unit IS DISTINCT FROM NEW.unit
			OR OLD.valid_from_ns IS DISTINCT FROM NEW.valid_from_ns OR OLD.valid_until_ns IS DISTINCT FROM NEW.valid_until_ns
			OR OLD.record IS DISTINCT FROM NEW.record
			OR (OLD.superseded_by IS NOT NULL AND OLD.superseded_by IS DISTINCT FROM NEW.superseded_by)
			OR (OLD.revocation IS NOT NULL AND (OLD.revocation IS DISTINCT FROM NEW.revocation
				OR OLD.revoked_at_ns IS DISTINCT FROM NEW.revoked_at_ns))
		THEN
			RAISE EXCEPTION 'exemptions are never edited: supersede or revoke' USING ERRCODE = 'integrity_constraint_violation';
		END IF;
		RETURN NEW;
	END $$;
	CREATE TRIGGER exemptions_no_edit BEFORE UPDATE ON exemptions
		FOR EACH ROW EXECUTE FUNCTION nofly_exemptions_no_edit();`,
	// 2: signed flight authorisations (postgres_authorisations.go).
	pgAuthorisationsSchema,
}

// migrationLock is the pg_advisory_xact_lock key that serialises schema
// migrations between noflyd starting at the same time ("nofly" in ASCII).
const migrationLock = 0x6e6f666c79

// OpenPostgres connects to the database at dbURL (postgres:// or
// postgresql://; pgxpool's pool_* parameters set the pool) and brings its
// schema up to date. Each later call to the database is bounded by
// DefaultPostgresTimeout.
func OpenPostgres(ctx context.Context, dbURL string) (*PostgresStore, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		// pgx's message may quote the URL, password and all.
		return nil, fmt.Errorf("exemptions: %s: not a valid PostgreSQL URL", RedactURL(dbURL))
	}
	if !strings.Contains(dbURL, "connect_timeout=") {
		cfg.ConnConfig.ConnectTimeout = DefaultPostgresTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("exemptions: %s: %w", RedactURL(dbURL), err)
	}
	s := &PostgresStore{pool: pool, listen: cfg.ConnConfig.Copy(), timeout: DefaultPostgresTimeout}
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

// IsPostgresURL reports whether db names a PostgreSQL database rather than
// an SQLite file.
func IsPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Close closes the pool.
func (s *PostgresStore) Close() error {
	s.pool.Close()
	return nil
}

func (s *PostgresStore) migrate(ctx context.Context) error {
	// A schema already up to date needs no DDL, so that replicas may run
	// as a role that can only read and write the rows (docs/postgresql.md).
	var (
		applied int
		exists  bool
	)
	if err := s.pool.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return err
	}
	if exists {
		if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&applied); err != nil {
			return err
		}
	}
	if applied > len(pgMigrations) {
		return fmt.Errorf("database schema version %d is newer than this program's %d", applied, len(pgMigrations))
	}
	if applied == len(pgMigrations) {
		return nil
	}
	for i, m := range pgMigrations {
		v := i + 1
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM schema_migrations WHERE version = $1", v).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.Exec(ctx, m); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", v)
			return err
		})
		if err != nil {
			return fmt.Errorf("schema migration %d: %w", v, err)
		}
	}
	var newest int
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&newest); err != nil {
		return err
	}
	if newest > len(pgMigrations) {
		return fmt.Errorf("database schema version %d is newer than this program's %d", newest, len(pgMigrations))
	}
	return nil
}

// call bounds ctx by the store's timeout.
func (s *PostgresStore) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// fail maps err from operation op: the store's own errors and the
// caller's cancellation pass through, an unreachable database becomes
// ErrUnavailable, anything else an internal error with pgx's text.
func fail(caller context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNotFound) || IsFailedPrecondition(err) || errors.Is(err, ErrBadPageToken) || errors.Is(err, ErrNotInForce) {
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
func (s *PostgresStore) write(caller context.Context, op string, fn func(ctx context.Context, tx pgx.Tx, h *head) error) error {
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

// bump counts a change of the record set and returns the new version.
func (h *head) bump() int64 {
	if !h.changed {
		h.version++
		h.changed = true
	}
	return h.version
}

// appendAudit appends an entry, with detail as its Detail, after the head.
func (h *head) appendAudit(e AuditEvent, detail any) (AuditEvent, error) {
	e, entry, err := seal(e, detail, h.auditSeq+1, h.auditHash)
	if err != nil {
		return e, err
	}
	h.queue("INSERT INTO audit (seq, action, actor, ids, entry, hash) VALUES ($1, $2, $3, $4, $5, $6)",
		e.Seq, string(e.Action), e.Actor, idsColumn(e.ExemptionIDs), string(entry), e.Hash)
	h.auditSeq, h.auditHash = e.Seq, e.Hash
	return e, nil
}

// insert stores a new record, numbered from the head, replacing
// supersedes (or "").
func (h *head) insert(ex Exemption, supersedes string) (Exemption, error) {
	seq := h.nextRecord
	ex, rec, err := issue(ex, seq, supersedes)
	if err != nil {
		return ex, err
	}
	v := h.bump()
	h.queue(`INSERT INTO exemptions (seq, id, unit, valid_from_ns, valid_until_ns, record, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, seq, ex.ID, ex.Holder.Unit, nanos(ex.ValidFrom), nanos(ex.ValidUntil), string(rec), v)
	for _, z := range ex.ZoneIDs {
		h.queue("INSERT INTO exemption_zones VALUES ($1, $2)", z, ex.ID)
	}
	h.nextRecord++
	return ex, nil
}

// Create implements Store.
func (s *PostgresStore) Create(ctx context.Context, ex Exemption) (Exemption, error) {
	var out Exemption
	err := s.write(ctx, "create", func(_ context.Context, _ pgx.Tx, h *head) error {
		var err error
		if out, err = h.insert(ex, ""); err != nil {
			return err
		}
		_, err = h.appendAudit(AuditEvent{At: out.IssuedAt, Action: ActionCreate, Actor: out.IssuedBy,
			ExemptionIDs: []string{out.ID}}, out)
		return err
	})
	return out, err
}

// Supersede implements Store.
func (s *PostgresStore) Supersede(ctx context.Context, oldID string, ex Exemption) (Exemption, error) {
	var out Exemption
	err := s.write(ctx, "supersede", func(ctx context.Context, tx pgx.Tx, h *head) error {
		old, err := pgGet(ctx, tx, oldID)
		if err != nil {
			return err
		}
		if old.Revocation != nil {
			return idError(oldID, ErrRevoked)
		}
		if old.SupersededBy != "" {
			return idError(oldID, fmt.Errorf("%w by %s", ErrSuperseded, old.SupersededBy))
		}
		if out, err = h.insert(ex, oldID); err != nil {
			return err
		}
		h.queue("UPDATE exemptions SET superseded_by = $1, version = $2 WHERE id = $3", out.ID, h.version, oldID)
		_, err = h.appendAudit(AuditEvent{At: out.IssuedAt, Action: ActionSupersede, Actor: out.IssuedBy,
			ExemptionIDs: []string{out.ID, oldID}}, out)
		return err
	})
	return out, err
}

// Revoke implements Store.
func (s *PostgresStore) Revoke(ctx context.Context, id string, rev Revocation) (Exemption, error) {
	var out Exemption
	rev.At = rev.At.UTC()
	err := s.write(ctx, "revoke", func(ctx context.Context, tx pgx.Tx, h *head) error {
		// Read after taking the head: a revocation committed by another
		// writer meanwhile is seen here.
		ex, err := pgGet(ctx, tx, id)
		if err != nil {
			return err
		}
		if ex.Revocation != nil {
			return idError(id, fmt.Errorf("%w on %s by %s", ErrRevoked, fmtTime(ex.Revocation.At), ex.Revocation.By))
		}
		if ex.SupersededBy != "" {
			return idError(id, fmt.Errorf("%w by %s: revoke that one", ErrSuperseded, ex.SupersededBy))
		}
		rj, err := json.Marshal(rev)
		if err != nil {
			return err
		}
		h.queue("UPDATE exemptions SET revoked_at_ns = $1, revocation = $2, version = $3 WHERE id = $4",
			nanos(rev.At), string(rj), h.bump(), id)
		ex.Revocation = &rev
		out = ex
		_, err = h.appendAudit(AuditEvent{At: rev.At, Action: ActionRevoke, Actor: rev.By,
			ExemptionIDs: []string{id}}, rev)
		return err
	})
	return out, err
}

// RecordCheck implements Store.
func (s *PostgresStore) RecordCheck(ctx context.Context, c CheckRecord) (AuditEvent, error) {
	var e AuditEvent
	err := s.write(ctx, "record check", func(ctx context.Context, tx pgx.Tx, h *head) error {
		// Read after taking the head: a revocation or supersession
		// committed by any process before is seen here, and none can
		// commit before this entry does.
		rows, err := tx.Query(ctx, "SELECT id, superseded_by IS NOT NULL, revocation IS NOT NULL FROM exemptions WHERE id = ANY($1)",
			c.ExemptionIDs)
		if err != nil {
			return err
		}
		states := make(map[string]recordState, len(c.ExemptionIDs))
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
		if err := notInForce(c.ExemptionIDs, states); err != nil {
			return err
		}
		e, err = h.appendAudit(AuditEvent{At: c.At, Action: ActionCheck, Actor: c.ActorName(),
			ExemptionIDs: c.ExemptionIDs, ClientReference: c.ClientReference}, c)
		return err
	})
	return e, err
}

// pgRecordCols are what scanRecord reads (pgx scans into sql.NullString
// as database/sql does).
const pgRecordCols = recordCols

func pgGet(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id string) (Exemption, error) {
	ex, err := scanRecord(q.QueryRow(ctx, "SELECT "+pgRecordCols+" FROM exemptions WHERE id = $1", id).Scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return ex, idError(id, ErrNotFound)
	}
	return ex, err
}

// Get implements Store.
func (s *PostgresStore) Get(caller context.Context, id string) (Exemption, error) {
	ctx, cancel := s.call(caller)
	defer cancel()
	ex, err := pgGet(ctx, s.pool, id)
	return ex, fail(caller, "get", err)
}

// List implements Store.
func (s *PostgresStore) List(caller context.Context, f ListFilter) ([]Exemption, string, error) {
	after, err := decodeToken(f.PageToken)
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
		t := arg(nanos(f.ActiveAt))
		where = append(where, "valid_from_ns <= "+t+" AND valid_until_ns >= "+t+" AND (revoked_at_ns IS NULL OR revoked_at_ns > "+t+")")
	}
	if !f.IncludeRevoked {
		where = append(where, "revocation IS NULL AND superseded_by IS NULL")
	}
	n := pageSize(f.PageSize)
	ctx, cancel := s.call(caller)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT seq, "+pgRecordCols+" FROM exemptions WHERE "+
		strings.Join(where, " AND ")+" ORDER BY seq LIMIT "+arg(n+1), args...)
	if err != nil {
		return nil, "", fail(caller, "list", err)
	}
	defer rows.Close()
	var (
		out  []Exemption
		seqs []int64
	)
	for rows.Next() {
		var seq int64
		ex, err := scanRecord(func(dest ...any) error { return rows.Scan(append([]any{&seq}, dest...)...) })
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
		out, next = out[:n], encodeToken(seqs[n-1])
	}
	return out, next, nil
}

// All implements Store.
func (s *PostgresStore) All(ctx context.Context) ([]Exemption, int64, error) {
	return s.Changed(ctx, -1)
}

// readTx runs fn in a read-only REPEATABLE READ transaction: one snapshot
// of the database, so that what fn reads agrees.
func (s *PostgresStore) readTx(caller context.Context, op string, fn func(ctx context.Context, tx pgx.Tx) error) error {
	ctx, cancel := s.call(caller)
	defer cancel()
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(ctx, tx) })
	return fail(caller, op, err)
}

// Changed implements Store.
func (s *PostgresStore) Changed(ctx context.Context, since int64) ([]Exemption, int64, error) {
	var (
		out []Exemption
		v   int64
	)
	err := s.readTx(ctx, "changed", func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		if err := tx.QueryRow(ctx, "SELECT records_version FROM chain_head").Scan(&v); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT "+pgRecordCols+" FROM exemptions WHERE version > $1 ORDER BY seq", since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ex, err := scanRecord(rows.Scan)
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
func (s *PostgresStore) Version(caller context.Context) (int64, error) {
	ctx, cancel := s.call(caller)
	defer cancel()
	var v int64
	err := s.pool.QueryRow(ctx, "SELECT records_version FROM chain_head").Scan(&v)
	return v, fail(caller, "version", err)
}

// Audit implements Store.
func (s *PostgresStore) Audit(caller context.Context, f AuditFilter) ([]AuditEvent, string, error) {
	after, err := decodeToken(f.PageToken)
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
	n := pageSize(f.PageSize)
	ctx, cancel := s.call(caller)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT entry, hash FROM audit WHERE "+strings.Join(where, " AND ")+
		" ORDER BY seq LIMIT "+arg(n+1), args...)
	if err != nil {
		return nil, "", fail(caller, "audit", err)
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var entry, hash string
		if err := rows.Scan(&entry, &hash); err != nil {
			return nil, "", fail(caller, "audit", err)
		}
		var e AuditEvent
		if err := json.Unmarshal([]byte(entry), &e); err != nil {
			return nil, "", fmt.Errorf("audit entry: %w", err)
		}
		e.Hash, e.Entry = hash, json.RawMessage(entry)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fail(caller, "audit", err)
	}
	next := ""
	if len(out) > n {
		out, next = out[:n], encodeToken(out[n-1].Seq)
	}
	return out, next, nil
}

// VerifyAudit implements Store. Beyond what every store checks, the chain
// head must name the last entry: entries removed from the end show.
func (s *PostgresStore) VerifyAudit(ctx context.Context) (Verification, error) {
	var v Verification
	// A long log takes longer than one call's timeout to read.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		w := newVerifier()
		rows, err := tx.Query(ctx, verifyEntriesQuery)
		if err != nil {
			return err
		}
		err = w.entries(rows)
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
		if headSeq != w.v.Entries || headHash != w.v.HeadHash {
			w.problem("audit log ends at entry %d (%.12s…), but its head records entry %d (%.12s…): entries missing from the end",
				w.v.Entries, w.v.HeadHash, headSeq, headHash)
		}
		rows, err = tx.Query(ctx, verifyRecordsQuery)
		if err != nil {
			return err
		}
		defer rows.Close()
		if err := w.records(rows); err != nil {
			return err
		}
		rows.Close()
		if err := pgVerifyAuthorisations(ctx, tx, w); err != nil {
			return err
		}
		v = w.finish()
		return nil
	})
	return v, fail(ctx, "verify audit", err)
}

// Notify implements Notifier: it LISTENs on a connection of its own and
// calls changed for every change committed by any process, and after
// each (re)connection, since changes may have been missed while it was
// not listening. A lost connection is retried with a backoff of up to 5 s.
func (s *PostgresStore) Notify(ctx context.Context, log *slog.Logger, changed func()) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	failures := 0 // in a row: only the first is a warning
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, changed, func() {
			if failures > 0 {
				log.InfoContext(ctx, "exemption change notifications resumed")
			}
			backoff, failures = minBackoff, 0
		})
		if ctx.Err() != nil {
			return
		}
		if failures++; failures == 1 {
			log.WarnContext(ctx, "exemption change notifications interrupted; reconnecting", "err", err, "in", backoff)
		} else {
			log.DebugContext(ctx, "exemption change notifications still interrupted", "err", err, "in", backoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenOnce listens until the connection fails or ctx ends; listening
// is called once LISTEN took effect.
func (s *PostgresStore) listenOnce(ctx context.Context, changed, listening func()) error {
	cctx, cancel := s.call(ctx)
	conn, err := pgx.ConnectConfig(cctx, s.listen)
	if err == nil {
		_, err = conn.Exec(cctx, "LISTEN "+notifyChannel)
	}
	cancel()
	if conn != nil {
		defer func() {
			c, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = conn.Close(c)
		}()
	}
	if err != nil {
		return fail(ctx, "listen", err)
	}
	listening()
	changed()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fail(ctx, "listen", err)
		}
		changed()
	}
}
