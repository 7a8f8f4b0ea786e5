package exemptions

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nofly-project/nofly/geo"
)

// The rules by which an exemption covers a blocking conflict. This table is
// the only statement of them: deciding (covers) runs each rule's check,
// explaining (explain) the same rules' explanations, and docs/exemptions.md
// lists them as rendered from here (a test compares the two).

// Rule is one condition that an exemption must meet to cover a blocking
// conflict, besides being a candidate (see CandidateDoc).
type Rule struct {
	// Name identifies the rule in refusals (Reason.Rules): "validity".
	Name string
	// Doc states the rule for people; docs/exemptions.md lists it.
	Doc string
	// holds reports whether ex meets the rule in situation s. It only
	// decides: it builds no text, so that a check that is covered, or has
	// no candidate, costs no allocation.
	holds func(ex *Exemption, s *situation) bool
	// why says how ex breaks the rule. It is called only when holds is
	// false.
	why func(ex *Exemption, s *situation) string
}

// situation is what the rules read besides the exemption: one blocking
// hit of one flight, at the instant of the check. The rules are called
// through the table, so the compiler cannot keep it on the stack: Decide
// makes one per check and moves it from conflict to conflict.
type situation struct {
	hit *geo.Hit
	f   Flight
	now time.Time
	// noReasons: only whether a record covers matters, not why none
	// does (a height limit's probes). idsOnly: the reasons name their
	// records, without words (refusals).
	noReasons, idsOnly bool
}

// CandidateDoc states which records are tried for a conflict at all
// (candidate). A record that is no candidate is passed over without a
// reason: a flight is never shown another unit's records.
const CandidateDoc = "The candidates for a blocking conflict are the records whose holder is the flight's unit " +
	"and that name the zone in `zone_ids` or whose selector picks it; other records are passed over in silence " +
	"(a flight is never shown another unit's records). Candidates are tried in id order, and the first that meets " +
	"every rule below covers the conflict."

// candidate reports whether ex is tried for a conflict of flight f with
// zone z (CandidateDoc). Snapshot finds the same records through its index.
func candidate(ex *Exemption, z *geo.Zone, f *Flight) bool {
	return ex.Holder.Unit == f.Unit && ex.CoversZone(z)
}

