package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// A check runs in three steps: the request becomes a geo query and the
// zones it meets (newPositionCheck, newPlanCheck), exemptions.DecideFleet
// decides and exemptions.HighestCleared answers how high the flight may
// go (limits), and the decision becomes the response (response). noflyd's
// handlers and the offline bundle (Offline) run the same steps; only where
// the exemptions, the drone registry and the policy come from, and the
// audit, differ.

// positionCheck is a position check up to its decision.
type positionCheck struct {
	q     geo.PositionQuery
	noAlt bool
	basic bool // the BASIC view: no zone texts
	f     exemptions.Flight
	hits  []geo.Hit
	// limit is set by limits, with hasLimit; there is none without fleet
	// rules.
	limit    exemptions.HeightLimit
	hasLimit bool
	// col is the zones at the position at every height: the check and its
	// height limit are both answered from it, the shapes tested once.
	col geo.Column
	// limBuf is the height limit's room for hits (positionLimit).
	limBuf []geo.Hit
	// conflicts is the decision's room for its conflicts
	// (exemptions.DecideFleetInto), read only until the answer is built
	// and logged, as hits.
	conflicts []exemptions.Conflict
}

func newPositionCheck(idx *geo.Index, req *noflyv1.CheckPositionRequest, now time.Time) (*positionCheck, error) {
	c := new(positionCheck)
	if err := c.init(idx, req, now); err != nil {
		return nil, err
	}
	return c, nil
}

// init starts c as newPositionCheck, reusing the memory of c's column and
// hits (zoneSet.positionCheck).
func (c *positionCheck) init(idx *geo.Index, req *noflyv1.CheckPositionRequest, now time.Time) error {
	q, noAlt, err := positionQuery(req, now)
	if err != nil {
		return err
	}
	c.q, c.noAlt, c.basic = q, noAlt, req.GetView() == noflyv1.CheckView_CHECK_VIEW_BASIC
	c.f = flight(req.GetOperator(), req.GetPurpose())
	c.f.Kind, c.f.Point = exemptions.FlightPosition, q.Point
	if noAlt {
		c.f.Caveats = geo.CaveatNoAltitude
	}
	c.f.Classification = req.GetClassification()
	c.f.Height = geo.Band{Lower: q.Alt.Metres, Upper: q.Alt.Metres, Ref: q.Alt.Ref}
	idx.Column(q, &c.col)
	c.hits = c.col.At(q.Alt, c.hits[:0])
	return nil
}

// positionCheck returns a position check to init, with the memory of one
// done before on this zone set (done): a check's column and hits are
// scratch, read only until its answer is built. They point into the set's
// index, so they are kept with the set, and go when it goes.
func (s *zoneSet) positionCheck() *positionCheck {
	if c, ok := s.checks.Get().(*positionCheck); ok {
		return c
	}
	return new(positionCheck)
}

// done takes back c, whose answer has been built and logged: nothing
// refers to its hits any more.
func (s *zoneSet) done(c *positionCheck) {
	// The conflicts are cleared: they point to exemptions of a snapshot
	// that a later one replaces.
	clear(c.conflicts)
	*c = positionCheck{col: c.col, hits: c.hits[:0], limBuf: c.limBuf[:0], conflicts: c.conflicts[:0]}
	s.checks.Put(c)
}

// decide is the check's decision (exemptions.DecideFleetInto; the BASIC
// view's names the records that do not cover a conflict but not why), its
// conflicts in c's room, which it keeps (grown) for the next check.
func (c *positionCheck) decide(hits []geo.Hit, f exemptions.Flight, snap *exemptions.Snapshot, fl *exemptions.Fleet, now time.Time) exemptions.Result {
	r := exemptions.DecideFleetInto(c.conflicts, c.basic, hits, f, snap, fl, now)
	if cap(r.Conflicts) >= cap(c.conflicts) {
		c.conflicts = r.Conflicts
	}
	return r
}

// positionAnswer is a position check's answer with the messages of its
// own that it holds, allocated together: a check is answered many times a
// second, and each allocation is the collector's work.
type positionAnswer struct {
	resp                noflyv1.CheckPositionResponse
	at, checkedAt, asOf timestamppb.Timestamp
	zoneSet             noflyv1.ZoneSetInfo
	loadedAt            timestamppb.Timestamp
	limit               noflyv1.HeightLimit
	basic               basicRoom
}

