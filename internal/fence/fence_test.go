package fence

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/data"
	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/flightplan"
)

func sampleZones(t *testing.T) []geo.Zone {
	t.Helper()
	f, err := data.FS.Open("nl-sample.geojson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zones, err := geo.Read(f, "nl-sample.geojson")
	if err != nil {
		t.Fatal(err)
	}
	return zones
}

// TestPlanFence writes every sample zone as a fence around the example
// mission, reads the file back with nofly's own .plan reader and its
// geoFence as QGroundControl would, and demands that every exclusion
// contains its zone with the clearance, and the inclusion the buffered
// route.
func TestPlanFence(t *testing.T) {
	const (
		clearance = 10.0
		buffer    = 50.0
		limit     = 16 // low, so that the big zones are simplified
	)
	original, err := os.ReadFile("../../examples/westpoort.plan")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := flightplan.Parse("westpoort.plan", original, flightplan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var pts []orb.Point
	for _, w := range plan.Route.Waypoints {
		pts = append(pts, orb.Point{w.Lon, w.Lat})
	}
	var zones []Zone
	byID := map[string]geo.Zone{}
	for _, z := range sampleZones(t) {
		fz := Zone{ID: z.ID, Name: z.Name}
		for _, v := range z.Volumes {
			fz.Shapes = append(fz.Shapes, v.Shape)
		}
		zones = append(zones, fz)
		byID[z.ID] = z
	}
	f := Build(zones, Flight{Route: pts}, buffer, limit, clearance)
	out, err := f.WritePlan(original)
	if err != nil {
		t.Fatal(err)
	}
	back, err := flightplan.Parse("fenced.plan", out, flightplan.Options{})
	if err != nil {
		t.Fatalf("nofly's .plan reader refuses the fenced plan: %v", err)
	}
	if len(back.Route.Waypoints) != len(plan.Route.Waypoints) {
		t.Errorf("the mission changed: %d waypoints, was %d", len(back.Route.Waypoints), len(plan.Route.Waypoints))
	}
	var doc struct {
		GeoFence qgcGeoFence `json:"geoFence"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	ring := func(ll [][2]float64) orb.Ring {
		r := orb.Ring{}
		for _, p := range ll {
			r = append(r, orb.Point{p[1], p[0]})
		}
		return append(r, r[0])
	}
	// The polygons are written in the order of f: the inclusion, then
	// each polygon exclusion.
	var polys []Exclusion
	for _, e := range f.Exclusions {
		if e.Circle == nil {
			polys = append(polys, e)
		}
	}
	g := doc.GeoFence
	if len(g.Polygons) != len(polys)+1 || !g.Polygons[0].Inclusion {
		t.Fatalf("%d polygons, want the inclusion and %d exclusions", len(g.Polygons), len(polys))
	}
	// The inclusion is the corridor: it contains the route buffered by
	// buffer (measured geodesically, ContainsPath), within the vertex
	// limit, and is no box: it keeps out a point 330 m from the route
	// that the box around the buffered route would hold.
	incl := geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{{ring(g.Polygons[0].Polygon)}}}
	if c := geo.ContainsPath(incl, pts, nil, buffer); !c.Contained() {
		t.Errorf("the inclusion does not contain the buffered route: %+v", c)
	}
	if n := len(g.Polygons[0].Polygon); n > limit {
		t.Errorf("the inclusion has %d vertices, limit %d", n, limit)
	}
	// The mission climbs from 52.3905 N at 4.76 E to 52.3935 N at 4.87 E:
	// the box's north-west corner is far from it.
	corner := orb.Point{4.761, 52.3938}
	if box := geo.ExpandBound(orb.MultiPoint(pts).Bound(), buffer); !box.Contains(corner) {
		t.Fatalf("%v is not in the box %v", corner, box)
	}
	if c := geo.ContainsPath(incl, []orb.Point{corner}, nil, 0); c.Contained() {
		t.Errorf("the inclusion holds %v, 330 m from the route: a box, not a corridor?", corner)
	}
	checked := 0
	for i, p := range g.Polygons[1:] {
		if p.Inclusion || len(p.Polygon) > limit {
			t.Fatalf("exclusion %d: inclusion %v, %d vertices", i, p.Inclusion, len(p.Polygon))
		}
		excl := geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{{ring(p.Polygon)}}}
		z := byID[polys[i].ZoneID]
		for _, v := range z.Volumes {
			if v.Shape.Kind != geo.ShapePolygon {
				continue
			}
			for _, zp := range v.Shape.Polygons {
				outer := geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{{zp[0]}}}
				if c := geo.ContainsArea(excl, outer, 0); c.Contained() {
					checked++
					goto next
				}
			}
		}
		t.Errorf("exclusion %d does not contain zone %s", i, polys[i].ZoneID)
	next:
	}
	circles := 0
	for _, e := range f.Exclusions {
		if e.Circle == nil {
			continue
		}
		c := g.Circles[circles]
		circles++
		z := byID[e.ZoneID]
		zc := z.Volumes[0].Shape
		if c.Inclusion || c.Circle.Center != [2]float64{zc.Center[1], zc.Center[0]} || c.Circle.Radius < zc.Radius+clearance {
			t.Errorf("circle of %s: %+v, zone radius %g", e.ZoneID, c, zc.Radius)
		}
	}
	if checked == 0 || circles == 0 {
		t.Errorf("checked %d polygons and %d circles: the sample set has both", checked, circles)
	}
	t.Logf("%d exclusion polygons, %d circles", checked, circles)
}

func TestKML(t *testing.T) {
	f := Build([]Zone{{ID: "Z-1", Name: "A & B", Shapes: []geo.Shape{{Kind: geo.ShapeCircle, Center: orb.Point{4.8, 52.4}, Radius: 1500}}}},
		Flight{Route: []orb.Point{{4.76, 52.39}, {4.87, 52.39}}}, 50, 64, 10)
	f.MaxAltitude = "maximum altitude: the highest permitted, 100 m AGL"
	b, err := f.WriteKML("fence.kml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Placemarks []struct {
			Name string `xml:"name"`
		} `xml:"Document>Placemark"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil || len(doc.Placemarks) != 2 {
		t.Errorf("KML: %v, %d placemarks\n%s", err, len(doc.Placemarks), b)
	}
	for _, want := range []string{"<name>Z-1 A &amp; B</name>", "exclusion circle of 1521 m", "inclusion: the area of the flight",
		"<description>maximum altitude: the highest permitted, 100 m AGL</description>"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("KML lacks %q:\n%s", want, b)
		}
	}
}

// TestAreaInclusion: an area's inclusion contains the area grown by the
// reach, measured geodesically; a circle's too.
func TestAreaInclusion(t *testing.T) {
	const reach = 300.0
	area := orb.Ring{{4.76, 52.30}, {4.80, 52.30}, {4.78, 52.31}, {4.80, 52.32}, {4.76, 52.32}, {4.76, 52.30}} // concave
	f := Build(nil, Flight{Area: area}, reach, 16, 10)
	incl := geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{{f.Inclusion}}}
	if c := geo.ContainsArea(incl, geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{{area}}}, reach); !c.Contained() {
		t.Errorf("the area's inclusion does not contain the area grown by %g m: %+v", reach, c)
	}
	circle := &Circle{Center: orb.Point{4.78, 52.31}, RadiusM: 800}
	f = Build(nil, Flight{Circle: circle}, reach, 32, 10)
	incl = geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{{f.Inclusion}}}
	if c := geo.ContainsPath(incl, []orb.Point{circle.Center}, nil, circle.RadiusM+reach); !c.Contained() || len(f.Inclusion)-1 > 32 {
		t.Errorf("the circle's inclusion (%d vertices) does not contain it grown by %g m: %+v", len(f.Inclusion)-1, reach, c)
	}
}
