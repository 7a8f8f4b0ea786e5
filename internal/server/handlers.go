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
)

// Each handler: validate the request, ask geo, map any error (toStatus).

// CheckPosition implements nofly.v1.GeofenceService.
func (s *Server) CheckPosition(ctx context.Context, req *noflyv1.CheckPositionRequest) (*noflyv1.CheckPositionResponse, error) {
	set := s.current()
	now := s.stamp()
	c, err := newPositionCheck(set.idx, req, now)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	q := c.q
	if err := s.withFleet(ctx, &c.f); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	r, asOf, err := s.decide(ctx, c.hits, c.f, req.GetClientReference(), now)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	s.countRefusal(ctx, &r, &c.f, now)
	if s.log.Enabled(ctx, slog.LevelInfo) {
		var buf [checkLogAttrs + 6]slog.Attr
		where := append(buf[:0], slog.String("client_reference", req.GetClientReference()),
			slog.Float64("lat", q.Point[1]), slog.Float64("lon", q.Point[0]))
		if !c.noAlt { // no altitude is logged as none, not as 0 m of an unknown reference
			where = append(where, slog.Float64("alt", q.Alt.Metres), slog.String("alt_ref", q.Alt.Ref.String()))
		}
		s.logCheck(ctx, "position checked", &r, req.GetOperator(), req.GetPurpose(), append(where, slog.Time("at", q.At)))
	}
	c.limits(set.idx, s.snapshot(), s.rules())
	return c.response(&r, now, set.info, asOf), nil
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
	if s.log.Enabled(ctx, slog.LevelInfo) {
		var buf [checkLogAttrs + 6]slog.Attr
		s.logCheck(ctx, "flight plan checked", &r, fp.GetOperator(), fp.GetPurpose(), append(buf[:0],
			slog.String("client_reference", fp.GetClientReference()), slog.String("kind", c.kind), slog.Int("waypoints", c.size),
			slog.Time("start", c.pq.window.Start), slog.Time("end", c.pq.window.End), slog.Float64("buffer_m", fp.GetBufferM())))
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
	if s.exCache == nil {
		return exemptions.DecideFleet(hits, f, nil, s.rules(), now), time.Time{}, nil
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
		r = exemptions.DecideFleet(hits, f, snap, s.rules(), now)
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

// logCheck records a check with who asked and why: the caller (its
// certificate subject, or "local" without TLS) and the flight's unit and
// pilot (the caller's own for a pilot). where is the check's own
// attributes; it is extended by checkLogAttrs, so give it room for them
// (every check is logged: its attributes are built without boxing).
func (s *Server) logCheck(ctx context.Context, msg string, r *exemptions.Result, op *noflyv1.Operator, purpose noflyv1.Purpose, where []slog.Attr) {
	attrs := append(where,
		slog.String("verdict", r.Verdict.String()),
		idsAttr("conflicts", r.ConflictZones()), slog.Int("advisories", len(r.Advisories)), idsAttr("exemptions", r.AppliedIDs()),
		slog.String("caller", callerLogName(ctx)), slog.String("unit", op.GetUnit()), slog.String("pilot", op.GetPilotId()),
		slog.String("drone", op.GetDroneSerial()),
		slog.String("purpose", strings.TrimPrefix(purpose.String(), "PURPOSE_")))
	s.log.LogAttrs(ctx, slog.LevelInfo, msg, attrs...)
}

// checkLogAttrs is how many attributes logCheck adds.
const checkLogAttrs = 9

// idsAttr is a list of ids as a log attribute. Written as JSON, a list of
// plain ids (printable ASCII that JSON need not escape) is written by hand
// rather than by reflection; the text is the same.
func idsAttr(key string, ids []string) slog.Attr {
	if ids == nil {
		return slog.Any(key, ids) // null
	}
	for _, id := range ids {
		for i := 0; i < len(id); i++ {
			if c := id[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				return slog.Any(key, ids)
			}
		}
	}
	return slog.Any(key, plainIDs(ids))
}

// plainIDs is a list of ids none of which JSON escapes.
type plainIDs []string

// MarshalJSON writes the list as encoding/json would.
func (l plainIDs) MarshalJSON() ([]byte, error) {
	n := 2
	for _, id := range l {
		n += len(id) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, id := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, id...)
		b = append(b, '"')
	}
	return append(b, ']'), nil
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
