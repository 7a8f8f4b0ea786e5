package fleet

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Status is where a drone stands in the registry.
type Status string

// The statuses of a drone. Only an active drone may fly.
const (
	StatusActive      Status = "active"
	StatusMaintenance Status = "maintenance"
	StatusRetired     Status = "retired"
)

// Statuses lists every status.
var Statuses = []Status{StatusActive, StatusMaintenance, StatusRetired}

// ClassMarks lists the EU class marks (Delegated Regulation (EU) 2019/945):
// a drone without one has "" as its Class.
var ClassMarks = []string{"C0", "C1", "C2", "C3", "C4", "C5", "C6"}

// Drone is one registry record: an aircraft of the force. Records are never
// deleted: a drone that leaves service is retired.
type Drone struct {
	// Serial is the manufacturer's serial number, upper case
	// (NormalizeSerial); an ANSI/CTA-2063-A serial is checked as one.
	Serial       string `json:"serial"`
	Manufacturer string `json:"manufacturer"`
	Model        string `json:"model"`
	// Class is the EU class mark, C0 to C6, or "" for none.
	Class string `json:"class,omitempty"`
	// Unit owns the drone; only its flights may use it.
	Unit   string `json:"unit"`
	Status Status `json:"status"`
	// Clearance is the data-handling level the force assigns the drone: the
	// highest classification of operation it may fly (Policy.Levels).
	Clearance string `json:"clearance"`
	// Capabilities is a free-form list, e.g. "thermal", that policy rules
	// may require.
	Capabilities []string `json:"capabilities,omitempty"`
	// Created and Updated are stamped by the store; UpdatedBy is who made
	// the last change.
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// ErrInvalidDrone is wrapped by every error about a malformed record.
var ErrInvalidDrone = errors.New("invalid drone")

// cta2063 is the ANSI/CTA-2063-A serial: a 4-character manufacturer code,
// a length code 1-9 or A-F (10-15), and that many characters; letters O and
// I are never used.
var cta2063 = regexp.MustCompile(`^[0-9A-HJ-NP-Z]{4}[1-9A-F][0-9A-HJ-NP-Z]{1,15}$`)

// serialChars is what any serial may hold.
var serialChars = regexp.MustCompile(`^[0-9A-Z][0-9A-Z._/-]{0,63}$`)

// NormalizeSerial returns s trimmed and upper case, and an error when it is
// no serial: 1 to 64 letters, digits, '.', '_', '/' or '-', starting with
// a letter or digit. A serial that has the form of ANSI/CTA-2063-A (four
// characters, a length code, then characters without O or I) must have the
// length its code says.
func NormalizeSerial(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if !serialChars.MatchString(s) {
		return "", fmt.Errorf("serial %q: want 1 to 64 letters, digits, '.', '_', '/' or '-': %w", s, ErrInvalidDrone)
	}
	if cta2063.MatchString(s) {
		n := int(s[4] - '0')
		if s[4] >= 'A' {
			n = int(s[4]-'A') + 10
		}
		if got := len(s) - 5; got != n {
			return "", fmt.Errorf("serial %s: ANSI/CTA-2063-A length code %c says %d characters follow, not %d: %w", s, s[4], n, got, ErrInvalidDrone)
		}
	}
	return s, nil
}

// Validate reports every problem of d, by field, given the clearance
// levels in use (none: any level is accepted). It normalises Serial and
// Class.
func (d *Drone) Validate(levels []string) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %w", field, fmt.Sprintf(format, args...), ErrInvalidDrone))
	}
	if s, err := NormalizeSerial(d.Serial); err != nil {
		errs = append(errs, err)
	} else {
		d.Serial = s
	}
	for _, f := range []struct{ name, v string }{{"manufacturer", d.Manufacturer}, {"model", d.Model}, {"unit", d.Unit}} {
		if strings.TrimSpace(f.v) == "" {
			bad(f.name, "required")
		}
	}
	d.Class = strings.ToUpper(strings.TrimSpace(d.Class))
	if strings.EqualFold(d.Class, "none") {
		d.Class = ""
	}
	if d.Class != "" && !slices.Contains(ClassMarks, d.Class) {
		bad("class", "%q is no EU class mark (C0 to C6, or none)", d.Class)
	}
	if !slices.Contains(Statuses, d.Status) {
		bad("status", "%q: want active, maintenance or retired", d.Status)
	}
	switch {
	case d.Clearance == "":
		bad("clearance", "required")
	case len(levels) > 0 && !slices.Contains(levels, d.Clearance):
		bad("clearance", "%q is no level of the policy (%s)", d.Clearance, strings.Join(levels, ", "))
	}
	for i, c := range d.Capabilities {
		if strings.TrimSpace(c) == "" {
			bad(fmt.Sprintf("capabilities[%d]", i), "empty")
		}
	}
	return errors.Join(errs...)
}

// Has reports whether d lists capability c (case-insensitive).
func (d *Drone) Has(c string) bool {
	return slices.ContainsFunc(d.Capabilities, func(x string) bool { return strings.EqualFold(x, c) })
}
