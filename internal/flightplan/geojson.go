package flightplan

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// gjObject is any GeoJSON object; which members mean something depends on
// Type.
type gjObject struct {
	Type        string          `json:"type"`
	Features    []gjObject      `json:"features"`
	Geometry    *gjObject       `json:"geometry"`
	Geometries  []gjObject      `json:"geometries"`
	Properties  map[string]any  `json:"properties"`
	Coordinates json.RawMessage `json:"coordinates"`
}

// gjFound is a geometry met while walking the file, with where it was.
type gjFound struct {
	where string // e.g. "features[2].geometry"
	geom  *gjObject
	props map[string]any
}

// ParseGeoJSON reads a flight plan from a GeoJSON Feature,
// FeatureCollection or bare geometry holding exactly one of:
//   - a LineString: a route; [longitude, latitude, height] positions, the
//     height in metres above opt.AltRef (AGL by default), all positions
//     with a height or none;
//   - a Polygon: an operating area (heights in its positions are ignored);
//   - a Point whose properties give "radius_m": a circular area.
func ParseGeoJSON(b []byte, opt Options) (*Plan, error) {
	var root gjObject
	if err := json.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, jsonError(b, err))
	}
	var found []gjFound
	if err := collect(&root, "", nil, &found); err != nil {
		return nil, err
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%w: no LineString, Polygon or Point with radius_m in the GeoJSON", ErrFormat)
	case 1:
	default:
		return nil, fmt.Errorf("%w: %d geometries (%s and %s); a flight plan is one route or one area",
			ErrFormat, len(found), found[0].where, found[1].where)
	}
	f := found[0]
	p := &Plan{Format: "GeoJSON", Name: stringProp(f.props, "name")}
	if p.Name == "" {
		p.Name = stringProp(root.Properties, "name")
	}
	var err error
	switch f.geom.Type {
	case "LineString":
		p.Route, err = gjRoute(f, opt)
	case "Polygon":
		p.Area, err = gjPolygon(f)
	case "Point":
		p.Area, err = gjCircle(f)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// collect walks o and appends every geometry it finds to out.
func collect(o *gjObject, where string, props map[string]any, out *[]gjFound) error {
	at := func(s string) string {
		if where == "" {
			return s
		}
		return where + "." + s
	}
	switch o.Type {
	case "FeatureCollection":
		for i := range o.Features {
			if err := collect(&o.Features[i], at(fmt.Sprintf("features[%d]", i)), nil, out); err != nil {
				return err
			}
		}
	case "Feature":
		if o.Geometry == nil {
			return nil // a feature without geometry has no place in a plan
		}
		return collect(o.Geometry, at("geometry"), o.Properties, out)
	case "GeometryCollection":
		for i := range o.Geometries {
			if err := collect(&o.Geometries[i], at(fmt.Sprintf("geometries[%d]", i)), props, out); err != nil {
				return err
			}
		}
	case "LineString", "Polygon":
		*out = append(*out, gjFound{where: orRoot(where), geom: o, props: props})
	case "Point":
		if _, ok := props["radius_m"]; !ok {
			return fmt.Errorf(`%w: %s: a Point needs a "radius_m" property to be an area`, ErrFormat, orRoot(where))
		}
		*out = append(*out, gjFound{where: orRoot(where), geom: o, props: props})
	case "MultiLineString", "MultiPolygon", "MultiPoint":
		return fmt.Errorf("%w: %s: %s is not supported: give one LineString (route) or one Polygon (area)", ErrFormat, orRoot(where), o.Type)
	default:
		return fmt.Errorf("%w: %s: unknown GeoJSON type %q", ErrFormat, orRoot(where), o.Type)
	}
	return nil
}

func orRoot(where string) string {
	if where == "" {
		return "geometry"
	}
	return where
}

func gjRoute(f gjFound, opt Options) (*Route, error) {
	var coords [][]float64
	if err := json.Unmarshal(f.geom.Coordinates, &coords); err != nil {
		return nil, fmt.Errorf("%w: %s.coordinates: want [[longitude, latitude, height], ...]: %v", ErrFormat, f.where, err)
	}
	r := &Route{Waypoints: make([]Waypoint, 0, len(coords))}
	withAlt := 0
	for i, c := range coords {
		if len(c) < 2 {
			return nil, fmt.Errorf("%w: %s.coordinates[%d]: want [longitude, latitude] or [longitude, latitude, height]", ErrFormat, f.where, i)
		}
		w := Waypoint{Lon: c[0], Lat: c[1]}
		if len(c) >= 3 {
			w.Alt = c[2]
			withAlt++
		}
		r.Waypoints = append(r.Waypoints, w)
	}
	switch withAlt {
	case 0:
		// No heights: the check counts every height.
	case len(coords):
		r.AltRef = opt.AltRef
		if r.AltRef == geo.RefUnknown {
			r.AltRef = geo.AGL
		}
	default:
		return nil, fmt.Errorf("%w: %s.coordinates: %d of %d positions have a height; give all or none", ErrFormat, f.where, withAlt, len(coords))
	}
	return r, nil
}

func gjPolygon(f gjFound) (*Area, error) {
	var rings [][][]float64
	if err := json.Unmarshal(f.geom.Coordinates, &rings); err != nil {
		return nil, fmt.Errorf("%w: %s.coordinates: want [[[longitude, latitude], ...], ...]: %v", ErrFormat, f.where, err)
	}
	poly := make(orb.Polygon, 0, len(rings))
	for i, ring := range rings {
		r := make(orb.Ring, 0, len(ring))
		for j, c := range ring {
			if len(c) < 2 {
				return nil, fmt.Errorf("%w: %s.coordinates[%d][%d]: want [longitude, latitude]", ErrFormat, f.where, i, j)
			}
			r = append(r, orb.Point{c[0], c[1]})
		}
		poly = append(poly, r)
	}
	return &Area{Polygon: poly}, nil
}

func gjCircle(f gjFound) (*Area, error) {
	var c []float64
	if err := json.Unmarshal(f.geom.Coordinates, &c); err != nil || len(c) < 2 {
		return nil, fmt.Errorf("%w: %s.coordinates: want [longitude, latitude]", ErrFormat, f.where)
	}
	r, ok := f.props["radius_m"].(float64)
	if !ok || math.IsNaN(r) {
		return nil, fmt.Errorf("%w: %s: properties.radius_m: want a number of metres", ErrFormat, f.where)
	}
	return &Area{Center: orb.Point{c[0], c[1]}, Radius: r}, nil
}

func stringProp(props map[string]any, key string) string {
	s, _ := props[key].(string)
	return s
}
