package flightplan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

func kml(body string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2"><Document><name>doc</name>
` + body + `
</Document></kml>`)
}

func TestKML(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want *Plan
		err  string
	}{
		{
			name: "route above ground",
			in: kml(`<Placemark><name>patrol</name><LineString><altitudeMode>relativeToGround</altitudeMode>
				<coordinates>4.70,52.30,50 4.71,52.31,80
				4.72,52.32,60</coordinates></LineString></Placemark>`),
			want: &Plan{Format: "KML", Name: "patrol", Route: &Route{AltRef: geo.AGL, Waypoints: []Waypoint{
				{Lat: 52.30, Lon: 4.70, Alt: 50}, {Lat: 52.31, Lon: 4.71, Alt: 80}, {Lat: 52.32, Lon: 4.72, Alt: 60}}}},
		},
		{
			name: "route above sea level, gx mode, a point marker beside it",
			in: kml(`<Placemark><name>home</name><Point><coordinates>4.7,52.3,0</coordinates></Point></Placemark>
				<Placemark><LineString><gx:altitudeMode>absolute</gx:altitudeMode><coordinates>4.70,52.30,450 4.71,52.31,470</coordinates></LineString></Placemark>`),
			want: &Plan{Format: "KML", Name: "doc", Route: &Route{AltRef: geo.AMSL, Waypoints: []Waypoint{
				{Lat: 52.30, Lon: 4.70, Alt: 450}, {Lat: 52.31, Lon: 4.71, Alt: 470}}}},
		},
		{
			name: "route clamped to the ground has no heights",
			in:   kml(`<Placemark><LineString><coordinates>4.70,52.30,0 4.71,52.31,0</coordinates></LineString></Placemark>`),
			want: &Plan{Format: "KML", Name: "doc", Route: &Route{Waypoints: []Waypoint{{Lat: 52.30, Lon: 4.70}, {Lat: 52.31, Lon: 4.71}}}},
		},
		{
			name: "extruded area above ground starts at the ground",
			in: kml(`<Placemark><name>area</name><Polygon><extrude>1</extrude><altitudeMode>relativeToGround</altitudeMode>
				<outerBoundaryIs><LinearRing><coordinates>4.7,52.3,120 4.8,52.3,120 4.8,52.4,120 4.7,52.3,120</coordinates></LinearRing></outerBoundaryIs>
				<innerBoundaryIs><LinearRing><coordinates>4.75,52.33,120 4.76,52.33,120 4.76,52.34,120 4.75,52.33,120</coordinates></LinearRing></innerBoundaryIs>
				</Polygon></Placemark>`),
			want: &Plan{Format: "KML", Name: "area", Area: &Area{Band: &Band{Lower: 0, Upper: 120, Ref: geo.AGL}, Polygon: orb.Polygon{
				{{4.7, 52.3}, {4.8, 52.3}, {4.8, 52.4}, {4.7, 52.3}},
				{{4.75, 52.33}, {4.76, 52.33}, {4.76, 52.34}, {4.75, 52.33}}}}},
		},
		{
			name: "flat area above sea level",
			in: kml(`<Placemark><Polygon><altitudeMode>absolute</altitudeMode><outerBoundaryIs><LinearRing>
				<coordinates>8.51,47.37,560 8.52,47.37,570 8.52,47.38,570 8.51,47.37,560</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>`),
			want: &Plan{Format: "KML", Name: "doc", Area: &Area{Band: &Band{Lower: 560, Upper: 570, Ref: geo.AMSL}, Polygon: orb.Polygon{
				{{8.51, 47.37}, {8.52, 47.37}, {8.52, 47.38}, {8.51, 47.37}}}}},
		},
		{
			name: "area on the ground has no heights",
			in: kml(`<Placemark><Polygon><outerBoundaryIs><LinearRing>
				<coordinates>8.51,47.37 8.52,47.37 8.52,47.38 8.51,47.37</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>`),
			want: &Plan{Format: "KML", Name: "doc", Area: &Area{Polygon: orb.Polygon{{{8.51, 47.37}, {8.52, 47.37}, {8.52, 47.38}, {8.51, 47.37}}}}},
		},
		{
			name: "two geometries",
			in: kml(`<Placemark><name>a</name><LineString><coordinates>4.7,52.3 4.8,52.4</coordinates></LineString></Placemark>
				<Placemark><name>b</name><LineString><coordinates>4.7,52.3 4.8,52.4</coordinates></LineString></Placemark>`),
			err: `KML: 2 geometries (line 3: Placemark "a": LineString; line 4: Placemark "b": LineString); a flight plan is one route (LineString) or one area (Polygon)`,
		},
		{name: "no geometry", in: kml(`<Placemark><Point><coordinates>4.7,52.3</coordinates></Point></Placemark>`), err: "KML: no LineString or Polygon"},
		{name: "bad tuple", in: kml(`<Placemark><name>p</name><LineString><coordinates>4.7,52.3 4.8;52.4</coordinates></LineString></Placemark>`),
			err: `line 3: Placemark "p": LineString: coordinates[1] "4.8;52.4": want longitude,latitude or longitude,latitude,altitude`},
		{name: "heights missing", in: kml(`<Placemark><LineString><altitudeMode>relativeToGround</altitudeMode><coordinates>4.7,52.3,10 4.8,52.4</coordinates></LineString></Placemark>`),
			err: "altitudeMode relativeToGround but 1 of 2 positions have an altitude"},
		{name: "sea floor mode", in: kml(`<Placemark><LineString><altitudeMode>relativeToSeaFloor</altitudeMode><coordinates>4.7,52.3,10 4.8,52.4,10</coordinates></LineString></Placemark>`),
			err: `altitudeMode "relativeToSeaFloor"`},
		{name: "extruded absolute", in: kml(`<Placemark><Polygon><extrude>1</extrude><altitudeMode>absolute</altitudeMode><outerBoundaryIs><LinearRing><coordinates>4.7,52.3,9 4.8,52.3,9 4.8,52.4,9 4.7,52.3,9</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>`),
			err: "reaches down to the ground"},
		{name: "track", in: kml(`<Placemark><gx:Track><gx:coord>4.7 52.3 10</gx:coord></gx:Track></Placemark>`), err: "Track is not supported"},
		{name: "not KML", in: []byte(`<gpx version="1.1"><trk/></gpx>`), err: "XML whose root element is <gpx>, not <kml>"},
		{name: "broken XML", in: []byte("<kml>\n<Document>\n<Placemark></Document></kml>"), err: "KML: line 3:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse("plan.kml", tc.in, Options{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrFormat) || !strings.HasPrefix(err.Error(), "plan.kml: ") {
					t.Fatalf("error %v, want one naming the file and holding %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
		})
	}
}

// TestKMLShared reads the InterUSS remote ID test flights over Zurich: a
// KML of several flights, each a route clamped to the ground with polygons
// of altitudes and speeds. As a whole it is no one flight plan, and the
// error says so and where; one flight's route read alone is a route
// without heights.
func TestKMLShared(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(sharedPlans, "interuss_che_rid_zurich.kml"))
	if err != nil {
		t.Skipf("shared data not present: %v", err)
	}
	_, err = Parse("zurich.kml", b, Options{})
	if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `line 330: Placemark "Train": LineString; line 340: Placemark "alt: Takeoff": Polygon`) {
		t.Fatalf("error %v; want one naming the first geometries", err)
	}
	// The first flight's route alone.
	s := string(b)
	start := strings.Index(s, "<Placemark>")
	end := strings.Index(s, "</Placemark>") + len("</Placemark>")
	one := s[:strings.Index(s, "<Folder>")] + s[start:end] + "</Document></kml>"
	p, err := Parse("zurich-train.kml", []byte(one), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Train" || p.Route == nil || p.Route.AltRef != geo.RefUnknown || len(p.Route.Waypoints) < 10 {
		t.Fatalf("got %+v; want the route Train, without heights", p)
	}
	if w := p.Route.Waypoints[0]; w.Lon != 8.5233997 || w.Lat != 47.3714318 {
		t.Errorf("first waypoint %+v, want 47.3714318 N, 8.5233997 E", w)
	}
}

func FuzzParseKML(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join(sharedPlans, "interuss_che_rid_zurich.kml")); err == nil {
		f.Add(b)
	}
	f.Add(kml(`<Placemark><LineString><altitudeMode>relativeToGround</altitudeMode><coordinates>4.7,52.3,50 4.8,52.4,60</coordinates></LineString></Placemark>`))
	f.Add(kml(`<Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>4.7,52.3,9 4.8,52.3,9 4.8,52.4,9 4.7,52.3,9</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseKML(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		if (p.Route == nil) == (p.Area == nil) {
			t.Fatalf("plan %+v: want exactly one of route and area", p)
		}
	})
}
