package report_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/internal/storecore"
	"github.com/nofly-project/nofly/exemptions/report"
)

var (
	mar = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	apr = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	may = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
)

// chain seals events as a store would, entry 1 first.
type chain struct {
	t      *testing.T
	events []exemptions.AuditEvent
}

func (c *chain) add(action exemptions.Action, at time.Time, ids []string, detail any) {
	c.t.Helper()
	prev := ""
	if n := len(c.events); n > 0 {
		prev = c.events[n-1].Hash
	}
	e, entry, err := storecore.Seal(exemptions.AuditEvent{At: at, Action: action, Actor: "CN=test", ExemptionIDs: ids},
		detail, int64(len(c.events)+1), prev)
	if err != nil {
		c.t.Fatal(err)
	}
	e, err = storecore.AuditEntry(string(entry), e.Hash)
	if err != nil {
		c.t.Fatal(err)
	}
	c.events = append(c.events, e)
}

func (c *chain) exemption(id, basis string, zones []string, sel exemptions.Selector) {
	c.add(exemptions.ActionCreate, mar.Add(-time.Hour), []string{id}, exemptions.Exemption{ID: id, LegalBasis: basis,
		ZoneIDs: zones, Selector: sel, Holder: exemptions.Holder{Unit: "AMS"}})
}

func (c *chain) check(at time.Time, unit, drone string, p exemptions.Purpose, exs, zones []string) {
	c.add(exemptions.ActionCheck, at, exs, exemptions.CheckRecord{At: at, Unit: unit, Pilot: "P-1", Drone: drone,
		Purpose: p, ExemptionIDs: exs, ZoneIDs: zones, Verdict: "EXEMPTED"})
}

func (c *chain) authorise(at time.Time, unit, drone string, p exemptions.Purpose, exs, zones []string) {
	verdict := "CLEAR"
	if len(exs) > 0 {
		verdict = "EXEMPTED"
	}
	c.add(exemptions.ActionAuthorise, at.Add(-time.Hour), nil, exemptions.AuthorisationRecord{ID: "AU", IssuedAt: at.Add(-time.Hour),
		ValidFrom: at, ValidUntil: at.Add(time.Hour), Unit: unit, Pilot: "P-2", Drone: drone, Purpose: p,
		Verdict: verdict, ExemptionIDs: exs, ZoneIDs: zones})
}

// log is the log the tests report on: two exemptions, flights in March
// and April and one in May, outside the period.
func log(t *testing.T) []exemptions.AuditEvent {
	c := &chain{t: t}
	c.exemption("EX-1", "Besluit 2026/1", []string{"EHAM"}, exemptions.Selector{})
	c.exemption("EX-2", "Besluit 2026/2", nil, exemptions.Selector{Country: "NLD"})
	day := 24 * time.Hour
	for i := range 6 { // March: 6 exempted checks in EHAM by AMS
		c.check(mar.Add(time.Duration(i)*day), "AMS", "D-1", exemptions.PurposeForensic, []string{"EX-1"}, []string{"EHAM"})
	}
	c.check(mar.Add(10*day), "RTM", "D-2", exemptions.PurposePublicOrder, []string{"EX-1", "EX-2"}, []string{"EHAM", "EHR1"})
	c.authorise(apr.Add(day), "AMS", "D-1", exemptions.PurposeForensic, nil, nil)
	c.authorise(apr.Add(2*day), "AMS", "D-3", exemptions.PurposeTraining, []string{"EX-2"}, []string{"EHR1"})
	c.add(exemptions.ActionRevoke, apr.Add(3*day), []string{"EX-2"}, exemptions.Revocation{By: "x", At: apr.Add(3 * day), Reason: "r"})
	c.check(may, "AMS", "D-9", exemptions.PurposeForensic, []string{"EX-1"}, []string{"EHAM"})
	return c.events
}

