package storecore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/nofly-project/nofly/exemptions"
)

// Nanos is an instant as the stores keep it: Unix nanoseconds, UTC.
func Nanos(t time.Time) int64 { return t.UTC().UnixNano() }

// RecordID is the id of the record numbered seq.
func RecordID(seq int64) string { return fmt.Sprintf("EX-%06d", seq) }

// Issue returns ex as the record number seq, replacing supersedes (or
// ""), normalised as every store keeps it, and its JSON as stored.
func Issue(ex exemptions.Exemption, seq int64, supersedes string) (exemptions.Exemption, []byte, error) {
	ex.ID = RecordID(seq)
	ex.Supersedes, ex.SupersededBy, ex.Revocation = supersedes, "", nil
	ex.ValidFrom, ex.ValidUntil, ex.IssuedAt = ex.ValidFrom.UTC(), ex.ValidUntil.UTC(), ex.IssuedAt.UTC()
	ex.ZoneIDs = slices.Compact(slices.Sorted(slices.Values(ex.ZoneIDs)))
	rec, err := json.Marshal(ex)
	return ex, rec, err
}

// RecordCols are the columns ScanRecord reads, in order.
const RecordCols = "record, superseded_by, revocation"

// ScanRecord reads a record from RecordCols (pgx scans into sql.NullString
// as database/sql does).
func ScanRecord(scan func(dest ...any) error) (exemptions.Exemption, error) {
	var (
		rec      string
		sup, rev sql.NullString
		ex       exemptions.Exemption
	)
	if err := scan(&rec, &sup, &rev); err != nil {
		return ex, err
	}
	if err := json.Unmarshal([]byte(rec), &ex); err != nil {
		return ex, fmt.Errorf("record: %w", err)
	}
	ex.SupersededBy = sup.String
	if rev.Valid {
		ex.Revocation = new(exemptions.Revocation)
		if err := json.Unmarshal([]byte(rev.String), ex.Revocation); err != nil {
			return ex, fmt.Errorf("%s: revocation: %w", ex.ID, err)
		}
	}
	return ex, nil
}

// IDError wraps err with the id concerned.
func IDError(id string, err error) error { return &exemptions.IDError{ID: id, Err: err} }

// FmtTime writes an instant for people: UTC, to the minute unless it has
// seconds.
func FmtTime(t time.Time) string {
	t = t.UTC()
	if t.Second() != 0 || t.Nanosecond() != 0 {
		return t.Format("2006-01-02 15:04:05Z")
	}
	return t.Format("2006-01-02 15:04Z")
}

// RecordState is what RecordCheck reads of a record it is asked to rely on.
type RecordState struct {
	Superseded, Revoked bool
}

// NotInForce returns an error wrapping ErrNotInForce naming the first of ids
// that states (by id, as the store holds them) shows to be revoked,
// superseded or missing; nil when every one is in force.
func NotInForce(ids []string, states map[string]RecordState) error {
	for _, id := range ids {
		st, ok := states[id]
		switch {
		case !ok:
			return IDError(id, fmt.Errorf("%w: not in the store", exemptions.ErrNotInForce))
		case st.Revoked:
			return IDError(id, fmt.Errorf("%w: revoked", exemptions.ErrNotInForce))
		case st.Superseded:
			return IDError(id, fmt.Errorf("%w: superseded", exemptions.ErrNotInForce))
		}
	}
	return nil
}
