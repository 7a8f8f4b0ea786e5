package exemptions

import (
	"fmt"
	"math"
	"time"

	"github.com/nofly-project/nofly/geo"
)

// CeilingKind says what a HeightLimit answers.
type CeilingKind uint8

const (
	// CeilingBlocked: the flight is not cleared even at the ground.
	CeilingBlocked CeilingKind = iota + 1
	// CeilingLimited: the flight is cleared up to Metres.
	CeilingLimited
	// CeilingUnlimited: nothing known limits the flight's height (no
	// general ceiling is kept and no blocking zone lies above).
	CeilingUnlimited
)

// HeightLimit is the highest height at which a flight is still cleared there
// (CLEAR or EXEMPTED), climbing from the ground: every height from the
// ground up to Metres is cleared, and a height a metre above is not.
type HeightLimit struct {
	Kind CeilingKind
	// Metres above Ref, in whole metres, rounded down.
	Metres float64
	Ref    geo.VerticalRef
	// LimitedBy says what limits it: "NL-EHAM-CTR from 45 m AGL", an
	// exemption's ceiling, the general ceiling, or for a blocked flight what
	// blocks it at the ground.
	LimitedBy string
	// Zone is the id of the limiting zone, when a zone limits.
	Zone string
	// Why explains a conservative answer (references that differ).
	Why string
}

func (c HeightLimit) String() string {
	switch c.Kind {
	case CeilingBlocked:
		return "Blocked from the ground (" + c.LimitedBy + ")"
	case CeilingUnlimited:
		return "No ceiling known"
	}
	return fmt.Sprintf("You may fly here up to %s m %s (limited by %s)", fmtM(c.Metres), c.Ref, c.LimitedBy)
}

// maxProbes bounds the checks one ceiling makes: each height where the
// answer may change costs up to three.
const maxProbes = 300

// searchTop is how high a ceiling is sought without a general ceiling in
// the flight's reference, in metres.
const searchTop = 20000

