package flightplan

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// kmlGeom is a LineString or Polygon met in a KML file.
type kmlGeom struct {
	kind      string // "LineString" or "Polygon"
	placemark string // the Placemark's name, if any
	line      int    // where the geometry starts
	mode      string // altitudeMode; "" is KML's default, clampToGround
	extrude   bool
	coords    []kmlCoords // LineString: one; Polygon: outer ring, then holes
}

// kmlCoords is a <coordinates> element's text and where it starts.
type kmlCoords struct {
	text  string
	line  int
	outer bool // a Polygon's outerBoundaryIs
}

func (g *kmlGeom) String() string {
	if g.placemark != "" {
		return fmt.Sprintf("line %d: Placemark %q: %s", g.line, g.placemark, g.kind)
	}
	return fmt.Sprintf("line %d: %s", g.line, g.kind)
}

// ParseKML reads a flight plan from a KML document (as Google Earth,
// QGIS and many planning tools write them) holding exactly one of:
//   - a LineString: a route; "longitude,latitude[,altitude]" tuples, the
//     altitudes in metres above the ground (altitudeMode relativeToGround)
//     or above mean sea level (absolute); with KML's default mode,
//     clampToGround, the route has no heights and every height counts;
//   - a Polygon: an operating area, its height band from the lowest to the
//     highest altitude of its vertices (from the ground when extruded
//     with relativeToGround).
//
// Points (markers such as a take-off or operator position) are not part of
// the flight and are skipped; every other geometry is an error.
func ParseKML(b []byte) (*Plan, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	lineAt := func() int {
		off := min(int(d.InputOffset()), len(b))
		return 1 + bytes.Count(b[:off], []byte("\n"))
	}
	var (
		stack     []string // local names of the open elements
		geoms     []*kmlGeom
		cur       *kmlGeom
		placemark string
		docName   string
		text      strings.Builder
		rootSeen  bool
	)
	inside := func(name string) bool {
		for _, s := range stack {
			if s == name {
				return true
			}
		}
		return false
	}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: KML: line %d: %v", ErrFormat, lineAt(), err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if !rootSeen {
				if name != "kml" {
					return nil, fmt.Errorf("%w: XML whose root element is <%s>, not <kml>", ErrFormat, name)
				}
				rootSeen = true
			}
			switch name {
			case "Placemark":
				placemark = ""
			case "LineString", "Polygon":
				if cur != nil {
					return nil, fmt.Errorf("%w: KML: line %d: %s inside %s", ErrFormat, lineAt(), name, cur)
				}
				cur = &kmlGeom{kind: name, line: lineAt()}
				if inside("Placemark") {
					cur.placemark = placemark
				}
			case "Track", "MultiTrack", "Model":
				return nil, fmt.Errorf("%w: KML: line %d: %s is not supported: give one LineString (route) or one Polygon (area)", ErrFormat, lineAt(), name)
			}
			stack = append(stack, name)
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if len(stack) == 0 {
				break
			}
			name := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			val := strings.TrimSpace(text.String())
			switch {
			case name == "name" && parent == "Placemark":
				placemark = val
			case name == "name" && parent == "Document" && docName == "":
				docName = val
			case cur != nil && name == "altitudeMode":
				cur.mode = val
			case cur != nil && name == "extrude":
				cur.extrude = val == "1" || val == "true"
			case cur != nil && name == "coordinates":
				cur.coords = append(cur.coords, kmlCoords{text: val, line: lineAt(), outer: inside("outerBoundaryIs")})
			case cur != nil && name == cur.kind:
				geoms = append(geoms, cur)
				cur = nil
			}
			text.Reset()
		}
	}
	if !rootSeen {
		return nil, fmt.Errorf("%w: KML: no <kml> element", ErrFormat)
	}
	switch len(geoms) {
	case 0:
		return nil, fmt.Errorf("%w: KML: no LineString or Polygon", ErrFormat)
	case 1:
	default:
		return nil, fmt.Errorf("%w: KML: %d geometries (%s; %s%s); a flight plan is one route (LineString) or one area (Polygon)",
			ErrFormat, len(geoms), geoms[0], geoms[1], more(len(geoms)-2))
	}
	g := geoms[0]
	p := &Plan{Format: "KML", Name: g.placemark}
	if p.Name == "" {
		p.Name = docName
	}
	var ref geo.VerticalRef
	switch g.mode {
	case "", "clampToGround", "clampToSeaFloor":
		ref = geo.RefUnknown // on the ground: the file says nothing of the flight's height
	case "relativeToGround":
		ref = geo.AGL
	case "absolute":
		ref = geo.AMSL
	default:
		return nil, fmt.Errorf("%w: KML: %s: altitudeMode %q: want clampToGround, relativeToGround or absolute", ErrFormat, g, g.mode)
	}
	if g.kind == "LineString" {
		if len(g.coords) != 1 {
			return nil, fmt.Errorf("%w: KML: %s: want one <coordinates>, found %d", ErrFormat, g, len(g.coords))
		}
		pts, alts, err := kmlPositions(g, g.coords[0])
		if err != nil {
			return nil, err
		}
		r := &Route{Waypoints: make([]Waypoint, len(pts)), AltRef: ref}
		for i, pt := range pts {
			r.Waypoints[i] = Waypoint{Lon: pt[0], Lat: pt[1], Alt: alts[i]}
		}
		if ref == geo.RefUnknown {
			for i := range r.Waypoints {
				r.Waypoints[i].Alt = 0
			}
		}
		p.Route = r
		return p, nil
	}
	area := &Area{}
	lo, hi := 0.0, 0.0
	for i, c := range g.coords {
		if c.outer != (i == 0) {
			return nil, fmt.Errorf("%w: KML: %s: want one outerBoundaryIs ring, then innerBoundaryIs rings", ErrFormat, g)
		}
		pts, alts, err := kmlPositions(g, c)
		if err != nil {
			return nil, err
		}
		area.Polygon = append(area.Polygon, orb.Ring(pts))
		for j, a := range alts {
			if i == 0 && j == 0 {
				lo, hi = a, a
			}
			lo, hi = min(lo, a), max(hi, a)
		}
	}
	if len(area.Polygon) == 0 {
		return nil, fmt.Errorf("%w: KML: %s: no outerBoundaryIs ring", ErrFormat, g)
	}
	if ref != geo.RefUnknown {
		if g.extrude {
			if ref != geo.AGL {
				return nil, fmt.Errorf("%w: KML: %s: an extruded polygon with absolute altitudes reaches down to the ground, "+
					"whose height above sea level nofly does not know: use relativeToGround, or give the heights with --min-alt and --max-alt", ErrFormat, g)
			}
			lo = 0
		}
		area.Band = &Band{Lower: lo, Upper: hi, Ref: ref}
	}
	p.Area = area
	return p, nil
}

