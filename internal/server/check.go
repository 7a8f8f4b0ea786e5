package server

import (
	"context"
	"sync"
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
	// room is the answer with its room (itself, or the positionAnswerN
	// it is the start of), and pool its class (answerClass).
	room answerRoom
	pool int
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

// newPositionAnswer is an answer to fill, all zero; a BASIC one (basic)
// with n hits, one to eight, has the room for them allocated with it
// (a.basic.msgs, and a.basic.ptrs above four). An answer without hits is
// not made larger, and one with more than eight allocates its hits apart.
// It is taken from answerPools when an answer of its size was given back
// there (release): an answer is a few kilobytes, zeroing them costs less
// than allocating them and collecting them again.
func newPositionAnswer(basic bool, n int) *positionAnswer {
	class := answerClass(basic, n)
	if !reuseAnswers {
		class = -1 // none taken, none given back
	} else if a, ok := answerPools[class].Get().(answerRoom); ok {
		a.answer().pool = class
		return a.answer()
	}
	var a answerRoom
	switch answerClass(basic, n) {
	case 1:
		a = new(positionAnswer1)
	case 2:
		a = new(positionAnswer2)
	case 3:
		a = new(positionAnswer3)
	case 4:
		a = new(positionAnswer4)
	case 5:
		a = new(positionAnswer6)
	case 6:
		a = new(positionAnswer8)
	default:
		a = new(positionAnswer)
	}
	a.link()
	a.answer().pool = class
	return a.answer()
}

// answerClass is the size of answer (its pool in answerPools) for a BASIC
// (basic) answer of n hits: 0 for one without room for hits.
func answerClass(basic bool, n int) int {
	switch {
	case !basic || n < 1 || n > 8:
		return 0
	case n <= 4:
		return n
	case n <= 6:
		return 5
	}
	return 6
}

// reuseAnswers: answers are taken from answerPools and given back there;
// tests turn it off to compare with answers made new.
var reuseAnswers = true

// answerPools hold the answers given back (release), zeroed, by their
// class (answerClass).
var answerPools [7]sync.Pool

// answerRoom is a positionAnswer with the room of its size class.
type answerRoom interface {
	answer() *positionAnswer
	// link points the answer at its room (basic.msgs, basic.ptrs) and
	// at itself (room): a new or zeroed answer's first step.
	link()
	// zero sets the answer and its room to zero, then links it.
	zero()
}

func (a *positionAnswer) answer() *positionAnswer { return a }
func (a *positionAnswer) link()                   { a.room = a }
func (a *positionAnswer) zero()                   { *a = positionAnswer{}; a.link() }

func (a *positionAnswer1) link() { a.basic.msgs, a.room = a.msgs[:], a }
func (a *positionAnswer1) zero() { *a = positionAnswer1{}; a.link() }
func (a *positionAnswer2) link() { a.basic.msgs, a.room = a.msgs[:], a }
func (a *positionAnswer2) zero() { *a = positionAnswer2{}; a.link() }
func (a *positionAnswer3) link() { a.basic.msgs, a.room = a.msgs[:], a }
func (a *positionAnswer3) zero() { *a = positionAnswer3{}; a.link() }
func (a *positionAnswer4) link() { a.basic.msgs, a.room = a.msgs[:], a }
func (a *positionAnswer4) zero() { *a = positionAnswer4{}; a.link() }
func (a *positionAnswer6) link() {
	a.basic.msgs, a.basic.ptrs, a.room = a.msgs[:], a.ptrs[:], a
}
func (a *positionAnswer6) zero() { *a = positionAnswer6{}; a.link() }
func (a *positionAnswer8) link() {
	a.basic.msgs, a.basic.ptrs, a.room = a.msgs[:], a.ptrs[:], a
}
func (a *positionAnswer8) zero() { *a = positionAnswer8{}; a.link() }

// release gives a back to be used again, for an answer of the same size
// class. Only once nothing refers to a, its messages or anything it holds:
// the answer has been encoded and is not read again (preEncoded).
func (a *positionAnswer) release() {
	room := a.room
	if room == nil {
		return
	}
	class := a.pool
	if class < 0 {
		return
	}
	room.zero()
	answerPools[class].Put(room)
}

func (c *positionCheck) response(r *exemptions.Result, now time.Time, info *noflyv1.ZoneSetInfo, asOf time.Time) *noflyv1.CheckPositionResponse {
	return &c.answer(r, now, info, asOf).resp
}

// answer is response's answer with the messages it holds, which release
// gives back once it has been encoded.
func (c *positionCheck) answer(r *exemptions.Result, now time.Time, info *noflyv1.ZoneSetInfo, asOf time.Time) *positionAnswer {
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
	return a
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