// HighestCleared answers how high flight f may fly: the highest height, in
// f.Height's reference (AGL when f gives none), up to which the flight is
// cleared from the ground, as DecideFleet decides it at each height.
//
// column is what geo found for the flight at every height (a check with no
// altitude, whose hits carry CaveatNoAltitude and their volume's band: the
// lower limit of a zone of one volume is read from it); probe(alt) is what it finds at height alt (the same check at
// that altitude). The answer changes only at the heights where a zone of
// the column starts (geo.Limit.LowestReach), where an applied exemption's
// ceiling ends, and at the general ceiling: HighestCleared decides at
// those heights, just above them and at the whole metre below, so its
// answer is exact to the metre, rounded down. It is pure: probe must be too,
// except that the hits a probe returns are read only until the next probe
// (or, for column, until the first), so a probe may reuse one buffer.
func HighestCleared(column []geo.Hit, probe func(geo.Altitude) []geo.Hit, f Flight, snap *Snapshot, fl *Fleet, now time.Time) HeightLimit {
	ref := f.Height.Ref
	if ref == geo.RefUnknown {
		ref = geo.AGL
	}
	ground := 0.0
	if f.Height.Ref != geo.RefUnknown && f.Height.Lower < 0 {
		ground = f.Height.Lower
	}
	// A break is a height where the answer may change: where a blocking
	// zone's volume starts, or an applied exemption's ceiling ends. What it
	// is, is put in words only for the one that limits (what).
	type brk struct {
		h   float64
		z   *geo.Zone // the zone whose volume vol starts at h
		vol int
		ex  *Exemption // or the exemption whose ceiling ends at h
	}
	what := func(b brk) string {
		switch {
		case b.z != nil:
			return fmt.Sprintf("%s from %s", b.z.ID, b.z.Volumes[b.vol].Lower)
		case b.ex != nil:
			return fmt.Sprintf("the ceiling of exemption %s, %s", b.ex.ID, b.ex.Ceiling)
		}
		return ""
	}
	var (
		buf    [16]brk
		breaks = buf[:0]
		why    string
	)
	for i := range column {
		z := column[i].Zone
		if !z.Restriction.Blocking() {
			continue
		}
		for vi := range z.Volumes {
			lower := volumeLower(&column[i], vi)
			h, mixed := lower.LowestReach(ref)
			if math.IsInf(h, -1) || h < ground {
				continue // from the ground: the first probe meets it
			}
			if mixed && why == "" {
				why = fmt.Sprintf("zone %s's lower limit is %s and the flight's heights %s: without terrain or geoid data it is taken at its lowest, %s m %s", z.ID, z.Volumes[vi].Lower, ref, fmtM(h), ref)
			}
			breaks = append(breaks, brk{h: h, z: z, vol: vi})
		}
	}
	top, topByPolicy := math.Inf(1), false
	if c, byPolicy := fl.ceilingAlt(); c.Ref == ref {
		top, topByPolicy = c.Metres, byPolicy
	} else if c.Ref != geo.RefUnknown && why == "" {
		why = fmt.Sprintf("%s cannot be expressed in %s without terrain or geoid data: keep to it too", fl.ceilingWhat(c, byPolicy), ref)
	}
	topWhat := func() string { return fl.ceilingWhat(geo.Altitude{Metres: top, Ref: ref}, topByPolicy) }
	ff := f
	ff.Caveats &^= geo.CaveatNoAltitude
	// Each probe's conflicts, read only until the next: on the stack for
	// the few most columns hold.
	var roomArr [8]Conflict
	room := roomArr[:0]
	decideAt := func(h float64, hits []geo.Hit) Result {
		ff.Height = geo.Band{Lower: h, Upper: h, Ref: ref}
		// Whether the flight may fly, and what limits it, is all a
		// probe's decision is read for: not why no record covers a
		// conflict, nor the zones that only inform.
		r := decideFleetIn(hits, ff, snap, fl, now, noReasons, room, false)
		if cap(r.Conflicts) > cap(room) {
			room = r.Conflicts[:0]
		}
		return r
	}
	const above = 1e-3 // a millimetre: just above a height where coverage ends
	// Once the flight may fly at the ground, nothing refuses it higher up
	// but the zones: the registry and the policy do not depend on the
	// height, and no height above the general ceiling is decided at (the
	// loop stops at top). A probe that meets no blocking zone then decides
	// CLEAR, applying no exemption, without deciding; one that meets one
	// is decided in full.
	// Where no record can cover a conflict (none kept, or none of the
	// unit's), the ground's answer needs no conflicts listed either
	// (refusedWithoutCover).
	noCover := snap == nil || !snap.holds(f.Unit)
	probes := 0
	// The heights decided at only rise (each next one is above h), so no
	// height is decided at twice.
	h, last, lastTop := ground, brk{h: ground}, false
	for {
		var r Result
		switch hits := probe(geo.Altitude{Metres: h, Ref: ref}); {
		case probes > 0 && !anyBlocking(hits):
			r.Verdict = Clear
		case probes == 0 && noCover:
			ff.Height = geo.Band{Lower: h, Upper: h, Ref: ref}
			if by := refusedWithoutCover(hits, &ff, fl); by != "" {
				return HeightLimit{Kind: CeilingBlocked, Ref: ref, LimitedBy: by, Why: why}
			}
			r.Verdict = Clear
		default:
			r = decideAt(h, hits)
		}
		probes++
		if !r.Verdict.MayFly() {
			if h == ground {
				return HeightLimit{Kind: CeilingBlocked, Ref: ref, LimitedBy: blockedBy(&r), Why: why}
			}
			lw := what(last)
			if lastTop {
				lw = topWhat()
			}
			return HeightLimit{Kind: CeilingLimited, Metres: math.Ceil(h) - 1, Ref: ref, LimitedBy: limitedBy(&r, lw), Zone: zoneID(last.z), Why: why}
		}
		for _, a := range r.Applied {
			if a.Ceiling.Ref == ref && a.Ceiling.Metres >= h {
				breaks = append(breaks, brk{h: a.Ceiling.Metres + above, ex: a})
			}
		}
		if h >= top {
			return HeightLimit{Kind: CeilingLimited, Metres: math.Floor(top), Ref: ref, LimitedBy: topWhat(), Why: why}
		}
		// The next height to decide at: the lowest break above h, or the
		// whole metre below it first.
		next := brk{h: math.Inf(1)}
		for _, b := range breaks {
			for _, c := range [3]float64{math.Floor(b.h), b.h, b.h + above} {
				if c > h && c < next.h {
					next = b
					next.h = c
				}
			}
		}
		nextTop := false
		if next.h > top {
			next, nextTop = brk{h: top}, true
		}
		if math.IsInf(next.h, 1) || next.h > searchTop || probes >= maxProbes {
			if probes >= maxProbes {
				// Too many heights to decide at: answer the highest decided.
				return HeightLimit{Kind: CeilingLimited, Metres: math.Floor(h), Ref: ref, LimitedBy: fmt.Sprintf("the zones above: more than %d heights to decide at", maxProbes), Why: why}
			}
			return HeightLimit{Kind: CeilingUnlimited, Ref: ref, Why: why}
		}
		h, last, lastTop = next.h, next, nextTop
	}
}