// kmlPositions reads a <coordinates> text: "lon,lat[,alt]" tuples
// separated by white space. The altitudes are 0 where a tuple has none;
// all tuples must have one or none.
func kmlPositions(g *kmlGeom, c kmlCoords) ([]orb.Point, []float64, error) {
	fields := strings.Fields(c.text)
	if len(fields) == 0 {
		return nil, nil, fmt.Errorf("%w: KML: %s: line %d: empty <coordinates>", ErrFormat, g, c.line)
	}
	pts := make([]orb.Point, len(fields))
	alts := make([]float64, len(fields))
	withAlt := 0
	for i, f := range fields {
		parts := strings.Split(f, ",")
		var v [3]float64
		ok := len(parts) == 2 || len(parts) == 3
		for j := 0; ok && j < len(parts); j++ {
			x, err := strconv.ParseFloat(parts[j], 64)
			v[j], ok = x, err == nil
		}
		if !ok {
			return nil, nil, fmt.Errorf("%w: KML: %s: coordinates[%d] %q: want longitude,latitude or longitude,latitude,altitude",
				ErrFormat, g, i, f)
		}
		if len(parts) == 3 {
			withAlt++
		}
		pts[i], alts[i] = orb.Point{v[0], v[1]}, v[2]
	}
	if g.mode != "" && g.mode != "clampToGround" && g.mode != "clampToSeaFloor" && withAlt != len(fields) {
		return nil, nil, fmt.Errorf("%w: KML: %s: altitudeMode %s but %d of %d positions have an altitude; give all",
			ErrFormat, g, g.mode, withAlt, len(fields))
	}
	return pts, alts, nil
}

func more(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" and %d more", n)
}
