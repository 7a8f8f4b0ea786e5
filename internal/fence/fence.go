// Package fence writes the blocking zones near a flight as geofences an
// aircraft enforces itself: a QGroundControl .plan geoFence (which
// QGroundControl uploads to PX4 or ArduPilot with the mission) and KML.
//
// Fences are 2-D: a ground station and an autopilot know no zone floors
// or ceilings, and no schedules. An exclusion therefore keeps the aircraft
// out of a zone at every height and at every time the file is loaded; the
// fence's maximum altitude is a parameter of the autopilot (PX4
// GF_MAX_VER_DIST, ArduPilot FENCE_ALT_MAX), not part of the file. See
// docs/fieldkit.md.
package fence

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// DefaultMaxVertices is the vertex limit per polygon. PX4 keeps fence
// vertices in its dataman storage and ArduPilot in FENCE_TOTAL points, each
// with a total limit across all polygons (PX4 allocates 64 fence items on
// boards with little storage); 64 per polygon keeps one fence of a few
// zones within it.
const DefaultMaxVertices = 64

// DefaultMarginM is the clearance added around every zone, in metres: GNSS
// error, and the distance an aircraft travels before the fence action
// takes hold.
const DefaultMarginM = 10

// SphereFactor grows a circle's radius for the way aircraft measure it:
// on a sphere (PX4 of 6,371 km, ArduPilot of 6,378.1 km), not on WGS84.
// Along a meridian near the equator, where a WGS84 radian of latitude is
// only 6,335,439 m, a sphere of 6,378,137 m counts a metre as up to
// 6,378,137 / 6,335,439 = 1.00674 m; east–west, and along any meridian
// away from the equator, it counts less. A zone's edge with its clearance,
// r + marginM metres away on WGS84, is thus at most (r + marginM) · 1.00674
// away as the aircraft measures it.
const SphereFactor = 1.007

// Zone is a blocking zone to fence off.
type Zone struct {
	ID, Name string
	Shapes   []geo.Shape
}

// Circle is a circular fence: centre [lon, lat] and radius in metres.
type Circle struct {
	Center  orb.Point
	RadiusM float64
}

// Exclusion is one fence keeping the aircraft out of (part of) a zone.
type Exclusion struct {
	ZoneID, Name string
	Polygon      orb.Ring // closed; nil for a circle
	Circle       *Circle
}

// Flight is what the inclusion goes around: a route's waypoints, or an
// area's outer ring, or a circle (set one).
type Flight struct {
	Route  []orb.Point
	Area   orb.Ring
	Circle *Circle
}

// Fence is what is written.
type Fence struct {
	// Inclusion is where the aircraft may be: closed.
	Inclusion  orb.Ring
	Exclusions []Exclusion
	// MaxAltitude says how high the aircraft may fly ("maximum altitude:
	// the highest permitted, 100 m AGL"); only KML carries it, in the
	// inclusion's description. "" for none.
	MaxAltitude string
}

// Build fences zones off, each polygon enclosed (geo.Enclose) within
// maxVertices with marginM of clearance, each circle's radius grown by
// marginM, then by SphereFactor, and rounded up to the metre; and includes the flight grown by
// reachM (the buffer and the margin), in at most maxVertices: a route's
// corridor (geo.Corridor), an area's convex hull moved out by reachM
// (geo.Enclose), a circle as a polygon outside the grown circle.
func Build(zones []Zone, fl Flight, reachM float64, maxVertices int, marginM float64) *Fence {
	f := &Fence{}
	switch {
	case len(fl.Route) > 0:
		f.Inclusion = geo.Corridor(fl.Route, reachM, maxVertices)
	case len(fl.Area) > 0:
		f.Inclusion = geo.Enclose(fl.Area, maxVertices, reachM)
	case fl.Circle != nil:
		f.Inclusion = geo.CircleRing(fl.Circle.Center, fl.Circle.RadiusM+reachM, min(max(maxVertices, 8), 72))
	}
	for _, z := range zones {
		for _, s := range z.Shapes {
			switch s.Kind {
			case geo.ShapeCircle:
				f.Exclusions = append(f.Exclusions, Exclusion{ZoneID: z.ID, Name: z.Name,
					Circle: &Circle{Center: s.Center, RadiusM: math.Ceil((s.Radius + marginM) * SphereFactor)}})
			case geo.ShapePolygon:
				for _, poly := range s.Polygons {
					if len(poly) == 0 {
						continue
					}
					// The outer ring only: a hole is fenced off with its zone.
					f.Exclusions = append(f.Exclusions, Exclusion{ZoneID: z.ID, Name: z.Name,
						Polygon: geo.Enclose(poly[0], maxVertices, marginM)})
				}
			}
		}
	}
	return f
}

// qgcPolygon and qgcCircle are QGroundControl's fence items (version 1);
// coordinates are [latitude, longitude], the reverse of GeoJSON.
type qgcPolygon struct {
	Inclusion bool         `json:"inclusion"`
	Polygon   [][2]float64 `json:"polygon"`
	Version   int          `json:"version"`
}

type qgcCircle struct {
	Circle struct {
		Center [2]float64 `json:"center"`
		Radius float64    `json:"radius"`
	} `json:"circle"`
	Inclusion bool `json:"inclusion"`
	Version   int  `json:"version"`
}

