package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// exemptionServer serves nofly.v1.ExemptionService for a Server. Who issues
// and revokes is the request's issued_by and revoked_by, which the
// authorisation interceptor (auth.go) has set to the caller's certificate
// subject; without TLS they are as the request gave them.
type exemptionServer struct {
	noflyv1.UnimplementedExemptionServiceServer
	s *Server
}

// changed refreshes the cache after a write, so that the next check sees
// it. A failed refresh is logged: the write itself is durable, and the
// cache's Watch loop will catch up.
func (e *exemptionServer) changed(ctx context.Context) {
	if err := e.s.exCache.Refresh(ctx); err != nil {
		e.s.log.ErrorContext(ctx, "exemptions written but not yet in the checks' cache", "err", err)
	}
}

// CreateExemption implements nofly.v1.ExemptionService.
func (e *exemptionServer) CreateExemption(ctx context.Context, req *noflyv1.CreateExemptionRequest) (*noflyv1.CreateExemptionResponse, error) {
	now := e.s.stamp()
	var b badRequest
	rid := writeRequest(&b, "create", req, req.GetRequestId())
	ex, err := e.exemptionFromProto(req.GetExemption(), "exemption", now)
	if err := joinBad(&b, err); err != nil {
		return nil, e.s.toStatus(ctx, err)
	}
	out, err := e.s.exStore.Create(ctx, rid, ex)
	if err != nil {
		return nil, e.s.toStatus(ctx, err)
	}
	e.changed(ctx)
	e.s.log.InfoContext(ctx, "exemption created", "id", out.ID, "unit", out.Holder.Unit, "by", out.IssuedBy,
		"legal_basis", out.LegalBasis)
	return &noflyv1.CreateExemptionResponse{Exemption: exemptionToProto(&out), Warnings: e.warnings(&out)}, nil
}

// SupersedeExemption implements nofly.v1.ExemptionService.
func (e *exemptionServer) SupersedeExemption(ctx context.Context, req *noflyv1.SupersedeExemptionRequest) (*noflyv1.SupersedeExemptionResponse, error) {
	now := e.s.stamp()
	var b badRequest
	if req.GetId() == "" {
		b.add("id", "required")
	}
	rid := writeRequest(&b, "supersede", req, req.GetRequestId())
	ex, err := e.exemptionFromProto(req.GetExemption(), "exemption", now)
	if err := joinBad(&b, err); err != nil {
		return nil, e.s.toStatus(ctx, err)
	}
	out, err := e.s.exStore.Supersede(ctx, rid, req.GetId(), ex)
	if err != nil {
		return nil, e.s.toStatus(ctx, err)
	}
	e.changed(ctx)
	e.s.revokeRelying(ctx, req.GetId(), exemptions.AuthorisationExemptionSuperseded, out.IssuedBy, now)
	e.s.log.InfoContext(ctx, "exemption superseded", "id", req.GetId(), "by_record", out.ID, "by", out.IssuedBy)
	return &noflyv1.SupersedeExemptionResponse{Exemption: exemptionToProto(&out), Warnings: e.warnings(&out)}, nil
}

// warnings says what the issuer of ex should know that is no reason to
// refuse it: each named zone whose data allows no exemption, which the
// record, without override, will never cover. Zones are as loaded now; a
// reload may change them, and the checks decide by the zones they meet.
func (e *exemptionServer) warnings(ex *exemptions.Exemption) []string {
	set := e.s.current()
	if ex.Override || set == nil {
		return nil
	}
	var out []string
	for _, id := range ex.ZoneIDs {
		if z, ok := set.idx.Zone(id); ok && z.Exemptions == geo.ExemptionsNotAllowed {
			out = append(out, fmt.Sprintf("zone %s allows no exemption (regulationExemption NO): %s, which does not override, "+
				"will not cover it; only an exemption that names it and overrides covers it", id, ex.ID))
		}
	}
	return out
}

