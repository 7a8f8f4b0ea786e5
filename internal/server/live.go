package server

import (
	"context"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// Live flights: CheckPositions (many positions of one flight in one call)
// and MonitorFlight (a stream of positions answered with events). Both
// decide each position exactly as CheckPosition does (geo's CheckPosition,
// then exemptions.Decide); what they add is bookkeeping: which zones the
// flight is in, what changed, what is ahead.

// liveFlight is a validated LiveFlight.
type liveFlight struct {
	f         exemptions.Flight // Kind and Point set per position
	clientRef string
	ref       geo.VerticalRef
	category  geo.Category
}

// livePosition is a validated TelemetryPosition.
type livePosition struct {
	q     geo.PositionQuery
	speed float64 // m/s; NaN when not given
	track float64 // degrees; NaN when not given
}

func checkLiveFlight(b *badRequest, field string, lf *noflyv1.LiveFlight) liveFlight {
	if lf == nil {
		b.add(field, "required")
		return liveFlight{}
	}
	checkEnum(b, field+".purpose", lf.GetPurpose())
	out := liveFlight{f: flight(lf.GetOperator(), lf.GetPurpose()), clientRef: lf.GetClientReference(),
		category: checkCategory(b, field+".operation_category", lf.GetOperationCategory())}
	out.f.Classification = lf.GetClassification()
	if r := lf.GetAltitudeReference(); checkEnum(b, field+".altitude_reference", r) {
		out.ref = refFromProto[r]
	}
	return out
}

// checkTelemetry validates a position of flight lf. Its problems are at
// the path field returns, called only when there is one: a path per
// position, most of which have none, is not put together.
func checkTelemetry(b *badRequest, field func() string, p *noflyv1.TelemetryPosition, lf *liveFlight) livePosition {
	var pb badRequest
	lp := telemetryPosition(&pb, p, lf)
	if len(pb.violations) > 0 {
		at := field()
		for _, v := range pb.violations {
			v.Field = at + v.Field
		}
		b.violations = append(b.violations, pb.violations...)
	}
	return lp
}

func positionField() string { return "position" }

// telemetryPosition is checkTelemetry with the problems at paths below
// the position (".at", ".latitude"; "" the position itself).
func telemetryPosition(b *badRequest, p *noflyv1.TelemetryPosition, lf *liveFlight) livePosition {
	lp := livePosition{speed: math.NaN(), track: math.NaN()}
	if p == nil {
		b.add("", "required")
		return lp
	}
	if p.At == nil {
		b.add(".at", "required: when the aircraft was there")
	} else {
		lp.q.At = checkTimestamp(b, ".at", p.At, time.Time{}).UTC()
	}
	checkDegrees(b, ".latitude", p.Latitude, 90) // checkLatLon, its paths not put together
	checkDegrees(b, ".longitude", p.Longitude, 180)
	lp.q.Point = orb.Point{p.Longitude, p.Latitude}
	switch {
	case lf.ref != geo.RefUnknown && p.AltitudeM == nil:
		b.add(".altitude_m", "required: the flight's altitude_reference is %s", lf.ref)
	case lf.ref == geo.RefUnknown && p.AltitudeM != nil:
		b.add(".altitude_m", "set the flight's altitude_reference (AGL, AMSL or WGS84), or leave the heights out")
	case p.AltitudeM != nil:
		checkHeight(b, ".altitude_m", *p.AltitudeM)
		lp.q.Alt = geo.Altitude{Metres: *p.AltitudeM, Ref: lf.ref}
	}
	if p.GroundSpeedMps != nil {
		lp.speed = *p.GroundSpeedMps
		checkRange(b, ".ground_speed_mps", lp.speed, 0, MaxGroundSpeed, "m/s")
	}
	if p.TrackDeg != nil {
		lp.track = *p.TrackDeg
		checkRange(b, ".track_deg", lp.track, 0, 360, "degrees")
	}
	lp.q.Category = lf.category
	return lp
}

func checkRange(b *badRequest, field string, v, lo, hi float64, unit string) {
	switch {
	case math.IsNaN(v):
		b.add(field, "not a number")
	case v < lo || v > hi:
		b.add(field, "%v %s is outside %v..%v %s", v, unit, lo, hi, unit)
	}
}

// at is the flight at position q, for the exemption and fleet rules.
func (lf *liveFlight) at(q *geo.PositionQuery) exemptions.Flight {
	f := lf.f
	f.Kind, f.Point = exemptions.FlightPosition, q.Point
	f.Height = geo.Band{Lower: q.Alt.Metres, Upper: q.Alt.Metres, Ref: q.Alt.Ref}
	if lf.ref == geo.RefUnknown {
		f.Caveats = geo.CaveatNoAltitude
	}
	return f
}

// CheckPositions implements nofly.v1.GeofenceService.
func (s *Server) CheckPositions(ctx context.Context, req *noflyv1.CheckPositionsRequest) (*noflyv1.CheckPositionsResponse, error) {
	set := s.current()
	now := s.stamp()
	var b badRequest
	lf := checkLiveFlight(&b, "flight", req.GetFlight())
	ps := req.GetPositions()
	switch n := len(ps); {
	case n == 0:
		b.add("positions", "at least 1 position")
	case n > MaxBatchPositions:
		b.add("positions", "at most %d positions, got %d", MaxBatchPositions, n)
		ps = nil
	}
	qs := make([]livePosition, len(ps))
	for i, p := range ps {
		qs[i] = checkTelemetry(&b, func() string { return "positions[" + strconv.Itoa(i) + "]" }, p, &lf)
		if len(b.violations) >= maxTextViolations {
			break
		}
	}
	if err := b.err(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	// The registry's record of the drone, read once for the whole batch.
	if err := s.withFleet(ctx, &lf.f); err != nil {
		return nil, s.toStatus(ctx, err)
	}

	var (
		resp *noflyv1.CheckPositionsResponse
		asOf time.Time
		err  error
	)
	// As decide: an exempted answer is recorded before it is sent, and
	// decided again on the store's records should one it relied on have
	// been revoked meanwhile.
	for i, refresh := range []func(context.Context) error{nil, s.refreshExemptions, s.reloadExemptions} {
		if i > 0 {
			s.log.WarnContext(ctx, "a batch relied on an exemption no longer in force; judging it again on the current records", "err", err)
			if rerr := refresh(ctx); rerr != nil {
				return nil, s.toStatus(ctx, &checkNotRecordedError{err: rerr})
			}
		}
		var snap *exemptions.Snapshot
		if s.exCache != nil {
			snap, asOf = s.exCache.Current()
		}
		var rec exemptions.CheckRecord
		resp, rec, err = s.checkPositions(ctx, set, &lf, qs, snap)
		if err != nil {
			return nil, s.toStatus(ctx, err)
		}
		if len(rec.ExemptionIDs) == 0 || s.exStore == nil {
			break
		}
		rec.At, rec.Actor, rec.Verdict = now, callerName(ctx), exemptions.Exempted.String()
		if _, err = s.exStore.RecordCheck(ctx, rec); err == nil {
			break
		}
		if !errors.Is(err, exemptions.ErrNotInForce) {
			return nil, s.toStatus(ctx, &checkNotRecordedError{ids: rec.ExemptionIDs, err: err})
		}
	}
	if err != nil {
		return nil, s.toStatus(ctx, &checkNotRecordedError{err: err})
	}
	var denied, exempted int
	for _, a := range resp.Answers {
		switch a.Verdict {
		case noflyv1.Verdict_VERDICT_DENIED:
			denied++
		case noflyv1.Verdict_VERDICT_EXEMPTED:
			exempted++
		}
	}
	op := req.GetFlight().GetOperator()
	s.log.InfoContext(ctx, "positions checked", "client_reference", lf.clientRef, "positions", len(qs),
		"denied", denied, "exempted", exempted, "zones", len(resp.Zones), "exemptions", len(resp.Exemptions),
		"caller", callerLogName(ctx), "unit", op.GetUnit(), "pilot", op.GetPilotId(), "drone", op.GetDroneSerial())
	resp.CheckedAt = timestamppb.New(now)
	resp.ZoneSet = proto.CloneOf(set.info)
	resp.ExemptionsAsOf = timeToProto(asOf)
	resp.ExemptionsStale = exemptionsStale(asOf, now)
	return resp, nil
}

// checkPositions decides every position of a batch on one zone set and
// one snapshot of the exemptions. rec lists what an audit entry records:
// every exemption applied to an exempted position, and the zones they
// covered.
func (s *Server) checkPositions(ctx context.Context, set *zoneSet, lf *liveFlight, qs []livePosition, snap *exemptions.Snapshot) (*noflyv1.CheckPositionsResponse, exemptions.CheckRecord, error) {
	resp := &noflyv1.CheckPositionsResponse{Answers: make([]*noflyv1.PositionAnswer, len(qs))}
	// The answers, and their lists of ids, are cut from shared arrays:
	// a few allocations a batch rather than several a position.
	answers := make([]noflyv1.PositionAnswer, len(qs))
	ids := make([]string, 0, 4*len(qs))
	cut := func(start int) []string {
		if len(ids) == start {
			return nil
		}
		return ids[start:len(ids):len(ids)]
	}
	zones := map[*geo.Zone]struct{}{}
	applied := map[string]*exemptions.Exemption{}
	covered := map[string]bool{}
	var (
		hits    []geo.Hit
		heights liveHeights
		limit   *noflyv1.HeightLimit
	)
	fl := s.rules()
	for i := range qs {
		if i%256 == 255 {
			if err := ctx.Err(); err != nil {
				return nil, exemptions.CheckRecord{}, err
			}
		}
		q := &qs[i].q
		f := lf.at(q)
		hits, _, limit = heights.at(set.idx, *q, f, snap, fl, hits[:0])
		r := exemptions.DecideFleetBrief(hits, f, snap, fl, q.At)
		a := &answers[i]
		a.Verdict, a.HeightLimit = verdictToProto(r.Verdict), limit
		start := len(ids)
		for _, c := range r.Conflicts {
			zones[c.Hit.Zone] = struct{}{}
			ids = append(ids, c.Hit.Zone.ID)
		}
		a.ConflictZoneIds = cut(start)
		start = len(ids)
		for _, c := range r.Conflicts {
			if c.By == nil {
				ids = append(ids, c.Hit.Zone.ID)
			} else if r.Verdict == exemptions.Exempted {
				covered[c.Hit.Zone.ID] = true
			}
		}
		a.UncoveredZoneIds = cut(start)
		start = len(ids)
		for _, h := range r.Advisories {
			zones[h.Zone] = struct{}{}
			ids = append(ids, h.Zone.ID)
		}
		a.AdvisoryZoneIds = cut(start)
		start = len(ids)
		for _, ex := range r.Applied {
			applied[ex.ID] = ex
			ids = append(ids, ex.ID)
		}
		a.ExemptionIds = cut(start)
		resp.Answers[i] = a
	}
	// Once per id: of variants of one id (geo.Zone.VariantKey) the first.
	named := make([]*geo.Zone, 0, len(zones))
	for z := range zones {
		named = append(named, z)
	}
	slices.SortFunc(named, func(a, b *geo.Zone) int {
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.VariantKey(), b.VariantKey())
	})
	named = slices.CompactFunc(named, func(a, b *geo.Zone) bool { return a.ID == b.ID })
	resp.Zones = make([]*noflyv1.ZoneSummary, len(named))
	for i, z := range named {
		resp.Zones[i] = set.summary(z)
	}
	var rec exemptions.CheckRecord
	for _, id := range sortedKeys(applied) {
		resp.Exemptions = append(resp.Exemptions, appliedToProto(applied[id]))
		rec.ExemptionIDs = append(rec.ExemptionIDs, id)
	}
	rec.ZoneIDs = sortedKeys(covered)
	f := lf.f
	rec.Unit, rec.Pilot, rec.Drone, rec.Purpose, rec.ClientReference = f.Unit, f.Pilot, f.Drone, f.Purpose, lf.clientRef
	return resp, rec, nil
}

// summary is zone z's summary in answers that name zones by id
// (CheckPositions), made the first time one names it and then shared by
// every answer on this zone set: it must not be changed.
func (zs *zoneSet) summary(z *geo.Zone) *noflyv1.ZoneSummary {
	if v, ok := zs.summaries.Load(z); ok {
		return v.(*noflyv1.ZoneSummary)
	}
	v, _ := zs.summaries.LoadOrStore(z, summaryToProto(z))
	return v.(*noflyv1.ZoneSummary)
}

// appendSortedKeys appends m's keys, sorted, to keys.
func appendSortedKeys[V any](keys []string, m map[string]V) []string {
	start := len(keys)
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys[start:])
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	return appendSortedKeys(make([]string, 0, len(m)), m)
}

