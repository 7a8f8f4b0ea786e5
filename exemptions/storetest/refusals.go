package storetest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nofly-project/nofly/exemptions"
)

// testRefusals: counts add up per counter; only ended days are sealed,
// once, in one entry that holds them; counts that arrive late for a
// sealed day are sealed in a further entry; the log verifies throughout;
// bad counts are refused; a report's detail request is an entry.
func testRefusals(t *testing.T, s exemptions.Store) {
	rs, ok := s.(exemptions.RefusalStore)
	if !ok {
		t.Skip("the store keeps no refusal counts")
	}
	ctx := context.Background()
	mustCreate(t, s, Record("AMS", "NL-A")) // entry 1
	count := func(day, unit string, p exemptions.Purpose, k exemptions.RefusalKind, auth bool, n int64) exemptions.RefusalCount {
		return exemptions.RefusalCount{Day: day, Unit: unit, Purpose: p, Kind: k, Authorisation: auth, Count: n}
	}
	add := func(cs ...exemptions.RefusalCount) {
		t.Helper()
		if err := rs.AddRefusals(ctx, cs); err != nil {
			t.Fatalf("AddRefusals: %v", err)
		}
	}
	unsealed := func(from, until string) ([]exemptions.RefusalCount, int64) {
		t.Helper()
		cs, head, err := rs.UnsealedRefusals(ctx, from, until)
		if err != nil {
			t.Fatalf("UnsealedRefusals: %v", err)
		}
		return cs, head
	}
	verify := func() {
		t.Helper()
		v, err := s.VerifyAudit(ctx)
		if err != nil || !v.OK() {
			t.Fatalf("VerifyAudit: %v %v", v.Problems, err)
		}
	}
	fo, po := exemptions.PurposeForensic, exemptions.PurposePublicOrder
	air, fleet := exemptions.RefusedAirspace, exemptions.RefusedFleet
	add(count("2026-03-01", "AMS", fo, air, false, 2), count("2026-03-01", "AMS", fo, fleet, false, 1),
		count("2026-03-02", "RTM", po, air, true, 4))
	add(count("2026-03-01", "AMS", fo, air, false, 3)) // adds to the first
	for _, bad := range []exemptions.RefusalCount{
		count("1 March", "AMS", fo, air, false, 1),
		count("2026-03-01", "AMS", fo, "weather", false, 1),
		count("2026-03-01", "AMS", fo, air, false, 0),
		count("2026-03-01", strings.Repeat("U", exemptions.MaxText+1), fo, air, false, 1),
	} {
		if err := rs.AddRefusals(ctx, []exemptions.RefusalCount{count("2026-03-05", "AMS", fo, air, false, 1), bad}); err == nil {
			t.Errorf("AddRefusals took %+v", bad)
		}
	}
	want := []exemptions.RefusalCount{count("2026-03-01", "AMS", fo, air, false, 5), count("2026-03-01", "AMS", fo, fleet, false, 1),
		count("2026-03-02", "RTM", po, air, true, 4)}
	got, head := unsealed("2026-03-01", "2026-03-03")
	if d := cmp.Diff(want, got); d != "" || head != 1 {
		t.Fatalf("unsealed at head %d (want 1), -want +got:\n%s", head, d)
	}
	if got, _ := unsealed("2026-03-02", "2026-03-03"); len(got) != 1 || got[0].Unit != "RTM" {
		t.Errorf("unsealed of 2 March: %+v", got)
	}

	at := time.Date(2026, 3, 2, 0, 0, 5, 0, time.UTC)
	e, sealed, err := rs.SealRefusals(ctx, "2026-03-02", "noflyd", at)
	if err != nil || !sealed || e.Seq != 2 || e.Action != exemptions.ActionRefusals || e.Actor != "noflyd" || !e.At.Equal(at) {
		t.Fatalf("SealRefusals: %+v %v %v", e, sealed, err)
	}
	var seal exemptions.RefusalSeal
	if err := json.Unmarshal(e.Detail, &seal); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want[:2], seal.Counts); d != "" {
		t.Errorf("sealed, -want +got:\n%s", d)
	}
	if _, sealed, err := rs.SealRefusals(ctx, "2026-03-02", "noflyd", at); sealed || err != nil {
		t.Errorf("sealed twice: %v %v", sealed, err)
	}
	verify()
	got, head = unsealed("2026-03-01", "2026-03-03")
	if d := cmp.Diff(want[2:], got); d != "" || head != 2 {
		t.Errorf("unsealed after the seal at head %d (want 2), -want +got:\n%s", head, d)
	}

	// A late count for the sealed day: unsealed, then sealed on its own.
	add(count("2026-03-01", "AMS", fo, air, false, 1))
	if got, _ := unsealed("2026-03-01", "2026-03-02"); len(got) != 1 || got[0].Count != 1 {
		t.Errorf("the late count: %+v", got)
	}
	e, sealed, err = rs.SealRefusals(ctx, "2026-03-03", "noflyd", at.Add(24*time.Hour))
	if err != nil || !sealed || e.Seq != 3 {
		t.Fatalf("second seal: %+v %v %v", e, sealed, err)
	}
	seal = exemptions.RefusalSeal{}
	if err := json.Unmarshal(e.Detail, &seal); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]exemptions.RefusalCount{count("2026-03-01", "AMS", fo, air, false, 1), want[2]}, seal.Counts); d != "" {
		t.Errorf("second seal, -want +got:\n%s", d)
	}
	if got, _ := unsealed("2026-01-01", "2027-01-01"); len(got) != 0 {
		t.Errorf("unsealed after both seals: %+v", got)
	}
	verify()
	if es, _, err := s.Audit(ctx, exemptions.AuditFilter{Action: exemptions.ActionRefusals}); err != nil || len(es) != 2 {
		t.Errorf("Audit lists %d refusal entries (%v), want 2", len(es), err)
	}

	from, until := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	e, err = rs.RecordReportDetail(ctx, "CN=admin", at, exemptions.ReportDetail{From: from, Until: until, By: []string{"unit"}})
	if err != nil || e.Seq != 4 || e.Action != exemptions.ActionReportDetail || e.Actor != "CN=admin" {
		t.Fatalf("RecordReportDetail: %+v %v", e, err)
	}
	var d exemptions.ReportDetail
	if err := json.Unmarshal(e.Detail, &d); err != nil || !d.From.Equal(from) || !d.Until.Equal(until) || len(d.By) != 1 {
		t.Errorf("report detail entry %s: %v", e.Detail, err)
	}
	verify()
}
