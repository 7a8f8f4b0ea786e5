package server

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// tamperStore changes each page of the log Audit returns.
type tamperStore struct {
	exemptions.Store
	edit func(es []exemptions.AuditEvent)
}

func (s *tamperStore) Audit(ctx context.Context, f exemptions.AuditFilter) ([]exemptions.AuditEvent, string, error) {
	es, next, err := s.Store.Audit(ctx, f)
	if s.edit != nil {
		s.edit(es)
	}
	return es, next, err
}

// newReportFixture is a server on a store of three exempted checks of
// AMS/P1 (made through CheckPosition) and one exemption.
func newReportFixture(t *testing.T, wrap func(exemptions.Store) exemptions.Store) (*Server, *exFixture) {
	t.Helper()
	f := newExFixture(t)
	f.create(t, record())
	for range 3 {
		resp, err := f.checks.CheckPosition(context.Background(), positionIn(40, clock))
		if err != nil || resp.GetVerdict() != noflyv1.Verdict_VERDICT_EXEMPTED {
			t.Fatalf("check: %v %v", resp.GetVerdict(), err)
		}
	}
	srv, err := New(context.Background(), Config{Load: func(context.Context) ([]geo.Zone, error) { return nil, nil },
		Log: slog.New(slog.DiscardHandler), Exemptions: wrap(f.store)})
	if err != nil {
		t.Fatal(err)
	}
	return srv, f
}

func reportReq(by ...noflyv1.ReportGrouping) *noflyv1.GetReportRequest {
	return &noflyv1.GetReportRequest{From: timestamppb.New(clock.Add(-24 * time.Hour)), Until: timestamppb.New(clock.Add(24 * time.Hour)),
		By: by, MinGroup: 1}
}

func TestGetReport(t *testing.T) {
	srv, f := newReportFixture(t, func(s exemptions.Store) exemptions.Store { return s })
	ctx := context.Background()
	resp, err := srv.rep.GetReport(ctx, reportReq(noflyv1.ReportGrouping_REPORT_GROUPING_UNIT, noflyv1.ReportGrouping_REPORT_GROUPING_MODEL))
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.store.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetHeadSeq() != 4 || resp.GetHeadHash() != v.HeadHash {
		t.Errorf("head %d %s, want 4 %s", resp.GetHeadSeq(), resp.GetHeadHash(), v.HeadHash)
	}
	if c := resp.GetTotal(); c.GetExemptedChecks() != 3 || c.GetUnderExemption() != 3 || c.GetAuthorised() != 0 {
		t.Errorf("total %v, want 3 exempted checks", c)
	}
	if len(resp.GetRows()) != 1 || strings.Join(resp.GetRows()[0].GetKey(), "|") != "AMS|none given" {
		t.Errorf("rows %v, want AMS, none given (the checks named no drone)", resp.GetRows())
	}
	if z := resp.GetZones(); len(z) != 1 || z[0].GetZoneId() != "T-PROHIB" || z[0].GetUses() != 3 ||
		strings.Join(z[0].GetLegalBases(), ",") != "ILT/2026/0042" {
		t.Errorf("zones %v, want T-PROHIB 3 uses under ILT/2026/0042", z)
	}
	// The default threshold hides AMS's three checks.
	req := reportReq(noflyv1.ReportGrouping_REPORT_GROUPING_UNIT)
	req.MinGroup = 0
	resp, err = srv.rep.GetReport(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.GetRows(); len(r) != 1 || !r[0].GetSmall() || r[0].GetCounts() != nil || resp.GetMinGroup() != 5 {
		t.Errorf("rows %v (min group %d), want AMS small", r, resp.GetMinGroup())
	}
}

func TestGetReportBadRequests(t *testing.T) {
	srv, _ := newReportFixture(t, func(s exemptions.Store) exemptions.Store { return s })
	tests := []struct {
		name  string
		edit  func(*noflyv1.GetReportRequest)
		field string
	}{
		{"no from", func(r *noflyv1.GetReportRequest) { r.From = nil }, "from"},
		{"no until", func(r *noflyv1.GetReportRequest) { r.Until = nil }, "until"},
		{"backwards", func(r *noflyv1.GetReportRequest) { r.From, r.Until = r.Until, r.From }, "until"},
		{"unspecified grouping", func(r *noflyv1.GetReportRequest) { r.By = []noflyv1.ReportGrouping{0} }, "by[0]"},
		{"unknown grouping", func(r *noflyv1.GetReportRequest) { r.By = []noflyv1.ReportGrouping{99} }, "by[0]"},
		{"twice", func(r *noflyv1.GetReportRequest) {
			r.By = []noflyv1.ReportGrouping{noflyv1.ReportGrouping_REPORT_GROUPING_UNIT, noflyv1.ReportGrouping_REPORT_GROUPING_UNIT}
		}, "by[1]"},
		{"negative threshold", func(r *noflyv1.GetReportRequest) { r.MinGroup = -1 }, "min_group"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := reportReq()
			tc.edit(req)
			_, err := srv.rep.GetReport(context.Background(), req)
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tc.field) {
				t.Fatalf("got %v, want INVALID_ARGUMENT naming %s", err, tc.field)
			}
		})
	}
}

// TestGetReportRefusesABrokenLog: no report from a log whose entries do
// not chain.
func TestGetReportRefusesABrokenLog(t *testing.T) {
	tests := []struct {
		name string
		st   func(exemptions.Store) *tamperStore
		msg  string
	}{
		{"an entry read differs", func(s exemptions.Store) *tamperStore {
			return &tamperStore{Store: s, edit: func(es []exemptions.AuditEvent) {
				if len(es) > 2 {
					es[2].Entry = append([]byte(nil), es[2].Entry...)
					es[2].Entry[len(es[2].Entry)-2] ^= 1
				}
			}}
		}, "entry 3 does not hash"},
		{"an entry left out", func(s exemptions.Store) *tamperStore {
			return &tamperStore{Store: s, edit: func(es []exemptions.AuditEvent) {
				if len(es) > 2 {
					es[1] = es[2]
				}
			}}
		}, "entry 3 follows entry 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := newReportFixture(t, func(s exemptions.Store) exemptions.Store { return tc.st(s) })
			_, err := srv.rep.GetReport(context.Background(), reportReq())
			if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), tc.msg) {
				t.Fatalf("got %v, want FAILED_PRECONDITION with %q", err, tc.msg)
			}
		})
	}
}
