package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/authorisation"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// AuthorisationConfig configures signed flight authorisations.
type AuthorisationConfig struct {
	// Key signs authorisations and revocation lists. Nil: issuing is
	// refused (FAILED_PRECONDITION), and the key set is empty.
	Key ed25519.PrivateKey
	// Previous are earlier signing keys' public halves, still published in
	// the key set so that authorisations they signed verify until they
	// expire (keep each for MaxValidity after rotating).
	Previous []ed25519.PublicKey
	// Issuer names the deployment in every authorisation; "nofly" when
	// empty.
	Issuer string
	// MaxValidity caps an authorisation's validity; DefaultMaxValidity
	// when 0. A flight plan whose window is longer is refused.
	MaxValidity time.Duration
	// ListValidity is how long a revocation list is current (its next
	// update after it is issued); DefaultListValidity when 0.
	ListValidity time.Duration
}

// Defaults of AuthorisationConfig.
const (
	DefaultMaxValidity  = 12 * time.Hour
	DefaultListValidity = time.Hour
	// maxSerial bounds a drone serial, in bytes.
	maxSerial = 100
	// maxName bounds an id, unit or exemption id in a request, in bytes.
	maxName = 200
)

// checkName bounds a name field of a request; required says it may not be
// empty.
func checkName(b *badRequest, field, v string, required bool) {
	switch {
	case required && v == "":
		b.add(field, "required")
	case len(v) > maxName:
		b.add(field, "at most %d bytes, got %d", maxName, len(v))
	}
}

// errNoSigningKey: issuing needs a signing key.
var errNoSigningKey = errors.New("this noflyd has no signing key: start it with --signing-key FILE to issue authorisations")

// authorisationServer serves nofly.v1.AuthorisationService. Everything is
// read-only after newAuthorisationServer.
type authorisationServer struct {
	noflyv1.UnimplementedAuthorisationServiceServer
	s      *Server
	store  exemptions.AuthorisationStore
	cfg    AuthorisationConfig
	keys   *authorisation.KeySet
	keySet []byte // keys as a COSE_KeySet
	kid    string // the signing key's id, for records
}

func newAuthorisationServer(s *Server, store exemptions.AuthorisationStore, cfg AuthorisationConfig) *authorisationServer {
	if cfg.Issuer == "" {
		cfg.Issuer = "nofly"
	}
	if cfg.MaxValidity <= 0 {
		cfg.MaxValidity = DefaultMaxValidity
	}
	if cfg.ListValidity <= 0 {
		cfg.ListValidity = DefaultListValidity
	}
	a := &authorisationServer{s: s, store: store, cfg: cfg, keys: &authorisation.KeySet{}}
	if cfg.Key != nil {
		k := authorisation.NewKey(cfg.Key.Public().(ed25519.PublicKey))
		a.keys.Keys = append(a.keys.Keys, k)
		a.kid = authorisation.KeyIDString(k.ID)
	}
	for _, p := range cfg.Previous {
		a.keys.Keys = append(a.keys.Keys, authorisation.NewKey(p))
	}
	if len(a.keys.Keys) > 0 {
		var err error
		if a.keySet, err = a.keys.Marshal(); err != nil {
			panic(err) // an array of maps of integers and bytes always encodes
		}
	}
	return a
}

// IssueAuthorisation implements nofly.v1.AuthorisationService.
func (a *authorisationServer) IssueAuthorisation(ctx context.Context, req *noflyv1.IssueAuthorisationRequest) (*noflyv1.IssueAuthorisationResponse, error) {
	if a.cfg.Key == nil {
		return nil, a.s.toStatus(ctx, errNoSigningKey)
	}
	var b badRequest
	fp := req.GetFlightPlan()
	switch serial := fp.GetOperator().GetDroneSerial(); {
	case fp == nil:
		b.add("flight_plan", "required")
	case strings.TrimSpace(serial) == "":
		b.add("flight_plan.operator.drone_serial", "required: an authorisation names its aircraft")
	case len(serial) > maxSerial:
		b.add("flight_plan.operator.drone_serial", "at most %d bytes, got %d", maxSerial, len(serial))
	}
	if err := b.err(); err != nil {
		return nil, a.s.toStatus(ctx, err)
	}
	// An exemption revoked between the check and the record fails the
	// record (ErrNotInForce); the check is then made again, on the
	// exemptions as they now are.
	for attempt := 0; ; attempt++ {
		resp, err := a.issue(ctx, fp)
		if errors.Is(err, exemptions.ErrNotInForce) && attempt == 0 {
			a.s.log.WarnContext(ctx, "an exemption changed while an authorisation was issued; checking again", "err", err)
			if a.s.exCache != nil {
				if rerr := a.s.exCache.Refresh(ctx); rerr != nil {
					return nil, a.s.toStatus(ctx, rerr)
				}
			}
			continue
		}
		var cf checkFailed
		if errors.As(err, &cf) {
			return nil, cf.status // CheckFlightPlan's answer, as it gave it
		}
		if err != nil {
			return nil, a.s.toStatus(ctx, err)
		}
		return resp, nil
	}
}

