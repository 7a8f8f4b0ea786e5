package report_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/report"
)

func refused(day, unit string, p exemptions.Purpose, k exemptions.RefusalKind, auth bool, n int64) exemptions.RefusalCount {
	return exemptions.RefusalCount{Day: day, Unit: unit, Purpose: p, Kind: k, Authorisation: auth, Count: n}
}

// refusalLog is log's entries and two seals of refusal counts: of days
// before, in and after the period (March and April).
func refusalLog(t *testing.T) []exemptions.AuditEvent {
	c := &chain{t: t, events: log(t)}
	c.add(exemptions.ActionRefusals, apr, nil, exemptions.RefusalSeal{Counts: []exemptions.RefusalCount{
		refused("2026-02-28", "AMS", exemptions.PurposeForensic, exemptions.RefusedAirspace, false, 50),
		refused("2026-03-01", "AMS", exemptions.PurposeForensic, exemptions.RefusedAirspace, false, 3),
		refused("2026-03-01", "AMS", exemptions.PurposeForensic, exemptions.RefusedFleet, true, 1),
	}})
	c.add(exemptions.ActionRefusals, may, nil, exemptions.RefusalSeal{Counts: []exemptions.RefusalCount{
		refused("2026-04-30", "RTM", exemptions.PurposePublicOrder, exemptions.RefusedAirspace, true, 2),
		refused("2026-05-01", "RTM", exemptions.PurposePublicOrder, exemptions.RefusedAirspace, false, 70),
	}})
	c.add(exemptions.ActionReportDetail, may, nil, exemptions.ReportDetail{From: mar, Until: may})
	return c.events
}

