// Package mapview draws nofly's answers as maps: a check, a flight plan, a
// list of zones or an exemption, as one self-contained HTML file (Leaflet,
// vendored, with every script, style and datum inlined: it opens offline
// and asks the network for nothing) or as a static SVG picture in Web
// Mercator.
//
// Maps are for people. What they draw is simplified for display (zone
// outlines and the country outlines beneath them); the checks themselves
// never see these shapes. Distances written on a map are the check's own,
// measured on the ellipsoid.
package mapview

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// Map is what one map shows. Text fields are written for a person, as the
// CLI prints them.
type Map struct {
	// Title is the first line: the verdict, or what the map lists.
	Title string
	// Lines follow the title: what was checked, when, against which zone
	// set.
	Lines []string
	// Flight is the position, route or area checked; nil for a zone list
	// or an exemption.
	Flight *Flight
	// Zones are the zones to draw, met or not.
	Zones []Zone
	// Exemption is the exemption a map is about (exemptions show); nil
	// for none.
	Exemption *Exemption
	// Considered are the exemptions a check weighed (those that cover a
	// zone and those that do not), drawn with their areas.
	Considered []*Exemption
	// View is the region to show; empty means around the flight, the
	// exemption and the zones met (or all zones when nothing else is
	// given).
	View orb.Bound
}

// Flight is a checked position, route or area.
type Flight struct {
	// Path is a position (one point) or a route (its waypoints), lon/lat.
	Path []orb.Point
	// Area is an operating area: a polygon, or a circle of Radius metres
	// around Path[0] when Radius > 0.
	Area   orb.Polygon
	Radius float64
	// Buffer is the lateral buffer in metres.
	Buffer float64
	// ConflictLegs are the legs of the route (leg i from Path[i] to
	// Path[i+1]) that meet a blocking zone no exemption covers.
	ConflictLegs []int
	// CoveredLegs are the legs that meet only blocking zones that an
	// exemption covers.
	CoveredLegs []int
}

// Zone is a zone to draw.
type Zone struct {
	ID, Name    string
	Restriction string // PROHIBITED, REQ_AUTHORISATION, CONDITIONAL, ...
	Blocking    bool   // needs an exemption
	Heights     string // "0–120 m AGL"
	Schedule    string // "always", or the periods it is active
	Message     string
	Reasons     []string
	// Shapes are the zone's horizontal shapes, one polygon per volume.
	Shapes []orb.Polygon
	// Hit says what the check found; nil for a zone near the check that it
	// did not meet (or for a zone list).
	Hit *Hit
}

// Hit is a check's finding about one zone.
type Hit struct {
	Inside bool
	// Distance is the closest approach in metres (0 inside).
	Distance float64
	// Legs of a route that meet the zone.
	Legs []int
	// Band is the heights at which flight and zone overlap.
	Band string
	// When is the span of the flight during which the zone is active.
	When string
	// CoveredBy is the exemption that covers the conflict; empty when none
	// does.
	CoveredBy string
	// NotCovered says why each exemption considered does not cover it.
	NotCovered []string
}

// Exemption is an exemption's area and what it says.
type Exemption struct {
	ID    string
	Lines []string
	// Area is the exemption's area: polygons, or a circle of Radius metres
	// around Center. Both empty: the exemption has no area.
	Area   orb.Polygon
	Center orb.Point
	Radius float64
	// ZoneIDs are the zones the exemption names.
	ZoneIDs []string
}

// Status classes, used as CSS classes in HTML and as styles in SVG.
const (
	statusConflict = "conflict" // blocking, met, not covered
	statusCovered  = "covered"  // blocking, met, covered by an exemption
	statusAdvisory = "advisory" // not blocking, met
	statusNear     = "near"     // blocking, not met
	statusNearAdv  = "near-advisory"
	statusNamed    = "named" // named by the exemption drawn
)

func (z *Zone) status(named map[string]bool) string {
	switch {
	case z.Hit != nil && z.Blocking && z.Hit.CoveredBy != "":
		return statusCovered
	case z.Hit != nil && z.Blocking:
		return statusConflict
	case z.Hit != nil:
		return statusAdvisory
	case named[z.ID]:
		return statusNamed
	case z.Blocking:
		return statusNear
	}
	return statusNearAdv
}

// Write writes m to path as HTML (.html, .htm) or SVG (.svg), chosen by
// the file name's extension.
func Write(path string, m *Map) error {
	f, err := Format(path)
	if err != nil {
		return err
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	switch f {
	case "html":
		err = WriteHTML(out, m)
	default:
		err = WriteSVG(out, m)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("map %s: %v", path, err)
	}
	return nil
}

// Format is "html" or "svg" by path's extension, or an error naming the
// extensions a map can have.
func Format(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".html", ".htm":
		return "html", nil
	case ".svg":
		return "svg", nil
	}
	return "", fmt.Errorf("map %s: name it .html (an interactive map for a browser) or .svg (a picture)", path)
}