type qgcGeoFence struct {
	Circles  []qgcCircle  `json:"circles"`
	Polygons []qgcPolygon `json:"polygons"`
	Version  int          `json:"version"`
}

func latLon(r orb.Ring) [][2]float64 {
	out := make([][2]float64, 0, len(r))
	for i, p := range r {
		if i == len(r)-1 && len(r) > 1 && p == r[0] {
			break // QGroundControl's polygons are not closed
		}
		out = append(out, [2]float64{p[1], p[0]})
	}
	return out
}

func (f *Fence) geoFence() qgcGeoFence {
	g := qgcGeoFence{Circles: []qgcCircle{}, Polygons: []qgcPolygon{}, Version: 2}
	if f.Inclusion != nil {
		g.Polygons = append(g.Polygons, qgcPolygon{Inclusion: true, Polygon: latLon(f.Inclusion), Version: 1})
	}
	for _, e := range f.Exclusions {
		if e.Circle != nil {
			c := qgcCircle{Version: 1}
			c.Circle.Center, c.Circle.Radius = [2]float64{e.Circle.Center[1], e.Circle.Center[0]}, e.Circle.RadiusM
			g.Circles = append(g.Circles, c)
			continue
		}
		g.Polygons = append(g.Polygons, qgcPolygon{Polygon: latLon(e.Polygon), Version: 1})
	}
	return g
}

// WritePlan returns the QGroundControl plan file original (a .plan; nil
// for none: then an empty mission) with its geoFence replaced by f. Every
// other member of original is kept byte for byte.
func (f *Fence) WritePlan(original []byte) ([]byte, error) {
	doc := map[string]json.RawMessage{}
	if original != nil {
		if err := json.Unmarshal(original, &doc); err != nil {
			return nil, fmt.Errorf("the plan file: %w", err)
		}
	} else {
		doc["fileType"] = json.RawMessage(`"Plan"`)
		doc["groundStation"] = json.RawMessage(`"nofly"`)
		doc["version"] = json.RawMessage(`1`)
		doc["mission"] = json.RawMessage(`{"cruiseSpeed":15,"firmwareType":12,"hoverSpeed":5,"items":[],"plannedHomePosition":[0,0,0],"vehicleType":2,"version":2}`)
		doc["rallyPoints"] = json.RawMessage(`{"points":[],"version":2}`)
	}
	gf, err := json.Marshal(f.geoFence())
	if err != nil {
		return nil, err
	}
	doc["geoFence"] = gf
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "    ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteKML returns f as KML: the inclusion as a green outline, each
// exclusion a red polygon named after its zone (circles drawn as polygons
// of 72 vertices outside the circle).
func (f *Fence) WriteKML(name string) ([]byte, error) {
	type coords struct {
		Coordinates string `xml:"coordinates"`
	}
	type ring struct {
		LinearRing coords `xml:"LinearRing"`
	}
	type polygon struct {
		Outer ring `xml:"outerBoundaryIs"`
	}
	type placemark struct {
		Name     string  `xml:"name"`
		Desc     string  `xml:"description,omitempty"`
		StyleURL string  `xml:"styleUrl"`
		Polygon  polygon `xml:"Polygon"`
	}
	type style struct {
		ID   string `xml:"id,attr"`
		Line string `xml:",innerxml"`
	}
	type document struct {
		Name       string      `xml:"name"`
		Styles     []style     `xml:"Style"`
		Placemarks []placemark `xml:"Placemark"`
	}
	type kml struct {
		XMLName  xml.Name `xml:"http://www.opengis.net/kml/2.2 kml"`
		Document document `xml:"Document"`
	}
	str := func(r orb.Ring) string {
		var b bytes.Buffer
		for i, p := range r {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.8f,%.8f,0", p[0], p[1])
		}
		return b.String()
	}
	d := document{Name: name, Styles: []style{
		{ID: "inclusion", Line: `<LineStyle><color>ff00aa00</color><width>3</width></LineStyle><PolyStyle><fill>0</fill></PolyStyle>`},
		{ID: "exclusion", Line: `<LineStyle><color>ff0000ff</color><width>2</width></LineStyle><PolyStyle><color>550000ff</color></PolyStyle>`},
	}}
	if f.Inclusion != nil {
		d.Placemarks = append(d.Placemarks, placemark{Name: "inclusion: the area of the flight", Desc: f.MaxAltitude, StyleURL: "#inclusion",
			Polygon: polygon{Outer: ring{coords{str(f.Inclusion)}}}})
	}
	for _, e := range f.Exclusions {
		r := e.Polygon
		desc := "exclusion (every height, every time)"
		if e.Circle != nil {
			r = geo.CircleRing(e.Circle.Center, e.Circle.RadiusM, 72)
			desc = fmt.Sprintf("exclusion circle of %g m (every height, every time)", e.Circle.RadiusM)
		}
		d.Placemarks = append(d.Placemarks, placemark{Name: e.ZoneID + " " + e.Name, Desc: desc, StyleURL: "#exclusion",
			Polygon: polygon{Outer: ring{coords{str(r)}}}})
	}
	out, err := xml.MarshalIndent(kml{Document: d}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}