// positionAnswer1 … positionAnswer8 are a BASIC position answer with the
// messages of its hits (and, above four, their list), allocated together
// (newPositionAnswer): most positions of a dense zone set meet one to eight
// zones.
type (
	positionAnswer1 struct {
		positionAnswer
		msgs [1]basicHit
	}
	positionAnswer2 struct {
		positionAnswer
		msgs [2]basicHit
	}
	positionAnswer3 struct {
		positionAnswer
		msgs [3]basicHit
	}
	positionAnswer4 struct {
		positionAnswer
		msgs [4]basicHit
	}
	positionAnswer6 struct {
		positionAnswer
		msgs [6]basicHit
		ptrs [6]*noflyv1.ZoneHit
	}
	positionAnswer8 struct {
		positionAnswer
		msgs [8]basicHit
		ptrs [8]*noflyv1.ZoneHit
	}
)

// newPositionAnswer is a new answer; a BASIC one (basic) with n hits, one
// to eight, has the room for them allocated with it (a.basic.msgs, and
// a.basic.ptrs above four). An answer without hits is not made larger, and
// one with more than eight allocates its hits apart.
func newPositionAnswer(basic bool, n int) *positionAnswer {
	if !basic {
		return new(positionAnswer)
	}
	switch {
	case n == 1:
		a := new(positionAnswer1)
		a.basic.msgs = a.msgs[:]
		return &a.positionAnswer
	case n == 2:
		a := new(positionAnswer2)
		a.basic.msgs = a.msgs[:]
		return &a.positionAnswer
	case n == 3:
		a := new(positionAnswer3)
		a.basic.msgs = a.msgs[:]
		return &a.positionAnswer
	case n == 4:
		a := new(positionAnswer4)
		a.basic.msgs = a.msgs[:]
		return &a.positionAnswer
	case n == 5 || n == 6:
		a := new(positionAnswer6)
		a.basic.msgs, a.basic.ptrs = a.msgs[:], a.ptrs[:]
		return &a.positionAnswer
	case n == 7 || n == 8:
		a := new(positionAnswer8)
		a.basic.msgs, a.basic.ptrs = a.msgs[:], a.ptrs[:]
		return &a.positionAnswer
	}
	return new(positionAnswer)
}

func (c *positionCheck) response(r *exemptions.Result, now time.Time, info *noflyv1.ZoneSetInfo, asOf time.Time) *noflyv1.CheckPositionResponse {
	a := newPositionAnswer(c.basic, len(r.Conflicts)+len(r.Advisories))
	var pr checkProto
	if c.basic {
		pr = basicProto(r, &a.basic)
	} else {
		pr = resultToProto(r)
	}
	resp := &a.resp
	resp.Exemptions, resp.Verdict, resp.Conflicts, resp.Advisories, resp.Caveats =
		pr.applied, pr.verdict, pr.conflicts, pr.advisories, pr.caveats
	resp.At, resp.CheckedAt = setTimestamp(&a.at, c.q.At), setTimestamp(&a.checkedAt, now)
	resp.ZoneSet = copyZoneSetInfo(&a.zoneSet, &a.loadedAt, info)
	if !asOf.IsZero() {
		resp.ExemptionsAsOf = setTimestamp(&a.asOf, asOf)
	}
	resp.ExemptionsStale = exemptionsStale(asOf, now)
	resp.PolicyRefusals, resp.Warnings = refusalsToProto(r.Refusals), r.Warnings
	if c.hasLimit {
		resp.HeightLimit = setHeightLimit(&a.limit, c.limit, 0)
	}
	return resp
}

// setTimestamp sets ts to t (as timestamppb.New) and returns it.
func setTimestamp(ts *timestamppb.Timestamp, t time.Time) *timestamppb.Timestamp {
	ts.Seconds, ts.Nanos = t.Unix(), int32(t.Nanosecond())
	return ts
}

// copyZoneSetInfo copies info into dst (its load time into loadedAt): what
// proto.CloneOf makes, without reflection. The sources are shared, not
// copied: they are the server's, read only (and cut to their length, so
// that no append writes into them).
func copyZoneSetInfo(dst *noflyv1.ZoneSetInfo, loadedAt *timestamppb.Timestamp, info *noflyv1.ZoneSetInfo) *noflyv1.ZoneSetInfo {
	if info == nil {
		return nil
	}
	dst.Version, dst.ZoneCount = info.Version, info.ZoneCount
	if info.Sources != nil {
		dst.Sources = info.Sources[:len(info.Sources):len(info.Sources)]
	}
	if l := info.LoadedAt; l != nil {
		loadedAt.Seconds, loadedAt.Nanos = l.Seconds, l.Nanos
		dst.LoadedAt = loadedAt
	}
	return dst
}

