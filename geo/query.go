package geo

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// ErrInvalidQuery is wrapped by every error about a malformed check.
var ErrInvalidQuery = errors.New("invalid query")

// MaxWaypoints bounds the length of a route.
const MaxWaypoints = 10000

// MaxBuffer bounds the lateral buffer, in metres.
const MaxBuffer = 100_000

// Altitude is a flight's height above a reference. A zero Ref (RefUnknown)
// means the height is not known: every height band then counts.
type Altitude struct {
	Metres float64
	Ref    VerticalRef
}

// Band is a range of heights, in metres above Ref. Ref RefUnknown means the
// heights are not known.
type Band struct {
	Lower, Upper float64
	Ref          VerticalRef
}

func (b Band) String() string {
	if b.Ref == RefUnknown {
		return "any height"
	}
	return fmt.Sprintf("%s–%s m %s", fmtMetres(b.Lower), fmtMetres(b.Upper), b.Ref)
}

func fmtMetres(m float64) string {
	switch {
	case math.IsInf(m, 1):
		return "∞"
	case math.IsInf(m, -1):
		return "-∞"
	}
	return fmt.Sprintf("%.0f", m)
}

// TimeWindow is a closed interval of time [Start, End].
type TimeWindow struct {
	Start, End time.Time
}

// Instant is the window of one instant.
func Instant(t time.Time) TimeWindow { return TimeWindow{t, t} }

// PositionQuery asks which zones hold a point at a height and instant.
type PositionQuery struct {
	Point orb.Point // longitude, latitude
	Alt   Altitude
	At    time.Time
}

// Validate reports what is wrong with the query: a *QueryError naming
// each field, or nil.
func (q PositionQuery) Validate() error {
	var p problems
	p.point("point", q.Point)
	p.alt("altitude", q.Alt.Metres, q.Alt.Ref)
	p.time("at", q.At)
	return p.err()
}

// Waypoint is a point of a route with its height in the route's reference.
type Waypoint struct {
	Point orb.Point
	Alt   float64 // metres above RouteQuery.AltRef
}

// RouteQuery asks which zones a route meets. Between waypoints the route is a
// straight line in longitude/latitude, as a GeoJSON LineString is, and its
// height changes linearly. A drone that flies the geodesic (great circle)
// between two waypoints instead strays from that line by about
// L²·tan(lat)/(8·6371 km) for an east-west leg of length L: 0.6 m for a
// 5 km leg at 52°, 250 m for a 100 km leg. Keep the buffer above that, or
// add waypoints, for long legs.
type RouteQuery struct {
	Waypoints []Waypoint
	// AltRef is the reference of every waypoint's Alt; RefUnknown when
	// heights are not known.
	AltRef VerticalRef
	// Buffer widens the route on both sides, in metres (0 allowed).
	Buffer float64
	Window TimeWindow
}

// Validate reports what is wrong with the query: a *QueryError naming
// each field, or nil.
func (q RouteQuery) Validate() error {
	var p problems
	switch n := len(q.Waypoints); {
	case n < 2:
		p.add("waypoints", "a route needs at least 2 waypoints, got %d", n)
	case n > MaxWaypoints:
		p.add("waypoints", "at most %d waypoints, got %d", MaxWaypoints, n)
	}
	if len(q.Waypoints) <= MaxWaypoints {
		for i, w := range q.Waypoints {
			if pointOK(w.Point) && altOK(w.Alt, q.AltRef) {
				continue // the common case: no field names to format
			}
			p.point(fmt.Sprintf("waypoints[%d]", i), w.Point)
			p.alt(fmt.Sprintf("waypoints[%d].alt", i), w.Alt, q.AltRef)
		}
	}
	p.buffer(q.Buffer)
	p.window(q.Window)
	return p.err()
}

// AreaQuery asks which zones an operating area meets.
type AreaQuery struct {
	// Area is a polygon (with holes) or a circle.
	Area Shape
	// Band is the operation's height band; Ref RefUnknown when not known.
	Band   Band
	Buffer float64 // metres
	Window TimeWindow
}

// Validate reports what is wrong with the query: a *QueryError naming
// each field, or nil.
func (q AreaQuery) Validate() error {
	var p problems
	p.shape("area", q.Area)
	p.buffer(q.Buffer)
	p.window(q.Window)
	if q.Band.Ref != RefUnknown {
		p.alt("band.lower", q.Band.Lower, q.Band.Ref)
		p.alt("band.upper", q.Band.Upper, q.Band.Ref)
		if q.Band.Lower > q.Band.Upper {
			p.add("band", "lower %g m above upper %g m", q.Band.Lower, q.Band.Upper)
		}
	}
	return p.err()
}

