package server

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
)

// TestRefusalsCounted: DENIED checks are counted per unit and purpose,
// reported at once (unsealed), and sealed into the audit log once their
// day has ended, after which the report counts them from the log.
func TestRefusalsCounted(t *testing.T) {
	f := newExFixture(t) // no exemption: T-PROHIB refuses
	ctx := context.Background()
	deny := func(unit string, p noflyv1.Purpose) {
		t.Helper()
		req := positionIn(40, clock)
		req.Operator.Unit, req.Purpose = unit, p
		resp, err := f.checks.CheckPosition(ctx, req)
		if err != nil || resp.GetVerdict() != noflyv1.Verdict_VERDICT_DENIED {
			t.Fatalf("check: %v %v", resp.GetVerdict(), err)
		}
	}
	for range 3 {
		deny("AMS", noflyv1.Purpose_PURPOSE_FORENSIC)
	}
	deny("RTM", noflyv1.Purpose_PURPOSE_PUBLIC_ORDER)
	// A clear check is not counted.
	clear := positionIn(40, clock)
	clear.Position.Latitude = 10
	if resp, err := f.checks.CheckPosition(ctx, clear); err != nil || resp.GetVerdict() != noflyv1.Verdict_VERDICT_CLEAR {
		t.Fatalf("clear check: %v %v", resp.GetVerdict(), err)
	}
	reports := noflyv1.NewReportServiceClient(f.conn)
	report := func() *noflyv1.GetReportResponse {
		t.Helper()
		resp, err := reports.GetReport(ctx, reportReq(noflyv1.ReportGrouping_REPORT_GROUPING_UNIT, noflyv1.ReportGrouping_REPORT_GROUPING_PURPOSE))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	rows := func(resp *noflyv1.GetReportResponse) map[string]string {
		out := map[string]string{}
		for _, r := range resp.GetRows() {
			c := r.GetCounts()
			out[strings.Join(r.GetKey(), "|")] = itoa(c.GetRefused()) + "/" + itoa(c.GetRefusedAirspace()) + "/" + itoa(c.GetRefusedFleet())
		}
		return out
	}
	want := map[string]string{"AMS|FORENSIC": "3/3/0", "RTM|PUBLIC_ORDER": "1/1/0"}
	resp := report()
	if got := rows(resp); !sameMap(got, want) || resp.GetTotal().GetRefused() != 4 || resp.GetRefusedUnsealed() != 4 || resp.GetHeadSeq() != 0 {
		t.Errorf("today: rows %v, %d refused (%d unsealed), head %d; want %v, 4 (4), 0", got, resp.GetTotal().GetRefused(),
			resp.GetRefusedUnsealed(), resp.GetHeadSeq(), want)
	}

	// The next day: the report's flush seals them; the same numbers, now
	// from the log.
	*f.now = clock.Add(24 * time.Hour)
	resp = report()
	if got := rows(resp); !sameMap(got, want) || resp.GetTotal().GetRefused() != 4 || resp.GetRefusedUnsealed() != 0 || resp.GetHeadSeq() != 1 {
		t.Errorf("sealed: rows %v, %d refused (%d unsealed), head %d; want %v, 4 (0), 1", got, resp.GetTotal().GetRefused(),
			resp.GetRefusedUnsealed(), resp.GetHeadSeq(), want)
	}
	events, err := f.admin.ListAuditEvents(ctx, &noflyv1.ListAuditEventsRequest{Action: noflyv1.AuditAction_AUDIT_ACTION_REFUSALS})
	if err != nil || len(events.GetEvents()) != 1 || events.GetEvents()[0].GetActor() != "noflyd" ||
		!strings.Contains(events.GetEvents()[0].GetDetailJson(), `"day":"2026-05-01"`) {
		t.Errorf("refusal entries: %v %v", events, err)
	}
	for _, who := range []string{"P1", "52.05", "4.05"} {
		if strings.Contains(events.GetEvents()[0].GetEntryJson(), who) {
			t.Errorf("the sealed counts hold %s: %s", who, events.GetEvents()[0].GetEntryJson())
		}
	}
	if v, err := f.store.VerifyAudit(ctx); err != nil || !v.OK() {
		t.Errorf("verify: %v %v", v.Problems, err)
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCountRefusalAllocs: the checks' hook allocates nothing, for a
// refusal whose counter exists and for any other verdict.
func TestCountRefusalAllocs(t *testing.T) {
	s := &Server{refused: newRefusalCounts(nil)}
	ctx := context.Background()
	fl := exemptions.Flight{Unit: "AMS", Purpose: exemptions.PurposeForensic}
	denied, clear := exemptions.Result{Verdict: exemptions.Denied}, exemptions.Result{Verdict: exemptions.Clear}
	s.countRefusal(ctx, &denied, &fl, clock)
	if n := testing.AllocsPerRun(1000, func() {
		s.countRefusal(ctx, &denied, &fl, clock)
		s.countRefusal(ctx, &clear, &fl, clock)
	}); n != 0 {
		t.Errorf("%v allocations a check", n)
	}
	k := refusalKey{day: clock.Unix() / 86400, unit: "AMS", purpose: exemptions.PurposeForensic, kind: exemptions.RefusedAirspace}
	if got := s.refused.m[k]; got != 1002 {
		t.Errorf("counted %d, want 1002", got)
	}
}

// TestReportDetail: an auditor may not have the detail, and asking writes
// nothing; an administrator's request is an audit entry, and the answer
// lists the checks counted with their pilot.
func TestReportDetail(t *testing.T) {
	srv, f := newReportFixture(t, func(s exemptions.Store) exemptions.Store { return s })
	srv.auth = &Auth{}
	as := func(role Role) context.Context {
		return context.WithValue(context.Background(), identityKey{}, Identity{Subject: "CN=" + string(role), Role: role})
	}
	req := reportReq()
	req.Detail = true
	if _, err := srv.rep.GetReport(as(RoleAuditor), req); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("auditor: %v, want PERMISSION_DENIED", err)
	}
	if es, _, _ := f.store.Audit(context.Background(), exemptions.AuditFilter{}); len(es) != 4 {
		t.Errorf("a refused detail request wrote to the log: %d entries, want 4", len(es))
	}
	resp, err := srv.rep.GetReport(as(RoleAdmin), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetDetailSeq() != 5 || resp.GetHeadSeq() != 5 || len(resp.GetRecords()) != 3 {
		t.Fatalf("detail entry %d, head %d, %d records; want 5, 5, 3", resp.GetDetailSeq(), resp.GetHeadSeq(), len(resp.GetRecords()))
	}
	if r := resp.GetRecords()[0]; r.GetKind() != "exempted_check" || r.GetPilotId() != "P1" || r.GetUnit() != "AMS" || r.GetSeq() != 2 ||
		strings.Join(r.GetZoneIds(), ",") != "T-PROHIB" || !r.GetAt().AsTime().Equal(clock) {
		t.Errorf("first record %v", r)
	}
	es, _, err := f.store.Audit(context.Background(), exemptions.AuditFilter{Action: exemptions.ActionReportDetail})
	if err != nil || len(es) != 1 || es[0].Actor != "CN=admin" || !strings.Contains(string(es[0].Detail), `"from":"2026-04-30T12:00:00Z"`) {
		t.Errorf("detail entries %+v %v", es, err)
	}
	req.Detail = false
	if resp, err := srv.rep.GetReport(as(RoleAuditor), req); err != nil || len(resp.GetRecords()) != 0 {
		t.Errorf("without detail: %d records, %v", len(resp.GetRecords()), err)
	}
}

// BenchmarkCountRefusal is the checks' cost of counting refusals: a
// DENIED check's increment, and a CLEAR one's comparison.
func BenchmarkCountRefusal(b *testing.B) {
	s := &Server{refused: newRefusalCounts(nil)}
	ctx := context.Background()
	fl := exemptions.Flight{Unit: "AMS", Purpose: exemptions.PurposeForensic}
	for _, r := range []exemptions.Result{{Verdict: exemptions.Denied}, {Verdict: exemptions.Clear}} {
		b.Run(r.Verdict.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.countRefusal(ctx, &r, &fl, clock)
			}
		})
	}
}
