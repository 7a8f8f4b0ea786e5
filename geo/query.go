package geo

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// ErrInvalidQuery is wrapped by every error about a malformed check.
var ErrInvalidQuery = errors.New("invalid query")

// ErrTooManyHits is returned by a check that meets more than MaxHits zones.
var ErrTooManyHits = errors.New("too many zones")

// Limits on what one check may ask for, so that a valid query cannot hold
// a core for long (a check also stops when its Stop says so).
const (
	// MaxWaypoints bounds the length of a route.
	MaxWaypoints = 10000
	// MaxBuffer bounds the lateral buffer, in metres.
	MaxBuffer = 100_000
	// MaxSearchArea bounds, in square metres, the area a check searches
	// for zones: the sum over the route's legs, or the area's edges, of
	// (length + 2·buffer)², the box each one searches (a circle: its
	// diameter with the buffer, squared). A check's work grows with it:
	// 1,000,000 km² holds 25 short legs with a 100 km buffer (11 legs of
	// 100 km), or 10,000 legs of 8 km with a 1 km buffer.
	MaxSearchArea = 1_000_000e6
	// MaxHits bounds the zones one check reports.
	MaxHits = 1000
)

// The times a query may name: from 1970 to 2200, UTC.
var (
	MinTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// stopEvery is how many segment-volume measures a check makes between two
// calls of its Stop: a few milliseconds of work at most.
const stopEvery = 256

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
	// Category is the flight's category of operation, one of CategoryOpen,
	// CategorySpecific, CategoryCertified; zero when not given. Zones
	// published for other categories only do not count (see Zone).
	Category Category
}

// Validate reports what is wrong with the query: a *QueryError naming
// each field, or nil.
func (q PositionQuery) Validate() error {
	var p problems
	p.point("point", q.Point)
	p.alt("altitude", q.Alt.Metres, q.Alt.Ref)
	p.time("at", q.At)
	p.category(q.Category)
	return p.err()
}

// byCategory drops from hits the zones that do not apply to a flight in
// category c.
func byCategory(hits []Hit, c Category) []Hit {
	if c == 0 {
		return hits
	}
	return slices.DeleteFunc(hits, func(h Hit) bool { return !h.Zone.Categories.AppliesTo(c) })
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
	// Category is the flight's category of operation; zero when not given
	// (see PositionQuery.Category).
	Category Category
	// Stop, when set, is called every few milliseconds of work; when it
	// returns an error the check ends with that error (pass ctx.Err).
	Stop func() error
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
	if len(p) == 0 {
		for i := 1; i < len(q.Waypoints); i++ {
			a, b := q.Waypoints[i-1].Point, q.Waypoints[i].Point
			if longEdge(a, b) {
				p.add(fmt.Sprintf("waypoints[%d]", i-1), "%s", edgeError(i-1, a, b, "leg", "waypoint").Msg)
				break
			}
		}
	}
	pathOK := len(p) == 0
	p.buffer(q.Buffer)
	p.window(q.Window)
	p.category(q.Category)
	if pathOK && len(p) == 0 {
		lowest := 90.0
		for _, w := range q.Waypoints {
			lowest = min(lowest, math.Abs(w.Point[1]))
		}
		cosLat := math.Cos(lowest * math.Pi / 180)
		var area float64
		for i := 0; i+1 < len(q.Waypoints); i++ {
			area += searchBox(q.Waypoints[i].Point, q.Waypoints[i+1].Point, q.Buffer, cosLat)
		}
		p.searchArea("waypoints", area)
	}
	return p.err()
}

// searchBox is (length of ab + 2·buffer)², in square metres: the length of
// the straight lon/lat segment, as the checks draw it, in a plate carrée
// scaled by cosLat east-west (the cosine of the flight's latitude nearest
// the equator, so that no length comes out short). A work limit needs no
// better, and it costs a square root a leg.
func searchBox(a, b orb.Point, buffer, cosLat float64) float64 {
	const metresPerDegree = 111_320.0 // of latitude, and of longitude at the equator; rounded up
	dx, dy := (b[0]-a[0])*cosLat*metresPerDegree, (b[1]-a[1])*metresPerDegree
	l := math.Sqrt(dx*dx+dy*dy) + 2*buffer
	return l * l
}

func (p *problems) searchArea(field string, area float64) {
	if area <= MaxSearchArea {
		return
	}
	p.add(field, "the check would search %.0f km² for zones (the sum over legs of (length + 2 × buffer)²), more than the limit of %.0f km²: use a smaller buffer or shorter legs, or check the flight in parts",
		area/1e6, MaxSearchArea/1e6)
}

func (p *problems) category(c Category) {
	if c != 0 && (c&^allCategories != 0 || c&(c-1) != 0) {
		p.add("category", "want one of OPEN, SPECIFIC, CERTIFIED, got %#x", uint8(c))
	}
}

// AreaQuery asks which zones an operating area meets.
type AreaQuery struct {
	// Area is a polygon (with holes) or a circle.
	Area Shape
	// Band is the operation's height band; Ref RefUnknown when not known.
	Band   Band
	Buffer float64 // metres
	Window TimeWindow
	// Category is the flight's category of operation; zero when not given
	// (see PositionQuery.Category).
	Category Category
	// Stop, when set, is called every few milliseconds of work; when it
	// returns an error the check ends with that error (pass ctx.Err).
	Stop func() error
}

// Validate reports what is wrong with the query: a *QueryError naming
// each field, or nil.
func (q AreaQuery) Validate() error {
	var p problems
	p.shape("area", q.Area)
	p.buffer(q.Buffer)
	p.window(q.Window)
	p.category(q.Category)
	if len(p) == 0 {
		var area float64
		switch q.Area.Kind {
		case ShapeCircle:
			d := 2 * (q.Area.Radius + q.Buffer)
			area = d * d
		case ShapePolygon:
			lowest := 90.0
			for _, poly := range q.Area.Polygons {
				for _, r := range poly {
					for _, pt := range r {
						lowest = min(lowest, math.Abs(pt[1]))
					}
				}
			}
			cosLat := math.Cos(lowest * math.Pi / 180)
			for _, poly := range q.Area.Polygons {
				for _, r := range poly {
					for i := 0; i+1 < len(r); i++ {
						area += searchBox(r[i], r[i+1], q.Buffer, cosLat)
					}
				}
			}
		}
		p.searchArea("area", area)
	}
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
	// The zero time, 0001-01-01, is outside too: no "time required" for a
	// time that was given.
	if t.Before(MinTime) || t.After(MaxTime) {
		p.add(field, "%s is outside the times nofly checks, %s to %s",
			t.UTC().Format(time.RFC3339), MinTime.Format(time.RFC3339), MaxTime.Format(time.RFC3339))
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
