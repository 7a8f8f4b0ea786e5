package exemptions

import (
	"cmp"
	"slices"
	"time"

	"github.com/nofly-project/nofly/fleet"
	"github.com/nofly-project/nofly/geo"
)

// Verdict is the answer to a check (ARCHITECTURE invariant 1: a flight that
// enters an active blocking zone is never CLEAR).
type Verdict uint8

const (
	// Clear: the flight meets no blocking zone.
	Clear Verdict = iota + 1
	// Denied: at least one blocking zone is met that no exemption covers.
	Denied
	// Exempted: blocking zones are met, and an exemption covers each one.
	Exempted
)

func (v Verdict) String() string {
	switch v {
	case Clear:
		return "CLEAR"
	case Denied:
		return "DENIED"
	case Exempted:
		return "EXEMPTED"
	}
	return "UNKNOWN"
}

// MayFly reports whether the flight may go ahead: CLEAR or EXEMPTED.
func (v Verdict) MayFly() bool { return v == Clear || v == Exempted }

// Conflict is a blocking hit with its Decision: the exemption that covers
// it, or why none does.
type Conflict struct {
	Hit *geo.Hit
	Decision
}

// Result is the whole decision on one check.
type Result struct {
	Verdict Verdict
	// Conflicts are the hits of blocking zones, sorted by zone id. Each
	// covered one has By set, even when the verdict is DENIED (it names the
	// record that would cover it).
	Conflicts []Conflict
	// Advisories are the hits of zones that inform (CONDITIONAL,
	// NO_RESTRICTION), sorted by zone id.
	Advisories []*geo.Hit
	// Caveats are every assumption the check made: the flight's own and
	// every hit's.
	Caveats geo.Caveat
	// Applied lists the exemptions that cover conflicts, each once, sorted
	// by id; only when the verdict is EXEMPTED (a DENIED flight applies
	// none).
	Applied []*Exemption
	// Refusals are the reasons the registry, the deployment policy or the
	// general ceiling refuse the flight, whatever the zones say: any one
	// makes the verdict DENIED, and no exemption overrides it. They are
	// apart from Conflicts, which are the airspace's.
	Refusals []fleet.Refusal
	// Warnings are what the answer must say besides (e.g. that the
	// registry is not enforced).
	Warnings []string
}

// AppliedIDs lists the ids of r.Applied.
func (r *Result) AppliedIDs() []string {
	ids := make([]string, len(r.Applied))
	for i, ex := range r.Applied {
		ids[i] = ex.ID
	}
	return ids
}

// ConflictZones lists the ids of the conflicts' zones, in order.
func (r *Result) ConflictZones() []string {
	ids := make([]string, len(r.Conflicts))
	for i, c := range r.Conflicts {
		ids[i] = c.Hit.Zone.ID
	}
	return ids
}

// Decide is the decision on a check, and the only place that makes it. It
// splits hits (what geo found for flight f) into blocking conflicts and
// advisories, decides for each conflict whether a record of snap covers it
// at instant now (Rules), and returns the verdict: CLEAR without conflicts,
// EXEMPTED when every conflict is covered, DENIED otherwise.
//
// snap holds the exemptions in force: a Cache's Snapshot, or
// NewSnapshot(records, version) for records from elsewhere (a bundle, a
// test). A nil snap means that no exemptions are kept at all: every
// conflict stands, with no reasons given; an empty one that none applies,
// each conflict saying so.
//
// Decide is pure: no I/O, no clock. It does not change hits or snap, so
// that any number of checks may share one Snapshot; the result points into
// both. f.Caveats joins the hits' caveats.
func Decide(hits []geo.Hit, f Flight, snap *Snapshot, now time.Time) Result {
	return DecideFleet(hits, f, snap, nil, now)
}

// DecideFleet is Decide with the force's own rules: the drone registry,
// the deployment policy and the general ceiling (fl; nil keeps none, as
// Decide). A flight they refuse is DENIED whatever the zones say, with
// Result.Refusals saying why; exemptions never override a refusal. It is
// pure, as Decide.
func DecideFleet(hits []geo.Hit, f Flight, snap *Snapshot, fl *Fleet, now time.Time) Result {
	return decideFleet(hits, f, snap, fl, now, true)
}

// DecideFleetBrief is DecideFleet for an answer that names zones and
// exemptions but not why a record does not cover a conflict (a batch's, a
// stream's): such a conflict has no Reasons, and none is put in words.
// Everything else is DecideFleet's.
func DecideFleetBrief(hits []geo.Hit, f Flight, snap *Snapshot, fl *Fleet, now time.Time) Result {
	return decideFleet(hits, f, snap, fl, now, false)
}

// DecideFleetIDs is DecideFleet for an answer that names the records that
// do not cover a conflict but not why (the unary check's BASIC view): each
// conflict's Reasons are DecideFleet's, in the same order, with their
// ExemptionID and without Rules or Text. Everything else is DecideFleet's.
func DecideFleetIDs(hits []geo.Hit, f Flight, snap *Snapshot, fl *Fleet, now time.Time) Result {
	return decideFleetAs(hits, f, snap, fl, now, reasonIDs)
}

