package exemptions

import (
	"fmt"
	"math"
	"time"

	"github.com/nofly-project/nofly/geo"
)

// highestClearedRef is HighestCleared as it was before its probes were
// cut short where no record can cover a conflict, and before it read a
// volume's lower limit from its hit: the reference its answers are held
// to (TestHighestClearedMatchesReference).
func highestClearedRef(column []geo.Hit, probe func(geo.Altitude) []geo.Hit, f Flight, snap *Snapshot, fl *Fleet, now time.Time) HeightLimit {
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
			v := &z.Volumes[vi]
			h, mixed := v.Lower.LowestReach(ref)
			if math.IsInf(h, -1) || h < ground {
				continue // from the ground: the first probe meets it
			}
			if mixed && why == "" {
				why = fmt.Sprintf("zone %s's lower limit is %s and the flight's heights %s: without terrain or geoid data it is taken at its lowest, %s m %s", z.ID, v.Lower, ref, fmtM(h), ref)
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
	decideAt := func(h float64) Result {
		ff.Height = geo.Band{Lower: h, Upper: h, Ref: ref}
		// Whether the flight may fly, and what limits it, is all a
		// probe's decision is read for: not why no record covers a
		// conflict, nor the zones that only inform.
		r := decideFleetIn(probe(geo.Altitude{Metres: h, Ref: ref}), ff, snap, fl, now, noReasons, room, false)
		if cap(r.Conflicts) > cap(room) {
			room = r.Conflicts[:0]
		}
		return r
	}
	const above = 1e-3 // a millimetre: just above a height where coverage ends
	probes := 0
	// The heights decided at only rise (each next one is above h), so no
	// height is decided at twice.
	h, last, lastTop := ground, brk{h: ground}, false
	for {
		r := decideAt(h)
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
