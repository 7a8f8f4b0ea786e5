package storecore

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/nofly-project/nofly/exemptions"
)

// The refusals table: one counter per day, unit, purpose, kind and
// whether an authorisation was asked for; count only grows, and sealed is
// how much of it is in the audit log (ActionRefusals entries).
const (
	// RefusalColumns are a counter's key and count, in RefusalRows' order.
	RefusalColumns = "day, unit, purpose, kind, authorisation"
	// VerifyRefusalsQuery reads every counter's key and sealed part.
	VerifyRefusalsQuery = "SELECT " + RefusalColumns + ", sealed FROM refusals ORDER BY " + RefusalColumns
)

// CheckRefusals checks every count a store is asked to add.
func CheckRefusals(counts []exemptions.RefusalCount) error {
	for i, c := range counts {
		if err := c.Check(); err != nil {
			return fmt.Errorf("count %d: %w", i, err)
		}
	}
	return nil
}

// RefusalRows reads rows of (day, unit, purpose, kind, authorisation,
// count).
func RefusalRows(rows RowScanner) ([]exemptions.RefusalCount, error) {
	var out []exemptions.RefusalCount
	for rows.Next() {
		var c exemptions.RefusalCount
		if err := rows.Scan(&c.Day, &c.Unit, &c.Purpose, &c.Kind, &c.Authorisation, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Sealable returns the counts that pass Check, in place: a counter
// noflyd would not have written (a day that is no date, an unknown kind)
// is left unsealed, out of the log, for VerifyAudit to report.
func Sealable(counts []exemptions.RefusalCount) []exemptions.RefusalCount {
	return slices.DeleteFunc(counts, func(c exemptions.RefusalCount) bool { return c.Check() != nil })
}

// SortRefusals sorts counts by day, unit, purpose, kind and authorisation.
func SortRefusals(counts []exemptions.RefusalCount) {
	slices.SortFunc(counts, func(a, b exemptions.RefusalCount) int { return cmp.Compare(refusalKey(a), refusalKey(b)) })
}

func refusalKey(c exemptions.RefusalCount) string {
	a := "0"
	if c.Authorisation {
		a = "1"
	}
	return strings.Join([]string{c.Day, c.Unit, string(c.Purpose), string(c.Kind), a}, "\x00")
}

// refusalLog is what the audit log says was sealed of each counter.
type refusalLog struct {
	sealed map[string]int64
	seen   map[string]bool
}

// refusalEntry adds the counts an ActionRefusals entry sealed.
func (w *Verifier) refusalEntry(seq int64, e *exemptions.AuditEvent) {
	if w.refusals.sealed == nil {
		w.refusals.sealed, w.refusals.seen = map[string]int64{}, map[string]bool{}
	}
	var s exemptions.RefusalSeal
	if err := json.Unmarshal(e.Detail, &s); err != nil {
		w.Problem("audit entry %d: refusal counts are not valid JSON: %v", seq, err)
		return
	}
	for _, c := range s.Counts {
		if err := c.Check(); err != nil {
			w.Problem("audit entry %d: %v", seq, err)
			continue
		}
		w.refusals.sealed[refusalKey(c)] += c.Count
	}
}

// Refusals checks every row of VerifyRefusalsQuery: its sealed part is
// what the audit log sealed of it.
func (w *Verifier) Refusals(rows RowScanner) error {
	if w.refusals.sealed == nil {
		w.refusals.sealed, w.refusals.seen = map[string]int64{}, map[string]bool{}
	}
	for rows.Next() {
		var c exemptions.RefusalCount
		if err := rows.Scan(&c.Day, &c.Unit, &c.Purpose, &c.Kind, &c.Authorisation, &c.Count); err != nil {
			return err
		}
		if probe := (exemptions.RefusalCount{Day: c.Day, Unit: c.Unit, Purpose: c.Purpose, Kind: c.Kind, Count: 1}); probe.Check() != nil {
			w.Problem("refusal counter %q %q %q %q: not one noflyd keeps: %v", c.Day, c.Unit, c.Purpose, c.Kind, probe.Check())
		}
		k := refusalKey(c)
		w.refusals.seen[k] = true
		if got := w.refusals.sealed[k]; got != c.Count {
			w.Problem("refusal counter %s %s %s %s: %d marked sealed, the audit log sealed %d", c.Day, c.Unit, c.Purpose, c.Kind, c.Count, got)
		}
	}
	return rows.Err()
}

// finishRefusals notes counts sealed in the log whose counter is gone.
func (w *Verifier) finishRefusals() {
	for k, n := range w.refusals.sealed {
		if !w.refusals.seen[k] && n > 0 {
			w.Problem("refusal counter %s: %d sealed in the audit log, but the counter is missing", strings.ReplaceAll(k, "\x00", " "), n)
		}
	}
}