// TestRefusals: the refusals sealed in the log and those not yet sealed
// count by the day they were made in, under each grouping they record
// (purpose, unit, month) and under "not recorded" for the others.
func TestRefusals(t *testing.T) {
	events := refusalLog(t)
	unsealed := []exemptions.RefusalCount{
		refused("2026-04-15", "AMS", exemptions.PurposeTraining, exemptions.RefusedFleet, false, 4),
		refused("2026-05-02", "AMS", exemptions.PurposeTraining, exemptions.RefusedFleet, false, 90),
	}
	flights := report.Counts{Authorised: 2, AuthorisedExempted: 1, ExemptedChecks: 7, UnderExemption: 8, Drones: 3}
	total := flights
	total.Refused, total.RefusedAirspace, total.RefusedFleet, total.RefusedAuthorisations = 10, 5, 5, 3
	tests := []struct {
		name     string
		o        report.Options
		total    report.Counts
		rows     []report.Row
		unsealed int
	}{
		{"by purpose", report.Options{By: []report.Grouping{report.ByPurpose}, Unsealed: unsealed}, total, []report.Row{
			{Key: []string{"FORENSIC"}, Counts: report.Counts{Authorised: 1, ExemptedChecks: 6, UnderExemption: 6, Drones: 1,
				Refused: 4, RefusedAirspace: 3, RefusedFleet: 1, RefusedAuthorisations: 1}},
			{Key: []string{"PUBLIC_ORDER"}, Counts: report.Counts{ExemptedChecks: 1, UnderExemption: 1, Drones: 1,
				Refused: 2, RefusedAirspace: 2, RefusedAuthorisations: 2}},
			{Key: []string{"TRAINING"}, Counts: report.Counts{Authorised: 1, AuthorisedExempted: 1, UnderExemption: 1, Drones: 1,
				Refused: 4, RefusedFleet: 4}},
		}, 4},
		{"by month and unit", report.Options{By: []report.Grouping{report.ByMonth, report.ByUnit}, MinGroup: 1, Unsealed: unsealed}, total, []report.Row{
			{Key: []string{"2026-03", "AMS"}, Counts: report.Counts{ExemptedChecks: 6, UnderExemption: 6, Drones: 1,
				Refused: 4, RefusedAirspace: 3, RefusedFleet: 1, RefusedAuthorisations: 1}},
			{Key: []string{"2026-03", "RTM"}, Counts: report.Counts{ExemptedChecks: 1, UnderExemption: 1, Drones: 1}},
			{Key: []string{"2026-04", "AMS"}, Counts: report.Counts{Authorised: 2, AuthorisedExempted: 1, UnderExemption: 1, Drones: 2,
				Refused: 4, RefusedFleet: 4}},
			{Key: []string{"2026-04", "RTM"}, Counts: report.Counts{Refused: 2, RefusedAirspace: 2, RefusedAuthorisations: 2}},
		}, 4},
		// RTM flew once: its two refusals must not make that flight
		// visible (the threshold is of flights, which name pilots).
		{"by unit: refusals do not make a small group of flights large", report.Options{By: []report.Grouping{report.ByUnit}, MinGroup: 3}, func() report.Counts {
			c := total
			c.Refused, c.RefusedFleet = 6, 1
			return c
		}(), []report.Row{
			{Key: []string{"AMS"}, Counts: report.Counts{Authorised: 2, AuthorisedExempted: 1, ExemptedChecks: 6, UnderExemption: 7, Drones: 2,
				Refused: 4, RefusedAirspace: 3, RefusedFleet: 1, RefusedAuthorisations: 1}},
			{Key: []string{"RTM"}, Small: true},
		}, 0},
		// A group of refusals only is judged by its refusals.
		{"by month and unit: refusals alone", report.Options{By: []report.Grouping{report.ByMonth, report.ByUnit}, MinGroup: 2, Unsealed: unsealed}, total, []report.Row{
			{Key: []string{"2026-03", "AMS"}, Counts: report.Counts{ExemptedChecks: 6, UnderExemption: 6, Drones: 1,
				Refused: 4, RefusedAirspace: 3, RefusedFleet: 1, RefusedAuthorisations: 1}},
			{Key: []string{"2026-03", "RTM"}, Small: true},
			{Key: []string{"2026-04", "AMS"}, Counts: report.Counts{Authorised: 2, AuthorisedExempted: 1, UnderExemption: 1, Drones: 2,
				Refused: 4, RefusedFleet: 4}},
			{Key: []string{"2026-04", "RTM"}, Counts: report.Counts{Refused: 2, RefusedAirspace: 2, RefusedAuthorisations: 2}},
		}, 4},
		{"by month and unit: few refusals alone", report.Options{By: []report.Grouping{report.ByMonth, report.ByUnit}, MinGroup: 3, Unsealed: unsealed}, total, []report.Row{
			{Key: []string{"2026-03", "AMS"}, Counts: report.Counts{ExemptedChecks: 6, UnderExemption: 6, Drones: 1,
				Refused: 4, RefusedAirspace: 3, RefusedFleet: 1, RefusedAuthorisations: 1}},
			{Key: []string{"2026-03", "RTM"}, Small: true},
			{Key: []string{"2026-04", "AMS"}, Small: true},
			{Key: []string{"2026-04", "RTM"}, Small: true},
		}, 4},
		{"by manufacturer: not recorded", report.Options{By: []report.Grouping{report.ByManufacturer}, Unsealed: unsealed}, total, []report.Row{
			{Key: []string{"not recorded"}, Counts: report.Counts{Refused: 10, RefusedAirspace: 5, RefusedFleet: 5, RefusedAuthorisations: 3}},
			{Key: []string{"unregistered"}, Counts: flights},
		}, 4},
		{"a period from 1 a.m.: 1 March is not in it", report.Options{From: mar.Add(time.Hour)}, func() report.Counts {
			c := total // the check at midnight on 1 March is not in it either
			c.ExemptedChecks, c.UnderExemption = 6, 7
			c.Refused, c.RefusedAirspace, c.RefusedFleet, c.RefusedAuthorisations = 2, 2, 0, 2
			return c
		}(), []report.Row{{Key: []string{}, Counts: func() report.Counts {
			c := total // the check at midnight on 1 March is not in it either
			c.ExemptedChecks, c.UnderExemption = 6, 7
			c.Refused, c.RefusedAirspace, c.RefusedFleet, c.RefusedAuthorisations = 2, 2, 0, 2
			return c
		}()}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.o.From.IsZero() {
				tc.o.From = mar
			}
			tc.o.Until = may
			r := build(t, tc.o, events)
			if r.Total != tc.total {
				t.Errorf("total %+v, want %+v", r.Total, tc.total)
			}
			if !reflect.DeepEqual(r.Rows, tc.rows) {
				t.Errorf("rows\n%+v, want\n%+v", r.Rows, tc.rows)
			}
			if r.Unsealed != tc.unsealed {
				t.Errorf("%d unsealed, want %d", r.Unsealed, tc.unsealed)
			}
		})
	}
}

