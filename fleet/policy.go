package fleet

import (
	"fmt"
	"slices"
	"strings"
)

// Policy is a deployment policy: the ordered classification levels, an
// optional general ceiling, and the rules by drone and operation. The zero
// Policy has no levels; use Default when no file is given. A Policy is
// immutable once parsed: checks share it.
type Policy struct {
	// Name is where the policy came from (its file name), for refusals.
	Name string
	// Levels are the classifications of operation, lowest first: a drone
	// cleared for a level may fly that level and every lower one.
	Levels []string
	// Ceiling, when Set, is the policy's general ceiling.
	Ceiling Ceiling
	// Rules in file order.
	Rules []Rule
}

// Ceiling is a general height limit: Metres above Ref ("AGL", "AMSL").
type Ceiling struct {
	Set    bool
	Metres float64
	Ref    string
}

// Default is the policy without a file: levels regular and confidential,
// no rules, no ceiling of its own.
func Default() *Policy {
	return &Policy{Name: "(default policy)", Levels: []string{"regular", "confidential"}}
}

// Rule is one rule line of a policy: conditions joined by "and", then an
// action.
type Rule struct {
	// Line is the rule's 1-based line in the file; Text the line as written,
	// without its comment.
	Line int
	Text string
	Cond []Condition
	Act  Action
}

// Where names the rule: "policy.txt:7".
func (r *Rule) Where(p *Policy) string { return fmt.Sprintf("%s:%d", p.Name, r.Line) }

// Attr is what a condition tests.
type Attr string

// The attributes a condition may test: the drone's (manufacturer, model,
// class) or the operation's (unit, classification, purpose); any matches
// every check.
const (
	AttrManufacturer   Attr = "manufacturer"
	AttrModel          Attr = "model"
	AttrClass          Attr = "class"
	AttrUnit           Attr = "unit"
	AttrClassification Attr = "classification"
	AttrPurpose        Attr = "purpose"
	AttrAny            Attr = "any"
)

// Condition is one test of a rule: Attr equals Value (case-insensitive).
type Condition struct {
	Attr  Attr
	Value string
}

// Verb is what a rule does when its conditions hold.
type Verb string

// The actions of a rule.
const (
	// VerbOnly: the drone may fly only the listed classifications.
	VerbOnly Verb = "only"
	// VerbAtMost: the drone may fly no classification above the level.
	VerbAtMost Verb = "at most"
	// VerbNever: the flight is refused.
	VerbNever Verb = "never"
	// VerbRequires: the drone must list the capability.
	VerbRequires Verb = "requires"
)

// Action is a rule's verb and its arguments: levels for only and at most,
// one capability for requires.
type Action struct {
	Verb Verb
	Args []string
}

// Operation is what a policy judges besides the drone: who flies, why, and
// how the operation is classified.
type Operation struct {
	Unit           string
	Purpose        string
	Classification string
}

// Refusal is why the policy refuses a flight: the rule (Where: file and
// line, or "clearance" / "registry" for the built-in rules), the rule's
// text, and what in this flight breaks it.
type Refusal struct {
	Where  string
	Rule   string
	Reason string
}

func (r Refusal) String() string {
	if r.Rule == "" {
		return r.Where + ": " + r.Reason
	}
	return fmt.Sprintf("%s: %q: %s", r.Where, r.Rule, r.Reason)
}

// Level returns the rank of classification c (0 lowest), or -1 when the
// policy does not know it.
func (p *Policy) Level(c string) int {
	return slices.IndexFunc(p.Levels, func(l string) bool { return strings.EqualFold(l, c) })
}

// Refusals returns every reason the policy refuses operation op with drone
// d, in rule order after the built-in clearance rule; none when it allows
// it. d is nil when the drone is not known (not named, or not registered):
// a rule on the drone's make then counts as met, since it cannot be ruled
// out, and a classification above the lowest level is refused.
func (p *Policy) Refusals(op Operation, d *Drone) []Refusal {
	var out []Refusal
	rank := p.Level(op.Classification)
	if rank < 0 {
		return []Refusal{{Where: "classification", Reason: fmt.Sprintf("%q is no level of %s (%s)", op.Classification, p.Name, strings.Join(p.Levels, ", "))}}
	}
	switch {
	case d == nil && rank > 0:
		out = append(out, Refusal{Where: "clearance", Reason: fmt.Sprintf("a %s operation needs a registered drone cleared for it; the drone is not known", p.Levels[rank])})
	case d != nil && p.Level(d.Clearance) < rank:
		out = append(out, Refusal{Where: "clearance", Reason: fmt.Sprintf("drone %s is cleared for %s operations, not %s", d.Serial, d.Clearance, p.Levels[rank])})
	}
	for i := range p.Rules {
		r := &p.Rules[i]
		if !r.matches(op, d) {
			continue
		}
		if why := r.breaks(p, op, d, rank); why != "" {
			out = append(out, Refusal{Where: r.Where(p), Rule: r.Text, Reason: why})
		}
	}
	return out
}

// matches reports whether every condition of r holds (a drone condition
// holds for an unknown drone).
func (r *Rule) matches(op Operation, d *Drone) bool {
	for _, c := range r.Cond {
		var v string
		switch c.Attr {
		case AttrAny:
			continue
		case AttrManufacturer, AttrModel, AttrClass:
			if d == nil {
				continue
			}
			v = map[Attr]string{AttrManufacturer: d.Manufacturer, AttrModel: d.Model, AttrClass: d.Class}[c.Attr]
		case AttrUnit:
			v = op.Unit
		case AttrClassification:
			v = op.Classification
		case AttrPurpose:
			v = op.Purpose
		}
		if !strings.EqualFold(strings.TrimSpace(v), c.Value) {
			return false
		}
	}
	return true
}

// breaks says how op with d breaks r's action, or "" when it does not.
func (r *Rule) breaks(p *Policy, op Operation, d *Drone, rank int) string {
	who := "the drone (not known)"
	if d != nil {
		who = fmt.Sprintf("drone %s (%s %s)", d.Serial, d.Manufacturer, d.Model)
	}
	cls := p.Levels[rank]
	switch r.Act.Verb {
	case VerbOnly:
		if !slices.ContainsFunc(r.Act.Args, func(a string) bool { return strings.EqualFold(a, cls) }) {
			return fmt.Sprintf("%s may fly %s operations only, not %s", who, strings.Join(r.Act.Args, ", "), cls)
		}
	case VerbAtMost:
		if rank > p.Level(r.Act.Args[0]) {
			return fmt.Sprintf("%s may fly operations up to %s, not %s", who, r.Act.Args[0], cls)
		}
	case VerbNever:
		return "refused for this operation"
	case VerbRequires:
		if d == nil || !d.Has(r.Act.Args[0]) {
			return fmt.Sprintf("%s does not list capability %s", who, r.Act.Args[0])
		}
	}
	return ""
}
