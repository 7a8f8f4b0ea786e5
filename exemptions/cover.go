package exemptions

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// Flight is what Cover needs to know about a checked flight besides its hit.
type Flight struct {
	// Who flies and why.
	Unit, Pilot, Drone string
	// Purpose is empty when the flight gave none.
	Purpose Purpose
	// Where: exactly one of Point (a position check), Route (the waypoints
	// of a route, with Buffer) or Area (an operating area, with Buffer) is
	// set, as Kind says.
	Kind   FlightKind
	Point  orb.Point
	Route  []orb.Point
	Area   geo.Shape
	Buffer float64 // metres, routes and areas
}

// FlightKind says which geometry a Flight has.
type FlightKind uint8

const (
	// FlightPosition: Flight.Point.
	FlightPosition FlightKind = iota + 1
	// FlightRoute: Flight.Route and Flight.Buffer.
	FlightRoute
	// FlightArea: Flight.Area and Flight.Buffer.
	FlightArea
)

// Reason says why one candidate exemption does not cover a conflict.
// ExemptionID is empty when the reason is that there is no candidate.
type Reason struct {
	ExemptionID string
	Text        string
}

func (r Reason) String() string {
	if r.ExemptionID == "" {
		return r.Text
	}
	return r.ExemptionID + ": " + r.Text
}

// Decision is Cover's answer for one conflict: the covering exemption, or
// why each candidate fails.
type Decision struct {
	// By is the exemption that covers the conflict; nil when none does.
	By *Exemption
	// Reasons lists, when By is nil, why each candidate fails (one reason
	// per candidate, each naming every rule it breaks), or one reason with
	// no exemption id when no candidate of the flight's unit covers the
	// zone at all.
	Reasons []Reason
}

// Covered reports whether an exemption covers the conflict.
func (d Decision) Covered() bool { return d.By != nil }

// Cover decides whether one of the candidate exemptions covers a blocking
// conflict (a hit whose zone blocks) of flight f, at instant now (which
// decides whether a revocation has taken effect). Candidates are tried in
// the order given; the first that covers wins. Candidates of other units,
// and candidates that neither name the zone nor select it, are skipped
// without a reason.
//
// An exemption covers the conflict when all of these hold:
//   - it is neither revoked (at or before now) nor superseded;
//   - its holder is the flight's unit and, when it names pilots or drones,
//     the flight's pilot and drone are among them;
//   - it allows the flight's purpose (an exemption without purposes allows
//     any; one with purposes does not cover a flight that gave none);
//   - it names the zone by id or its selector picks it. A zone whose data
//     allows no exemption (ED-269 regulationExemption NO) is covered only
//     by an exemption that names it by id and is marked Override;
//   - its validity [ValidFrom, ValidUntil] contains hit.When, the whole
//     time the flight spends in the zone while the zone is active (both
//     ends inclusive: a flight that ends exactly when the exemption does is
//     covered);
//   - its ceiling is at or above hit.Band.Upper, the flight's highest point
//     in the zone, in the same vertical reference. When the heights are not
//     known (no reference, or no upper bound), or the references differ
//     (nofly has no terrain or geoid model to convert), the ceiling cannot
//     be shown to hold and the exemption does not cover: safety first;
//   - when it has an area, the area contains the part of the flight in the
//     zone (see containsFlight).
func Cover(hit *geo.Hit, f Flight, candidates []*Exemption, now time.Time) Decision {
	// First without words: most checks are covered by the first candidate
	// or have none, and explaining costs far more than deciding.
	for _, ex := range candidates {
		if ex.Holder.Unit == f.Unit && ex.CoversZone(hit.Zone) && covers(ex, hit, f, now) {
			return Decision{By: ex}
		}
	}
	var d Decision
	more := 0
	for _, ex := range candidates {
		if ex.Holder.Unit != f.Unit || !ex.CoversZone(hit.Zone) {
			continue
		}
		if len(d.Reasons) == MaxReasons {
			more++
			continue
		}
		d.Reasons = append(d.Reasons, Reason{ExemptionID: ex.ID, Text: strings.Join(failures(ex, hit, f, now), "; ")})
	}
	if more > 0 {
		d.Reasons = append(d.Reasons, Reason{Text: fmt.Sprintf("and %d more exemption%s of unit %s for this zone, none of which covers the flight", more, plural(more), f.Unit)})
	}
	if len(d.Reasons) == 0 {
		unit := f.Unit
		if unit == "" {
			unit = "(none given)"
		}
		d.Reasons = []Reason{{Text: fmt.Sprintf("no exemption of unit %s names this zone", unit)}}
	}
	return d
}

