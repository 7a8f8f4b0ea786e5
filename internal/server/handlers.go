package server

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/logline"
)

// Each handler: validate the request, ask geo, map any error (toStatus).

// CheckPosition implements nofly.v1.GeofenceService.
func (s *Server) CheckPosition(ctx context.Context, req *noflyv1.CheckPositionRequest) (*noflyv1.CheckPositionResponse, error) {
	set := s.current()
	now := s.stamp()
	c := set.positionCheck()
	defer set.done(c)
	if err := c.init(set.idx, req, now); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	q := c.q
	if err := s.withFleet(ctx, &c.f); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	// The BASIC view names the records that do not cover a conflict but
	// not why: their reasons are not put in words (c.decide).
	r, asOf, err := s.decideWith(ctx, c.decide, c.hits, c.f, req.GetClientReference(), now)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	s.countRefusal(ctx, &r, &c.f, now)
	var l checkLine
	if s.checkLog(ctx, &l, "position checked") {
		l.str("client_reference", req.GetClientReference())
		l.float("lat", q.Point[1])
		l.float("lon", q.Point[0])
		if !c.noAlt { // no altitude is logged as none, not as 0 m of an unknown reference
			l.float("alt", q.Alt.Metres)
			l.str("alt_ref", q.Alt.Ref.String())
		}
		l.time("at", q.At)
		s.endCheckLog(ctx, &l, &r, req.GetOperator(), req.GetPurpose())
	}
	c.limits(set.idx, s.snapshot(), s.rules())
	a := c.answer(&r, now, set.info, asOf)
	offerAnswer(ctx, a)
	return &a.resp, nil
}

// CheckFlightPlan implements nofly.v1.GeofenceService.
func (s *Server) CheckFlightPlan(ctx context.Context, req *noflyv1.CheckFlightPlanRequest) (*noflyv1.CheckFlightPlanResponse, error) {
	set := s.current()
	now := s.stamp()
	c, err := newPlanCheck(ctx, set.idx, req, now)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	fp := req.GetFlightPlan()
	if err := s.withFleet(ctx, &c.f); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	r, asOf, err := s.decide(ctx, c.hits, c.f, fp.GetClientReference(), now)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	s.countRefusal(ctx, &r, &c.f, now)
	if err := c.limits(ctx, set.idx, s.snapshot(), s.rules()); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	var l checkLine
	if s.checkLog(ctx, &l, "flight plan checked") {
		l.str("client_reference", fp.GetClientReference())
		l.str("kind", c.kind)
		l.int("waypoints", c.size)
		l.time("start", c.pq.window.Start)
		l.time("end", c.pq.window.End)
		l.float("buffer_m", fp.GetBufferM())
		s.endCheckLog(ctx, &l, &r, fp.GetOperator(), fp.GetPurpose())
	}
	return c.response(&r, fp, now, set.info, asOf), nil
}

// flight is who flies and why, for the exemption rules.
func flight(op *noflyv1.Operator, purpose noflyv1.Purpose) exemptions.Flight {
	return exemptions.Flight{Unit: op.GetUnit(), Pilot: op.GetPilotId(), Drone: op.GetDroneSerial(),
		Purpose: purposeFromProto(purpose)}
}

// decide has the check decided (exemptions.Decide) on the exemptions in
// force, and records an exempted verdict in the audit log (auditCheck). It
// also returns when those exemptions were last seen to match the store
// (zero without an exemption store).
//
// The exemptions come from the cache, which may be behind the store:
// another server, or a write of this one, may have revoked or superseded a
// record the verdict relied on. The store then refuses the entry
// (exemptions.ErrNotInForce), and the check is decided again on the
// store's current records (Refresh, then a full Reload should the version
// not show the change), so that a revoked exemption never clears a flight.
// Should the store still refuse, the check fails, not cleared.
func (s *Server) decide(ctx context.Context, hits []geo.Hit, f exemptions.Flight, clientRef string, now time.Time) (exemptions.Result, time.Time, error) {
	return s.decideWith(ctx, exemptions.DecideFleet, hits, f, clientRef, now)
}

