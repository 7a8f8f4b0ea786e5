package server

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/report"
	"github.com/nofly-project/nofly/fleet"
)

// reportServer serves nofly.v1.ReportService from the exemption store's
// audit log.
type reportServer struct {
	noflyv1.UnimplementedReportServiceServer
	s *Server
	// drones says the make and model of a drone for reports grouped by
	// manufacturer or model when the store keeps no drone registry (it then
	// knows none, and reports name every drone "unregistered"); with a
	// registry each report reads it once (registryInfo).
	drones report.DroneInfo
	// log is the exemption store's audit log, read undecoded when the
	// store can (report.StoredLog).
	log report.Log
	// refusals keeps the refusal counters and records detail requests;
	// nil when the store does not (no refusals reported, no detail).
	refusals exemptions.RefusalStore
}

// storedLog is the store's Audit (through the metrics) and its
// AuditEntries.
type storedLog struct {
	report.Log
	report.StoredLog
}

func newReportServer(s *Server, st exemptions.Store) *reportServer {
	r := &reportServer{s: s, drones: report.NoRegistry, log: s.exStore}
	if sl, ok := st.(report.StoredLog); ok {
		r.log = storedLog{s.exStore, sl}
	}
	if rs, ok := st.(exemptions.RefusalStore); ok {
		r.refusals = rs
		s.refused = newRefusalCounts(rs)
	}
	return r
}

var groupingFromProto = map[noflyv1.ReportGrouping]report.Grouping{
	noflyv1.ReportGrouping_REPORT_GROUPING_PURPOSE:      report.ByPurpose,
	noflyv1.ReportGrouping_REPORT_GROUPING_UNIT:         report.ByUnit,
	noflyv1.ReportGrouping_REPORT_GROUPING_MANUFACTURER: report.ByManufacturer,
	noflyv1.ReportGrouping_REPORT_GROUPING_MODEL:        report.ByModel,
	noflyv1.ReportGrouping_REPORT_GROUPING_ZONE:         report.ByZone,
	noflyv1.ReportGrouping_REPORT_GROUPING_MONTH:        report.ByMonth,
}

// maxMinGroup bounds min_group: larger hides every group and is a mistake.
const maxMinGroup = 1000

// GetReport implements nofly.v1.ReportService. It adds this server's
// refusals counted in memory to the store, reads the refusal counts not
// yet sealed and the log's last entry at one instant, then reads the log
// up to that entry, checking every link of the chain, and counts.
//
// With detail (administrators only) it first writes the request to the
// audit log: no record is shown unless that entry is stored.
func (r *reportServer) GetReport(ctx context.Context, req *noflyv1.GetReportRequest) (*noflyv1.GetReportResponse, error) {
	if req.GetDetail() {
		if id, _ := CallerIdentity(ctx); r.s.auth != nil && !id.Local && id.Role != RoleAdmin {
			r.s.log.WarnContext(ctx, "permission denied", "method", noflyv1.ReportService_GetReport_FullMethodName, "subject", id.Subject,
				"role", string(id.Role), "reason", "a report with detail is for administrators only")
			return nil, status.Errorf(codes.PermissionDenied, "%s: detail: a report with pilots and individual records is for administrators only (role %s)",
				id.Subject, id.Role)
		}
		if r.refusals == nil {
			return nil, status.Error(codes.Unimplemented, "detail: the exemption store cannot record the request in the audit log")
		}
	}
	var b badRequest
	o := report.Options{Drones: r.drones, MinGroup: int(req.GetMinGroup())}
	if r.s.drones != nil {
		info, err := registryInfo(ctx, r.s.drones)
		if err != nil {
			return nil, r.s.toStatus(ctx, err)
		}
		o.Drones = info
	}
	if req.GetFrom() == nil {
		b.add("from", "required")
	}
	if req.GetUntil() == nil {
		b.add("until", "required")
	}
	o.From = checkTimestamp(&b, "from", req.GetFrom(), o.From)
	o.Until = checkTimestamp(&b, "until", req.GetUntil(), o.Until)
	if !o.From.IsZero() && !o.Until.IsZero() && !o.Until.After(o.From) {
		b.add("until", "must be after from")
	}
	for i, g := range req.GetBy() {
		field := fmt.Sprintf("by[%d]", i)
		if !checkEnum(&b, field, g) {
			continue
		}
		rg, ok := groupingFromProto[g]
		switch {
		case !ok:
			b.add(field, "required: PURPOSE, UNIT, MANUFACTURER, MODEL, ZONE or MONTH")
		case slices.Contains(o.By, rg):
			b.add(field, "%s given twice", rg)
		default:
			o.By = append(o.By, rg)
		}
	}
	if m := req.GetMinGroup(); m < 0 || m > maxMinGroup {
		b.add("min_group", "%d is not 0 to %d", m, maxMinGroup)
	}
	if err := b.err(); err != nil {
		return nil, r.s.toStatus(ctx, err)
	}
	var detailSeq int64
	if req.GetDetail() {
		by := make([]string, len(o.By))
		for i, g := range o.By {
			by[i] = string(g)
		}
		e, err := r.refusals.RecordReportDetail(ctx, callerLogName(ctx), r.s.stamp(), exemptions.ReportDetail{From: o.From, Until: o.Until, By: by})
		if err != nil {
			return nil, r.s.toStatus(ctx, err)
		}
		r.s.log.InfoContext(ctx, "report with detail", "by", callerLogName(ctx), "from", o.From, "until", o.Until, "seq", e.Seq)
		o.Detail, detailSeq = true, e.Seq
	}
	if r.refusals != nil {
		// This server's last seconds of refusals, then what every server
		// has added and not sealed, with the log's end at that instant.
		_ = r.s.flushRefusals(ctx) // logs its own errors; the counts stay for the next flush
		from, until := report.PeriodDays(o.From, o.Until)
		unsealed, head, err := r.refusals.UnsealedRefusals(ctx, from, until)
		if err != nil {
			return nil, r.s.toStatus(ctx, err)
		}
		o.Unsealed, o.UpTo = unsealed, head
	}
	rep, err := r.compute(ctx, o)
	if err != nil {
		return nil, err
	}
	resp := reportToProto(req.GetBy(), rep)
	resp.DetailSeq = detailSeq
	return resp, nil
}