// RevokeExemption implements nofly.v1.ExemptionService.
func (e *exemptionServer) RevokeExemption(ctx context.Context, req *noflyv1.RevokeExemptionRequest) (*noflyv1.RevokeExemptionResponse, error) {
	now := e.s.stamp()
	var b badRequest
	if req.GetId() == "" {
		b.add("id", "required")
	}
	if strings.TrimSpace(req.GetRevokedBy()) == "" {
		b.add("revoked_by", "required: who revokes the exemption")
	}
	if strings.TrimSpace(req.GetReason()) == "" {
		b.add("reason", "required: why the exemption is revoked")
	}
	if len(req.GetReason()) > exemptions.MaxText {
		b.add("reason", "at most %d bytes", exemptions.MaxText)
	}
	rid := writeRequest(&b, "revoke", req, req.GetRequestId())
	if err := b.err(); err != nil {
		return nil, e.s.toStatus(ctx, err)
	}
	out, err := e.s.exStore.Revoke(ctx, rid, req.GetId(), exemptions.Revocation{By: req.GetRevokedBy(), At: now, Reason: req.GetReason()})
	if err != nil {
		return nil, e.s.toStatus(ctx, err)
	}
	e.changed(ctx)
	e.s.revokeRelying(ctx, out.ID, exemptions.AuthorisationExemptionRevoked, req.GetRevokedBy(), now)
	e.s.log.InfoContext(ctx, "exemption revoked", "id", out.ID, "by", req.GetRevokedBy(), "reason", req.GetReason())
	return &noflyv1.RevokeExemptionResponse{Exemption: exemptionToProto(&out)}, nil
}

// GetExemption implements nofly.v1.ExemptionService.
func (e *exemptionServer) GetExemption(ctx context.Context, req *noflyv1.GetExemptionRequest) (*noflyv1.GetExemptionResponse, error) {
	if req.GetId() == "" {
		var b badRequest
		b.add("id", "required")
		return nil, e.s.toStatus(ctx, b.err())
	}
	ex, err := e.s.exStore.Get(ctx, req.GetId())
	if err != nil {
		return nil, e.s.toStatus(ctx, err)
	}
	return &noflyv1.GetExemptionResponse{Exemption: exemptionToProto(&ex)}, nil
}

// ListExemptions implements nofly.v1.ExemptionService.
func (e *exemptionServer) ListExemptions(ctx context.Context, req *noflyv1.ListExemptionsRequest) (*noflyv1.ListExemptionsResponse, error) {
	var b badRequest
	f := exemptions.ListFilter{Unit: req.GetUnit(), ZoneID: req.GetZoneId(), IncludeRevoked: req.GetIncludeRevoked(),
		PageToken: req.GetPageToken()}
	f.ActiveAt = checkTimestamp(&b, "active_at", req.GetActiveAt(), time.Time{})
	f.PageSize = checkPageSize(&b, req.GetPageSize())
	if err := b.err(); err != nil {
		return nil, e.s.toStatus(ctx, err)
	}
	list, next, err := e.s.exStore.List(ctx, f)
	if err != nil {
		return nil, e.s.toStatus(ctx, err)
	}
	resp := &noflyv1.ListExemptionsResponse{NextPageToken: next}
	for i := range list {
		resp.Exemptions = append(resp.Exemptions, exemptionToProto(&list[i]))
	}
	return resp, nil
}

var actionFromProto = map[noflyv1.AuditAction]exemptions.Action{
	noflyv1.AuditAction_AUDIT_ACTION_CREATE:    exemptions.ActionCreate,
	noflyv1.AuditAction_AUDIT_ACTION_SUPERSEDE: exemptions.ActionSupersede,
	noflyv1.AuditAction_AUDIT_ACTION_REVOKE:    exemptions.ActionRevoke,
	noflyv1.AuditAction_AUDIT_ACTION_CHECK:     exemptions.ActionCheck,

	noflyv1.AuditAction_AUDIT_ACTION_AUTHORISE:            exemptions.ActionAuthorise,
	noflyv1.AuditAction_AUDIT_ACTION_REVOKE_AUTHORISATION: exemptions.ActionRevokeAuthorisation,

	noflyv1.AuditAction_AUDIT_ACTION_DRONE_ADD:    exemptions.ActionDroneAdd,
	noflyv1.AuditAction_AUDIT_ACTION_DRONE_UPDATE: exemptions.ActionDroneUpdate,
	noflyv1.AuditAction_AUDIT_ACTION_DRONE_RETIRE: exemptions.ActionDroneRetire,

	noflyv1.AuditAction_AUDIT_ACTION_REFUSALS:      exemptions.ActionRefusals,
	noflyv1.AuditAction_AUDIT_ACTION_REPORT_DETAIL: exemptions.ActionReportDetail,
}