func build(t *testing.T, o report.Options, events []exemptions.AuditEvent) report.Report {
	t.Helper()
	b, err := report.New(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	return b.Report()
}

func TestReport(t *testing.T) {
	events := log(t)
	registry := func(s string) (string, string, bool) {
		switch s {
		case "D-1", "D-2":
			return "DJI", "Matrice 30T", true
		case "D-3":
			return "Parrot", "Anafi USA", true
		}
		return "", "", false
	}
	total := report.Counts{Authorised: 2, AuthorisedExempted: 1, ExemptedChecks: 7, UnderExemption: 8, Drones: 3}
	tests := []struct {
		name  string
		o     report.Options
		total report.Counts
		rows  []report.Row
		unreg int
	}{
		{"totals", report.Options{}, total, []report.Row{{Key: []string{}, Counts: total}}, 3},
		{"by month", report.Options{By: []report.Grouping{report.ByMonth}}, total, []report.Row{
			{Key: []string{"2026-03"}, Counts: report.Counts{ExemptedChecks: 7, UnderExemption: 7, Drones: 2}},
			{Key: []string{"2026-04"}, Counts: report.Counts{Authorised: 2, AuthorisedExempted: 1, UnderExemption: 1, Drones: 2}},
		}, 3},
		{"by purpose and manufacturer", report.Options{By: []report.Grouping{report.ByPurpose, report.ByManufacturer}, Drones: registry}, total, []report.Row{
			{Key: []string{"FORENSIC", "DJI"}, Counts: report.Counts{Authorised: 1, ExemptedChecks: 6, UnderExemption: 6, Drones: 1}},
			{Key: []string{"PUBLIC_ORDER", "DJI"}, Counts: report.Counts{ExemptedChecks: 1, UnderExemption: 1, Drones: 1}},
			{Key: []string{"TRAINING", "Parrot"}, Counts: report.Counts{Authorised: 1, AuthorisedExempted: 1, UnderExemption: 1, Drones: 1}},
		}, 0},
		{"by model without a registry", report.Options{By: []report.Grouping{report.ByModel}}, total, []report.Row{
			{Key: []string{"unregistered"}, Counts: total},
		}, 3},
		{"by unit: small groups hidden", report.Options{By: []report.Grouping{report.ByUnit}}, total, []report.Row{
			{Key: []string{"AMS"}, Counts: report.Counts{Authorised: 2, AuthorisedExempted: 1, ExemptedChecks: 6, UnderExemption: 7, Drones: 2}},
			{Key: []string{"RTM"}, Small: true},
		}, 3},
		{"by unit, threshold 1", report.Options{By: []report.Grouping{report.ByUnit}, MinGroup: 1}, total, []report.Row{
			{Key: []string{"AMS"}, Counts: report.Counts{Authorised: 2, AuthorisedExempted: 1, ExemptedChecks: 6, UnderExemption: 7, Drones: 2}},
			{Key: []string{"RTM"}, Counts: report.Counts{ExemptedChecks: 1, UnderExemption: 1, Drones: 1}},
		}, 3},
		{"by zone: a flight in each zone it met", report.Options{By: []report.Grouping{report.ByZone}, MinGroup: 2}, total, []report.Row{
			{Key: []string{"EHAM"}, Counts: report.Counts{ExemptedChecks: 7, UnderExemption: 7, Drones: 2}},
			{Key: []string{"EHR1"}, Counts: report.Counts{Authorised: 1, AuthorisedExempted: 1, ExemptedChecks: 1, UnderExemption: 2, Drones: 2}},
			{Key: []string{"none"}, Small: true},
		}, 3},
		{"a narrower period", report.Options{From: apr, By: []report.Grouping{report.ByPurpose}},
			report.Counts{Authorised: 2, AuthorisedExempted: 1, UnderExemption: 1, Drones: 2}, []report.Row{
				{Key: []string{"FORENSIC"}, Counts: report.Counts{Authorised: 1, Drones: 1}},
				{Key: []string{"TRAINING"}, Counts: report.Counts{Authorised: 1, AuthorisedExempted: 1, UnderExemption: 1, Drones: 1}},
			}, 2},
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
			if r.Unregistered != tc.unreg {
				t.Errorf("%d unregistered drones, want %d", r.Unregistered, tc.unreg)
			}
			if r.HeadSeq != int64(len(events)) || r.HeadHash != events[len(events)-1].Hash {
				t.Errorf("head %d %s, want the last entry", r.HeadSeq, r.HeadHash)
			}
		})
	}
}