// rules is the table, in the order in which refusals name broken rules.
// The cheap rules come first and the area, the costly one, last: covers
// stops at the first rule broken.
var rules = []Rule{
	{
		Name:  "not-revoked",
		Doc:   "it is not revoked: a revocation takes effect at its instant, and a record revoked at or before the check covers nothing",
		holds: func(ex *Exemption, s *situation) bool { return !ex.Revoked(s.now) },
		why: func(ex *Exemption, _ *situation) string {
			r := ex.Revocation
			return fmt.Sprintf("revoked on %s by %s: %s", fmtTime(r.At), r.By, r.Reason)
		},
	},
	{
		Name:  "not-superseded",
		Doc:   "it is not superseded: a record replaced by another covers nothing (its replacement may)",
		holds: func(ex *Exemption, _ *situation) bool { return ex.SupersededBy == "" },
		why:   func(ex *Exemption, _ *situation) string { return "superseded by " + ex.SupersededBy },
	},
	{
		Name:  "pilot",
		Doc:   "when it names pilots, the flight's pilot is among them (a check that names no pilot is not)",
		holds: func(ex *Exemption, s *situation) bool { return holderHas(ex.Holder.Pilots, s.f.Pilot) },
		why: func(ex *Exemption, s *situation) string {
			return fmt.Sprintf("for pilot%s %s, not %s", plural(len(ex.Holder.Pilots)), strings.Join(ex.Holder.Pilots, ", "), orNone(s.f.Pilot))
		},
	},
	{
		Name:  "drone",
		Doc:   "when it names drones, the flight's drone serial number is among them (a check that names no drone is not)",
		holds: func(ex *Exemption, s *situation) bool { return holderHas(ex.Holder.Drones, s.f.Drone) },
		why: func(ex *Exemption, s *situation) string {
			return fmt.Sprintf("for drone%s %s, not %s", plural(len(ex.Holder.Drones)), strings.Join(ex.Holder.Drones, ", "), orNone(s.f.Drone))
		},
	},
	{
		Name: "purpose",
		Doc:  "it allows the flight's purpose: a record without purposes allows any, one with purposes never covers a check that gives none",
		holds: func(ex *Exemption, s *situation) bool {
			return len(ex.Purposes) == 0 || slices.Contains(ex.Purposes, s.f.Purpose)
		},
		why: func(ex *Exemption, s *situation) string {
			ps := make([]string, len(ex.Purposes))
			for i, p := range ex.Purposes {
				ps[i] = string(p)
			}
			return fmt.Sprintf("allows purpose%s %s, not %s", plural(len(ps)), strings.Join(ps, ", "), orNone(string(s.f.Purpose)))
		},
	},
	{
		Name: "zone-allows-exemptions",
		Doc: "a zone whose data allows no exemption (ED-269 `regulationExemption: NO`) is covered only by a record " +
			"that names the zone in `zone_ids` **and** sets `override`; a selector never overrides. A record that " +
			"names such a zone without `override` is stored, and the create or supersede response carries a warning " +
			"that it will not cover the zone (`warnings`; `nofly` prints it on stderr)",
		holds: func(ex *Exemption, s *situation) bool {
			return s.hit.Zone.Exemptions != geo.ExemptionsNotAllowed || ex.Override && ex.NamesZone(s.hit.Zone.ID)
		},
		why: func(_ *Exemption, s *situation) string {
			return fmt.Sprintf("zone %s allows no exemption (regulationExemption NO): only an exemption that names it and overrides covers it", s.hit.Zone.ID)
		},
	},
	{
		Name: "validity",
		Doc: "its validity contains the whole time the flight spends in the zone while the zone is active " +
			"(the hit's time window), both ends inclusive: a flight that ends exactly when the exemption ends is " +
			"covered, one second later is not",
		holds: func(ex *Exemption, s *situation) bool {
			w := s.hit.When
			return !w.Start.Before(ex.ValidFrom) && !w.End.After(ex.ValidUntil)
		},
		why: func(ex *Exemption, s *situation) string {
			if w := s.hit.When; w.Start.Before(ex.ValidFrom) {
				return fmt.Sprintf("starts %s, the flight is in the zone from %s", fmtTime(ex.ValidFrom), fmtTime(w.Start))
			}
			return fmt.Sprintf("ends %s, the flight ends %s", fmtTime(ex.ValidUntil), fmtTime(s.hit.When.End))
		},
	},
	{
		Name: "ceiling",
		Doc: "its ceiling is at or above the flight's highest point in the zone (the top of the hit's height band), " +
			"in the same vertical reference; equal is covered. When the flight's height is not known, the band has no " +
			"top, or the references differ (AGL against AMSL: nofly has no terrain or geoid data), the ceiling cannot " +
			"be shown to hold, and the record does not cover: safety first",
		holds: func(ex *Exemption, s *situation) bool {
			b, c := s.hit.Band, ex.Ceiling
			// b.Upper <= c.Metres is false for a NaN top too.
			return b.Ref != geo.RefUnknown && b.Ref == c.Ref && !math.IsInf(b.Upper, 1) && b.Upper <= c.Metres
		},
		why: func(ex *Exemption, s *situation) string { return ceilingFailure(ex.Ceiling, s.hit.Band) },
	},
	{
		Name: "area",
		Doc: "when it has an area, the area contains the part of the flight in the zone, widened by the flight's " +
			"buffer: for a position the point; for a route every leg that meets the zone, whole; for an operating " +
			"area the whole area (how this is measured: [Area containment](#area-containment))",
		holds: func(ex *Exemption, s *situation) bool {
			return ex.Area == nil || containsFlight(*ex.Area, s.hit, s.f) == ""
		},
		why: func(ex *Exemption, s *situation) string { return containsFlight(*ex.Area, s.hit, s.f) },
	},
}

// Rules returns the rule table, in order: what docs/exemptions.md lists.
func Rules() []Rule { return slices.Clone(rules) }

// covers reports whether ex meets every rule in s: the fast path, which
// builds no explanation.
func covers(ex *Exemption, s *situation) bool {
	for i := range rules {
		if !rules[i].holds(ex, s) {
			return false
		}
	}
	return true
}

// explain returns why ex does not cover the conflict in s: every rule it
// breaks, in table order, named and explained. It is empty when ex covers.
func explain(ex *Exemption, s *situation) Reason {
	r := Reason{ExemptionID: ex.ID}
	var texts []string
	for i := range rules {
		if !rules[i].holds(ex, s) {
			r.Rules = append(r.Rules, rules[i].Name)
			texts = append(texts, rules[i].why(ex, s))
		}
	}
	r.Text = strings.Join(texts, "; ")
	return r
}

// holderHas reports whether a holder list allows v: an empty list allows
// anyone.
func holderHas(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }

// ceilingFailure says why ceiling c does not hold for a flight that reaches
// band b in the zone.
func ceilingFailure(c Ceiling, b geo.Band) string {
	switch {
	case b.Ref == geo.RefUnknown:
		return fmt.Sprintf("ceiling %s, the flight's height is not known", c)
	case math.IsInf(b.Upper, 1) || math.IsNaN(b.Upper):
		return fmt.Sprintf("ceiling %s, the flight's highest point in the zone is not bounded", c)
	case b.Ref != c.Ref:
		return fmt.Sprintf("ceiling %s, the flight's heights are %s and cannot be compared without terrain or geoid data", c, b.Ref)
	}
	return fmt.Sprintf("ceiling %s, planned %s m %s", c, fmtM(b.Upper), b.Ref)
}

func orNone(s string) string {
	if s == "" {
		return "none given"
	}
	return s
}