// ListAuditEvents implements nofly.v1.ExemptionService.
func (e *exemptionServer) ListAuditEvents(ctx context.Context, req *noflyv1.ListAuditEventsRequest) (*noflyv1.ListAuditEventsResponse, error) {
	var b badRequest
	checkEnum(&b, "action", req.GetAction())
	f := exemptions.AuditFilter{Action: actionFromProto[req.GetAction()], ExemptionID: req.GetExemptionId(),
		Actor: req.GetActor(), PageSize: checkPageSize(&b, req.GetPageSize()), PageToken: req.GetPageToken(),
		MaxBytes: auditPageBytes}
	if err := b.err(); err != nil {
		return nil, e.s.toStatus(ctx, err)
	}
	events, next, err := e.s.exStore.Audit(ctx, f)
	if err != nil {
		return nil, e.s.toStatus(ctx, err)
	}
	resp := &noflyv1.ListAuditEventsResponse{NextPageToken: next}
	for _, ev := range events {
		pe := &noflyv1.AuditEvent{Seq: ev.Seq, At: timestamppb.New(ev.At), Actor: ev.Actor,
			ExemptionIds: ev.ExemptionIDs, ClientReference: ev.ClientReference, RequestId: ev.RequestID, DetailJson: string(ev.Detail),
			PrevHash: ev.PrevHash, Hash: ev.Hash, EntryJson: string(ev.Entry)}
		for p, a := range actionFromProto {
			if a == ev.Action {
				pe.Action = p
			}
		}
		if proto.Size(pe) > auditPageBytes { // alone on its page (the store pages by size)
			pe.DetailJson, pe.ClientReference, pe.Abridged = "", "", true
		}
		resp.Events = append(resp.Events, pe)
	}
	return resp, nil
}

// auditPageBytes bounds a page of ListAuditEvents by the size of its
// entries, well under the 4 MiB a gRPC client accepts by default (the
// store pages by EntrySize, an upper bound of an entry's size in the
// answer). An entry larger on its own comes alone, abridged: detail_json
// and client_reference are in its entry_json. A variable for tests.
var auditPageBytes = 1 << 20

// VerifyAuditLog implements nofly.v1.ExemptionService.
func (e *exemptionServer) VerifyAuditLog(ctx context.Context, _ *noflyv1.VerifyAuditLogRequest) (*noflyv1.VerifyAuditLogResponse, error) {
	v, err := e.s.exStore.VerifyAudit(ctx)
	if err != nil {
		return nil, e.s.toStatus(ctx, err)
	}
	if !v.OK() {
		e.s.log.ErrorContext(ctx, "audit log verification failed", "problems", v.Problems)
	}
	return &noflyv1.VerifyAuditLogResponse{Ok: v.OK(), Entries: v.Entries, Records: int32(v.Records),
		HeadHash: v.HeadHash, Problems: v.Problems}, nil
}

// writeRequest is the exemptions.Request of a write (method) named by id,
// its request_id: none without one; else the UUID, and a digest of the
// method and the request without its request_id. The request is as the
// authorisation interceptor left it, with the caller as its issuer or
// revoker, so that the same request_id from another caller is another
// request. A retry sends the same bytes; a server stamp (issued_at, now)
// is not in the request.
func writeRequest(b *badRequest, method string, req proto.Message, id string) exemptions.Request {
	if id == "" {
		return exemptions.Request{}
	}
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		b.add("request_id", "not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx): make one per write, e.g. with uuidgen")
		return exemptions.Request{}
	}
	m := proto.Clone(req)
	rf := m.ProtoReflect()
	rf.Clear(rf.Descriptor().Fields().ByName("request_id"))
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil { // a message the server just decoded
		b.add("request_id", "cannot digest the request: %v", err)
		return exemptions.Request{}
	}
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write(body)
	return exemptions.Request{ID: u.String(), Digest: hex.EncodeToString(h.Sum(nil))}
}

