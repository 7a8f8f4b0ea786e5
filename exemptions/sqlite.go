package exemptions

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// SQLiteStore is the embedded Store: one SQLite file (modernc.org/sqlite,
// no cgo) in WAL mode with synchronous=FULL, so that a committed
// transaction survives a crash or power loss. Writes take the database's
// write lock at the start of their transaction (BEGIN IMMEDIATE), so that
// audit entries are appended strictly one after the other.
//
// The schema is versioned: migrations run in order at Open, each in its own
// transaction, and schema_migrations records which ran. Triggers refuse any
// UPDATE or DELETE of the audit log, any DELETE of a record, and any change
// to a record other than marking it superseded or revoked once.
type SQLiteStore struct {
	db *sql.DB
}

var _ Store = (*SQLiteStore)(nil)

// migrations are applied in order; never change one that has shipped, add
// a new one.
var migrations = []string{
	// 1: records, the zones they name, the audit log, the record set version.
	`CREATE TABLE exemptions (
		seq            INTEGER PRIMARY KEY,
		id             TEXT NOT NULL UNIQUE,
		unit           TEXT NOT NULL,
		valid_from_ns  INTEGER NOT NULL, -- Unix nanoseconds
		valid_until_ns INTEGER NOT NULL,
		record         TEXT NOT NULL,    -- JSON of the record as issued
		superseded_by  TEXT,
		revoked_at_ns  INTEGER,
		revocation     TEXT              -- JSON of the revocation
	);
	CREATE INDEX exemptions_unit ON exemptions (unit, seq);
	CREATE TABLE exemption_zones (
		zone_id      TEXT NOT NULL,
		exemption_id TEXT NOT NULL REFERENCES exemptions (id),
		PRIMARY KEY (zone_id, exemption_id)
	) WITHOUT ROWID;
	CREATE TABLE audit (
		seq    INTEGER PRIMARY KEY,
		action TEXT NOT NULL,
		actor  TEXT NOT NULL,
		ids    TEXT NOT NULL,  -- ",EX-000001,EX-000002,"
		entry  TEXT NOT NULL,  -- canonical JSON, as hashed
		hash   TEXT NOT NULL
	);
	CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
	INSERT INTO meta VALUES ('records_version', 0);
	CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
		BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
	CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
		BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
	CREATE TRIGGER exemptions_no_delete BEFORE DELETE ON exemptions
		BEGIN SELECT RAISE(ABORT, 'exemptions are never deleted'); END;
	CREATE TRIGGER exemption_zones_no_delete BEFORE DELETE ON exemption_zones
		BEGIN SELECT RAISE(ABORT, 'exemptions are never deleted'); END;
	CREATE TRIGGER exemptions_no_edit BEFORE UPDATE ON exemptions
		WHEN OLD.id IS NOT NEW.id OR OLD.seq IS NOT NEW.seq OR OLD.unit IS NOT NEW.unit
			OR OLD.valid_from_ns IS NOT NEW.valid_from_ns OR OLD.valid_until_ns IS NOT NEW.valid_until_ns
			OR OLD.record IS NOT NEW.record
			OR (OLD.superseded_by IS NOT NULL AND OLD.superseded_by IS NOT NEW.superseded_by)
			OR (OLD.revocation IS NOT NULL AND (OLD.revocation IS NOT NEW.revocation OR OLD.revoked_at_ns IS NOT NEW.revoked_at_ns))
		BEGIN SELECT RAISE(ABORT, 'exemptions are never edited: supersede or revoke'); END;`,
	// 2: the record set version at which each record last changed, so that
	// caches read only what changed.
	`ALTER TABLE exemptions ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX exemptions_version ON exemptions (version);`,
	// 3: signed flight authorisations (sqlite_authorisations.go).
	sqliteAuthorisationsSchema,
}

// OpenSQLite opens (creating it when missing) the database at path and
// brings its schema up to date.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	if path == "" {
		return nil, errors.New("exemptions: database path required")
	}
	dsn := "file:" + path + "?_txlock=immediate" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// SQLite has one writer at a time; a few connections let reads run
	// beside a write (WAL).
	db.SetMaxOpenConns(4)
	s := &SQLiteStore{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *SQLiteStore) Close() error { return s.db.Close() }

