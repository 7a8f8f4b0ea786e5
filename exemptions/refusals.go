package exemptions

import (
	"context"
	"fmt"
	"time"
)

// Audit actions of oversight.
const (
	// ActionRefusals seals counts of refused checks into the log: the
	// entry's detail is a RefusalSeal.
	ActionRefusals Action = "refusals"
	// ActionReportDetail records that someone asked for a report with its
	// individual records (pilots, times): the detail is a ReportDetail.
	ActionReportDetail Action = "report-detail"
)

// RefusalKind is why a check was refused.
type RefusalKind string

// The kinds of refusal.
const (
	// RefusedAirspace: the flight meets a blocking zone that no exemption
	// covers (and the force's rules did not refuse it).
	RefusedAirspace RefusalKind = "airspace"
	// RefusedFleet: the drone registry, the deployment policy or the
	// general ceiling refused the flight, whatever the zones say.
	RefusedFleet RefusalKind = "fleet"
)

// RefusalCount is how many checks of one kind were refused on one day
// (UTC) for one unit and purpose. It holds no pilot, no drone and no
// position: the counts are anonymous (docs/oversight.md).
type RefusalCount struct {
	// Day is the UTC date of the checks, 2026-03-04.
	Day     string      `json:"day"`
	Unit    string      `json:"unit"`
	Purpose Purpose     `json:"purpose,omitempty"`
	Kind    RefusalKind `json:"kind"`
	// Authorisation: the refused check was a request for a flight
	// authorisation (the plan check it was issued on was DENIED).
	Authorisation bool  `json:"authorisation,omitempty"`
	Count         int64 `json:"count"`
}

// RefusalDayLayout is the layout of RefusalCount.Day.
const RefusalDayLayout = "2006-01-02"

// RefusalDay is the Day of a refusal at t.
func RefusalDay(t time.Time) string { return t.UTC().Format(RefusalDayLayout) }

// Check says what is wrong with c, for a store to refuse it.
func (c RefusalCount) Check() error {
	if _, err := time.Parse(RefusalDayLayout, c.Day); err != nil {
		return fmt.Errorf("refusal count: day %q: want YYYY-MM-DD", c.Day)
	}
	if c.Kind != RefusedAirspace && c.Kind != RefusedFleet {
		return fmt.Errorf("refusal count: kind %q: want %s or %s", c.Kind, RefusedAirspace, RefusedFleet)
	}
	if c.Count < 1 {
		return fmt.Errorf("refusal count: count %d: must be at least 1", c.Count)
	}
	if len(c.Unit) > MaxText || len(c.Purpose) > MaxText {
		return fmt.Errorf("refusal count: unit or purpose longer than %d bytes", MaxText)
	}
	return nil
}

// RefusalSeal is the detail of an ActionRefusals entry: the counts of
// days that had ended, not yet in the log when it was written. A day's
// counts are usually sealed in one entry after midnight; counts that
// reached the store later (another noflyd's last seconds) follow in a
// further entry, and add to them.
type RefusalSeal struct {
	Counts []RefusalCount `json:"counts"`
}

// ReportDetail is the detail of an ActionReportDetail entry: who asked
// (the entry's actor) for the individual records of which period.
type ReportDetail struct {
	From  time.Time `json:"from"`
	Until time.Time `json:"until"`
	By    []string  `json:"by"`
}

// RefusalStore keeps the counters of refused checks beside the audit log:
// sqlitestore.Store and pgstore.Store implement it and pass the suite
// (exemptions/storetest).
//
// Counters are added to without the audit log's lock (a refused check is
// never recorded one by one: noflyd adds its counts every few seconds);
// SealRefusals moves the counts of ended days into the hash chain.
type RefusalStore interface {
	// AddRefusals adds each count to its day's counter (each must pass
	// Check).
	AddRefusals(ctx context.Context, counts []RefusalCount) error
	// SealRefusals appends one ActionRefusals entry, by actor at at,
	// holding every count of the days before the day before (YYYY-MM-DD)
	// not yet sealed, and marks them sealed, in one transaction. With
	// nothing to seal it writes nothing and returns false.
	SealRefusals(ctx context.Context, before, actor string, at time.Time) (AuditEvent, bool, error)
	// UnsealedRefusals returns the counts not yet sealed of the days from
	// fromDay until untilDay (exclusive), and the number of the audit log's
	// last entry, read at one instant: the log up to that entry and these
	// counts together hold every refusal added.
	UnsealedRefusals(ctx context.Context, fromDay, untilDay string) ([]RefusalCount, int64, error)
	// RecordReportDetail appends an ActionReportDetail entry (by actor, at
	// at) and returns it.
	RecordReportDetail(ctx context.Context, actor string, at time.Time, d ReportDetail) (AuditEvent, error)
}