// decideWith is decide deciding with decideFn: exemptions.DecideFleet, or a
// variant that says less of why no record covers a conflict.
func (s *Server) decideWith(ctx context.Context, decideFn func([]geo.Hit, exemptions.Flight, *exemptions.Snapshot, *exemptions.Fleet, time.Time) exemptions.Result,
	hits []geo.Hit, f exemptions.Flight, clientRef string, now time.Time) (exemptions.Result, time.Time, error) {
	if s.exCache == nil {
		return decideFn(hits, f, nil, s.rules(), now), time.Time{}, nil
	}
	var (
		r    exemptions.Result
		asOf time.Time
		err  error
	)
	for i, refresh := range []func(context.Context) error{nil, s.exCache.Refresh, s.exCache.Reload} {
		if i > 0 {
			s.log.WarnContext(ctx, "a check relied on an exemption no longer in force; judging it again on the current records", "err", err)
			if rerr := refresh(ctx); rerr != nil {
				return r, asOf, &checkNotRecordedError{ids: r.AppliedIDs(), err: rerr}
			}
		}
		var snap *exemptions.Snapshot
		snap, asOf = s.exCache.Current()
		r = decideFn(hits, f, snap, s.rules(), now)
		if err = s.auditCheck(ctx, &r, f, clientRef, now); !errors.Is(err, exemptions.ErrNotInForce) {
			break
		}
	}
	return r, asOf, err
}

// auditCheck appends a check whose verdict relied on exemptions to the
// audit log. The check is answered only once that entry is stored: no
// exempted flight goes unrecorded. When it cannot be stored (the database
// is unreachable) the check fails, UNAVAILABLE: the flight is not cleared.
func (s *Server) auditCheck(ctx context.Context, r *exemptions.Result, f exemptions.Flight, clientRef string, now time.Time) error {
	if r.Verdict != exemptions.Exempted || s.exStore == nil {
		return nil
	}
	ids := r.AppliedIDs()
	_, err := s.exStore.RecordCheck(ctx, exemptions.CheckRecord{At: now, Actor: callerName(ctx), Unit: f.Unit, Pilot: f.Pilot, Drone: f.Drone,
		Purpose: f.Purpose, ClientReference: clientRef, ExemptionIDs: ids, ZoneIDs: r.ConflictZones(),
		Verdict: r.Verdict.String()})
	if err != nil {
		return &checkNotRecordedError{ids: ids, err: err}
	}
	return nil
}

// A check's log line says what was checked, the verdict, and who asked
// and why: the caller (its certificate subject, or "local" without TLS)
// and the flight's unit and pilot (the caller's own for a pilot). Every
// check writes one, so with noflyd's handler (logline) the line is written
// straight into a pooled buffer; with any other handler it goes through
// slog as typed attributes. The text is the same either way.

// checkLine is a check's log line being written: a logline.Line, or the
// attributes for slog.
type checkLine struct {
	line  *logline.Line
	msg   string
	attrs []slog.Attr
}

// checkLog starts l, a check's log line, and reports whether info lines are
// logged at all.
func (s *Server) checkLog(ctx context.Context, l *checkLine, msg string) bool {
	if h, ok := s.log.Handler().(*logline.Handler); ok {
		if l.line = h.Line(ctx, slog.LevelInfo, msg); l.line != nil {
			return true
		}
	}
	if !s.log.Enabled(ctx, slog.LevelInfo) {
		return false
	}
	l.msg, l.attrs = msg, make([]slog.Attr, 0, 18)
	return true
}

func (l *checkLine) str(k, v string) {
	if l.line != nil {
		l.line.String(k, v)
	} else {
		l.attrs = append(l.attrs, slog.String(k, v))
	}
}

func (l *checkLine) float(k string, v float64) {
	if l.line != nil {
		l.line.Float(k, v)
	} else {
		l.attrs = append(l.attrs, slog.Float64(k, v))
	}
}