func (s *SQLiteStore) migrate(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %s, want wal", mode)
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("schema_migrations: %w", err)
	}
	for i, m := range migrations {
		v := i + 1
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", v).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, m); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations VALUES (?, ?)", v, time.Now().UTC().Format(time.RFC3339))
			return err
		})
		if err != nil {
			return fmt.Errorf("schema migration %d: %w", v, err)
		}
	}
	var newest int
	if err := s.db.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&newest); err != nil {
		return err
	}
	if newest > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this program's %d", newest, len(migrations))
	}
	return nil
}

// tx runs fn in a write transaction and commits it.
func (s *SQLiteStore) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func nanos(t time.Time) int64 { return t.UTC().UnixNano() }

// Create implements Store.
func (s *SQLiteStore) Create(ctx context.Context, ex Exemption) (Exemption, error) {
	var out Exemption
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, _, err = insertRecord(ctx, tx, ex, "")
		if err != nil {
			return err
		}
		_, err = appendAudit(ctx, tx, AuditEvent{At: out.IssuedAt, Action: ActionCreate, Actor: out.IssuedBy,
			ExemptionIDs: []string{out.ID}}, out)
		return err
	})
	return out, err
}

// Supersede implements Store.
func (s *SQLiteStore) Supersede(ctx context.Context, oldID string, ex Exemption) (Exemption, error) {
	var out Exemption
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := getRecord(ctx, tx, oldID)
		if err != nil {
			return err
		}
		if old.Revocation != nil {
			return idError(oldID, ErrRevoked)
		}
		if old.SupersededBy != "" {
			return idError(oldID, fmt.Errorf("%w by %s", ErrSuperseded, old.SupersededBy))
		}
		var v int64
		out, v, err = insertRecord(ctx, tx, ex, oldID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE exemptions SET superseded_by = ?, version = ? WHERE id = ?", out.ID, v, oldID); err != nil {
			return err
		}
		_, err = appendAudit(ctx, tx, AuditEvent{At: out.IssuedAt, Action: ActionSupersede, Actor: out.IssuedBy,
			ExemptionIDs: []string{out.ID, oldID}}, out)
		return err
	})
	return out, err
}

// Revoke implements Store.
func (s *SQLiteStore) Revoke(ctx context.Context, id string, rev Revocation) (Exemption, error) {
	var out Exemption
	rev.At = rev.At.UTC()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ex, err := getRecord(ctx, tx, id)
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
		v, err := bumpVersion(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE exemptions SET revoked_at_ns = ?, revocation = ?, version = ? WHERE id = ?",
			nanos(rev.At), string(rj), v, id); err != nil {
			return err
		}
		ex.Revocation = &rev
		out = ex
		_, err = appendAudit(ctx, tx, AuditEvent{At: rev.At, Action: ActionRevoke, Actor: rev.By,
			ExemptionIDs: []string{id}}, rev)
		return err
	})
	return out, err
}

// insertRecord stores a new record, with its id and Supersedes set, and
// returns it with the record set's new version.
func insertRecord(ctx context.Context, tx *sql.Tx, ex Exemption, supersedes string) (Exemption, int64, error) {
	var seq int64
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM exemptions").Scan(&seq); err != nil {
		return ex, 0, err
	}
	v, err := bumpVersion(ctx, tx)
	if err != nil {
		return ex, 0, err
	}
	ex, rec, err := issue(ex, seq, supersedes)
	if err != nil {
		return ex, 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO exemptions (seq, id, unit, valid_from_ns, valid_until_ns, record, version)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, seq, ex.ID, ex.Holder.Unit, nanos(ex.ValidFrom), nanos(ex.ValidUntil), string(rec), v); err != nil {
		return ex, 0, err
	}
	for _, z := range ex.ZoneIDs {
		if _, err := tx.ExecContext(ctx, "INSERT INTO exemption_zones VALUES (?, ?)", z, ex.ID); err != nil {
			return ex, 0, err
		}
	}
	return ex, v, nil
}

// issue returns ex as the record number seq, replacing supersedes (or
// ""), normalised as every store keeps it, and its JSON as stored.
func issue(ex Exemption, seq int64, supersedes string) (Exemption, []byte, error) {
	ex.ID = fmt.Sprintf("EX-%06d", seq)
	ex.Supersedes, ex.SupersededBy, ex.Revocation = supersedes, "", nil
	ex.ValidFrom, ex.ValidUntil, ex.IssuedAt = ex.ValidFrom.UTC(), ex.ValidUntil.UTC(), ex.IssuedAt.UTC()
	ex.ZoneIDs = slices.Compact(slices.Sorted(slices.Values(ex.ZoneIDs)))
	rec, err := json.Marshal(ex)
	return ex, rec, err
}

