package exemptions

import (
	"fmt"
	"math"
	"strings"
	"sync/atomic"

	"github.com/nofly-project/nofly/fleet"
	"github.com/nofly-project/nofly/geo"
)

// Fleet is what the decision knows of the force's aircraft and rules,
// besides the zones and exemptions: the deployment policy, how strictly
// the drone registry is kept, and the general ceiling. One Fleet is shared
// by every check until a reload replaces it; it must not be changed.
type Fleet struct {
	// Policy is the deployment policy; nil means fleet.Default().
	Policy *fleet.Policy
	// Registry says how a drone named by a check is held against the
	// registry.
	Registry RegistryMode
	// Ceiling is the general ceiling (the category's: 120 m AGL in the EU
	// open category); the policy's own, when it sets one, is used instead.
	// A zero Ref means none.
	Ceiling geo.Altitude
}

// RegistryMode says what a registry problem does to a check.
type RegistryMode uint8

const (
	// RegistryEnforced: a check that names a drone that is not registered,
	// not active, or registered to another unit is DENIED.
	RegistryEnforced RegistryMode = iota
	// RegistryWarn: such a check is only warned about, for forces that do
	// not keep a registry; every answer says so.
	RegistryWarn
	// RegistryOffline: neither the registry nor the force's deployment
	// policy is at hand (an answer from an offline bundle, which holds
	// neither). The drone is not held against the registry, and every
	// answer says so in a warning (OfflineWarning). Fleet.Policy should
	// then be nil: the default policy's levels and the general ceiling
	// still hold.
	RegistryOffline
)

// OfflineWarning is the warning of every answer decided with
// RegistryOffline.
const OfflineWarning = "answered offline: the drone registry and the deployment policy are not in the bundle and were not applied " +
	"(only the default policy's levels and the general ceiling were); check the drone and the operation against them before flight"

// DefaultCeiling is the EU open category's height limit (Regulation (EU)
// 2019/947, UAS.OPEN.010): 120 m above the ground.
var DefaultCeiling = geo.Altitude{Metres: 120, Ref: geo.AGL}

// defaultPolicy is fleet.Default(), made once: a Policy is never changed.
var defaultPolicy = fleet.Default()

func (fl *Fleet) policy() *fleet.Policy {
	if fl == nil || fl.Policy == nil {
		return defaultPolicy
	}
	return fl.Policy
}

// GeneralCeiling returns the general ceiling in force (a zero Ref: none)
// and what sets it, as DecideFleet applies it.
func (fl *Fleet) GeneralCeiling() (geo.Altitude, string) {
	c, byPolicy := fl.ceilingAlt()
	if c.Ref == geo.RefUnknown {
		return c, ""
	}
	return c, fl.ceilingWhat(c, byPolicy)
}

// ceilingAlt returns the general ceiling in force, and whether the policy
// sets it.
func (fl *Fleet) ceilingAlt() (c geo.Altitude, byPolicy bool) {
	p := fl.policy()
	if pc := p.Ceiling; pc.Set {
		ref, err := geo.ParseVerticalRef(pc.Ref)
		if err == nil {
			return geo.Altitude{Metres: pc.Metres, Ref: ref}, true
		}
	}
	if fl == nil {
		return geo.Altitude{}, false
	}
	return fl.Ceiling, false
}

// ceilingWhat says what sets ceiling c (from ceilingAlt).
func (fl *Fleet) ceilingWhat(c geo.Altitude, byPolicy bool) string {
	var name string
	switch {
	case byPolicy:
		name = fl.policy().Name
	case fl == nil:
		return ""
	}
	// Every height limit under the general ceiling says it: the text of
	// the last one asked for is kept, and made again only for another.
	if t := lastCeilingText.Load(); t != nil && t.byPolicy == byPolicy && t.name == name &&
		t.ref == c.Ref && math.Float64bits(t.metres) == math.Float64bits(c.Metres) {
		return t.text
	}
	t := &ceilingText{name: name, metres: c.Metres, ref: c.Ref, byPolicy: byPolicy}
	if byPolicy {
		t.text = fmt.Sprintf("the general ceiling of %s, %s m %s", name, fmtM(c.Metres), c.Ref)
	} else {
		t.text = fmt.Sprintf("the general ceiling, %s m %s", fmtM(c.Metres), c.Ref)
	}
	lastCeilingText.Store(t)
	return t.text
}