// checkFailed is the flight-plan check's error: already a gRPC status.
type checkFailed struct{ status error }

func (c checkFailed) Error() string { return c.status.Error() }

// issue checks fp exactly as CheckFlightPlan does (it calls it) and, when
// the flight may go ahead, signs and records the authorisation.
func (a *authorisationServer) issue(ctx context.Context, fp *noflyv1.FlightPlan) (*noflyv1.IssueAuthorisationResponse, error) {
	now := a.s.stamp()
	fp = wholeSeconds(fp, now)
	// Refuse a window no authorisation may have before checking (and
	// auditing) the plan; should the start or end be malformed, the check
	// says so.
	if fp.GetStart().IsValid() && (fp.End == nil || fp.End.IsValid()) {
		end := fp.GetStart().AsTime().Add(DefaultFlightDuration)
		if fp.End != nil {
			end = fp.End.AsTime()
		}
		if start := fp.GetStart().AsTime(); !end.Before(start) { // else the check names the problem
			if err := a.checkValidity(start, end, now); err != nil {
				return nil, err
			}
		}
	}
	// A refused plan is counted as a refused authorisation (refusals.go).
	check, err := a.s.CheckFlightPlan(context.WithValue(ctx, authorisingKey{}, true), &noflyv1.CheckFlightPlanRequest{FlightPlan: fp})
	if err != nil {
		return nil, checkFailed{err}
	}
	out := &noflyv1.IssueAuthorisationResponse{Check: check}
	if v := check.GetVerdict(); v != noflyv1.Verdict_VERDICT_CLEAR && v != noflyv1.Verdict_VERDICT_EXEMPTED {
		return out, nil
	}
	now = check.GetCheckedAt().AsTime()
	// Whole seconds, inside the window checked (which wholeSeconds made
	// whole already): the start rounded up, the end down.
	from := check.GetWindow().GetStart().AsTime()
	if t := from.Truncate(time.Second); !t.Equal(from) {
		from = t.Add(time.Second)
	}
	until := check.GetWindow().GetEnd().AsTime().Truncate(time.Second)
	if err := a.checkValidity(from, until, now); err != nil {
		return nil, err
	}
	pq, err := flightPlanQuery(&noflyv1.CheckFlightPlanRequest{FlightPlan: fp}, now)
	if err != nil {
		return nil, err
	}
	op := fp.GetOperator()
	au := &authorisation.Authorisation{
		Issuer: a.cfg.Issuer, IssuedAt: now, ValidFrom: from, ValidUntil: until,
		Drone: op.GetDroneSerial(), Unit: op.GetUnit(), Pilot: op.GetPilotId(),
		Purpose: string(purposeFromProto(fp.GetPurpose())),
		Volume:  volumeOf(pq),
		ZoneSet: check.GetZoneSet().GetVersion(),
		Verdict: strings.TrimPrefix(check.GetVerdict().String(), "VERDICT_"),
	}
	rec := exemptions.AuthorisationRecord{KeyID: a.kid, IssuedAt: now, ValidFrom: from, ValidUntil: until,
		Unit: au.Unit, Pilot: au.Pilot, Drone: au.Drone, Purpose: purposeFromProto(fp.GetPurpose()),
		IssuedBy:        exemptions.CheckRecord{Actor: callerName(ctx), Unit: au.Unit, Pilot: au.Pilot}.ActorName(),
		ClientReference: fp.GetClientReference(), Verdict: au.Verdict}
	for _, c := range check.GetConflicts() {
		z := authorisation.Zone{ID: c.GetZone().GetId(), Name: c.GetZone().GetName(),
			Restriction: strings.TrimPrefix(c.GetZone().GetRestriction().String(), "RESTRICTION_")}
		if ex := c.GetExemption(); ex != nil {
			z.Exemption = &authorisation.Exemption{ID: ex.GetId(), LegalBasis: ex.GetLegalBasis(), Conditions: ex.GetConditions()}
			rec.ExemptionIDs = append(rec.ExemptionIDs, ex.GetId())
		}
		au.Zones = append(au.Zones, z)
		rec.ZoneIDs = append(rec.ZoneIDs, z.ID)
	}
	for _, h := range check.GetAdvisories() {
		au.Advisories = append(au.Advisories, authorisation.Zone{ID: h.GetZone().GetId(), Name: h.GetZone().GetName(),
			Restriction: strings.TrimPrefix(h.GetZone().GetRestriction().String(), "RESTRICTION_"), Message: h.GetZone().GetMessage()})
	}
	rec, err = a.store.IssueAuthorisation(ctx, rec, func(id string) ([]byte, error) {
		au.ID = id
		return authorisation.Sign(a.cfg.Key, au)
	})
	if err != nil {
		return nil, err
	}
	a.s.log.InfoContext(ctx, "authorisation issued", "id", rec.ID, "drone", rec.Drone, "unit", rec.Unit, "pilot", rec.Pilot,
		"valid_from", rec.ValidFrom, "valid_until", rec.ValidUntil, "exemptions", rec.ExemptionIDs, "caller", callerLogName(ctx),
		"bytes", len(rec.Token))
	out.Authorisation, out.Record = rec.Token, recordToProto(&rec)
	return out, nil
}