// flightRings is the outline of the flight with its buffer: what a check
// takes as the flight's extent.
func (f *Flight) flightRings() []orb.Ring {
	switch {
	case f == nil:
		return nil
	case f.Radius > 0 && len(f.Path) > 0:
		return []orb.Ring{geo.CircleOutline(f.Path[0], f.Radius+f.Buffer, 96)}
	case len(f.Area) > 0:
		// Counterclockwise like the buffer's capsules, so that a nonzero
		// fill covers their union (a clockwise ring would cancel them).
		outer := f.Area[0]
		if outer.Orientation() == orb.CW {
			outer = slices.Clone(outer)
			outer.Reverse()
		}
		rings := []orb.Ring{outer}
		if f.Buffer > 0 {
			rings = append(rings, geo.BufferOutline(outer, f.Buffer)...)
		}
		return rings
	}
	return geo.BufferOutline(f.Path, f.Buffer)
}

// view is the region a map shows: m.View, or the flight with its buffer,
// the exemption's area and the closest approaches, or else every zone;
// with a margin, and at least 2 km across.
func (m *Map) view() orb.Bound {
	if m.View != (orb.Bound{}) {
		return m.View
	}
	var b orb.Bound
	first := true
	add := func(p orb.Point) {
		if first {
			b, first = orb.Bound{Min: p, Max: p}, false
			return
		}
		b = b.Extend(p)
	}
	if f := m.Flight; f != nil {
		for _, p := range f.Path {
			add(p)
		}
		for _, r := range f.flightRings() {
			for _, p := range r {
				add(p)
			}
		}
		for _, c := range m.closest() {
			add(c.p)
			add(c.q)
		}
	}
	if ex := m.Exemption; ex != nil {
		for _, r := range ex.rings() {
			for _, p := range r {
				add(p)
			}
		}
	}
	if first {
		// Nothing but zones: show them all, or those met.
		for _, z := range m.Zones {
			for _, s := range z.Shapes {
				for _, r := range s {
					for _, p := range r {
						add(p)
					}
				}
			}
		}
	}
	if first {
		return orb.Bound{Min: orb.Point{-10, 35}, Max: orb.Point{30, 60}} // Europe
	}
	// A margin of a fifth each side, and at least 2 km across.
	c := b.Center()
	minHalfLat := 1000 / 111_000.0
	minHalfLon := minHalfLat / math.Max(math.Cos(c[1]*math.Pi/180), 0.05)
	hw := math.Max((b.Max[0]-b.Min[0])*0.7, minHalfLon)
	hh := math.Max((b.Max[1]-b.Min[1])*0.7, minHalfLat)
	return orb.Bound{
		Min: orb.Point{math.Max(c[0]-hw, -180), math.Max(c[1]-hh, -85)},
		Max: orb.Point{math.Min(c[0]+hw, 180), math.Min(c[1]+hh, 85)},
	}
}

func (ex *Exemption) rings() []orb.Ring {
	switch {
	case ex == nil:
		return nil
	case ex.Radius > 0:
		return []orb.Ring{geo.CircleOutline(ex.Center, ex.Radius, 96)}
	}
	return ex.Area
}

// closestMark is where a flight comes closest to a zone it does not enter.
type closestMark struct {
	zone   string
	p, q   orb.Point
	metres float64
}

// closest finds, for each zone met but not entered, where the flight
// comes closest: a picture of the distance the check measured.
func (m *Map) closest() []closestMark {
	f := m.Flight
	if f == nil {
		return nil
	}
	var out []closestMark
	for _, z := range m.Zones {
		if z.Hit == nil || z.Hit.Inside {
			continue
		}
		var rings []orb.Ring
		for _, s := range z.Shapes {
			rings = append(rings, s...)
		}
		path := f.Path
		if len(f.Area) > 0 {
			path = f.Area[0]
		} else if f.Radius > 0 && len(path) > 0 {
			path = geo.CircleOutline(path[0], f.Radius, 96)
		}
		if p, q, ok := geo.ClosestPoints(path, rings); ok {
			out = append(out, closestMark{zone: z.ID, p: p, q: q, metres: z.Hit.Distance})
		}
	}
	return out
}

// fmtDistance writes a distance in metres for a label: "312 m", "4.2 km".
func fmtDistance(m float64) string {
	if m >= 10_000 {
		return fmt.Sprintf("%.0f km", m/1000)
	}
	if m >= 1000 {
		return fmt.Sprintf("%.1f km", m/1000)
	}
	return fmt.Sprintf("%.0f m", m)
}

// legend is the key for a map's zone styles, in the order drawn.
var legend = []struct{ status, text string }{
	{statusConflict, "blocking zone met, no exemption covers it"},
	{statusCovered, "blocking zone met, covered by an exemption"},
	{statusAdvisory, "advisory zone met (read its conditions)"},
	{statusNamed, "zone the exemption names"},
	{statusNear, "blocking zone nearby, not met"},
	{statusNearAdv, "advisory zone nearby, not met"},
}

// legendText is the legend's text for a zone status: on a map of zones
// alone nothing was checked, so zones are neither met nor nearby.
func (m *Map) legendText(status, text string) string {
	if m.Flight != nil || m.Exemption != nil {
		return text
	}
	switch status {
	case statusNear:
		return "blocking zone (needs an exemption)"
	case statusNearAdv:
		return "advisory zone (read its conditions)"
	}
	return text
}

// exemptions are the exemptions whose areas a map draws.
func (m *Map) exemptions() []*Exemption {
	var out []*Exemption
	if m.Exemption != nil {
		out = append(out, m.Exemption)
	}
	return append(out, m.Considered...)
}