func (s *Server) refreshExemptions(ctx context.Context) error { return s.exCache.Refresh(ctx) }
func (s *Server) reloadExemptions(ctx context.Context) error  { return s.exCache.Reload(ctx) }

// MonitorFlight implements nofly.v1.GeofenceService.
//
// One goroutine receives and validates positions; the handler's own
// goroutine checks them in order from a queue of MonitorQueue. When
// several wait (the client sends faster than the server answers) it checks
// every one of them, so that no zone entered and left in between goes
// unseen, and answers them together, once, with the events of all and
// skipped_positions saying how many got no answer of their own. A full
// queue stops the receiving (gRPC flow control then holds the client
// back): nothing is dropped. Every MonitorRecheck the handler also looks
// whether the zones or the exemptions changed, and if so checks the last
// position again; or, when a live flight has not reported for a while,
// checks it again at the server's clock (recheck).
//
// A position that comes to a stream with nothing waiting (the receiver had
// to wait for it, no position is queued or being checked: a live flight,
// one position at a time) is checked and answered by the receiving
// goroutine itself, without handing it to the handler's: one goroutine
// wakeup fewer on its way, each a chance for the operating system to
// schedule the next thread late on a busy machine. Whoever checks holds
// turn, so that positions are checked and answered one at a time and in
// order, and the stream's state is the checker's alone.
func (s *Server) MonitorFlight(stream noflyv1.GeofenceService_MonitorFlightServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	m, err := s.startMonitor(ctx, first)
	if _, isStatus := status.FromError(err); isStatus && err != nil {
		return err // refused to the caller, already said
	}
	if err != nil {
		return s.toStatus(ctx, err)
	}
	var (
		turn    sync.Mutex   // held while checking and answering; guards m and done
		done    bool         // the handler is returning: no more answers
		pending atomic.Int64 // positions queued and not yet answered
	)
	// answer checks ps, in order, and answers them together.
	answer := func(ps []livePosition) error {
		resp, err := m.positions(ctx, ps)
		if err != nil {
			return s.toStatus(ctx, err)
		}
		return stream.Send(resp)
	}
	queue := make(chan livePosition, MonitorQueue)
	var recvErr error // set before queue is closed
	go func() {
		defer close(queue)
		var one [1]livePosition
		for {
			asked := time.Now()
			req, err := stream.Recv()
			if err != nil {
				recvErr = err
				return
			}
			waited := time.Since(asked) >= monitorWaited
			if req.GetStart() != nil {
				recvErr = status.Error(codes.InvalidArgument, "start: only the stream's first message may be start")
				return
			}
			var b badRequest
			p := checkTelemetry(&b, positionField, req.GetPosition(), &m.lf)
			if err := b.err(); err != nil {
				recvErr = s.toStatus(ctx, err)
				return
			}
			// Nothing waits: answered here. A position that was
			// already there when asked for is queued, so that the
			// handler answers it with the others behind it.
			if waited && pending.Load() == 0 && turn.TryLock() {
				if !done && pending.Load() == 0 {
					one[0] = p
					err := answer(one[:])
					turn.Unlock()
					if err != nil {
						recvErr = err
						return
					}
					continue
				}
				turn.Unlock()
			}
			pending.Add(1)
			select {
			case queue <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() {
		turn.Lock() // the receiver is not answering, and will not
		done = true
		s.log.InfoContext(ctx, "flight monitored", "client_reference", m.lf.clientRef, "positions", m.checked,
			"answered_together", m.skippedTotal, "events", m.events, "caller", callerLogName(ctx),
			"unit", m.lf.f.Unit, "pilot", m.lf.f.Pilot, "drone", m.lf.f.Drone)
		turn.Unlock()
	}()
	tick := time.NewTicker(MonitorRecheck)
	defer tick.Stop()
	batch := make([]livePosition, 0, 16)
	for {
		select {
		case <-ctx.Done():
			return s.toStatus(ctx, ctx.Err())
		case p, ok := <-queue:
			if !ok {
				if recvErr == io.EOF || recvErr == nil {
					return nil
				}
				return recvErr
			}
			turn.Lock()
			batch = append(batch[:0], p)
		more:
			for len(batch) < MonitorQueue {
				select {
				case p, ok := <-queue:
					if !ok {
						break more // the end is seen on the next turn
					}
					batch = append(batch, p)
				default:
					break more
				}
			}
			err := answer(batch)
			pending.Add(-int64(len(batch)))
			turn.Unlock()
			if err != nil {
				return err
			}
		case <-tick.C:
			turn.Lock()
			resp, err := m.recheck(ctx)
			if err == nil && resp != nil {
				err = stream.Send(resp)
			} else if err != nil {
				err = s.toStatus(ctx, err)
			}
			turn.Unlock()
			if err != nil {
				return err
			}
		}
	}
}

// monitorWaited is how long a MonitorFlight receive must have waited for
// its position for that position to be taken as the only one there (and
// answered by the receiving goroutine): a receive that finds a position
// already there returns within a few microseconds.
const monitorWaited = 20 * time.Microsecond

// inZone is what a zone the flight is in means for it.
type inZone struct {
	zone    *geo.Zone
	verdict noflyv1.ZoneVerdict
	ex      *exemptions.Exemption // EXEMPTED
}

// monitor is one MonitorFlight stream's state; only the handler's
// goroutine uses it.
type monitor struct {
	s      *Server
	lf     liveFlight
	lookS  float64 // seconds; 0 when lookM is set
	lookM  float64 // metres; 0: by time
	last   *livePosition
	slots  [2]livePosition // where positions keeps the last position and the one before
	set    *zoneSet
	snap   *exemptions.Snapshot
	sentZS *zoneSet // the zone set last named in an answer

	inside      map[string]inZone
	spare       map[string]inZone // the one before inside, to be cleared and used again
	approaching map[string]bool   // zones an APPROACH was sent for, until the track no longer meets them
	corridor    *geo.Reach        // the volumes the look-ahead is answered from while its track stays in their box
	ahead       []geo.Hit         // the blocking zones the last look-ahead met, its buffer reused
	keys        []string          // evaluate's sorted zone ids, its buffer reused
	expiring    map[string]string // zone → exemption an EXPIRING was sent for
	recorded    []string          // exemptions whose use the audit log holds for the current stay
	hits        []geo.Hit
	heights     liveHeights
	limit       *noflyv1.HeightLimit // at the last position; nil without fleet rules
	above       bool                 // an ALTITUDE was sent and the aircraft has not come back within a limit since

	checked, skippedTotal, events int64
}

func (s *Server) startMonitor(ctx context.Context, first *noflyv1.MonitorFlightRequest) (*monitor, error) {
	var b badRequest
	checkTexts(&b, "", first.ProtoReflect())
	if err := b.err(); err != nil {
		return nil, err
	}
	start := first.GetStart()
	if start == nil {
		b.add("start", "required: the stream's first message is the flight")
		return nil, b.err()
	}
	if id, ok := CallerIdentity(ctx); ok && s.auth != nil && id.Role != "" {
		if why := bind(id, first); why != "" {
			s.log.WarnContext(ctx, "permission denied", "method", noflyv1.GeofenceService_MonitorFlight_FullMethodName,
				"subject", id.Subject, "reason", why)
			return nil, status.Errorf(codes.PermissionDenied, "%s: %s: %s", id.Subject, noflyv1.GeofenceService_MonitorFlight_FullMethodName, why)
		}
	}
	m := &monitor{s: s, lf: checkLiveFlight(&b, "start.flight", start.GetFlight()),
		inside: map[string]inZone{}, approaching: map[string]bool{}, expiring: map[string]string{}}
	checkRange(&b, "start.look_ahead_s", start.GetLookAheadS(), 0, MaxLookAheadSeconds, "s")
	checkRange(&b, "start.look_ahead_m", start.GetLookAheadM(), 0, geo.MaxLookAhead, "m")
	m.lookS, m.lookM = start.GetLookAheadS(), start.GetLookAheadM()
	if m.lookS == 0 && m.lookM == 0 {
		m.lookS = DefaultLookAhead.Seconds()
	}
	if err := b.err(); err != nil {
		return m, err
	}
	// The registry's record of the drone, read once for the whole flight.
	return m, s.withFleet(ctx, &m.lf.f)
}

// positions checks ps in order and answers them together: the last one's
// verdict, everyone's events.
func (m *monitor) positions(ctx context.Context, ps []livePosition) (*noflyv1.MonitorFlightResponse, error) {
	var events []*noflyv1.FlightEvent
	var resp *noflyv1.MonitorFlightResponse
	for i := range ps {
		prev := m.last
		// The last two positions are the monitor's own (prev is the
		// other slot): no copy of each on the heap.
		p := &m.slots[m.checked%2]
		*p = ps[i]
		m.last = p
		m.checked++
		var err error
		// Only the newest position looks ahead: the others are behind it.
		if resp, err = m.evaluate(ctx, prev, noflyv1.MonitorReason_MONITOR_REASON_POSITION, i == len(ps)-1); err != nil {
			return nil, err
		}
		if len(ps) > 1 {
			events = append(events, resp.Events...)
		}
	}
	if len(ps) > 1 {
		resp.Events = events
	}
	resp.SkippedPositions = int64(len(ps) - 1)
	m.skippedTotal += resp.SkippedPositions
	return resp, nil
}

// recheck checks the last position again when the zones or exemptions
// changed, and answers only when that changed something.
func (m *monitor) recheck(ctx context.Context) (*noflyv1.MonitorFlightResponse, error) {
	if m.last == nil {
		return nil, nil
	}
	reason := noflyv1.MonitorReason_MONITOR_REASON_EXEMPTIONS_CHANGED
	switch {
	case m.s.current() != m.set:
		reason = noflyv1.MonitorReason_MONITOR_REASON_ZONES_RELOADED
	case m.s.exCache != nil && m.s.exCache.Snapshot() != m.snap:
	default:
		// Time alone: with no position for a while, the aircraft is taken
		// to be where it last was, now. Only for a flight that is live (a
		// recorded track replayed at its own times is not judged at the
		// server's clock).
		now := m.s.stamp()
		if idle := now.Sub(m.last.q.At); idle <= MonitorRecheck || idle > monitorIdleFor {
			return nil, nil
		}
		last := m.last
		p := *last
		p.q.At = now
		m.last = &p
		defer func() { m.last = last }() // the next position's velocity is from the one reported
		reason = noflyv1.MonitorReason_MONITOR_REASON_TIME
	}
	resp, err := m.evaluate(ctx, nil, reason, true)
	if err != nil || len(resp.Events) == 0 {
		return nil, err
	}
	return resp, nil
}

// monitorIdleFor is how long after the last position's instant a stream
// still judges it again as time passes (MONITOR_REASON_TIME).
const monitorIdleFor = 10 * time.Minute

// evaluate decides the last position on the current zones and exemptions
// and returns the answer with the events since the previous one. prev is
// the position before it (for the velocity when the position has none).
// Unless newest, the position is answered with a newer one: it does not
// look ahead, and the answer holds only its events.
func (m *monitor) evaluate(ctx context.Context, prev *livePosition, reason noflyv1.MonitorReason, newest bool) (*noflyv1.MonitorFlightResponse, error) {
	s, p := m.s, m.last
	m.set = s.current()
	if s.exCache != nil {
		m.snap = s.exCache.Snapshot()
	}
	at := p.q.At
	f := m.lf.at(&p.q)
	fl := s.rules()
	var limit exemptions.HeightLimit
	m.hits, limit, m.limit = m.heights.at(m.set.idx, p.q, f, m.snap, fl, m.hits[:0])
	r := exemptions.DecideFleetBrief(m.hits, f, m.snap, fl, at)
	if r.Verdict != exemptions.Exempted {
		m.recorded = nil
	} else if ids := r.AppliedIDs(); !slices.Equal(ids, m.recorded) {
		// The flight relies on exemptions it did not rely on a moment
		// ago: that is recorded in the audit log, as a check's, before it
		// is answered (decide may judge again should one be revoked).
		var err error
		if r, _, err = s.decide(ctx, m.hits, f, m.lf.clientRef, at); err != nil {
			return nil, err
		}
		m.recorded = r.AppliedIDs()
		if m.s.exCache != nil {
			m.snap = s.exCache.Snapshot()
		}
	}

	now := m.spare // the map of two positions ago, reused
	if now == nil {
		now = map[string]inZone{}
	}
	clear(now)
	for _, c := range r.Conflicts {
		z := inZone{zone: c.Hit.Zone, verdict: noflyv1.ZoneVerdict_ZONE_VERDICT_BLOCKED}
		if c.By != nil {
			z.verdict, z.ex = noflyv1.ZoneVerdict_ZONE_VERDICT_EXEMPTED, c.By
		}
		now[z.zone.ID] = z
	}
	for _, h := range r.Advisories {
		if _, dup := now[h.Zone.ID]; !dup {
			now[h.Zone.ID] = inZone{zone: h.Zone, verdict: noflyv1.ZoneVerdict_ZONE_VERDICT_ADVISORY}
		}
	}
	var events []*noflyv1.FlightEvent
	m.keys = appendSortedKeys(m.keys[:0], m.inside)
	for _, id := range m.keys {
		if _, still := now[id]; !still {
			events = append(events, zoneEvent(noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_EXIT, m.inside[id]))
		}
	}
	m.keys = appendSortedKeys(m.keys[:0], now)
	ids := m.keys
	for _, id := range ids {
		if old, was := m.inside[id]; was && (old.verdict != now[id].verdict || old.ex != now[id].ex && exID(old.ex) != exID(now[id].ex)) {
			events = append(events, zoneEvent(noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_CHANGED, now[id]))
		}
	}
	for _, id := range ids {
		if _, was := m.inside[id]; !was {
			events = append(events, zoneEvent(noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_ENTER, now[id]))
		}
	}
	if over, above := overLimit(limit, p.q.Alt, fl); !above {
		m.above = false
	} else if !m.above {
		m.above = true
		pc := m.limit
		if over != limit {
			pc = heightLimitToProto(over, 0)
		}
		events = append(events, altitudeEvent(over, pc, p.q.Alt, m.set.idx))
	}
	for _, id := range ids {
		z := now[id]
		if z.ex == nil {
			delete(m.expiring, id)
			continue
		}
		left := z.ex.ValidUntil.Sub(at)
		if left > ExpiringWithin || m.expiring[id] == z.ex.ID {
			continue
		}
		m.expiring[id] = z.ex.ID
		e := zoneEvent(noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_EXPIRING, z)
		e.TimeS = proto.Float64(max(0, left.Seconds()))
		e.ValidUntil = timestamppb.New(z.ex.ValidUntil)
		events = append(events, e)
	}
	for id := range m.expiring {
		if _, in := now[id]; !in {
			delete(m.expiring, id)
		}
	}
	m.inside, m.spare = now, m.inside
	if newest && reason != noflyv1.MonitorReason_MONITOR_REASON_TIME { // no look-ahead from where it was
		ahead, err := m.approaches(ctx, prev, now)
		if err != nil {
			return nil, err
		}
		events = append(events, ahead...)
	}
	for _, e := range events {
		e.At = timestamppb.New(at)
	}
	m.events += int64(len(events))
	for _, e := range events {
		if e.Kind != noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_APPROACH {
			s.log.InfoContext(ctx, "flight event", "event", e.Kind.String(), "zone", e.ZoneId, "verdict", e.Verdict.String(),
				"exemption", e.ExemptionId, "client_reference", m.lf.clientRef, "unit", m.lf.f.Unit, "pilot", m.lf.f.Pilot,
				"drone", m.lf.f.Drone, "lat", p.q.Point[1], "lon", p.q.Point[0], "at", at)
		}
	}
	resp := &noflyv1.MonitorFlightResponse{Events: events}
	if !newest {
		return resp, nil // a position answered with a newer one: its events only
	}
	resp.Reason, resp.At, resp.Verdict, resp.HeightLimit = reason, timestamppb.New(at), verdictToProto(r.Verdict), m.limit
	if s.exCache != nil {
		asOf := s.exCache.AsOf()
		resp.ExemptionsAsOf, resp.ExemptionsStale = timeToProto(asOf), exemptionsStale(asOf, s.stamp())
	}
	if m.sentZS != m.set {
		resp.ZoneSet, m.sentZS = proto.CloneOf(m.set.info), m.set
	}
	return resp, nil
}

// altitudeEvent is the ALTITUDE event of an aircraft at alt, above limit
// c (pc as sent): the limiting zone's fields when a zone limits.
func altitudeEvent(c exemptions.HeightLimit, pc *noflyv1.HeightLimit, alt geo.Altitude, idx *geo.Index) *noflyv1.FlightEvent {
	e := &noflyv1.FlightEvent{Kind: noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_ALTITUDE, HeightLimit: pc, AltitudeM: proto.Float64(alt.Metres)}
	if c.Zone != "" {
		e.ZoneId, e.Verdict = c.Zone, noflyv1.ZoneVerdict_ZONE_VERDICT_BLOCKED
		if z, ok := idx.Zone(c.Zone); ok {
			e.ZoneName, e.Restriction = z.Name, restrictionToProto[z.Restriction]
		}
	}
	return e
}

func exID(ex *exemptions.Exemption) string {
	if ex == nil {
		return ""
	}
	return ex.ID
}

func zoneEvent(kind noflyv1.FlightEventKind, z inZone) *noflyv1.FlightEvent {
	return &noflyv1.FlightEvent{Kind: kind, ZoneId: z.zone.ID, ZoneName: z.zone.Name,
		Restriction: restrictionToProto[z.zone.Restriction], Verdict: z.verdict, ExemptionId: exID(z.ex)}
}

// corridorMargin is the least margin, in metres, of the box whose
// volumes answer the look-ahead (geo.Reach).
const corridorMargin = 50

// minMoving is the speed, in m/s, below which an aircraft is taken to
// hover: no track to look along.
const minMoving = 0.5

// approaches looks ahead along the aircraft's velocity and returns an
// APPROACH for each blocking zone the look-ahead meets that the flight is
// not in and was not warned of on its way there.
func (m *monitor) approaches(ctx context.Context, prev *livePosition, inside map[string]inZone) ([]*noflyv1.FlightEvent, error) {
	p := m.last
	speed, track := p.speed, p.track
	if (math.IsNaN(speed) || math.IsNaN(track)) && prev != nil {
		if dt := p.q.At.Sub(prev.q.At).Seconds(); dt > 0 {
			b, d := geo.Course(prev.q.Point, p.q.Point)
			if math.IsNaN(track) && d > 0 {
				track = b
			}
			if math.IsNaN(speed) {
				speed = d / dt
			}
		}
	}
	dist := m.lookM
	if dist == 0 && !math.IsNaN(speed) {
		dist = speed * m.lookS
	}
	moving := !math.IsNaN(speed) && speed >= minMoving
	if math.IsNaN(track) || dist <= 0 || (m.lookM == 0 && !moving) {
		clear(m.approaching)
		return nil, nil
	}
	dist = min(dist, geo.MaxLookAhead)
	to := geo.Ahead(p.q.Point, track, dist)
	if math.Abs(to[0]-p.q.Point[0]) > 180 {
		// Across the antimeridian a lon/lat leg would run the long way
		// round: no look-ahead there (docs/live.md).
		clear(m.approaching)
		return nil, nil
	}
	end := p.q.At
	if moving {
		end = end.Add(time.Duration(dist / speed * float64(time.Second)))
	} else {
		end = end.Add(DefaultLookAhead)
	}
	aq := geo.ApproachQuery{From: p.q.Point, To: to, Alt: p.q.Alt,
		Window: geo.TimeWindow{Start: p.q.At, End: end}, Category: p.q.Category, Stop: ctx.Err}
	if !m.corridor.Holds(m.set.idx, aq) {
		// The volumes near the track and as far again beyond: the next
		// positions' look-aheads are mostly in that box, and are answered
		// from its volumes, exactly as a search of the index would.
		m.corridor = m.set.idx.Reach(p.q.Point, track, 2*dist, max(dist/4, corridorMargin))
	}
	found, err := m.corridor.Approaches(aq)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		clear(m.approaching)
		return nil, nil
	}
	// The zones met, reused from one look-ahead to the next (the
	// decision below points into them; nothing keeps them after).
	hits := m.ahead[:0]
	entry := map[string]float64{}
	for _, a := range found {
		if _, in := inside[a.Zone.ID]; in || !a.Blocking() {
			continue
		}
		hits = append(hits, a.Hit)
		entry[a.Zone.ID] = a.Entry
	}
	m.ahead = hits
	// What each zone will mean there, decided as a check of the track.
	f := m.lf.f
	f.Kind, f.Route = exemptions.FlightRoute, []orb.Point{p.q.Point, to}
	r := exemptions.Decide(hits, f, m.snap, p.q.At)
	var events []*noflyv1.FlightEvent
	seen := map[string]bool{}
	for _, c := range r.Conflicts {
		id := c.Hit.Zone.ID
		seen[id] = true
		if m.approaching[id] {
			continue
		}
		m.approaching[id] = true
		z := inZone{zone: c.Hit.Zone, verdict: noflyv1.ZoneVerdict_ZONE_VERDICT_BLOCKED}
		if c.By != nil {
			z.verdict, z.ex = noflyv1.ZoneVerdict_ZONE_VERDICT_EXEMPTED, c.By
		}
		e := zoneEvent(noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_APPROACH, z)
		e.DistanceM = math.Round(entry[id]*10) / 10
		if moving {
			e.TimeS = proto.Float64(math.Round(entry[id]/speed*10) / 10)
		}
		events = append(events, e)
	}
	for id := range m.approaching {
		if !seen[id] {
			delete(m.approaching, id)
		}
	}
	return events, nil
}

// basicResultToProto converts a decision for CHECK_VIEW_BASIC: as
// resultToProto, without the zones' and exemptions' texts, and without
// building them first (the cheaper answer for clients that check often).
func basicResultToProto(r *exemptions.Result) checkProto {
	p := checkProto{verdict: verdictToProto(r.Verdict), caveats: caveatsToProto(r.Caveats)}
	applied := func(ex *exemptions.Exemption) *noflyv1.AppliedExemption {
		return &noflyv1.AppliedExemption{Id: ex.ID, ValidUntil: timeToProto(ex.ValidUntil), CeilingM: ex.Ceiling.Metres,
			CeilingReference: refToProto[ex.Ceiling.Ref]}
	}
	hit := func(h *geo.Hit) *noflyv1.ZoneHit {
		return &noflyv1.ZoneHit{
			Zone: &noflyv1.ZoneSummary{Id: h.Zone.ID, Restriction: restrictionToProto[h.Zone.Restriction],
				RegulationExemption: exemptionsToProto[h.Zone.Exemptions]},
			ClosestApproachM: h.Distance, Inside: h.Distance == 0, HeightBand: bandToProto(h.Band),
			TimeWindow: windowToProto(h.When), Caveats: caveatsToProto(h.Caveats),
		}
	}
	for _, ex := range r.Applied {
		p.applied = append(p.applied, applied(ex))
	}
	for i := range r.Conflicts {
		c := &r.Conflicts[i]
		ph := hit(c.Hit)
		if c.By != nil {
			if j := slices.Index(r.Applied, c.By); j >= 0 {
				ph.Exemption = p.applied[j]
			} else {
				ph.Exemption = applied(c.By)
			}
		}
		for _, why := range c.Reasons {
			ph.NotCovered = append(ph.NotCovered, &noflyv1.ExemptionRefusal{ExemptionId: why.ExemptionID})
		}
		p.conflicts = append(p.conflicts, ph)
	}
	for _, h := range r.Advisories {
		p.advisories = append(p.advisories, hit(h))
	}
	return p
}