// compute verifies the log and reports on it.
func (r *reportServer) compute(ctx context.Context, o report.Options) (report.Report, error) {
	rep, err := report.Compute(ctx, r.log, o)
	switch {
	case errors.Is(err, report.ErrChain):
		r.s.log.ErrorContext(ctx, "audit log does not verify; no report", "err", err)
		return rep, status.Error(codes.FailedPrecondition, err.Error())
	case err != nil:
		return rep, r.s.toStatus(ctx, err)
	}
	return rep, nil
}

func reportToProto(by []noflyv1.ReportGrouping, r report.Report) *noflyv1.GetReportResponse {
	resp := &noflyv1.GetReportResponse{From: timestamppb.New(r.From), Until: timestamppb.New(r.Until), By: by,
		HeadSeq: r.HeadSeq, HeadHash: r.HeadHash, MinGroup: int32(r.MinGroup), Total: countsToProto(r.Total),
		UnregisteredDrones: int32(r.Unregistered), RefusedUnsealed: int32(r.Unsealed)}
	for _, row := range r.Rows {
		pr := &noflyv1.ReportRow{Key: row.Key, Small: row.Small}
		if !row.Small {
			pr.Counts = countsToProto(row.Counts)
		}
		resp.Rows = append(resp.Rows, pr)
	}
	for _, z := range r.Zones {
		resp.Zones = append(resp.Zones, &noflyv1.ReportZoneUse{ZoneId: z.Zone, Uses: int32(z.Uses), LegalBases: z.LegalBases, Small: z.Small})
	}
	for _, rec := range r.Records {
		pr := &noflyv1.ReportRecord{Kind: rec.Kind, Seq: rec.Seq, Id: rec.ID, At: timestamppb.New(rec.At), Unit: rec.Unit,
			PilotId: rec.Pilot, DroneSerial: rec.Drone, Purpose: string(rec.Purpose), ExemptionIds: rec.ExemptionIDs, ZoneIds: rec.ZoneIDs}
		if !rec.Until.IsZero() {
			pr.Until = timestamppb.New(rec.Until)
		}
		resp.Records = append(resp.Records, pr)
	}
	return resp
}

func countsToProto(c report.Counts) *noflyv1.ReportCounts {
	return &noflyv1.ReportCounts{Authorised: int32(c.Authorised), AuthorisedExempted: int32(c.AuthorisedExempted),
		ExemptedChecks: int32(c.ExemptedChecks), UnderExemption: int32(c.UnderExemption), Drones: int32(c.Drones),
		Refused: int32(c.Refused), RefusedAirspace: int32(c.RefusedAirspace), RefusedFleet: int32(c.RefusedFleet),
		RefusedAuthorisations: int32(c.RefusedAuthorisations)}
}

// registryInfo reads the whole drone registry once (retired drones too:
// a report looks back) and answers from it.
func registryInfo(ctx context.Context, st exemptions.DroneStore) (report.DroneInfo, error) {
	all, err := st.ListDrones(ctx, "")
	if err != nil {
		return nil, err
	}
	byMake := make(map[string][2]string, len(all))
	for _, d := range all {
		byMake[d.Serial] = [2]string{d.Manufacturer, d.Model}
	}
	return func(serial string) (string, string, bool) {
		if n, err := fleet.NormalizeSerial(serial); err == nil {
			serial = n
		}
		m, ok := byMake[serial]
		return m[0], m[1], ok
	}, nil
}