// limits answers how high the flight may fly at the position, by the
// zones of the index the check was made on (its column), the exemptions of
// snap and the fleet rules fl (none without them). c.f must be complete
// (withFleet) first.
func (c *positionCheck) limits(_ *geo.Index, snap *exemptions.Snapshot, fl *exemptions.Fleet) {
	if fl != nil {
		c.limit, c.limBuf = positionLimit(&c.col, c.q, c.f, snap, fl, c.limBuf)
		c.hasLimit = true
	}
}

// planCheck is a flight-plan check up to its decision.
type planCheck struct {
	pq   planQuery
	f    exemptions.Flight
	hits []geo.Hit
	kind string // "route" or "area"
	size int    // waypoints

	limit     *noflyv1.HeightLimit   // set by limits; nil without fleet rules
	legLimits []*noflyv1.HeightLimit // a route's, leg by leg
	// col is a route's legs at every height: the check and the legs'
	// height limits are all answered from it, each shape measured once.
	col *geo.RouteColumn
}

// newPlanCheck ends the geometry's work when ctx ends (deadline,
// cancellation, shutdown).
func newPlanCheck(ctx context.Context, idx *geo.Index, req *noflyv1.CheckFlightPlanRequest, now time.Time) (*planCheck, error) {
	pq, err := flightPlanQuery(req, now)
	if err != nil {
		return nil, err
	}
	fp := req.GetFlightPlan()
	c := &planCheck{pq: pq, f: flight(fp.GetOperator(), fp.GetPurpose())}
	if pq.route != nil {
		c.kind, c.size = "route", len(pq.route.Waypoints)
		pq.route.Stop = ctx.Err
		if c.col, err = idx.RouteColumn(*pq.route); err == nil {
			c.hits, err = c.col.Check()
		}
		c.f.Kind, c.f.Buffer = exemptions.FlightRoute, pq.route.Buffer
		c.f.Route = routePoints(pq.route.Waypoints)
	} else {
		c.kind = "area"
		pq.area.Stop = ctx.Err
		c.hits, err = idx.CheckArea(*pq.area)
		c.f.Kind, c.f.Area, c.f.Buffer = exemptions.FlightArea, pq.area.Area, pq.area.Buffer
	}
	if err != nil {
		return nil, err
	}
	if pq.noAlt {
		c.f.Caveats = geo.CaveatNoAltitude
	}
	c.f.Classification, c.f.Height = fp.GetClassification(), pq.height()
	return c, nil
}

// limits answers how high the plan may be flown, as positionCheck.limits;
// a route leg by leg and as a whole.
func (c *planCheck) limits(ctx context.Context, idx *geo.Index, snap *exemptions.Snapshot, fl *exemptions.Fleet) error {
	var err error
	if c.pq.route != nil {
		c.limit, c.legLimits, err = routeLimits(c.col, *c.pq.route, c.f, snap, fl)
	} else {
		c.limit, err = areaLimit(idx, *c.pq.area, c.f, snap, fl)
	}
	return err
}

func (c *planCheck) response(r *exemptions.Result, fp *noflyv1.FlightPlan, now time.Time, info *noflyv1.ZoneSetInfo, asOf time.Time) *noflyv1.CheckFlightPlanResponse {
	pr := resultToProto(r)
	return &noflyv1.CheckFlightPlanResponse{
		Exemptions:      pr.applied,
		Verdict:         pr.verdict,
		Conflicts:       pr.conflicts,
		Advisories:      pr.advisories,
		Caveats:         pr.caveats,
		ClientReference: fp.GetClientReference(),
		Window:          windowToProto(c.pq.window),
		CheckedAt:       timestamppb.New(now),
		ZoneSet:         copyZoneSetInfo(new(noflyv1.ZoneSetInfo), new(timestamppb.Timestamp), info),
		ExemptionsAsOf:  timeToProto(asOf),
		ExemptionsStale: exemptionsStale(asOf, now),
		PolicyRefusals:  refusalsToProto(r.Refusals),
		Warnings:        r.Warnings,
		HeightLimit:     c.limit,
		LegHeightLimits: c.legLimits,
	}
}
