package flightplan

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nofly-project/nofly/geo"
)

// sharedPlans is the directory of public sample flight plans, relative to
// this package.
const sharedPlans = "../../../shared/data/flightplans"

func readShared(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedPlans, name))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("sample flight plan %s absent (want ../shared/data/flightplans next to the repository)", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestQGCSamples(t *testing.T) {
	tests := []struct {
		file      string
		n         int
		first     Waypoint // home on the ground
		second    Waypoint // after takeoff
		last      Waypoint
		wantRef   geo.VerticalRef
		minBuffer float64
	}{
		{
			// takeoff, 3 waypoints, return to launch
			file:    "mavsdk_qgroundcontrol_sample.plan",
			n:       7,
			first:   Waypoint{Lat: 47.3977507, Lon: 8.5456075, Alt: 0},
			second:  Waypoint{Lat: 47.3977507, Lon: 8.5456075, Alt: 50},
			last:    Waypoint{Lat: 47.3977507, Lon: 8.5456075, Alt: 0},
			wantRef: geo.AGL,
		},
		{
			// survey: 8 generated waypoints, no takeoff, no return
			file:    "mavsdk_qgroundcontrol_sample_with_survey.plan",
			n:       9,
			first:   Waypoint{Lat: 47.39801775617688, Lon: 8.545149580000002, Alt: 0},
			second:  Waypoint{Lat: 47.397705960554916, Lon: 8.546339694155481, Alt: 50},
			last:    Waypoint{Lat: 47.39748113014056, Lon: 8.546342098220613, Alt: 50},
			wantRef: geo.AGL,
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			p, err := Parse(tc.file, readShared(t, tc.file), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Route == nil || p.Area != nil {
				t.Fatalf("got %+v, want a route", p)
			}
			wps := p.Route.Waypoints
			if len(wps) != tc.n {
				t.Fatalf("%d waypoints, want %d: %+v", len(wps), tc.n, wps)
			}
			for _, c := range []struct {
				name      string
				got, want Waypoint
			}{{"first", wps[0], tc.first}, {"second", wps[1], tc.second}, {"last", wps[len(wps)-1], tc.last}} {
				if !near(c.got.Lat, c.want.Lat) || !near(c.got.Lon, c.want.Lon) || !near(c.got.Alt, c.want.Alt) {
					t.Errorf("%s waypoint %+v, want %+v", c.name, c.got, c.want)
				}
			}
			if p.Route.AltRef != tc.wantRef {
				t.Errorf("reference %v, want %v", p.Route.AltRef, tc.wantRef)
			}
			if p.MinBuffer != tc.minBuffer {
				t.Errorf("MinBuffer %v, want %v", p.MinBuffer, tc.minBuffer)
			}
		})
	}
}

// qgc wraps mission items in a plan with its home at (52.0, 4.0), 10 m AMSL.
func qgc(items string) []byte {
	return []byte(`{"fileType":"Plan","mission":{"plannedHomePosition":[52.0,4.0,10],"items":[` + items + `]}}`)
}

func TestQGC(t *testing.T) {
	const (
		takeoff = `{"type":"SimpleItem","command":22,"frame":3,"params":[0,0,0,null,52.0,4.0,30]}`
		wp      = `{"type":"SimpleItem","command":16,"frame":3,"params":[0,0,0,null,52.01,4.01,60]}`
		wpAMSL  = `{"type":"SimpleItem","command":16,"frame":0,"params":[0,0,0,null,52.02,4.02,100]}`
		wpTerr  = `{"type":"SimpleItem","command":16,"frame":10,"params":[0,0,0,null,52.02,4.02,40]}`
		land    = `{"type":"SimpleItem","command":21,"frame":3,"params":[0,0,0,null,0,0,0]}`
		loiter  = `{"type":"SimpleItem","command":19,"frame":3,"params":[30,0,-75,null,52.01,4.01,60]}`
		rtl     = `{"type":"SimpleItem","command":20,"frame":2,"params":[0,0,0,0,0,0,0]}`
		action  = `{"type":"SimpleItem","command":206,"frame":2,"params":[25,0,1,0,0,0,0]}`
	)
	tests := []struct {
		name      string
		in        []byte
		want      []Waypoint
		ref       geo.VerticalRef
		minBuffer float64
		err       string
	}{
		{
			name: "takeoff waypoint land",
			in:   qgc(takeoff + "," + action + "," + wp + "," + land),
			want: []Waypoint{{52, 4, 0}, {52, 4, 30}, {52.01, 4.01, 60}, {52.01, 4.01, 60}, {52.01, 4.01, 0}},
			ref:  geo.AGL,
		},
		{
			name: "return to launch at the last height",
			in:   qgc(wp + "," + rtl),
			want: []Waypoint{{52, 4, 0}, {52.01, 4.01, 60}, {52, 4, 60}, {52, 4, 0}},
			ref:  geo.AGL,
		},
		{
			name:      "loiter radius becomes the minimum buffer",
			in:        qgc(takeoff + "," + loiter),
			want:      []Waypoint{{52, 4, 0}, {52, 4, 30}, {52.01, 4.01, 60}},
			ref:       geo.AGL,
			minBuffer: 75,
		},
		{
			name: "AMSL mission starts at home's altitude",
			in:   qgc(wpAMSL + "," + rtl),
			want: []Waypoint{{52, 4, 10}, {52.02, 4.02, 100}, {52, 4, 100}, {52, 4, 10}},
			ref:  geo.AMSL,
		},
		{
			name: "heights above home mixed with AMSL become AMSL",
			in:   qgc(wp + "," + wpAMSL),
			want: []Waypoint{{52, 4, 10}, {52.01, 4.01, 70}, {52.02, 4.02, 100}},
			ref:  geo.AMSL,
		},
		{name: "terrain heights mixed with AMSL", in: qgc(wpTerr + "," + wpAMSL), err: "mixes heights"},
		{name: "unknown navigation command", in: qgc(wp + `,{"type":"SimpleItem","command":30,"frame":3,"params":[0,0,0,0,52,4,10]}`), err: "navigation command 30"},
		{name: "unknown frame", in: qgc(`{"type":"SimpleItem","command":16,"frame":1,"params":[0,0,0,0,52,4,10]}`), err: "frame 1"},
		{name: "complex item without items", in: qgc(wp + `,{"type":"ComplexItem","complexItemType":"StructureScan"}`), err: `complex item "StructureScan"`},
		{name: "waypoint without position", in: qgc(`{"type":"SimpleItem","command":16,"frame":3,"params":[0,0,0,0,null,null,10]}`), err: "without latitude"},
		{name: "single position", in: []byte(`{"fileType":"Plan","mission":{"items":[` + wp + `]}}`), err: "at least 2"},
		{name: "no mission", in: []byte(`{"fileType":"Plan"}`), err: "no mission"},
		{name: "return without home", in: []byte(`{"fileType":"Plan","mission":{"items":[` + wp + "," + rtl + `]}}`), err: "without a home"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("test.plan", tc.in, Options{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrFormat) {
					t.Fatalf("error %v, want one containing %q and wrapping ErrFormat", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkRoute(t, p, tc.want, tc.ref)
			if p.MinBuffer != tc.minBuffer {
				t.Errorf("MinBuffer %v, want %v", p.MinBuffer, tc.minBuffer)
			}
		})
	}
}

func checkRoute(t *testing.T, p *Plan, want []Waypoint, ref geo.VerticalRef) {
	t.Helper()
	if p.Route == nil {
		t.Fatalf("got %+v, want a route", p)
	}
	got := p.Route.Waypoints
	if len(got) != len(want) {
		t.Fatalf("waypoints %v, want %v", got, want)
	}
	for i := range got {
		if !near(got[i].Lat, want[i].Lat) || !near(got[i].Lon, want[i].Lon) || !near(got[i].Alt, want[i].Alt) {
			t.Fatalf("waypoints %v, want %v (first difference at %d)", got, want, i)
		}
	}
	if p.Route.AltRef != ref {
		t.Errorf("reference %v, want %v", p.Route.AltRef, ref)
	}
}

func TestGeoJSON(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		opt    Options
		want   []Waypoint
		ref    geo.VerticalRef
		area   *Area
		err    string
		naming string
	}{
		{
			name: "feature collection with a 3D LineString",
			in:   `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"patrol"},"geometry":{"type":"LineString","coordinates":[[4.7,52.3,50],[4.8,52.4,80]]}}]}`,
			want: []Waypoint{{52.3, 4.7, 50}, {52.4, 4.8, 80}}, ref: geo.AGL, naming: "patrol",
		},
		{
			name: "AMSL by option",
			in:   `{"type":"LineString","coordinates":[[4.7,52.3,50],[4.8,52.4,80]]}`,
			opt:  Options{AltRef: geo.AMSL},
			want: []Waypoint{{52.3, 4.7, 50}, {52.4, 4.8, 80}}, ref: geo.AMSL,
		},
		{
			name: "2D LineString has no heights",
			in:   `{"type":"Feature","geometry":{"type":"LineString","coordinates":[[4.7,52.3],[4.8,52.4]]}}`,
			want: []Waypoint{{52.3, 4.7, 0}, {52.4, 4.8, 0}}, ref: geo.RefUnknown,
		},
		{
			name: "polygon area",
			in:   `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[4.7,52.3],[4.8,52.3],[4.8,52.4],[4.7,52.3]]]}}`,
			area: &Area{},
		},
		{
			name: "circle area",
			in:   `{"type":"Feature","properties":{"radius_m":250},"geometry":{"type":"Point","coordinates":[4.7,52.3]}}`,
			area: &Area{Radius: 250},
		},
		{name: "mixed heights", in: `{"type":"LineString","coordinates":[[4.7,52.3,50],[4.8,52.4]]}`, err: "1 of 2 positions have a height"},
		{name: "two routes", in: `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[4.7,52.3],[4.8,52.4]]}},{"type":"Feature","geometry":{"type":"LineString","coordinates":[[4.7,52.3],[4.8,52.4]]}}]}`, err: "2 geometries (features[0].geometry and features[1].geometry)"},
		{name: "point without radius", in: `{"type":"Feature","geometry":{"type":"Point","coordinates":[4.7,52.3]}}`, err: "radius_m"},
		{name: "multi line", in: `{"type":"MultiLineString","coordinates":[]}`, err: "MultiLineString is not supported"},
		{name: "empty collection", in: `{"type":"FeatureCollection","features":[]}`, err: "no LineString"},
		{name: "short position", in: `{"type":"LineString","coordinates":[[4.7],[4.8,52.4]]}`, err: "coordinates[0]"},
		{name: "syntax error", in: "{\"type\":\n\"LineString\",,}", err: "line 2"},
		{name: "neither", in: `{"hello":1}`, err: "want GeoJSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("test.geojson", []byte(tc.in), tc.opt)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrFormat) {
					t.Fatalf("error %v, want one containing %q and wrapping ErrFormat", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tc.naming {
				t.Errorf("name %q, want %q", p.Name, tc.naming)
			}
			if tc.area != nil {
				if p.Area == nil || p.Route != nil {
					t.Fatalf("got %+v, want an area", p)
				}
				if p.Area.Radius != tc.area.Radius {
					t.Errorf("radius %v, want %v", p.Area.Radius, tc.area.Radius)
				}
				return
			}
			checkRoute(t, p, tc.want, tc.ref)
		})
	}
}

// FuzzParse feeds both readers anything: they must return a plan or an
// error, never panic, and a route they return must have at least two
// waypoints for a QGroundControl plan.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"mavsdk_qgroundcontrol_sample.plan", "mavsdk_qgroundcontrol_sample_with_survey.plan"} {
		if b, err := os.ReadFile(filepath.Join(sharedPlans, name)); err == nil {
			f.Add(b)
		}
	}
	f.Add(qgc(`{"type":"SimpleItem","command":22,"frame":3,"params":[0,0,0,null,0,0,30]},{"type":"SimpleItem","command":20,"frame":2,"params":[]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[4.7,52.3,50],[4.8,52.4,80]]}}]}`))
	f.Add([]byte(`{"type":"Feature","properties":{"radius_m":250},"geometry":{"type":"Point","coordinates":[4.7,52.3]}}`))
	f.Add([]byte(`{"type":"GeometryCollection","geometries":[{"type":"Polygon","coordinates":[[[4.7,52.3],[4.8,52.3],[4.8,52.4],[4.7,52.3]]]}]}`))
	// Refused since issue 11: a leg and an area drawn across ±180°.
	f.Add([]byte(`{"type":"LineString","coordinates":[[179.8,-16.5],[-179.8,-16.5]]}`))
	f.Add([]byte(`{"type":"Polygon","coordinates":[[[179.5,-17],[-179.5,-17],[-179.5,-16],[179.5,-16],[179.5,-17]]]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse("fuzz", b, Options{})
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		if (p.Route == nil) == (p.Area == nil) {
			t.Fatalf("plan %+v: want exactly one of route and area", p)
		}
		if p.Format == "QGroundControl plan" && len(p.Route.Waypoints) < 2 {
			t.Fatalf("QGroundControl route with %d waypoints", len(p.Route.Waypoints))
		}
		if err := checkEdges(p); err != nil {
			t.Fatalf("plan read with an edge Parse refuses: %v", err)
		}
	})
}

// FuzzParseQGC and FuzzParseGeoJSON reach each reader directly, past
// Parse's sniffing.
func FuzzParseQGC(f *testing.F) {
	f.Add(qgc(`{"type":"SimpleItem","command":16,"frame":3,"params":[0,0,0,null,52.01,4.01,60]}`))
	f.Add(qgc(`{"type":"ComplexItem","complexItemType":"survey","TransectStyleComplexItem":{"Items":[{"type":"SimpleItem","command":21,"frame":0,"params":[0,0,0,null,null,null,5]}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseQGC(b); err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("error %v does not wrap ErrFormat", err)
		}
	})
}

func FuzzParseGeoJSON(f *testing.F) {
	f.Add([]byte(`{"type":"LineString","coordinates":[[4.7,52.3,50],[4.8,52.4,80]]}`))
	f.Add([]byte(`{"type":"Polygon","coordinates":[[[4.7,52.3],[4.8,52.3],[4.8,52.4],[4.7,52.3]]]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseGeoJSON(b, Options{AltRef: geo.WGS84}); err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("error %v does not wrap ErrFormat", err)
		}
	})
}

// TestParseAntimeridian refuses a route leg or an area edge that would be
// read the long way round the Earth (issue 11).
func TestParseAntimeridian(t *testing.T) {
	tests := []struct{ name, in, err string }{
		{"route", `{"type":"LineString","coordinates":[[179.8,-16.5],[-179.8,-16.5]]}`,
			"plan.geojson: not a supported flight plan: route: leg from waypoint 0 (179.8, -16.5) to waypoint 1 (-179.8, -16.5) spans 359.6° of longitude"},
		{"area", `{"type":"Polygon","coordinates":[[[179.5,-17],[-179.5,-17],[-179.5,-16],[179.5,-16],[179.5,-17]]]}`,
			"plan.geojson: not a supported flight plan: area ring 0: edge from position 0 (179.5, -17) to position 1 (-179.5, -17) spans 359°"},
		{"flat area", `{"type":"Polygon","coordinates":[[[4.7,52.3],[4.8,52.4],[4.9,52.5],[4.7,52.3]]]}`,
			"area ring 0: ring encloses no area"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("plan.geojson", []byte(tc.in), Options{})
			if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Parse: %v, want %q", err, tc.err)
			}
		})
	}
}
