package exemptions

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nofly-project/nofly/geo"
)

// Purpose is why the police fly, as the API spells it without its prefix:
// FORENSIC, TRAFFIC_ACCIDENT, PUBLIC_ORDER, EVENT_SUPERVISION,
// SEARCH_AND_RESCUE, TRAINING, OTHER.
type Purpose string

// The purposes an exemption may allow.
const (
	PurposeForensic         Purpose = "FORENSIC"
	PurposeTrafficAccident  Purpose = "TRAFFIC_ACCIDENT"
	PurposePublicOrder      Purpose = "PUBLIC_ORDER"
	PurposeEventSupervision Purpose = "EVENT_SUPERVISION"
	PurposeSearchAndRescue  Purpose = "SEARCH_AND_RESCUE"
	PurposeTraining         Purpose = "TRAINING"
	PurposeOther            Purpose = "OTHER"
)

// Purposes lists every known purpose.
var Purposes = []Purpose{PurposeForensic, PurposeTrafficAccident, PurposePublicOrder,
	PurposeEventSupervision, PurposeSearchAndRescue, PurposeTraining, PurposeOther}

// Holder is who may use an exemption: a unit, optionally narrowed to named
// pilots and/or drones. Empty Pilots (Drones) means any pilot (drone) of the
// unit.
type Holder struct {
	Unit   string   `json:"unit"`
	Pilots []string `json:"pilots,omitempty"`
	Drones []string `json:"drones,omitempty"`
}

// Selector picks zones by their data, resolved at check time: a zone is
// selected when it matches every part that is set. Country is ISO 3166-1
// alpha-3; Reasons matches a zone with any of the reasons; Restrictions
// matches a zone with any of the restrictions.
type Selector struct {
	Country      string            `json:"country,omitempty"`
	Reasons      []string          `json:"reasons,omitempty"`
	Restrictions []geo.Restriction `json:"restrictions,omitempty"`
}

// IsZero reports whether the selector selects nothing (no part set).
func (s Selector) IsZero() bool {
	return s.Country == "" && len(s.Reasons) == 0 && len(s.Restrictions) == 0
}

// Matches reports whether the selector selects z. A zero selector selects
// nothing.
func (s Selector) Matches(z *geo.Zone) bool {
	if s.IsZero() {
		return false
	}
	if s.Country != "" && !strings.EqualFold(s.Country, z.Country) {
		return false
	}
	if len(s.Reasons) > 0 && !slices.ContainsFunc(z.Reasons, func(r string) bool {
		return slices.ContainsFunc(s.Reasons, func(w string) bool { return strings.EqualFold(r, w) })
	}) {
		return false
	}
	if len(s.Restrictions) > 0 && !slices.Contains(s.Restrictions, z.Restriction) {
		return false
	}
	return true
}

func (s Selector) String() string {
	var parts []string
	if s.Country != "" {
		parts = append(parts, "country "+s.Country)
	}
	if len(s.Reasons) > 0 {
		parts = append(parts, "reasons "+strings.Join(s.Reasons, "|"))
	}
	if len(s.Restrictions) > 0 {
		rs := make([]string, len(s.Restrictions))
		for i, r := range s.Restrictions {
			rs[i] = r.String()
		}
		parts = append(parts, "restriction "+strings.Join(rs, "|"))
	}
	return strings.Join(parts, ", ")
}

// Ceiling is the highest an exempted flight may fly: Metres above Ref.
type Ceiling struct {
	Metres float64         `json:"metres"`
	Ref    geo.VerticalRef `json:"ref"`
}

func (c Ceiling) String() string { return fmt.Sprintf("%s m %s", fmtM(c.Metres), c.Ref) }

