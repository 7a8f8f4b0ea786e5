package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/fleet"
	"github.com/nofly-project/nofly/geo"
)

// Fleet is the force's own rules as the issuer applied them when it
// exported the bundle (version 2): how the drone registry is kept, the
// registry's records the unit's checks need, the deployment policy and the
// general ceiling. With them an offline check is held against the registry
// and the policy exactly as noflyd holds it (exemptions.DecideFleet).
type Fleet struct {
	// Registry is RegistryEnforced or RegistryWarn, as noflyd's --registry.
	Registry exemptions.RegistryMode
	// Ceiling is the general ceiling when the policy sets none
	// (noflyd's --general-ceiling); a zero Ref means none.
	Ceiling geo.Altitude
	// Policy is the deployment policy in force (nil: fleet.Default()).
	Policy *fleet.Policy
	// Drones are the unit's registry records, every status (a retired or
	// grounded drone is refused offline for it, as online), by serial.
	Drones []fleet.Drone
	// Others are the force's other drones, reduced to what refuses them
	// for this unit's flights as noflyd does: a check naming one is
	// refused for the same reason offline as online ("registered to unit
	// …", "retired"). Their serials are carried hashed (SerialHash): a
	// bundle goes to a field laptop, and a pilot may not list other units'
	// drones; one who knows a serial learns what a check online would
	// tell.
	Others []OtherDrone
}

// OtherDrone is another unit's drone: its serial's hash, unit and status.
type OtherDrone struct {
	SerialHash string       `json:"serial_sha256"`
	Unit       string       `json:"unit"`
	Status     fleet.Status `json:"status"`
}

// SerialHash is the hex SHA-256 of a normalised serial, as Others carry
// it.
func SerialHash(serial string) string {
	h := sha256.Sum256([]byte("nofly bundle drone serial\x00" + serial))
	return hex.EncodeToString(h[:])
}

// Rules is fl as exemptions.DecideFleet takes it.
func (fl *Fleet) Rules() *exemptions.Fleet {
	return &exemptions.Fleet{Registry: fl.Registry, Ceiling: fl.Ceiling, Policy: fl.Policy}
}

// Drone returns the registry's record of serial (normalised) as far as the
// bundle holds it: the unit's full record, or another unit's drone with
// its serial, unit and status only; nil when the serial is not registered.
func (fl *Fleet) Drone(serial string) *fleet.Drone {
	if i, ok := slices.BinarySearchFunc(fl.Drones, serial, func(d fleet.Drone, s string) int { return strings.Compare(d.Serial, s) }); ok {
		d := fl.Drones[i]
		return &d
	}
	if i, ok := slices.BinarySearchFunc(fl.Others, SerialHash(serial), func(d OtherDrone, h string) int { return strings.Compare(d.SerialHash, h) }); ok {
		o := fl.Others[i]
		return &fleet.Drone{Serial: serial, Unit: o.Unit, Status: o.Status}
	}
	return nil
}

// SplitDrones sorts the registry's records into the unit's (whole, by
// serial) and the others (serial hash, unit and status, by hash), as a
// bundle for unit carries them.
func SplitDrones(unit string, all []fleet.Drone) (own []fleet.Drone, others []OtherDrone) {
	for _, d := range all {
		if strings.EqualFold(d.Unit, unit) {
			own = append(own, d)
		} else {
			others = append(others, OtherDrone{SerialHash: SerialHash(d.Serial), Unit: d.Unit, Status: d.Status})
		}
	}
	slices.SortFunc(own, func(a, b fleet.Drone) int { return strings.Compare(a.Serial, b.Serial) })
	slices.SortFunc(others, func(a, b OtherDrone) int { return strings.Compare(a.SerialHash, b.SerialHash) })
	return own, others
}

// The fleet on the wire: "registry" and "policy".

type registryJSON struct {
	// Mode is "enforced" or "warn".
	Mode   string        `json:"mode"`
	Drones []fleet.Drone `json:"drones"`
	Others []OtherDrone  `json:"others"`
}

type policyJSON struct {
	// Name is the policy's file as noflyd was given it, which refusals
	// name ("examples/policy.txt:12").
	Name   string   `json:"name"`
	Levels []string `json:"levels"`
	// Ceiling is the policy's own general ceiling; GeneralCeiling is
	// noflyd's, used when the policy sets none.
	Ceiling        *limitJSON `json:"ceiling,omitempty"`
	Rules          []ruleJSON `json:"rules"`
	GeneralCeiling *limitJSON `json:"general_ceiling,omitempty"`
}