// bumpVersion counts a change of the record set and returns the new
// version.
func bumpVersion(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, "UPDATE meta SET value = value + 1 WHERE key = 'records_version' RETURNING value").Scan(&v)
	return v, err
}

// appendAudit appends an entry with detail as its Detail, chained to the
// last entry.
func appendAudit(ctx context.Context, tx *sql.Tx, e AuditEvent, detail any) (AuditEvent, error) {
	var (
		seq  int64
		prev string
	)
	err := tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) + 1, coalesce((SELECT hash FROM audit ORDER BY seq DESC LIMIT 1), '') FROM audit").
		Scan(&seq, &prev)
	if err != nil {
		return e, err
	}
	e, entry, err := seal(e, detail, seq, prev)
	if err != nil {
		return e, err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO audit (seq, action, actor, ids, entry, hash) VALUES (?, ?, ?, ?, ?, ?)",
		e.Seq, string(e.Action), e.Actor, idsColumn(e.ExemptionIDs), string(entry), e.Hash)
	return e, err
}

// seal makes e the entry number seq after the entry hashing to prev, with
// detail as its Detail, and returns it with its canonical JSON.
func seal(e AuditEvent, detail any, seq int64, prev string) (AuditEvent, []byte, error) {
	d, err := json.Marshal(detail)
	if err != nil {
		return e, nil, err
	}
	e.Detail = d
	e.At = e.At.UTC()
	if e.ExemptionIDs == nil {
		e.ExemptionIDs = []string{}
	}
	e.Seq, e.PrevHash = seq, prev
	entry, err := e.Canonical()
	if err != nil {
		return e, nil, err
	}
	e.Hash = chainHash(e.PrevHash, entry)
	return e, entry, nil
}

// idsColumn is how the audit table keeps an entry's ids, so that a
// substring search for ",EX-000001," finds one.
func idsColumn(ids []string) string { return "," + strings.Join(ids, ",") + "," }

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const recordCols = "record, superseded_by, revocation"

func scanRecord(scan func(dest ...any) error) (Exemption, error) {
	var (
		rec      string
		sup, rev sql.NullString
		ex       Exemption
	)
	if err := scan(&rec, &sup, &rev); err != nil {
		return ex, err
	}
	if err := json.Unmarshal([]byte(rec), &ex); err != nil {
		return ex, fmt.Errorf("record: %w", err)
	}
	ex.SupersededBy = sup.String
	if rev.Valid {
		ex.Revocation = new(Revocation)
		if err := json.Unmarshal([]byte(rev.String), ex.Revocation); err != nil {
			return ex, fmt.Errorf("%s: revocation: %w", ex.ID, err)
		}
	}
	return ex, nil
}

func getRecord(ctx context.Context, q querier, id string) (Exemption, error) {
	ex, err := scanRecord(q.QueryRowContext(ctx, "SELECT "+recordCols+" FROM exemptions WHERE id = ?", id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return ex, idError(id, ErrNotFound)
	}
	return ex, err
}

// Get implements Store.
func (s *SQLiteStore) Get(ctx context.Context, id string) (Exemption, error) {
	return getRecord(ctx, s.db, id)
}

// Page tokens carry the last seq of the previous page.
const tokenPrefix = "s1:"

func encodeToken(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + strconv.FormatInt(seq, 10)))
}

// ErrBadPageToken is returned for a page token this store did not make.
var ErrBadPageToken = errors.New("not a page token from a previous response")

func decodeToken(tok string) (int64, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !bytes.HasPrefix(raw, []byte(tokenPrefix)) {
		return 0, ErrBadPageToken
	}
	n, err := strconv.ParseInt(string(raw[len(tokenPrefix):]), 10, 64)
	if err != nil || n < 0 {
		return 0, ErrBadPageToken
	}
	return n, nil
}