// ceilingText is ceilingWhat's text for one ceiling: what it was made of
// (the policy's name when the policy sets the ceiling), and the text.
type ceilingText struct {
	name     string
	metres   float64
	ref      geo.VerticalRef
	byPolicy bool
	text     string
}

// lastCeilingText is the text ceilingWhat made last (nil: none yet). The
// texts it keeps are never changed, so any number of checks read it.
var lastCeilingText atomic.Pointer[ceilingText]

// judge returns the refusals of flight f by the registry, the policy and
// the general ceiling, and the warnings the answer must carry.
func (fl *Fleet) judge(f *Flight) (refusals []fleet.Refusal, warnings []string) {
	p := fl.policy()
	mode := RegistryEnforced
	if fl != nil {
		mode = fl.Registry
	}
	reg := registryRefusals(f)
	if mode == RegistryOffline {
		warnings = append(warnings, OfflineWarning)
		reg = nil
	} else if mode == RegistryWarn {
		warnings = append(warnings, "the drone registry is not enforced: drones are not checked against it")
		for _, r := range reg {
			warnings = append(warnings, r.Reason)
		}
	} else {
		refusals = append(refusals, reg...)
	}
	d := f.Aircraft
	if len(reg) > 0 {
		d = nil // a record the flight may not use tells nothing of its drone
	}
	cls := f.Classification
	if cls == "" && len(p.Levels) > 0 {
		cls = p.Levels[0]
	}
	refusals = append(refusals, p.Refusals(fleet.Operation{Unit: f.Unit, Purpose: string(f.Purpose), Classification: cls}, d)...)
	if c, byPolicy := fl.ceilingAlt(); c.Ref != geo.RefUnknown {
		switch h := f.Height; {
		case h.Ref == geo.RefUnknown:
		case h.Ref != c.Ref:
			warnings = append(warnings, fmt.Sprintf("%s cannot be compared with heights in %s without terrain or geoid data: keep to it", fl.ceilingWhat(c, byPolicy), h.Ref))
		case h.Upper > c.Metres || math.IsNaN(h.Upper):
			refusals = append(refusals, fleet.Refusal{Where: "ceiling", Reason: fmt.Sprintf("the flight reaches %s m %s, above %s", fmtM(h.Upper), h.Ref, fl.ceilingWhat(c, byPolicy))})
		}
	}
	return refusals, warnings
}

// registryRefusals are the registry's reasons to refuse f's drone: not
// registered, not active, or another unit's. A flight that names no drone
// has none.
func registryRefusals(f *Flight) []fleet.Refusal {
	if f.Drone == "" {
		return nil
	}
	d := f.Aircraft
	var why string
	switch {
	case d == nil:
		why = fmt.Sprintf("drone %s is not registered", f.Drone)
	case d.Status == fleet.StatusRetired:
		why = fmt.Sprintf("drone %s is retired", d.Serial)
	case d.Status == fleet.StatusMaintenance:
		why = fmt.Sprintf("drone %s is in maintenance", d.Serial)
	case d.Status != fleet.StatusActive:
		why = fmt.Sprintf("drone %s is %s, not active", d.Serial, d.Status)
	case !strings.EqualFold(d.Unit, f.Unit):
		why = fmt.Sprintf("drone %s is registered to unit %s, not %s", d.Serial, d.Unit, orNone(f.Unit))
	default:
		return nil
	}
	return []fleet.Refusal{{Where: "registry", Reason: why}}
}