func TestPeriodDays(t *testing.T) {
	for _, tc := range []struct {
		from, until time.Time
		want        string
	}{
		{mar, apr, "2026-03-01 2026-04-01"},
		{mar.Add(time.Nanosecond), apr.Add(-time.Nanosecond), "2026-03-02 2026-04-01"},
		{time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600)), apr, "2026-03-01 2026-04-01"},
	} {
		if f, u := report.PeriodDays(tc.from, tc.until); f+" "+u != tc.want {
			t.Errorf("PeriodDays(%s, %s) = %s %s, want %s", tc.from, tc.until, f, u, tc.want)
		}
	}
}

// TestDetail: with Detail, the records counted, with their pilots, in
// the log's order; an authorisation's own plan check is not one of them.
func TestDetail(t *testing.T) {
	r := build(t, report.Options{From: apr, Until: may, Detail: true}, refusalLog(t))
	want := []report.Record{
		{Kind: report.KindAuthorisation, Seq: 10, ID: "AU", At: apr.Add(24 * time.Hour), Until: apr.Add(25 * time.Hour), Unit: "AMS",
			Pilot: "P-2", Drone: "D-1", Purpose: exemptions.PurposeForensic, ExemptionIDs: []string{}, ZoneIDs: []string{}},
		{Kind: report.KindAuthorisation, Seq: 11, ID: "AU", At: apr.Add(48 * time.Hour), Until: apr.Add(49 * time.Hour), Unit: "AMS",
			Pilot: "P-2", Drone: "D-3", Purpose: exemptions.PurposeTraining, ExemptionIDs: []string{"EX-2"}, ZoneIDs: []string{"EHR1"}},
	}
	if !reflect.DeepEqual(r.Records, want) {
		t.Errorf("records\n%+v, want\n%+v", r.Records, want)
	}
	r = build(t, report.Options{From: mar, Until: apr, Detail: true}, refusalLog(t))
	if len(r.Records) != 7 || r.Records[0].Kind != report.KindExemptedCheck || r.Records[0].Pilot != "P-1" || r.Records[0].Seq != 3 ||
		!r.Records[6].At.Equal(mar.Add(10*24*time.Hour)) {
		t.Errorf("March's records: %+v", r.Records)
	}
	if r := build(t, report.Options{From: mar, Until: apr}, refusalLog(t)); r.Records != nil {
		t.Errorf("records without Detail: %+v", r.Records)
	}
}

// storedLog serves events as a store's AuditEntries does.
type storedLog []exemptions.AuditEvent

func (l storedLog) Audit(context.Context, exemptions.AuditFilter) ([]exemptions.AuditEvent, string, error) {
	return l, "", nil
}

func (l storedLog) AuditEntries(_ context.Context, after int64, n int) ([]exemptions.StoredAuditEntry, error) {
	var out []exemptions.StoredAuditEntry
	for _, e := range l[min(int(after), len(l)):] {
		if len(out) == n {
			break
		}
		out = append(out, exemptions.StoredAuditEntry{Seq: e.Seq, Entry: e.Entry, Hash: e.Hash})
	}
	return out, nil
}