// Revocation records that an exemption was withdrawn.
type Revocation struct {
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// Exemption is one exemption record.
type Exemption struct {
	// ID is made by the Store ("EX-000042").
	ID     string `json:"id"`
	Holder Holder `json:"holder"`
	// ZoneIDs names zones by id. With Selector, the exemption covers the
	// zones named here and the zones the selector picks.
	ZoneIDs  []string `json:"zone_ids,omitempty"`
	Selector Selector `json:"selector"`
	// Area, when set, limits the exemption to flights within it (see
	// Cover). Nil: wherever the zones are.
	Area *geo.Shape `json:"area,omitempty"`
	// ValidFrom and ValidUntil bound when the exemption may be used, both
	// inclusive.
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"`
	Ceiling    Ceiling   `json:"ceiling"`
	// Purposes the exemption allows; empty means any.
	Purposes []Purpose `json:"purposes,omitempty"`
	// Conditions are shown to the pilot whenever the exemption is applied.
	Conditions string `json:"conditions,omitempty"`
	// LegalBasis is the reference of the exemption document. Required.
	LegalBasis string `json:"legal_basis"`
	// Override lets the exemption cover a zone whose data says that no
	// exemption is possible (ED-269 regulationExemption NO). It only does
	// so for zones it names by id, never for zones its selector picks.
	Override bool      `json:"override,omitempty"`
	IssuedBy string    `json:"issued_by"`
	IssuedAt time.Time `json:"issued_at"`
	// Supersedes is the id of the record this one replaces; SupersededBy
	// the id of the record that replaced this one (set by the Store). A
	// superseded record no longer covers anything.
	Supersedes   string      `json:"supersedes,omitempty"`
	SupersededBy string      `json:"superseded_by,omitempty"`
	Revocation   *Revocation `json:"revocation,omitempty"`
}

// NamesZone reports whether the exemption names zone id.
func (e *Exemption) NamesZone(id string) bool { return slices.Contains(e.ZoneIDs, id) }

// CoversZone reports whether the exemption names z or its selector picks z.
func (e *Exemption) CoversZone(z *geo.Zone) bool { return e.NamesZone(z.ID) || e.Selector.Matches(z) }

// Revoked reports whether the exemption was revoked at or before now.
func (e *Exemption) Revoked(now time.Time) bool {
	return e.Revocation != nil && !e.Revocation.At.After(now)
}

// ErrInvalid is wrapped by every *ValidationError.
var ErrInvalid = errors.New("invalid exemption")

// Problem is one thing wrong with a record, at a field named as the
// record's JSON names it ("valid_until", "holder.pilots"): an API that
// names the fields otherwise maps Field, and Index, not the text.
type Problem struct {
	Field string
	// Index is the element of the list Field that the problem is about
	// ("holder.pilots[1]": 1), or -1 when it is about the field as a whole.
	Index int
	Msg   string
}

// Path is the problem's field path: Field, and [Index] for an element.
func (p Problem) Path() string {
	if p.Index < 0 {
		return p.Field
	}
	return fmt.Sprintf("%s[%d]", p.Field, p.Index)
}

// ValidationError lists every problem of a record.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Path() + ": " + p.Msg
	}
	return strings.Join(msgs, "; ")
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Limits on records.
const (
	// MaxText bounds free-text fields, in bytes.
	MaxText = 4000
	// MaxList bounds lists (zones, pilots, drones), in items.
	MaxList = 1000
	// MaxCeiling is the highest ceiling accepted, in metres.
	MaxCeiling = 100_000
)