// ruleJSON is a rule as its file wrote it; a reader parses Text again with
// fleet.Parse, so that a bundle's policy is read by the one policy parser.
type ruleJSON struct {
	Line int    `json:"line"`
	Text string `json:"text"`
}

var modeNames = map[exemptions.RegistryMode]string{exemptions.RegistryEnforced: "enforced", exemptions.RegistryWarn: "warn"}

func (fl *Fleet) validate(unit string) error {
	if _, ok := modeNames[fl.Registry]; !ok {
		return fmt.Errorf("bundle: registry mode %d: want enforced or warn", fl.Registry)
	}
	for i := range fl.Drones {
		d := &fl.Drones[i]
		if !strings.EqualFold(d.Unit, unit) {
			return fmt.Errorf("bundle: drone %s is unit %q's, the bundle unit %q's: list it among the others", d.Serial, d.Unit, unit)
		}
		if i > 0 && fl.Drones[i-1].Serial >= d.Serial {
			return fmt.Errorf("bundle: drones: %s after %s: want sorted by serial, each once", d.Serial, fl.Drones[i-1].Serial)
		}
	}
	for i, o := range fl.Others {
		if strings.EqualFold(o.Unit, unit) {
			return fmt.Errorf("bundle: drone %s of the others is the bundle unit %q's", o.SerialHash, unit)
		}
		if i > 0 && fl.Others[i-1].SerialHash >= o.SerialHash {
			return fmt.Errorf("bundle: others: %s after %s: want sorted by serial_sha256, each once", o.SerialHash, fl.Others[i-1].SerialHash)
		}
	}
	for _, d := range fl.Drones {
		if _, ok := slices.BinarySearchFunc(fl.Others, SerialHash(d.Serial), func(o OtherDrone, h string) int { return strings.Compare(o.SerialHash, h) }); ok {
			return fmt.Errorf("bundle: drone %s is both the unit's and another unit's", d.Serial)
		}
	}
	return nil
}

func fleetOut(fl *Fleet) (*registryJSON, *policyJSON) {
	reg := &registryJSON{Mode: modeNames[fl.Registry], Drones: fl.Drones, Others: fl.Others}
	if reg.Drones == nil {
		reg.Drones = []fleet.Drone{}
	}
	if reg.Others == nil {
		reg.Others = []OtherDrone{}
	}
	p := fl.Policy
	if p == nil {
		p = fleet.Default()
	}
	pol := &policyJSON{Name: p.Name, Levels: p.Levels, Rules: make([]ruleJSON, len(p.Rules))}
	if p.Ceiling.Set {
		pol.Ceiling = &limitJSON{Metres: p.Ceiling.Metres, Ref: p.Ceiling.Ref}
	}
	for i, r := range p.Rules {
		pol.Rules[i] = ruleJSON{Line: r.Line, Text: r.Text}
	}
	if fl.Ceiling.Ref != geo.RefUnknown {
		pol.GeneralCeiling = &limitJSON{Metres: fl.Ceiling.Metres, Ref: fl.Ceiling.Ref.String()}
	}
	return reg, pol
}