func checkPageSize(b *badRequest, n int32) int {
	switch {
	case n < 0:
		b.add("page_size", "%d is negative", n)
		return 0
	case n > MaxPageSize:
		b.add("page_size", "%d is more than the limit of %d", n, MaxPageSize)
		return 0
	}
	return int(n)
}

// joinBad adds err's problems, when it is a bad request, to b and returns
// all of them; any other error is returned as it is.
func joinBad(b *badRequest, err error) error {
	var bad *badRequestError
	if err != nil && !errors.As(err, &bad) {
		return err
	}
	if bad != nil {
		b.violations = append(b.violations, bad.violations...)
	}
	return b.err()
}

var restrictionFromProto = map[noflyv1.Restriction]geo.Restriction{
	noflyv1.Restriction_RESTRICTION_PROHIBITED:        geo.Prohibited,
	noflyv1.Restriction_RESTRICTION_REQ_AUTHORISATION: geo.ReqAuthorisation,
	noflyv1.Restriction_RESTRICTION_CONDITIONAL:       geo.Conditional,
	noflyv1.Restriction_RESTRICTION_NO_RESTRICTION:    geo.NoRestriction,
}

// purposeFromProto is the exemptions package's name for a purpose; "" for
// none.
func purposeFromProto(p noflyv1.Purpose) exemptions.Purpose {
	if p == noflyv1.Purpose_PURPOSE_UNSPECIFIED {
		return ""
	}
	return exemptions.Purpose(strings.TrimPrefix(p.String(), "PURPOSE_"))
}

func purposeToProto(p exemptions.Purpose) noflyv1.Purpose {
	return noflyv1.Purpose(noflyv1.Purpose_value["PURPOSE_"+string(p)])
}

// exemptionFromProto checks a record in a request (at field path f) and
// turns it into one to issue, by issued_by at now. Output-only fields are
// ignored. Zone ids must name loaded zones.
func (e *exemptionServer) exemptionFromProto(p *noflyv1.Exemption, f string, now time.Time) (exemptions.Exemption, error) {
	var b badRequest
	if p == nil {
		b.add(f, "required")
		return exemptions.Exemption{}, b.err()
	}
	ex := exemptions.Exemption{
		Holder: exemptions.Holder{Unit: p.GetHolder().GetUnit(), Pilots: p.GetHolder().GetPilotIds(),
			Drones: p.GetHolder().GetDroneSerials()},
		ZoneIDs:    p.GetZoneIds(),
		Conditions: p.GetConditions(),
		LegalBasis: p.GetLegalBasis(),
		Override:   p.GetOverride(),
		IssuedBy:   p.GetIssuedBy(),
		IssuedAt:   now,
	}
	if sel := p.GetSelector(); sel != nil {
		ex.Selector = exemptions.Selector{Country: strings.ToUpper(sel.GetCountry()), Reasons: sel.GetReasons()}
		for i, r := range sel.GetRestrictions() {
			if gr, ok := restrictionFromProto[r]; ok {
				ex.Selector.Restrictions = append(ex.Selector.Restrictions, gr)
			} else {
				b.add(fmt.Sprintf("%s.selector.restrictions[%d]", f, i), "unknown or unspecified restriction %d", r)
			}
		}
	}
	if a := p.GetArea(); a != nil {
		switch s := a.GetShape().(type) {
		case *noflyv1.ExemptionArea_Polygon:
			ex.Area = &geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{polygonFromProto(&b, f+".area.polygon", s.Polygon)}}
		case *noflyv1.ExemptionArea_Circle:
			c := s.Circle
			if c.GetCenter() == nil {
				b.add(f+".area.circle.center", "required")
			} else {
				checkLatLon(&b, f+".area.circle.center.", c.Center.Latitude, c.Center.Longitude)
			}
			if r := c.GetRadiusM(); math.IsNaN(r) || r <= 0 {
				b.add(f+".area.circle.radius_m", "%v m is not positive", r)
			}
			ex.Area = &geo.Shape{Kind: geo.ShapeCircle, Radius: c.GetRadiusM(),
				Center: orb.Point{c.GetCenter().GetLongitude(), c.GetCenter().GetLatitude()}}
		default:
			b.add(f+".area.shape", "required: a polygon or a circle")
		}
	}
	ex.ValidFrom = checkTimestamp(&b, f+".valid_from", p.GetValidFrom(), time.Time{}).UTC()
	ex.ValidUntil = checkTimestamp(&b, f+".valid_until", p.GetValidUntil(), time.Time{}).UTC()
	ex.Ceiling.Metres = p.GetCeilingM()
	if checkEnum(&b, f+".ceiling_reference", p.GetCeilingReference()) {
		ex.Ceiling.Ref = refFromProto[p.GetCeilingReference()]
	}
	for i, pp := range p.GetPurposes() {
		if pp == noflyv1.Purpose_PURPOSE_UNSPECIFIED || !checkEnum(&b, fmt.Sprintf("%s.purposes[%d]", f, i), pp) {
			if pp == noflyv1.Purpose_PURPOSE_UNSPECIFIED {
				b.add(fmt.Sprintf("%s.purposes[%d]", f, i), "unspecified: name a purpose")
			}
			continue
		}
		ex.Purposes = append(ex.Purposes, purposeFromProto(pp))
	}
	if len(b.violations) > 0 {
		return ex, b.err()
	}
	set := e.s.current()
	b.addErr(f, ex.Validate(func(id string) bool { _, ok := set.idx.Zone(id); return ok }))
	return ex, b.err()
}

