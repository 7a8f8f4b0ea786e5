// Package geo holds nofly's zone model, the readers for the zone formats
// (nofly's own GeoJSON schema, EUROCAE ED-269 and ED-318, KML and KMZ, and
// GeoJSON with a source's own property names through a Mapping), the
// writers (WriteNofly, WriteED318), the spatial index and the position,
// route and area checks.
//
// The package is pure: it does no network or database I/O and never reads
// the clock. Every instant is an input.
//
// Coordinates are WGS84 longitude/latitude in degrees, in that order (as in
// GeoJSON). Polygon edges are straight lines in longitude/latitude, as RFC 7946
// defines them; no edge spans more than 180° of longitude (see CheckRing). Distances, buffers and circle radii are metres on the WGS84
// ellipsoid. Heights are metres with an explicit vertical reference.
package geo

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// Restriction says what a zone demands of a flight.
type Restriction uint8

const (
	// RestrictionUnknown is the zero value; a valid zone never has it.
	RestrictionUnknown Restriction = iota
	// Prohibited: no flight without an exemption.
	Prohibited
	// ReqAuthorisation: flight only with an authorisation (exemption).
	ReqAuthorisation
	// Conditional: flight allowed under conditions the zone's message gives.
	Conditional
	// NoRestriction: informative only.
	NoRestriction
)

var restrictionNames = [...]string{"UNKNOWN", "PROHIBITED", "REQ_AUTHORISATION", "CONDITIONAL", "NO_RESTRICTION"}

func (r Restriction) String() string {
	if int(r) < len(restrictionNames) {
		return restrictionNames[r]
	}
	return fmt.Sprintf("Restriction(%d)", r)
}

// Blocking reports whether a flight in the zone needs an exemption:
// true for PROHIBITED and REQ_AUTHORISATION, and for an unknown restriction
// (when unsure, block).
func (r Restriction) Blocking() bool {
	return r != Conditional && r != NoRestriction
}

// ParseRestriction reads a restriction as ED-269 (REQ_AUTHORISATION), ED-318
// (REQ_AUTHORIZATION, USPACE) or nofly's schema spell it, case-insensitively.
// ED-318's USPACE zones need U-space services and an authorisation to enter,
// so they read as ReqAuthorisation.
func ParseRestriction(s string) (Restriction, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "PROHIBITED":
		return Prohibited, nil
	case "REQ_AUTHORISATION", "REQ_AUTHORIZATION", "USPACE":
		return ReqAuthorisation, nil
	case "CONDITIONAL":
		return Conditional, nil
	case "NO_RESTRICTION":
		return NoRestriction, nil
	}
	return RestrictionUnknown, fmt.Errorf("unknown restriction %q (want PROHIBITED, REQ_AUTHORISATION, CONDITIONAL or NO_RESTRICTION)", s)
}

// VerticalRef is the datum a height is measured from.
type VerticalRef uint8

const (
	// RefUnknown is the zero value; a valid limit never has it.
	RefUnknown VerticalRef = iota
	// AGL: metres above ground level.
	AGL
	// AMSL: metres above mean sea level.
	AMSL
	// WGS84: metres above the WGS84 ellipsoid.
	WGS84
)

var refNames = [...]string{"UNKNOWN", "AGL", "AMSL", "WGS84"}

func (r VerticalRef) String() string {
	if int(r) < len(refNames) {
		return refNames[r]
	}
	return fmt.Sprintf("VerticalRef(%d)", r)
}

// ParseVerticalRef reads AGL, AMSL or WGS84 (also "SFC" for AGL and "MSL"
// for AMSL), case-insensitively.
func ParseVerticalRef(s string) (VerticalRef, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "AGL", "SFC":
		return AGL, nil
	case "AMSL", "MSL":
		return AMSL, nil
	case "WGS84", "ELLIPSOID":
		return WGS84, nil
	}
	return RefUnknown, fmt.Errorf("unknown vertical reference %q (want AGL, AMSL or WGS84)", s)
}

// FeetToMetres converts a length in international feet to metres.
func FeetToMetres(ft float64) float64 { return ft * 0.3048 }