// checkValidity refuses a validity from from to until, at now: longer than
// the maximum, over, or empty.
func (a *authorisationServer) checkValidity(from, until, now time.Time) error {
	var b badRequest
	switch {
	case until.Sub(from) > a.cfg.MaxValidity:
		b.add("flight_plan.end", "the window %s – %s is longer than an authorisation may be valid (%s): ask for shorter flights",
			from.Format(time.RFC3339), until.Format(time.RFC3339), a.cfg.MaxValidity)
	case until.Before(now):
		b.add("flight_plan.end", "%s has passed", until.Format(time.RFC3339))
	case until.Before(from):
		b.add("flight_plan.end", "the window is shorter than a second")
	}
	return b.err()
}

// wholeSeconds returns a copy of fp whose window starts and ends on whole
// seconds, as an authorisation's validity does: the start (now when
// absent) rounded up, the end cut down. The plan is checked for that
// window, so that the validity is exactly the window checked, and lies
// within the one asked for (an exemption valid from the start asked for
// still covers it). A flight that starts "now" is thus authorised from the
// next whole second.
func wholeSeconds(fp *noflyv1.FlightPlan, now time.Time) *noflyv1.FlightPlan {
	fp = proto.CloneOf(fp)
	start := now
	if fp.Start != nil {
		if !fp.Start.IsValid() {
			return fp // validation names it
		}
		start = fp.Start.AsTime()
	}
	if t := start.Truncate(time.Second); !t.Equal(start) {
		start = t.Add(time.Second)
	}
	fp.Start = timestamppb.New(start)
	if fp.End != nil && fp.End.IsValid() {
		fp.End = timestamppb.New(fp.End.AsTime().Truncate(time.Second))
	}
	return fp
}

// volumeOf is the authorised volume of a checked plan.
func volumeOf(pq planQuery) authorisation.Volume {
	refName := func(r geo.VerticalRef) string {
		if r == geo.RefUnknown {
			return ""
		}
		return r.String()
	}
	if q := pq.route; q != nil {
		v := authorisation.Volume{BufferM: q.Buffer, AltRef: refName(q.AltRef)}
		for _, w := range q.Waypoints {
			v.Route = append(v.Route, [3]float64{w.Point[0], w.Point[1], w.Alt})
		}
		return v
	}
	q := pq.area
	v := authorisation.Volume{BufferM: q.Buffer, AltRef: refName(q.Band.Ref)}
	if v.AltRef != "" {
		v.Lower, v.Upper = q.Band.Lower, q.Band.Upper
	}
	if q.Area.Kind == geo.ShapeCircle {
		v.Circle = &authorisation.Circle{Lon: q.Area.Center[0], Lat: q.Area.Center[1], RadiusM: q.Area.Radius}
		return v
	}
	for _, r := range q.Area.Polygons[0] {
		ring := make([][2]float64, len(r))
		for i, p := range r {
			ring[i] = [2]float64(p)
		}
		v.Polygon = append(v.Polygon, ring)
	}
	return v
}

