// Package flightplan reads flight plans from files: GeoJSON (a route as a
// LineString, an area as a Polygon or as a Point with a radius),
// QGroundControl .plan missions and KML (a LineString route or a Polygon
// area).
//
// The readers never drop a part of the flight they do not understand: an
// unknown navigation command, coordinate frame or complex item is an error,
// because a route with a missing leg could pass a check it should fail.
package flightplan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// ErrFormat is wrapped by every error about a file that is not a flight plan
// these readers understand.
var ErrFormat = errors.New("not a supported flight plan")

// Plan is a flight plan read from a file: exactly one of Route and Area is
// set.
type Plan struct {
	// Format is "GeoJSON", "QGroundControl plan" or "KML".
	Format string
	// Name is the plan's name when the file gives one.
	Name  string
	Route *Route
	Area  *Area
	// MinBuffer is the lateral buffer, in metres, the plan itself needs:
	// the largest loiter radius of a QGroundControl mission, whose circles
	// the route through the loiter centres does not cover.
	MinBuffer float64
}

// Waypoint is a point of a route.
type Waypoint struct {
	Lat, Lon float64 // degrees, WGS84
	// Alt is the height in metres above the route's AltRef; meaningless
	// when AltRef is geo.RefUnknown.
	Alt float64
}

// Route is a path flown waypoint by waypoint.
type Route struct {
	Waypoints []Waypoint
	// AltRef is the reference of every waypoint's Alt; geo.RefUnknown when
	// the file gives no heights.
	AltRef geo.VerticalRef
}

// Area is an operating area: a polygon or a circle. Its height band is in
// Band when the file gives one (KML), else the caller supplies it.
type Area struct {
	// Band is the area's heights as the file gives them; nil when it gives
	// none.
	Band *Band
	// Polygon is an outer ring and holes, in longitude/latitude (as GeoJSON
	// writes them). Nil for a circle.
	Polygon orb.Polygon
	// Center (longitude, latitude) and Radius in metres, for a circle.
	Center orb.Point
	Radius float64
}

// Band is a height band: from Lower to Upper metres above Ref.
type Band struct {
	Lower, Upper float64
	Ref          geo.VerticalRef
}

// Options says how to read heights a file does not qualify.
type Options struct {
	// AltRef is the reference of the heights in GeoJSON coordinates (the
	// third number); geo.AGL when zero. QGroundControl plans carry their
	// own reference in each item's frame.
	AltRef geo.VerticalRef
}

// Parse reads a flight plan from b, GeoJSON, QGroundControl .plan or KML,
// telling them apart by their content. name is the file's name, for errors.
func Parse(name string, b []byte, opt Options) (*Plan, error) {
	if t := bytes.TrimLeft(b, "\ufeff \t\r\n"); len(t) > 0 && t[0] == '<' {
		p, err := ParseKML(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return p, nil
	}
	var probe struct {
		FileType string `json:"fileType"`
		Type     string `json:"type"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("%s: %w: %v (nofly reads GeoJSON, QGroundControl .plan and KML flight plans)", name, ErrFormat, jsonError(b, err))
	}
	var (
		p   *Plan
		err error
	)
	switch {
	case probe.FileType == "Plan":
		p, err = ParseQGC(b)
	case probe.Type != "":
		p, err = ParseGeoJSON(b, opt)
	default:
		err = fmt.Errorf(`%w: want GeoJSON (a "type" member), a QGroundControl plan ("fileType": "Plan") or KML`, ErrFormat)
	}
	if err == nil {
		err = checkEdges(p)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// checkEdges refuses a route leg or area edge that spans more than 180° of
// longitude, or an area ring of no area (see geo.CheckRing): read as
// straight lines in longitude/latitude, it would not be the flight its
// author meant.
func checkEdges(p *Plan) error {
	if p.Route != nil {
		pts := make([]orb.Point, len(p.Route.Waypoints))
		for i, w := range p.Route.Waypoints {
			pts[i] = orb.Point{w.Lon, w.Lat}
		}
		if e := geo.CheckPath(pts); e != nil {
			return fmt.Errorf("%w: route: %s", ErrFormat, e.Msg)
		}
	}
	if p.Area != nil {
		for i, r := range p.Area.Polygon {
			if e := geo.CheckRing(r); e != nil {
				return fmt.Errorf("%w: area ring %d: %s", ErrFormat, i, e.Msg)
			}
		}
	}
	return nil
}

// jsonError says where in b a JSON syntax error is, as line:column.
func jsonError(b []byte, err error) error {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return err
	}
	off := min(int(se.Offset), len(b))
	line := 1 + bytes.Count(b[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(b[:off], '\n')
	return fmt.Errorf("line %d, column %d: %v", line, col, err)
}