// Limit is a lower or upper bound of a volume.
type Limit struct {
	// Metres above Ref. Meaningless when Open.
	Metres float64
	Ref    VerticalRef
	// Open means no bound: a lower limit from the ground (and below), an
	// upper limit without ceiling.
	Open bool
}

// OpenLimit is a limit that does not bound.
var OpenLimit = Limit{Open: true}

func (l Limit) String() string {
	if l.Open {
		return "open"
	}
	return fmt.Sprintf("%g m %s", l.Metres, l.Ref)
}

// ShapeKind says which fields of a Shape hold the horizontal geometry.
type ShapeKind uint8

const (
	// ShapePolygon: Polygons holds one or more polygons with holes.
	ShapePolygon ShapeKind = iota + 1
	// ShapeCircle: Center and Radius.
	ShapeCircle
)

// Shape is the horizontal projection of a volume.
type Shape struct {
	Kind ShapeKind
	// Polygons (ShapePolygon): each polygon is an outer ring followed by
	// holes; rings are closed (first point equals last). Edges are straight
	// lines in longitude/latitude.
	Polygons orb.MultiPolygon
	// Center and Radius (ShapeCircle): all points whose geodesic distance on
	// the WGS84 ellipsoid from Center is at most Radius metres.
	Center orb.Point
	Radius float64
}

// Bound is the shape's longitude/latitude bounding box. For circles it is
// rounded outward so that it contains the whole circle.
func (s Shape) Bound() orb.Bound {
	switch s.Kind {
	case ShapeCircle:
		return circleBound(s.Center, s.Radius)
	case ShapePolygon:
		return s.Polygons.Bound()
	}
	return orb.Bound{}
}

// Volume is a horizontal shape extruded between two limits.
type Volume struct {
	Shape Shape
	Lower Limit
	Upper Limit
}

// Weekdays is a set of days of the week: bit time.Sunday .. time.Saturday.
type Weekdays uint8

// AllDays holds every day of the week.
const AllDays Weekdays = 0x7f

// Has reports whether d is in the set.
func (w Weekdays) Has(d time.Weekday) bool { return w&(1<<uint(d)) != 0 }

// DailyPeriod is a recurring time of day on some days of the week.
type DailyPeriod struct {
	Days Weekdays
	// Start and End are seconds after local midnight, 0..86400, in Loc when
	// it is set (an IANA time zone, so that daylight saving time applies),
	// else in the fixed UTC offset Offset (seconds east of UTC) in which the
	// source wrote them. Days are days in that same local time.
	// End < Start means the period runs past midnight into the next day;
	// End == Start means the whole day.
	Start, End int32
	Offset     int32
	Loc        *time.Location
	// StartEvent and EndEvent name a daylight event (ED-318 BMCT, SR, SS,
	// EECT) that replaces Start or End. nofly does not compute the sun's
	// position: it counts the whole day (Start 0, End 86400) instead, which
	// only ever widens the period, and the check says so.
	StartEvent, EndEvent string
}

// Period is an interval of applicability, optionally narrowed by a weekly
// schedule. A zero Start or End is open.
type Period struct {
	Start, End time.Time
	// Schedule narrows the period to these daily periods; empty means the
	// whole period.
	Schedule []DailyPeriod
}

// Applicability says when a zone is active.
type Applicability struct {
	// Periods when the zone is active. None means always (permanent).
	Periods []Period
}

// Permanent reports whether the zone is active at all times.
func (a Applicability) Permanent() bool { return len(a.Periods) == 0 }

// Exemptions says whether the zone's publisher allows exemptions at all
// (ED-269 regulationExemption).
type Exemptions uint8

const (
	// ExemptionsUnspecified: the data does not say; exemptions apply.
	ExemptionsUnspecified Exemptions = iota
	// ExemptionsAllowed: regulationExemption YES.
	ExemptionsAllowed
	// ExemptionsNotAllowed: regulationExemption NO; only an exemption that
	// names the zone and overrides may cover it.
	ExemptionsNotAllowed
)

func (e Exemptions) String() string {
	switch e {
	case ExemptionsAllowed:
		return "YES"
	case ExemptionsNotAllowed:
		return "NO"
	}
	return "UNSPECIFIED"
}