// Caveat is a set of assumptions a check made because data was missing. Each
// one makes the check count a zone it could not rule out.
type Caveat uint16

const (
	// CaveatNoAltitude: the flight's height was not given, so every height
	// band of the zone counts.
	CaveatNoAltitude Caveat = 1 << iota
	// CaveatReference: the flight's height and the zone's limits use
	// different references (e.g. AGL against AMSL) and nofly has no terrain
	// or geoid model, so the limits count as met unless the worst case
	// (terrain from -430 to 8,850 m, geoid from -107 to +86 m) rules them out.
	CaveatReference
	// CaveatDaylight: the zone's schedule starts or ends at a daylight event
	// (sunrise, sunset, twilight), counted as the whole day.
	CaveatDaylight
)

var caveatText = []string{
	"flight height not given: every height counts",
	"flight and zone heights use different references and no terrain or geoid data is loaded: counted unless the worst case rules it out",
	"zone schedule starts or ends at a daylight event: the whole day counts",
}

// Strings describes each caveat in the set for a person.
func (c Caveat) Strings() []string {
	var out []string
	for i, s := range caveatText {
		if c&(1<<i) != 0 {
			out = append(out, s)
		}
	}
	return out
}

func (c Caveat) String() string { return strings.Join(c.Strings(), "; ") }

// Hit is a zone that a flight meets: horizontally (within the buffer), in
// height and in time, all three.
type Hit struct {
	Zone *Zone
	// Legs lists the 0-based legs of a route that meet the zone (leg i runs
	// from waypoint i to i+1); nil for positions and areas.
	Legs []int
	// Distance is the closest approach, in metres, of the flight to the
	// zone's horizontal shape; 0 when the flight enters the shape.
	Distance float64
	// Band is the heights at which flight and zone overlap, in the flight's
	// reference when it has one, else the zone's.
	Band Band
	// When is the span of the flight's time window during which the zone is
	// active: from the first to the last active instant.
	When    TimeWindow
	Caveats Caveat

	order uint32 // sort key: see cvol.order
}

// Blocking reports whether the hit needs an exemption.
func (h *Hit) Blocking() bool { return h.Zone.Restriction.Blocking() }

// pointOK reports whether p is a valid lon/lat position.
func pointOK(p orb.Point) bool {
	return p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90 // false for NaN
}

// problems collects what is wrong with a query, field by field.
type problems []FieldError

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// err is the problems as a *QueryError, or nil when there are none.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &QueryError{Problems: p}
}

func (p *problems) point(field string, pt orb.Point) {
	lon, lat := pt[0], pt[1]
	if !isFinite(lat) || lat < -90 || lat > 90 {
		p.add(field, "latitude %v outside -90..90", lat)
	}
	if !isFinite(lon) || lon < -180 || lon > 180 {
		p.add(field, "longitude %v outside -180..180", lon)
	}
}

// altOK reports whether a height m above ref is plausible; any height is
// when ref is RefUnknown (not known, so not used).
func altOK(m float64, ref VerticalRef) bool {
	return ref == RefUnknown || ref <= WGS84 && isFinite(m) && m >= -1000 && m <= 100_000
}

func (p *problems) alt(field string, m float64, ref VerticalRef) {
	switch {
	case altOK(m, ref):
	case ref > WGS84:
		p.add(field, "unknown vertical reference %d", ref)
	default:
		p.add(field, "height %v m outside -1000..100000", m)
	}
}

func (p *problems) time(field string, t time.Time) {
	if t.IsZero() {
		p.add(field, "time required")
	}
}

func (p *problems) window(w TimeWindow) {
	n := len(*p)
	p.time("window.start", w.Start)
	p.time("window.end", w.End)
	if len(*p) == n && w.End.Before(w.Start) {
		p.add("window", "end %s before start %s", w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339))
	}
}

func (p *problems) buffer(b float64) {
	if !isFinite(b) || b < 0 || b > MaxBuffer {
		p.add("buffer", "%v m outside 0..%d", b, MaxBuffer)
	}
}

func (p *problems) shape(field string, s Shape) {
	switch s.Kind {
	case ShapeCircle:
		n := len(*p)
		p.point(field+".center", s.Center)
		if len(*p) == n && (!isFinite(s.Radius) || s.Radius <= 0 || s.Radius > MaxBuffer) {
			p.add(field+".radius", "%v m outside (0, %d]", s.Radius, MaxBuffer)
		}
	case ShapePolygon:
		validatePolygons(func(f, msg string) { *p = append(*p, FieldError{Path: f, Msg: msg}) }, field, s.Polygons)
	default:
		p.add(field, "no shape")
	}
}