// volumeLower is the lower limit of volume vi of hit h's zone, for its
// height (LowestReach): from the hit when it has it, a hit of a check with
// no altitude on a zone of one volume, whose Band runs from the volume's
// lower limit, in its reference (or from minus infinity when the limit is
// open); else from the zone. The volume itself is not read: a check reads
// the hits' zones' volumes of a large zone set each from memory of its
// own.
func volumeLower(h *geo.Hit, vi int) geo.Limit {
	if h.Caveats&geo.CaveatNoAltitude != 0 && len(h.Zone.Volumes) == 1 {
		if math.IsInf(h.Band.Lower, -1) {
			return geo.OpenLimit
		}
		return geo.Limit{Metres: h.Band.Lower, Ref: h.Band.Ref}
	}
	return h.Zone.Volumes[vi].Lower
}

// refusedWithoutCover is what refuses flight f, meeting hits, where no
// record can cover a conflict: blockedBy of its decision (DecideFleet
// with fl), without the decision, whose conflicts come sorted by zone id.
// "" when nothing does.
func refusedWithoutCover(hits []geo.Hit, f *Flight, fl *Fleet) string {
	if fl != nil {
		if refusals, _ := fl.judge(f); len(refusals) > 0 {
			return refusals[0].String()
		}
	}
	// Every blocking hit is an uncovered conflict: the first, by zone id.
	var first *geo.Zone
	for i := range hits {
		if z := hits[i].Zone; hits[i].Blocking() && (first == nil || z.ID < first.ID) {
			first = z
		}
	}
	if first == nil {
		return ""
	}
	return fromGround(first)
}

// anyBlocking reports whether any of hits needs an exemption.
func anyBlocking(hits []geo.Hit) bool {
	for i := range hits {
		if hits[i].Blocking() {
			return true
		}
	}
	return false
}

// zoneID is z's id, or "" for none.
func zoneID(z *geo.Zone) string {
	if z == nil {
		return ""
	}
	return z.ID
}

// blockedBy says what refuses the flight at the ground.
func blockedBy(r *Result) string {
	if len(r.Refusals) > 0 {
		return r.Refusals[0].String()
	}
	for _, c := range r.Conflicts {
		if c.By == nil {
			return fromGround(c.Hit.Zone)
		}
	}
	return "the check"
}

// fromGround says that zone z refuses the flight from the ground up.
func fromGround(z *geo.Zone) string { return z.ID + " from the ground" }

// limitedBy says what refuses the flight at the first height it is
// refused, preferring the break that led there.
func limitedBy(r *Result, brk string) string {
	if brk != "" {
		return brk
	}
	return blockedBy(r)
}