// MaxReasons bounds the candidates Cover explains; the rest are counted.
const MaxReasons = 10

// covers reports whether ex covers the hit: failures(...) is empty. It
// decides the same rules, in the same order, without writing why.
func covers(ex *Exemption, hit *geo.Hit, f Flight, now time.Time) bool {
	switch {
	case ex.Revoked(now), ex.SupersededBy != "",
		len(ex.Holder.Pilots) > 0 && !slices.Contains(ex.Holder.Pilots, f.Pilot),
		len(ex.Holder.Drones) > 0 && !slices.Contains(ex.Holder.Drones, f.Drone),
		len(ex.Purposes) > 0 && !slices.Contains(ex.Purposes, f.Purpose),
		hit.Zone.Exemptions == geo.ExemptionsNotAllowed && !(ex.Override && ex.NamesZone(hit.Zone.ID)),
		hit.When.Start.Before(ex.ValidFrom), hit.When.End.After(ex.ValidUntil),
		ceilingFailure(ex.Ceiling, hit.Band) != "":
		return false
	}
	return ex.Area == nil || containsFlight(*ex.Area, hit, f) == ""
}

// failures lists every rule ex breaks for the hit, in the order of Cover's
// documentation.
func failures(ex *Exemption, hit *geo.Hit, f Flight, now time.Time) []string {
	var fails []string
	add := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }

	if ex.Revoked(now) {
		r := ex.Revocation
		add("revoked on %s by %s: %s", fmtTime(r.At), r.By, r.Reason)
	}
	if ex.SupersededBy != "" {
		add("superseded by %s", ex.SupersededBy)
	}
	if len(ex.Holder.Pilots) > 0 && !slices.Contains(ex.Holder.Pilots, f.Pilot) {
		add("for pilot%s %s, not %s", plural(len(ex.Holder.Pilots)), strings.Join(ex.Holder.Pilots, ", "), orNone(f.Pilot))
	}
	if len(ex.Holder.Drones) > 0 && !slices.Contains(ex.Holder.Drones, f.Drone) {
		add("for drone%s %s, not %s", plural(len(ex.Holder.Drones)), strings.Join(ex.Holder.Drones, ", "), orNone(f.Drone))
	}
	if len(ex.Purposes) > 0 && !slices.Contains(ex.Purposes, f.Purpose) {
		ps := make([]string, len(ex.Purposes))
		for i, p := range ex.Purposes {
			ps[i] = string(p)
		}
		add("allows purpose%s %s, not %s", plural(len(ps)), strings.Join(ps, ", "), orNone(string(f.Purpose)))
	}
	if hit.Zone.Exemptions == geo.ExemptionsNotAllowed && !(ex.Override && ex.NamesZone(hit.Zone.ID)) {
		add("zone %s allows no exemption (regulationExemption NO): only an exemption that names it and overrides covers it", hit.Zone.ID)
	}
	switch w := hit.When; {
	case w.Start.Before(ex.ValidFrom):
		add("starts %s, the flight is in the zone from %s", fmtTime(ex.ValidFrom), fmtTime(w.Start))
	case w.End.After(ex.ValidUntil):
		add("ends %s, the flight ends %s", fmtTime(ex.ValidUntil), fmtTime(w.End))
	}
	if msg := ceilingFailure(ex.Ceiling, hit.Band); msg != "" {
		add("%s", msg)
	}
	if ex.Area != nil {
		if msg := containsFlight(*ex.Area, hit, f); msg != "" {
			add("%s", msg)
		}
	}
	return fails
}

// ceilingFailure says why ceiling c does not hold for a flight that reaches
// band b in the zone, or "" when it holds.
func ceilingFailure(c Ceiling, b geo.Band) string {
	switch {
	case b.Ref == geo.RefUnknown:
		return fmt.Sprintf("ceiling %s, the flight's height is not known", c)
	case math.IsInf(b.Upper, 1) || math.IsNaN(b.Upper):
		return fmt.Sprintf("ceiling %s, the flight's highest point in the zone is not bounded", c)
	case b.Ref != c.Ref:
		return fmt.Sprintf("ceiling %s, the flight's heights are %s and cannot be compared without terrain or geoid data", c, b.Ref)
	case b.Upper > c.Metres:
		return fmt.Sprintf("ceiling %s, planned %s m %s", c, fmtM(b.Upper), b.Ref)
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "none given"
	}
	return s
}