func TestZones(t *testing.T) {
	r := build(t, report.Options{From: mar, Until: may, MinGroup: 2}, log(t))
	want := []report.ZoneUse{
		// EX-1 names EHAM; EX-2 only selects zones, so EHAM's check that
		// applied both is put down to the exemption naming it.
		{Zone: "EHAM", Uses: 7, LegalBases: []string{"Besluit 2026/1"}},
		{Zone: "EHR1", Uses: 2, LegalBases: []string{"Besluit 2026/2"}},
	}
	if !reflect.DeepEqual(r.Zones, want) {
		t.Errorf("zones\n%+v, want\n%+v", r.Zones, want)
	}
	r = build(t, report.Options{From: mar, Until: may}, log(t))
	if z := r.Zones[1]; !z.Small || z.Uses != 0 || len(z.LegalBases) != 1 {
		t.Errorf("EHR1 under the default threshold: %+v, want small, its legal basis shown", z)
	}
}

// TestPrivacy: no pilot identity reaches a report, whatever the grouping.
func TestPrivacy(t *testing.T) {
	for _, g := range report.Groupings {
		r := build(t, report.Options{From: mar, Until: may, By: []report.Grouping{g}, MinGroup: 1}, log(t))
		b, _ := json.Marshal(r)
		for _, pilot := range []string{"P-1", "P-2", "CN=test"} {
			if strings.Contains(string(b), pilot) {
				t.Errorf("by %s: the report names %s: %s", g, pilot, b)
			}
		}
	}
}