func (l *checkLine) int(k string, v int) {
	if l.line != nil {
		l.line.Int(k, v)
	} else {
		l.attrs = append(l.attrs, slog.Int(k, v))
	}
}

func (l *checkLine) time(k string, v time.Time) {
	if l.line != nil {
		l.line.Time(k, v)
	} else {
		l.attrs = append(l.attrs, slog.Time(k, v))
	}
}

func (l *checkLine) ids(k string, v []string) {
	if l.line != nil {
		l.line.Strings(k, v)
	} else {
		l.attrs = append(l.attrs, slog.Any(k, v))
	}
}

// endCheckLog adds the verdict and who asked to the line and writes it.
func (s *Server) endCheckLog(ctx context.Context, l *checkLine, r *exemptions.Result, op *noflyv1.Operator, purpose noflyv1.Purpose) {
	l.str("verdict", r.Verdict.String())
	if l.line != nil {
		l.line.StringsOf("conflicts", len(r.Conflicts), func(i int) string { return r.Conflicts[i].Hit.Zone.ID })
	} else {
		l.ids("conflicts", r.ConflictZones())
	}
	l.int("advisories", len(r.Advisories))
	l.ids("exemptions", r.AppliedIDs())
	l.str("caller", callerLogName(ctx))
	l.str("unit", op.GetUnit())
	l.str("pilot", op.GetPilotId())
	l.str("drone", op.GetDroneSerial())
	l.str("purpose", strings.TrimPrefix(purpose.String(), "PURPOSE_"))
	if l.line != nil {
		_ = l.line.Write() // as slog's handlers, a failed write is not the check's failure
		return
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, l.msg, l.attrs...)
}

// ListZones implements nofly.v1.GeofenceService.
func (s *Server) ListZones(ctx context.Context, req *noflyv1.ListZonesRequest) (*noflyv1.ListZonesResponse, error) {
	set := s.current()
	bbox, pageSize, after, view, err := listQuery(req)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	zones := set.idx.Zones() // sorted by id
	if bbox != nil {
		zones = nil
		set.idx.Search(*bbox, func(z *geo.Zone) bool {
			zones = append(zones, z)
			return true
		})
		slices.SortFunc(zones, func(a, b *geo.Zone) int {
			return cmp.Or(strings.Compare(a.ID, b.ID), strings.Compare(a.VariantKey(), b.VariantKey()))
		})
	}
	// Resume after the last id of the previous page. By id rather than by
	// offset, so that a reload between pages neither repeats nor skips the
	// zones that stayed. The variants of a zone (one id) stay on one page.
	start := sort.Search(len(zones), func(i int) bool { return zones[i].ID > after })
	end := min(start+pageSize, len(zones))
	for end < len(zones) && end > start && zones[end].ID == zones[end-1].ID {
		end++
	}
	resp := &noflyv1.ListZonesResponse{ZoneSet: proto.CloneOf(set.info)}
	for _, z := range zones[start:end] {
		resp.Zones = append(resp.Zones, zoneToProto(z, view))
	}
	if end < len(zones) {
		resp.NextPageToken = encodePageToken(zones[end-1].ID)
	}
	return resp, nil
}

// GetZone implements nofly.v1.GeofenceService.
func (s *Server) GetZone(ctx context.Context, req *noflyv1.GetZoneRequest) (*noflyv1.GetZoneResponse, error) {
	set := s.current()
	id, view, err := getQuery(req)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	vs := set.idx.Variants(id)
	if len(vs) == 0 {
		return nil, s.toStatus(ctx, &notFoundError{kind: "zone", id: id})
	}
	resp := &noflyv1.GetZoneResponse{Zone: zoneToProto(vs[0], view), ZoneSet: proto.CloneOf(set.info)}
	for _, z := range vs[1:] {
		resp.Variants = append(resp.Variants, zoneToProto(z, view))
	}
	return resp, nil
}