// Authority is a contact for the zone (ED-269 zoneAuthority).
type Authority struct {
	Name, Service, Email, ContactName, SiteURL, Phone string
	// Purpose: AUTHORIZATION, NOTIFICATION or INFORMATION.
	Purpose string
	// IntervalBefore: ISO 8601 duration, how long before the flight the
	// authority wants to be asked or told.
	IntervalBefore string
}

// Source says where a zone was read from.
type Source struct {
	File string
	// Feature is the zone's 0-based position in the file.
	Feature int
	// Format is "nofly", "ED-269", "ED-318", "KML" or "KMZ", or, read
	// through a mapping, "GeoJSON via NAME.mapping" ("KML via …").
	Format string
}

// Category is a set of categories of UAS operation (EU 2019/947): open,
// specific, certified. A zone published in variants for different
// categories (ED-269 uSpaceClass) applies to a flight only in its
// categories; the zero set means every category.
type Category uint8

const (
	CategoryOpen Category = 1 << iota
	CategorySpecific
	CategoryCertified

	allCategories = CategoryOpen | CategorySpecific | CategoryCertified
)

var categoryNames = [...]string{"OPEN", "SPECIFIC", "CERTIFIED"}

// ParseCategory reads OPEN, SPECIFIC or CERTIFIED, case-insensitively.
func ParseCategory(s string) (Category, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	for i, n := range categoryNames {
		if t == n {
			return 1 << i, nil
		}
	}
	return 0, fmt.Errorf("unknown category of operation %q (want OPEN, SPECIFIC or CERTIFIED)", s)
}

// Names lists the categories in the set: OPEN, SPECIFIC, CERTIFIED.
func (c Category) Names() []string {
	var out []string
	for i, n := range categoryNames {
		if c&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

func (c Category) String() string {
	if c == 0 {
		return "every category"
	}
	return strings.Join(c.Names(), "|")
}

// AppliesTo reports whether a zone of categories z applies to a flight in
// category flight: always when either is the zero set (a zone for every
// category, or a flight whose category is not given, which meets every
// variant: the conservative answer).
func (z Category) AppliesTo(flight Category) bool {
	return z == 0 || flight == 0 || z&flight != 0
}

// Zone is one UAS geographical zone.
//
// Several zones may share an ID when they are variants of one zone for
// different categories of operation (ED-269 features with one identifier
// and different uSpaceClass): each keeps its own class, restriction,
// message and volumes, and a check applies those whose Categories hold the
// flight's category (all of them when the flight's category is not given).
// Exemptions name zones by ID and so cover every variant.
type Zone struct {
	ID          string
	Name        string
	Country     string // ISO 3166-1 alpha-3, when known
	Restriction Restriction
	// Reasons as published (AIR_TRAFFIC, SENSITIVE, PRIVACY, ...).
	Reasons []string
	// Message for the pilot; also the restriction conditions.
	Message     string
	Authorities []Authority
	Exemptions  Exemptions
	// Volumes: the zone is the union of these; at least one.
	Volumes       []Volume
	Applicability Applicability
	// Class is the zone's U-space class as published (ED-269 uSpaceClass),
	// each element trimmed; nil when not given.
	Class []string
	// Categories are the categories of operation the zone applies to, read
	// from Class when every element of it names one (OPEN, SPECIFIC,
	// CERTIFIED); zero (every category) otherwise.
	Categories Category
	Source     Source
}

// VariantKey tells apart the zones that share an ID: the zone's Class,
// upper-cased, sorted and joined by ",". Zones of one zone set have distinct
// (ID, VariantKey) pairs.
func (z *Zone) VariantKey() string {
	if len(z.Class) == 0 {
		return ""
	}
	if len(z.Class) == 1 {
		return strings.ToUpper(z.Class[0])
	}
	k := make([]string, len(z.Class))
	for i, c := range z.Class {
		k[i] = strings.ToUpper(c)
	}
	slices.Sort(k)
	return strings.Join(slices.Compact(k), ",")
}

// Bound is the bounding box of all the zone's volumes.
func (z *Zone) Bound() orb.Bound {
	b := z.Volumes[0].Shape.Bound()
	for _, v := range z.Volumes[1:] {
		b = b.Union(v.Shape.Bound())
	}
	return b
}

// isFinite reports whether f is neither NaN nor infinite.
func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