func exemptionToProto(ex *exemptions.Exemption) *noflyv1.Exemption {
	p := &noflyv1.Exemption{
		Id: ex.ID,
		Holder: &noflyv1.ExemptionHolder{Unit: ex.Holder.Unit, PilotIds: slices.Clone(ex.Holder.Pilots),
			DroneSerials: slices.Clone(ex.Holder.Drones)},
		ZoneIds:          slices.Clone(ex.ZoneIDs),
		ValidFrom:        timeToProto(ex.ValidFrom),
		ValidUntil:       timeToProto(ex.ValidUntil),
		CeilingM:         ex.Ceiling.Metres,
		CeilingReference: refToProto[ex.Ceiling.Ref],
		Conditions:       ex.Conditions,
		LegalBasis:       ex.LegalBasis,
		Override:         ex.Override,
		IssuedBy:         ex.IssuedBy,
		IssuedAt:         timeToProto(ex.IssuedAt),
		Supersedes:       ex.Supersedes,
		SupersededBy:     ex.SupersededBy,
	}
	if !ex.Selector.IsZero() {
		p.Selector = &noflyv1.ZoneSelector{Country: ex.Selector.Country, Reasons: slices.Clone(ex.Selector.Reasons)}
		for _, r := range ex.Selector.Restrictions {
			p.Selector.Restrictions = append(p.Selector.Restrictions, restrictionToProto[r])
		}
	}
	if a := ex.Area; a != nil {
		switch a.Kind {
		case geo.ShapeCircle:
			p.Area = &noflyv1.ExemptionArea{Shape: &noflyv1.ExemptionArea_Circle{Circle: &noflyv1.Circle{
				Center: position(a.Center), RadiusM: a.Radius}}}
		case geo.ShapePolygon:
			if len(a.Polygons) > 0 {
				p.Area = &noflyv1.ExemptionArea{Shape: &noflyv1.ExemptionArea_Polygon{Polygon: polygonToProto(a.Polygons[0])}}
			}
		}
	}
	for _, pp := range ex.Purposes {
		p.Purposes = append(p.Purposes, purposeToProto(pp))
	}
	if r := ex.Revocation; r != nil {
		p.Revocation = &noflyv1.Revocation{RevokedBy: r.By, RevokedAt: timeToProto(r.At), Reason: r.Reason}
	}
	return p
}

func appliedToProto(ex *exemptions.Exemption) *noflyv1.AppliedExemption {
	return &noflyv1.AppliedExemption{Id: ex.ID, LegalBasis: ex.LegalBasis, Conditions: ex.Conditions,
		ValidUntil: timeToProto(ex.ValidUntil), CeilingM: ex.Ceiling.Metres, CeilingReference: refToProto[ex.Ceiling.Ref]}
}