// TestUpTo: Compute reads the log up to the entry the unsealed counts
// were read at, and fails when the log no longer reaches it.
func TestUpTo(t *testing.T) {
	events := refusalLog(t)
	ctx := context.Background()
	r, err := report.Compute(ctx, storedLog(events), report.Options{From: mar, Until: may, UpTo: 14})
	if err != nil || r.HeadSeq != 14 || r.HeadHash != events[13].Hash || r.Total.Refused != 4 {
		t.Errorf("up to 14: head %d, %d refused, %v; want 14, 4", r.HeadSeq, r.Total.Refused, err)
	}
	r, err = report.Compute(ctx, storedLog(events), report.Options{From: mar, Until: may})
	if err != nil || r.HeadSeq != int64(len(events)) || r.Total.Refused != 6 {
		t.Errorf("to the end: head %d, %d refused, %v; want %d, 6", r.HeadSeq, r.Total.Refused, err, len(events))
	}
	// Unsealed counts read while the log was empty: the entries written
	// since (a seal among them) are not read, or the counts it sealed
	// would count twice.
	unsealed := []exemptions.RefusalCount{refused("2026-03-01", "AMS", exemptions.PurposeForensic, exemptions.RefusedAirspace, false, 3)}
	r, err = report.Compute(ctx, storedLog(events), report.Options{From: mar, Until: may, Unsealed: unsealed})
	if err != nil || r.HeadSeq != 0 || r.Total.Refused != 3 || r.Unsealed != 3 {
		t.Errorf("unsealed at an empty log: head %d, %d refused (%d unsealed), %v; want 0, 3 (3)", r.HeadSeq, r.Total.Refused, r.Unsealed, err)
	}
	_, err = report.Compute(ctx, storedLog(events), report.Options{From: mar, Until: may, UpTo: int64(len(events) + 1)})
	if !errors.Is(err, report.ErrChain) || !strings.Contains(err.Error(), "ends at entry") {
		t.Errorf("a log shorter than UpTo: %v", err)
	}
}

// TestMalformedRefusals: a refusal count the stores would not take (a day
// that is not a date, a count below 1, an unknown kind), in a sealed entry
// or among the unsealed counts, fails the report with an error naming it;
// it neither panics nor is counted.
func TestMalformedRefusals(t *testing.T) {
	year := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, bad := range []exemptions.RefusalCount{
		refused("2026-1", "AMS", exemptions.PurposeForensic, exemptions.RefusedAirspace, false, 3),
		refused("2026-03-1", "AMS", exemptions.PurposeForensic, exemptions.RefusedAirspace, false, 3),
		refused("2026-03-01", "AMS", exemptions.PurposeForensic, "weather", false, 3),
		refused("2026-03-01", "AMS", exemptions.PurposeForensic, exemptions.RefusedAirspace, false, -3),
	} {
		c := &chain{t: t, events: log(t)}
		c.add(exemptions.ActionRefusals, apr, nil, exemptions.RefusalSeal{Counts: []exemptions.RefusalCount{bad}})
		b, err := report.New(report.Options{From: mar, Until: year, By: []report.Grouping{report.ByMonth}})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range c.events {
			if err = b.Add(e); err != nil {
				break
			}
		}
		if !errors.Is(err, report.ErrChain) || !strings.Contains(err.Error(), "refusal count") {
			t.Errorf("sealed %+v: %v", bad, err)
		}
		if _, err := report.New(report.Options{From: mar, Until: year, By: []report.Grouping{report.ByMonth},
			Unsealed: []exemptions.RefusalCount{bad}}); err == nil || !strings.Contains(err.Error(), "refusal count") {
			t.Errorf("unsealed %+v: %v", bad, err)
		}
	}
}