// DecideFleetInto is DecideFleet, or DecideFleetIDs when idsOnly, with
// the result's conflicts built in room's array when it has space for them
// all, else in one of their own as DecideFleet's. A caller that reads each
// result only until its next decision (a position check, answered and
// logged before the next) may keep one room for all: the decision then
// allocates no list of conflicts. The result is DecideFleet's (or
// DecideFleetIDs') in every field.
func DecideFleetInto(room []Conflict, idsOnly bool, hits []geo.Hit, f Flight, snap *Snapshot, fl *Fleet, now time.Time) Result {
	why := reasonTexts
	if idsOnly {
		why = reasonIDs
	}
	return decideFleetIn(hits, f, snap, fl, now, why, room[:0], true)
}

// reasonDetail is what a decision says of why no record covers a
// conflict.
type reasonDetail uint8

const (
	noReasons   reasonDetail = iota // nothing (a height limit's probes, a batch)
	reasonIDs                       // the records, without words
	reasonTexts                     // the records and why, in words
)

// decideFleet is DecideFleet; without reasons (why false) a conflict no
// record covers says nothing of why, which only the answer needs.
func decideFleet(hits []geo.Hit, f Flight, snap *Snapshot, fl *Fleet, now time.Time, why bool) Result {
	if why {
		return decideFleetAs(hits, f, snap, fl, now, reasonTexts)
	}
	return decideFleetAs(hits, f, snap, fl, now, noReasons)
}

func decideFleetAs(hits []geo.Hit, f Flight, snap *Snapshot, fl *Fleet, now time.Time, why reasonDetail) Result {
	return decideFleetIn(hits, f, snap, fl, now, why, nil, true)
}

// decideFleetIn is decideFleetAs with room for the conflicts: the result's
// Conflicts are built in room's array when it is large enough (a height
// limit's probes, each read only until the next, share one). Without
// advisories (a probe, read for its verdict, conflicts, exemptions and
// refusals only) the result's Advisories are nil, not listed nor sorted.
func decideFleetIn(hits []geo.Hit, f Flight, snap *Snapshot, fl *Fleet, now time.Time, why reasonDetail, room []Conflict, advisories bool) Result {
	r := decideZones(hits, f, snap, now, why, room, advisories)
	if fl == nil {
		return r
	}
	r.Refusals, r.Warnings = fl.judge(&f)
	if len(r.Refusals) > 0 {
		r.Verdict = Denied
		r.Applied = nil
	}
	return r
}

// decideZones decides on the airspace alone: zones and exemptions. The
// conflicts are built in room when it has space for them all; the
// advisories are listed only when asked for.
func decideZones(hits []geo.Hit, f Flight, snap *Snapshot, now time.Time, why reasonDetail, room []Conflict, advisories bool) Result {
	r := Result{Verdict: Clear, Caveats: f.Caveats}
	var blocking int
	for i := range hits {
		r.Caveats |= hits[i].Caveats
		if hits[i].Blocking() {
			blocking++
		}
	}
	switch {
	case blocking > 0 && cap(room) >= blocking:
		r.Conflicts = room[:0]
	case blocking > 0:
		r.Conflicts = make([]Conflict, 0, blocking)
	}
	// A unit that holds no record has every conflict uncovered, the same
	// decision for each: without words it needs no situation.
	var plain Decision
	noRecords := snap != nil && why != reasonTexts && !snap.holds(f.Unit)
	if noRecords {
		plain = noRecordsDecision(why)
	}
	if n := len(hits) - blocking; n > 0 && advisories {
		r.Advisories = make([]*geo.Hit, 0, n)
	}
	var st *situation // made for the first conflict, then moved along
	uncovered := 0
	for i := range hits {
		h := &hits[i]
		if !h.Blocking() {
			if advisories {
				r.Advisories = append(r.Advisories, h)
			}
			continue
		}
		c := Conflict{Hit: h}
		if noRecords {
			c.Decision = plain
		} else if snap != nil {
			if st == nil {
				st = &situation{f: f, now: now, noReasons: why == noReasons, idsOnly: why == reasonIDs}
			}
			st.hit = h
			c.Decision = snap.cover(st)
		}
		if c.By == nil {
			uncovered++
		} else if !slices.Contains(r.Applied, c.By) {
			r.Applied = append(r.Applied, c.By)
		}
		r.Conflicts = append(r.Conflicts, c)
	}
	byZone := func(a, b *geo.Hit) int { return cmp.Compare(a.Zone.ID, b.Zone.ID) }
	slices.SortStableFunc(r.Conflicts, func(a, b Conflict) int { return byZone(a.Hit, b.Hit) })
	slices.SortStableFunc(r.Advisories, byZone)
	switch {
	case uncovered > 0:
		r.Verdict = Denied
		r.Applied = nil
	case len(r.Conflicts) > 0:
		r.Verdict = Exempted
		slices.SortFunc(r.Applied, func(a, b *Exemption) int { return cmp.Compare(a.ID, b.ID) })
	}
	return r
}