// fleetIn reads the fleet back: the policy through fleet.Parse, every
// record validated as the registry validates it.
func fleetIn(reg *registryJSON, pol *policyJSON) (*Fleet, error) {
	if reg == nil || pol == nil {
		return nil, errors.New("registry and policy: give both or neither")
	}
	fl := &Fleet{Drones: reg.Drones, Others: reg.Others}
	switch reg.Mode {
	case "enforced":
		fl.Registry = exemptions.RegistryEnforced
	case "warn":
		fl.Registry = exemptions.RegistryWarn
	default:
		return nil, fmt.Errorf("registry.mode: %q: want enforced or warn", reg.Mode)
	}
	for i := range fl.Drones {
		if err := fl.Drones[i].Validate(nil); err != nil {
			return nil, fmt.Errorf("registry.drones[%d]: %w", i, err)
		}
	}
	for i := range fl.Others {
		o := &fl.Others[i]
		switch b, err := hex.DecodeString(o.SerialHash); {
		case err != nil || len(b) != sha256.Size || o.SerialHash != strings.ToLower(o.SerialHash):
			return nil, fmt.Errorf("registry.others[%d].serial_sha256: %q: want 64 lower-case hex digits", i, o.SerialHash)
		case strings.TrimSpace(o.Unit) == "":
			return nil, fmt.Errorf("registry.others[%d].unit: required", i)
		case !slices.Contains(fleet.Statuses, o.Status):
			return nil, fmt.Errorf("registry.others[%d].status: %q: want active, maintenance or retired", i, o.Status)
		}
	}
	if pol.GeneralCeiling != nil {
		ref, err := geo.ParseVerticalRef(pol.GeneralCeiling.Ref)
		if err != nil || !(pol.GeneralCeiling.Metres > 0 && pol.GeneralCeiling.Metres <= 10000) {
			return nil, fmt.Errorf("policy.general_ceiling: %g m %q: want more than 0 and at most 10000 m, AGL, AMSL or WGS84", pol.GeneralCeiling.Metres, pol.GeneralCeiling.Ref)
		}
		fl.Ceiling = geo.Altitude{Metres: pol.GeneralCeiling.Metres, Ref: ref}
	}
	p, err := policyIn(pol)
	if err != nil {
		return nil, err
	}
	fl.Policy = p
	return fl, nil
}

// policyIn writes the policy out as a file of the policy grammar (levels,
// ceiling, one rule a line) and parses it with fleet.Parse; the rules then
// get back their lines in the original file.
func policyIn(pol *policyJSON) (*fleet.Policy, error) {
	if strings.TrimSpace(pol.Name) == "" {
		return nil, errors.New("policy.name: required")
	}
	var b strings.Builder
	b.WriteString("levels")
	for i, l := range pol.Levels {
		if strings.ContainsAny(l, " \t\r\n#:,\"") {
			return nil, fmt.Errorf("policy.levels[%d]: %q is no level name", i, l)
		}
		b.WriteString(" " + l)
	}
	b.WriteString("\n")
	first := 2 // the line of the first rule in the text parsed
	if c := pol.Ceiling; c != nil {
		fmt.Fprintf(&b, "ceiling %s m %s\n", strconv.FormatFloat(c.Metres, 'f', -1, 64), c.Ref)
		first++
	}
	for i, r := range pol.Rules {
		switch {
		case strings.ContainsAny(r.Text, "\r\n"):
			return nil, fmt.Errorf("policy.rules[%d].text: more than one line", i)
		case r.Line < 1:
			return nil, fmt.Errorf("policy.rules[%d].line: %d: want 1 or more", i, r.Line)
		case i > 0 && r.Line <= pol.Rules[i-1].Line:
			return nil, fmt.Errorf("policy.rules[%d].line: %d after line %d: want the file's order", i, r.Line, pol.Rules[i-1].Line)
		}
		b.WriteString(r.Text + "\n")
	}
	p, err := fleet.Parse(pol.Name, strings.NewReader(b.String()))
	if err != nil {
		var pe *fleet.ParseError
		if errors.As(err, &pe) && len(pe.Problems) > 0 {
			pr := pe.Problems[0]
			switch i := pr.Line - first; {
			case i >= 0 && i < len(pol.Rules):
				return nil, fmt.Errorf("policy.rules[%d] (%s:%d): %s", i, pol.Name, pol.Rules[i].Line, pr.Msg)
			case pr.Line == 1:
				return nil, fmt.Errorf("policy.levels: %s", pr.Msg)
			default:
				return nil, fmt.Errorf("policy.ceiling: %s", pr.Msg)
			}
		}
		return nil, fmt.Errorf("policy: %w", err)
	}
	if len(p.Rules) != len(pol.Rules) || !slices.Equal(p.Levels, pol.Levels) {
		return nil, errors.New("policy: the rules or levels do not read back as given")
	}
	for i := range p.Rules {
		if p.Rules[i].Text != pol.Rules[i].Text {
			return nil, fmt.Errorf("policy.rules[%d].text: %q reads back as %q (a comment?)", i, pol.Rules[i].Text, p.Rules[i].Text)
		}
		p.Rules[i].Line = pol.Rules[i].Line
	}
	return p, nil
}
