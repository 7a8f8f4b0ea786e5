package exemptions

import (
	"fmt"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/fleet"
	"github.com/nofly-project/nofly/geo"
)

// Flight is what the decision needs to know about a checked flight besides
// its hits.
type Flight struct {
	// Who flies and why.
	Unit, Pilot, Drone string
	// Purpose is empty when the flight gave none.
	Purpose Purpose
	// Classification is the operation's classification, a level of the
	// policy (Fleet); "" means the policy's lowest level.
	Classification string
	// Aircraft is the registry's record of Drone: nil when the flight names
	// no drone or the registry holds none of that serial.
	Aircraft *fleet.Drone
	// Height is the flight's own heights, lowest to highest; Ref
	// RefUnknown when the flight gave none.
	Height geo.Band
	// Where: exactly one of Point (a position check), Route (the waypoints
	// of a route, with Buffer) or Area (an operating area, with Buffer) is
	// set, as Kind says.
	Kind   FlightKind
	Point  orb.Point
	Route  []orb.Point
	Area   geo.Shape
	Buffer float64 // metres, routes and areas
	// Caveats are assumptions about the flight itself, such as
	// geo.CaveatNoAltitude when its height was not given; the result
	// carries them with the hits'.
	Caveats geo.Caveat
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
// ExemptionID is empty when the reason is that there is no candidate (or
// that more candidates were not explained).
type Reason struct {
	ExemptionID string
	// Rules names each rule the exemption breaks (Rule.Name), in the
	// table's order; empty when ExemptionID is.
	Rules []string
	// Text explains every broken rule, for a person, joined by "; ".
	Text string
}

func (r Reason) String() string {
	if r.ExemptionID == "" {
		return r.Text
	}
	return r.ExemptionID + ": " + r.Text
}

// Decision is the answer for one blocking conflict: the covering
// exemption, or why each candidate fails.
type Decision struct {
	// By is the exemption that covers the conflict; nil when none does.
	By *Exemption
	// Reasons lists, when By is nil, why each candidate fails (one reason
	// per candidate, each naming every rule it breaks), or one reason with
	// no exemption id when the flight's unit has no candidate for the zone.
	// It is empty when no exemptions are kept at all (Decide with a nil
	// snapshot).
	Reasons []Reason
}

// Covered reports whether an exemption covers the conflict.
func (d Decision) Covered() bool { return d.By != nil }

// Cover decides whether one of candidates covers a blocking conflict (a
// hit whose zone blocks) of flight f, at instant now: the first in the
// order given that is a candidate (CandidateDoc) and meets every rule
// (Rules). Records that are no candidates are skipped without a reason.
// Decide does this for every conflict of a check; Cover is the same for one
// conflict and a list of records rather than a Snapshot.
func Cover(hit *geo.Hit, f Flight, candidates []*Exemption, now time.Time) Decision {
	s := &situation{hit: hit, f: f, now: now}
	// First without words: most checks are covered by the first candidate
	// or have none, and explaining costs far more than deciding.
	for _, ex := range candidates {
		if candidate(ex, hit.Zone, &s.f) && covers(ex, s) {
			return Decision{By: ex}
		}
	}
	return Decision{Reasons: refusals(s, candidates)}
}

// refusals explains why none of candidates covers the conflict in s: each
// candidate's broken rules, at most MaxReasons of them, the rest counted.
// With s.idsOnly the same reasons name their records without words.
func refusals(s *situation, candidates []*Exemption) []Reason {
	var out []Reason
	more := 0
	for _, ex := range candidates {
		if !candidate(ex, s.hit.Zone, &s.f) {
			continue
		}
		if len(out) == MaxReasons {
			more++
			continue
		}
		if s.idsOnly {
			out = append(out, Reason{ExemptionID: ex.ID})
			continue
		}
		out = append(out, explain(ex, s))
	}
	switch {
	case s.idsOnly && len(out) == 0:
		return noRecordNamed
	case s.idsOnly && more > 0:
		out = append(out, Reason{})
	case more > 0:
		out = append(out, Reason{Text: fmt.Sprintf("and %d more exemption%s of unit %s for this zone, none of which covers the flight", more, plural(more), s.f.Unit)})
	}
	if len(out) == 0 {
		unit := s.f.Unit
		if unit == "" {
			unit = "(none given)"
		}
		out = []Reason{{Text: fmt.Sprintf("no exemption of unit %s names this zone", unit)}}
	}
	return out
}

// noRecordNamed is the reasons, without words, of a conflict that no
// record of the unit names: shared by every such conflict (results are
// read only), and full, so that an append copies it.
var noRecordNamed = []Reason{{}}[:1:1]

// MaxReasons bounds the candidates explained per conflict; the rest are
// counted.
const MaxReasons = 10