// Validate reports every problem of a record about to be issued. knownZone
// says whether a zone id exists in the zone set; nil accepts any id.
// Validate does not look at the fields the Store sets (ID, IssuedAt,
// SupersededBy, Revocation).
func (e *Exemption) Validate(knownZone func(id string) bool) error {
	var ps []Problem
	addAt := func(field string, i int, format string, args ...any) {
		ps = append(ps, Problem{Field: field, Index: i, Msg: fmt.Sprintf(format, args...)})
	}
	add := func(field, format string, args ...any) { addAt(field, -1, format, args...) }
	if strings.TrimSpace(e.Holder.Unit) == "" {
		add("holder.unit", "required")
	}
	checkList := func(field string, l []string) {
		if len(l) > MaxList {
			add(field, "at most %d, got %d", MaxList, len(l))
			return
		}
		for i, s := range l {
			if strings.TrimSpace(s) == "" {
				addAt(field, i, "empty")
			}
		}
	}
	checkList("holder.pilots", e.Holder.Pilots)
	checkList("holder.drones", e.Holder.Drones)
	checkList("zone_ids", e.ZoneIDs)
	if len(e.ZoneIDs) == 0 && e.Selector.IsZero() {
		add("zone_ids", "required: name zones by id, or give a selector")
	}
	if knownZone != nil && len(e.ZoneIDs) <= MaxList {
		var unknown []string
		for _, id := range e.ZoneIDs {
			if id != "" && !knownZone(id) {
				unknown = append(unknown, id)
			}
		}
		if len(unknown) > 0 {
			add("zone_ids", "unknown zone%s: %s", plural(len(unknown)), strings.Join(unknown, ", "))
		}
	}
	for i, r := range e.Selector.Restrictions {
		if r == geo.RestrictionUnknown || r > geo.NoRestriction {
			addAt("selector.restrictions", i, "unknown restriction %d", r)
		}
	}
	checkList("selector.reasons", e.Selector.Reasons)
	if e.Override && len(e.ZoneIDs) == 0 {
		add("override", "an overriding exemption must name its zones by id")
	}
	if e.Area != nil {
		// geo names the area's own fields ("area.radius: …"); the
		// problem is the area's.
		var qe *geo.QueryError
		if err := (geo.AreaQuery{Area: *e.Area, Window: geo.Instant(time.Unix(0, 0))}).Validate(); errors.As(err, &qe) {
			for _, fe := range qe.Problems {
				add("area", "%s", fe.Error())
			}
		} else if err != nil {
			add("area", "%v", err)
		}
	}
	switch {
	case e.ValidFrom.IsZero():
		add("valid_from", "required")
	case e.ValidUntil.IsZero():
		add("valid_until", "required")
	case !e.ValidUntil.After(e.ValidFrom):
		add("valid_until", "%s is not after valid_from %s", fmtTime(e.ValidUntil), fmtTime(e.ValidFrom))
	}
	switch c := e.Ceiling.Metres; {
	case math.IsNaN(c) || c <= 0:
		add("ceiling.metres", "%v m is not positive", c)
	case c > MaxCeiling:
		add("ceiling.metres", "%v m is more than %d m", c, MaxCeiling)
	}
	if e.Ceiling.Ref == geo.RefUnknown || e.Ceiling.Ref > geo.WGS84 {
		add("ceiling.ref", "required: AGL, AMSL or WGS84")
	}
	for i, p := range e.Purposes {
		if !slices.Contains(Purposes, p) {
			addAt("purposes", i, "unknown purpose %q", p)
		}
	}
	if strings.TrimSpace(e.LegalBasis) == "" {
		add("legal_basis", "required: the reference of the exemption document")
	}
	for _, f := range []struct{ name, v string }{{"legal_basis", e.LegalBasis}, {"conditions", e.Conditions}, {"issued_by", e.IssuedBy}} {
		if len(f.v) > MaxText {
			add(f.name, "at most %d bytes, got %d", MaxText, len(f.v))
		}
	}
	if strings.TrimSpace(e.IssuedBy) == "" {
		add("issued_by", "required: who issues the exemption")
	}
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

// fmtTime writes an instant for people: UTC, to the minute unless it has
// seconds.
func fmtTime(t time.Time) string {
	t = t.UTC()
	if t.Second() != 0 || t.Nanosecond() != 0 {
		return t.Format("2006-01-02 15:04:05Z")
	}
	return t.Format("2006-01-02 15:04Z")
}

func fmtM(m float64) string {
	switch {
	case math.IsInf(m, 1):
		return "∞"
	case math.IsInf(m, -1):
		return "-∞"
	}
	return fmt.Sprintf("%g", math.Round(m*10)/10)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