// revokeRelying revokes the authorisations that relied on an exemption
// just revoked or superseded. The revocation list already leaves them out
// (it reads the exemptions' state); this records each revocation and its
// audit entry. A failure is logged, not returned: the exemption's change
// stands, and the list is right without this step.
func (s *Server) revokeRelying(ctx context.Context, exemptionID, reason, by string, at time.Time) {
	if s.authz == nil {
		return
	}
	note := fmt.Sprintf("exemption %s %s", exemptionID, strings.TrimPrefix(reason, "exemption-"))
	recs, err := s.authz.store.RevokeAuthorisationsRelyingOn(ctx, exemptionID,
		exemptions.AuthorisationRevocation{At: at, By: by, Reason: reason, Note: note})
	if err != nil {
		s.log.ErrorContext(ctx, "authorisations relying on the exemption not marked revoked; the revocation list lists them nonetheless",
			"exemption", exemptionID, "err", err)
		return
	}
	for _, r := range recs {
		s.log.InfoContext(ctx, "authorisation revoked", "id", r.ID, "reason", reason, "exemption", exemptionID, "by", by)
	}
}

// GetAuthorisation implements nofly.v1.AuthorisationService.
func (a *authorisationServer) GetAuthorisation(ctx context.Context, req *noflyv1.GetAuthorisationRequest) (*noflyv1.GetAuthorisationResponse, error) {
	var b badRequest
	checkName(&b, "id", req.GetId(), true)
	if err := b.err(); err != nil {
		return nil, a.s.toStatus(ctx, err)
	}
	rec, err := a.store.GetAuthorisation(ctx, req.GetId())
	if err != nil {
		return nil, a.s.toStatus(ctx, err)
	}
	return &noflyv1.GetAuthorisationResponse{Authorisation: recordToProto(&rec)}, nil
}

// ListAuthorisations implements nofly.v1.AuthorisationService.
func (a *authorisationServer) ListAuthorisations(ctx context.Context, req *noflyv1.ListAuthorisationsRequest) (*noflyv1.ListAuthorisationsResponse, error) {
	var b badRequest
	n := checkPageSize(&b, req.GetPageSize())
	checkName(&b, "unit", req.GetUnit(), false)
	checkName(&b, "exemption_id", req.GetExemptionId(), false)
	if err := b.err(); err != nil {
		return nil, a.s.toStatus(ctx, err)
	}
	recs, next, err := a.store.ListAuthorisations(ctx, exemptions.AuthorisationFilter{Unit: req.GetUnit(),
		ExemptionID: req.GetExemptionId(), PageSize: n, PageToken: req.GetPageToken()})
	if err != nil {
		return nil, a.s.toStatus(ctx, err)
	}
	resp := &noflyv1.ListAuthorisationsResponse{NextPageToken: next}
	for i := range recs {
		resp.Authorisations = append(resp.Authorisations, recordToProto(&recs[i]))
	}
	return resp, nil
}

// RevokeAuthorisation implements nofly.v1.AuthorisationService.
func (a *authorisationServer) RevokeAuthorisation(ctx context.Context, req *noflyv1.RevokeAuthorisationRequest) (*noflyv1.RevokeAuthorisationResponse, error) {
	now := a.s.stamp()
	var b badRequest
	checkName(&b, "id", req.GetId(), true)
	switch by := req.GetRevokedBy(); {
	case strings.TrimSpace(by) == "":
		b.add("revoked_by", "required: who revokes the authorisation")
	case len(by) > exemptions.MaxText:
		b.add("revoked_by", "at most %d bytes, got %d", exemptions.MaxText, len(by))
	}
	reason := revocationReasonFromProto[req.GetReason()]
	if reason != authorisation.RevokedWithdrawn && reason != authorisation.RevokedKeyCompromise {
		b.add("reason", "%s: want WITHDRAWN or KEY_COMPROMISE (exemption reasons are set by revoking the exemption)", req.GetReason())
	}
	switch note := req.GetNote(); {
	case strings.TrimSpace(note) == "":
		b.add("note", "required: why the authorisation is revoked")
	case len(note) > exemptions.MaxText:
		b.add("note", "at most %d bytes, got %d", exemptions.MaxText, len(note))
	}
	if err := b.err(); err != nil {
		return nil, a.s.toStatus(ctx, err)
	}
	rec, err := a.store.RevokeAuthorisation(ctx, req.GetId(), exemptions.AuthorisationRevocation{At: now, By: req.GetRevokedBy(),
		Reason: reason.String(), Note: req.GetNote()})
	if err != nil {
		return nil, a.s.toStatus(ctx, err)
	}
	a.s.log.InfoContext(ctx, "authorisation revoked", "id", rec.ID, "reason", reason.String(), "by", req.GetRevokedBy(), "note", req.GetNote())
	return &noflyv1.RevokeAuthorisationResponse{Authorisation: recordToProto(&rec)}, nil
}