func pageSize(n int) int {
	switch {
	case n <= 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// List implements Store.
func (s *SQLiteStore) List(ctx context.Context, f ListFilter) ([]Exemption, string, error) {
	after, err := decodeToken(f.PageToken)
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
		t := nanos(f.ActiveAt)
		where, args = append(where, "valid_from_ns <= ? AND valid_until_ns >= ? AND (revoked_at_ns IS NULL OR revoked_at_ns > ?)"), append(args, t, t, t)
	}
	if !f.IncludeRevoked {
		where = append(where, "revocation IS NULL AND superseded_by IS NULL")
	}
	n := pageSize(f.PageSize)
	rows, err := s.db.QueryContext(ctx, "SELECT seq, "+recordCols+" FROM exemptions WHERE "+
		strings.Join(where, " AND ")+" ORDER BY seq LIMIT ?", append(args, n+1)...)
	if err != nil {
		return nil, "", err
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
			return nil, "", err
		}
		out, seqs = append(out, ex), append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > n {
		out, next = out[:n], encodeToken(seqs[n-1])
	}
	return out, next, nil
}

// All implements Store.
func (s *SQLiteStore) All(ctx context.Context) ([]Exemption, int64, error) { return s.Changed(ctx, -1) }

// Changed implements Store.
func (s *SQLiteStore) Changed(ctx context.Context, since int64) ([]Exemption, int64, error) {
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
	rows, err := tx.QueryContext(ctx, "SELECT "+recordCols+" FROM exemptions WHERE version > ? ORDER BY seq", since)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Exemption
	for rows.Next() {
		ex, err := scanRecord(rows.Scan)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, ex)
	}
	return out, v, rows.Err()
}

// Version implements Store.
func (s *SQLiteStore) Version(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'records_version'").Scan(&v)
	return v, err
}

// RecordCheck implements Store.
func (s *SQLiteStore) RecordCheck(ctx context.Context, c CheckRecord) (AuditEvent, error) {
	var e AuditEvent
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Read inside the write transaction (an immediate one: it holds
		// the write lock), so that no revocation commits in between.
		states, err := sqliteRecordStates(ctx, tx, c.ExemptionIDs)
		if err != nil {
			return err
		}
		if err := notInForce(c.ExemptionIDs, states); err != nil {
			return err
		}
		e, err = appendAudit(ctx, tx, AuditEvent{At: c.At, Action: ActionCheck, Actor: c.ActorName(),
			ExemptionIDs: c.ExemptionIDs, ClientReference: c.ClientReference}, c)
		return err
	})
	return e, err
}

// sqliteRecordStates reads whether each of ids is superseded or revoked.
func sqliteRecordStates(ctx context.Context, tx *sql.Tx, ids []string) (map[string]recordState, error) {
	states := make(map[string]recordState, len(ids))
	for _, id := range ids {
		var st recordState
		err := tx.QueryRowContext(ctx, "SELECT superseded_by IS NOT NULL, revocation IS NOT NULL FROM exemptions WHERE id = ?", id).
			Scan(&st.superseded, &st.revoked)
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
func (s *SQLiteStore) Audit(ctx context.Context, f AuditFilter) ([]AuditEvent, string, error) {
	after, err := decodeToken(f.PageToken)
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
	n := pageSize(f.PageSize)
	rows, err := s.db.QueryContext(ctx, "SELECT entry, hash FROM audit WHERE "+strings.Join(where, " AND ")+
		" ORDER BY seq LIMIT ?", append(args, n+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var entry, hash string
		if err := rows.Scan(&entry, &hash); err != nil {
			return nil, "", err
		}
		var e AuditEvent
		if err := json.Unmarshal([]byte(entry), &e); err != nil {
			return nil, "", fmt.Errorf("audit entry: %w", err)
		}
		e.Hash, e.Entry = hash, json.RawMessage(entry)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > n {
		out, next = out[:n], encodeToken(out[n-1].Seq)
	}
	return out, next, nil
}

// VerifyAudit implements Store.
func (s *SQLiteStore) VerifyAudit(ctx context.Context) (Verification, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Verification{}, err
	}
	defer tx.Rollback()
	w := newVerifier()
	rows, err := tx.QueryContext(ctx, verifyEntriesQuery)
	if err != nil {
		return Verification{}, err
	}
	err = w.entries(rows)
	rows.Close()
	if err != nil {
		return Verification{}, err
	}
	rows, err = tx.QueryContext(ctx, verifyRecordsQuery)
	if err != nil {
		return Verification{}, err
	}
	defer rows.Close()
	if err := w.records(rows); err != nil {
		return Verification{}, err
	}
	if err := sqliteVerifyAuthorisations(ctx, tx, w); err != nil {
		return Verification{}, err
	}
	return w.finish(), nil
}