func TestBrokenChain(t *testing.T) {
	tamper := []struct {
		name string
		edit func([]exemptions.AuditEvent) []exemptions.AuditEvent
	}{
		{"an entry removed", func(es []exemptions.AuditEvent) []exemptions.AuditEvent { return append(es[:3:3], es[4:]...) }},
		{"an entry edited", func(es []exemptions.AuditEvent) []exemptions.AuditEvent {
			es[4].Entry = json.RawMessage(string(es[4].Entry[:len(es[4].Entry)-1]) + " }")
			return es
		}},
		{"a hash replaced", func(es []exemptions.AuditEvent) []exemptions.AuditEvent { es[2].Hash = es[3].Hash; return es }},
	}
	for _, tc := range tamper {
		t.Run(tc.name, func(t *testing.T) {
			events := tc.edit(log(t))
			b, err := report.New(report.Options{From: mar, Until: may})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events {
				if err = b.Add(e); err != nil {
					break
				}
			}
			if !errors.Is(err, report.ErrChain) {
				t.Fatalf("got %v, want ErrChain", err)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	bad := []report.Options{
		{Until: may},
		{From: may, Until: mar},
		{From: mar, Until: may, By: []report.Grouping{"pilot"}},
		{From: mar, Until: may, By: []report.Grouping{report.ByUnit, report.ByUnit}},
		{From: mar, Until: may, MinGroup: -1},
	}
	for _, o := range bad {
		if _, err := report.New(o); err == nil {
			t.Errorf("%+v: accepted", o)
		}
	}
	if _, err := report.ParseGrouping("pilot"); err == nil {
		t.Error("grouping by pilot accepted")
	}
}

// TestAuthorisationsOwnCheck: an exempted authorisation is issued on a
// plan check that the log records too, just before it; the two are one
// decision, counted once, as the authorisation. A check of the same pilot
// at another instant is another decision.
func TestAuthorisationsOwnCheck(t *testing.T) {
	c := &chain{t: t}
	c.exemption("EX-1", "B-1", []string{"EHAM"}, exemptions.Selector{})
	at := mar.Add(36 * time.Hour)
	check := func(at time.Time) {
		c.add(exemptions.ActionCheck, at, []string{"EX-1"}, exemptions.CheckRecord{At: at, Unit: "AMS", Pilot: "P-1", Drone: "D-1",
			Purpose: exemptions.PurposeForensic, ExemptionIDs: []string{"EX-1"}, ZoneIDs: []string{"EHAM"}, Verdict: "EXEMPTED"})
	}
	check(at)
	check(at.Add(time.Minute))
	c.add(exemptions.ActionAuthorise, at, []string{"AU-1", "EX-1"}, exemptions.AuthorisationRecord{ID: "AU-1", IssuedAt: at,
		ValidFrom: at.Add(time.Minute), ValidUntil: at.Add(time.Hour), Unit: "AMS", Pilot: "P-1", Drone: "D-1",
		Purpose: exemptions.PurposeForensic, Verdict: "EXEMPTED", ExemptionIDs: []string{"EX-1"}, ZoneIDs: []string{"EHAM"}})
	r := build(t, report.Options{From: mar, Until: may, MinGroup: 1}, c.events)
	if want := (report.Counts{Authorised: 1, AuthorisedExempted: 1, ExemptedChecks: 1, UnderExemption: 2, Drones: 1}); r.Total != want {
		t.Errorf("total %+v, want %+v", r.Total, want)
	}
	if len(r.Zones) != 1 || r.Zones[0].Uses != 2 {
		t.Errorf("zones %+v, want EHAM used twice", r.Zones)
	}
}

// TestPendingWindow: an authorisation issued on a check is counted once
// however many checks come between them in the log, within the hour a
// check waits for one; a check older than that is counted as a check.
func TestPendingWindow(t *testing.T) {
	c := &chain{t: t}
	c.exemption("EX-1", "B-1", []string{"EHAM"}, exemptions.Selector{})
	check := func(at time.Time, pilot string) {
		c.add(exemptions.ActionCheck, at, []string{"EX-1"}, exemptions.CheckRecord{At: at, Unit: "AMS", Pilot: pilot, Drone: "D-1",
			Purpose: exemptions.PurposeForensic, ExemptionIDs: []string{"EX-1"}, ZoneIDs: []string{"EHAM"}, Verdict: "EXEMPTED"})
	}
	authorise := func(issued time.Time, pilot string) {
		c.add(exemptions.ActionAuthorise, issued, []string{"AU-1", "EX-1"}, exemptions.AuthorisationRecord{ID: "AU-1", IssuedAt: issued,
			ValidFrom: issued, ValidUntil: issued.Add(time.Hour), Unit: "AMS", Pilot: pilot, Drone: "D-1",
			Purpose: exemptions.PurposeForensic, Verdict: "EXEMPTED", ExemptionIDs: []string{"EX-1"}, ZoneIDs: []string{"EHAM"}})
	}
	t0 := mar.Add(time.Hour)
	check(t0, "P-A") // its authorisation follows 5,000 checks later, within the window
	for i := range 5000 {
		check(t0.Add(time.Duration(i)*time.Millisecond), "P-other")
	}
	authorise(t0, "P-A")
	check(t0.Add(time.Minute), "P-B") // its "authorisation" follows two hours later
	for i := range 5000 {
		check(t0.Add(2*time.Hour+time.Duration(i)*time.Millisecond), "P-other")
	}
	authorise(t0.Add(time.Minute), "P-B")
	r := build(t, report.Options{From: mar, Until: may}, c.events)
	if r.Total.Authorised != 2 || r.Total.ExemptedChecks != 10001 {
		t.Errorf("%d authorised, %d exempted checks; want 2, 10001", r.Total.Authorised, r.Total.ExemptedChecks)
	}
}