// GetRevocationList implements nofly.v1.AuthorisationService. The list is
// signed afresh on each call from the records as they are: it names every
// authorisation revoked, or relying on an exemption revoked or superseded,
// that has not yet expired.
func (a *authorisationServer) GetRevocationList(ctx context.Context, _ *noflyv1.GetRevocationListRequest) (*noflyv1.GetRevocationListResponse, error) {
	if a.cfg.Key == nil {
		return nil, a.s.toStatus(ctx, errNoSigningKey)
	}
	now := a.s.stamp()
	recs, err := a.store.RevokedAuthorisations(ctx, now)
	if err != nil {
		return nil, a.s.toStatus(ctx, err)
	}
	rl := &authorisation.RevocationList{Issuer: a.cfg.Issuer, IssuedAt: now, NextUpdate: now.Add(a.cfg.ListValidity)}
	for _, r := range recs {
		code, err := authorisation.ParseReasonCode(r.Revocation.Reason)
		if err != nil {
			code = authorisation.RevokedUnspecified
		}
		rl.Entries = append(rl.Entries, authorisation.Revoked{ID: r.ID, RevokedAt: r.Revocation.At, Reason: code})
	}
	b, err := authorisation.SignRevocationList(a.cfg.Key, rl)
	if err != nil {
		return nil, a.s.toStatus(ctx, err)
	}
	return &noflyv1.GetRevocationListResponse{RevocationList: b, IssuedAt: timestamppb.New(now.Truncate(time.Second)),
		NextUpdate: timestamppb.New(rl.NextUpdate.Truncate(time.Second)), Entries: int32(len(rl.Entries))}, nil
}

// GetKeySet implements nofly.v1.AuthorisationService.
func (a *authorisationServer) GetKeySet(ctx context.Context, _ *noflyv1.GetKeySetRequest) (*noflyv1.GetKeySetResponse, error) {
	if len(a.keys.Keys) == 0 {
		return nil, a.s.toStatus(ctx, errNoSigningKey)
	}
	resp := &noflyv1.GetKeySetResponse{KeySet: a.keySet}
	for _, k := range a.keys.Keys {
		resp.KeyIds = append(resp.KeyIds, authorisation.KeyIDString(k.ID))
	}
	return resp, nil
}

var revocationReasonFromProto = map[noflyv1.AuthorisationRevocationReason]authorisation.ReasonCode{
	noflyv1.AuthorisationRevocationReason_AUTHORISATION_REVOCATION_REASON_EXEMPTION_REVOKED:    authorisation.RevokedExemptionRevoked,
	noflyv1.AuthorisationRevocationReason_AUTHORISATION_REVOCATION_REASON_EXEMPTION_SUPERSEDED: authorisation.RevokedExemptionSuperseded,
	noflyv1.AuthorisationRevocationReason_AUTHORISATION_REVOCATION_REASON_WITHDRAWN:            authorisation.RevokedWithdrawn,
	noflyv1.AuthorisationRevocationReason_AUTHORISATION_REVOCATION_REASON_KEY_COMPROMISE:       authorisation.RevokedKeyCompromise,
}

func recordToProto(r *exemptions.AuthorisationRecord) *noflyv1.AuthorisationRecord {
	p := &noflyv1.AuthorisationRecord{
		Id: r.ID, KeyId: r.KeyID, IssuedAt: timeToProto(r.IssuedAt),
		Validity: windowToProto(geo.TimeWindow{Start: r.ValidFrom, End: r.ValidUntil}),
		Operator: &noflyv1.Operator{Unit: r.Unit, PilotId: r.Pilot, DroneSerial: r.Drone},
		Purpose:  purposeToProto(r.Purpose), IssuedBy: r.IssuedBy,
		Verdict:      noflyv1.Verdict(noflyv1.Verdict_value["VERDICT_"+r.Verdict]),
		ExemptionIds: r.ExemptionIDs, ZoneIds: r.ZoneIDs, Authorisation: r.Token,
	}
	if rev := r.Revocation; rev != nil {
		p.RevokedAt, p.RevokedBy, p.RevocationNote = timeToProto(rev.At), rev.By, rev.Note
		if code, err := authorisation.ParseReasonCode(rev.Reason); err == nil {
			p.RevocationReason = noflyv1.AuthorisationRevocationReason(code)
		}
	}
	return p
}
