package benchdata

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// fixture is a handful of airports so that the generator tests run without
// the CSV.
var fixture = []Airport{
	{Code: "EHAM", Name: "Amsterdam Airport Schiphol", Lon: 4.76389, Lat: 52.3086},
	{Code: "EHRD", Name: "Rotterdam Airport", Lon: 4.43722, Lat: 51.9569},
	{Code: "NL-0012", Name: "Vu Medisch Centrum Heliport", Heliport: true, Lon: 4.85911, Lat: 52.33434},
	{Code: "LFPG", Name: "Charles de Gaulle", Lon: 2.55, Lat: 49.0128},
	{Code: "ENGM", Name: "Oslo Gardermoen", Lon: 11.1004, Lat: 60.1939},
	{Code: "LIRF", Name: "Roma Fiumicino", Lon: 12.2389, Lat: 41.8003},
	{Code: "XXHP", Name: "Some heliport", Heliport: true, Lon: 20.0, Lat: 50.0},
}

// skipWithoutData skips the test when err says the data is absent.
func skipWithoutData(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNoData) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// metres is the distance in the local equirectangular frame; within 0.5% of
// the geodesic at the few kilometres it is used for.
func metres(a, b orb.Point) float64 {
	lat := (a[1] + b[1]) / 2 * math.Pi / 180
	dx := (a[0] - b[0]) * mPerDeg * math.Cos(lat)
	dy := (a[1] - b[1]) * mPerDeg
	return math.Hypot(dx, dy)
}

func signedArea(r orb.Ring) float64 {
	var s float64
	for i := 0; i+1 < len(r); i++ {
		s += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return s / 2
}

func TestZonesFromDeterministicAndNested(t *testing.T) {
	a := ZonesFrom(fixture, 2000, 7)
	b := ZonesFrom(fixture, 2000, 7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different zones")
	}
	small := ZonesFrom(fixture, 500, 7)
	if !reflect.DeepEqual(small, a[:500]) {
		t.Error("ZonesFrom(500) is not the first 500 of ZonesFrom(2000)")
	}
	if other := ZonesFrom(fixture, 500, 8); reflect.DeepEqual(other, small) {
		t.Error("different seeds, same zones")
	}
}

// checkZones checks the promises of ZonesFrom's doc comment on zs.
func checkZones(t *testing.T, zs []geo.Zone) {
	t.Helper()
	ids := map[string]bool{}
	var circles, nl, prohibited, reqAuth, conditional, scheduled, open int
	for i := range zs {
		z := &zs[i]
		if ids[z.ID] {
			t.Fatalf("zone %d: duplicate id %q", i, z.ID)
		}
		ids[z.ID] = true
		if len(z.Volumes) != 1 {
			t.Fatalf("%s: %d volumes", z.ID, len(z.Volumes))
		}
		v := z.Volumes[0]
		if v.Lower != (geo.Limit{Metres: 0, Ref: geo.AGL}) {
			t.Fatalf("%s: lower %v", z.ID, v.Lower)
		}
		switch {
		case v.Upper.Open:
			open++
		case v.Upper.Ref != geo.AGL || (v.Upper.Metres != 120 && v.Upper.Metres != 500):
			t.Fatalf("%s: upper %v", z.ID, v.Upper)
		}
		switch z.Restriction {
		case geo.Prohibited:
			prohibited++
		case geo.ReqAuthorisation:
			reqAuth++
		case geo.Conditional:
			conditional++
		default:
			t.Fatalf("%s: restriction %v", z.ID, z.Restriction)
		}
		if !z.Applicability.Permanent() {
			scheduled++
		}
		var centre orb.Point
		switch s := v.Shape; s.Kind {
		case geo.ShapeCircle:
			circles++
			centre = s.Center
			if s.Radius < 500 || s.Radius > 8000 {
				t.Fatalf("%s: radius %v m", z.ID, s.Radius)
			}
		case geo.ShapePolygon:
			if len(s.Polygons) != 1 || len(s.Polygons[0]) != 1 {
				t.Fatalf("%s: want one polygon without holes", z.ID)
			}
			r := s.Polygons[0][0]
			if n := len(r) - 1; n < 8 || n > 48 || r[0] != r[n] {
				t.Fatalf("%s: %d vertices, closed %v", z.ID, n, r[0] == r[n])
			}
			if signedArea(r) <= 0 {
				t.Fatalf("%s: ring not counter-clockwise", z.ID)
			}
			var across float64
			for j := range r {
				for k := j + 1; k < len(r); k++ {
					across = max(across, metres(r[j], r[k]))
				}
			}
			if across > 8000*1.005 {
				t.Fatalf("%s: %.0f m across", z.ID, across)
			}
			centre = s.Polygons.Bound().Center()
		default:
			t.Fatalf("%s: shape kind %v", z.ID, s.Kind)
		}
		if InNL(centre[0], centre[1]) {
			nl++
		}
	}
	n := float64(len(zs))
	share := func(name string, got int, want, tol float64) {
		t.Helper()
		if f := float64(got) / n; math.Abs(f-want) > tol {
			t.Errorf("%s: share %.3f, want %.2f±%.2f", name, f, want, tol)
		}
	}
	share("circles", circles, circleShare, 0.02)
	// Zones near an NL airport may have their centre just outside the box.
	share("Netherlands", nl, nlShare, 0.03)
	share("PROHIBITED", prohibited, 0.45, 0.02)
	share("REQ_AUTHORISATION", reqAuth, 0.40, 0.02)
	share("CONDITIONAL", conditional, 0.15, 0.02)
	share("no ceiling", open, 0.20, 0.02)
	share("scheduled", scheduled, 0.10, 0.02)
}

func TestZonesFromShapes(t *testing.T) {
	checkZones(t, ZonesFrom(fixture, 5000, 1))
}

func TestZonesFromRealAirports(t *testing.T) {
	zs, err := Zones(5000, 1)
	skipWithoutData(t, err)
	checkZones(t, zs)
}

func TestReadAirports(t *testing.T) {
	as, err := DefaultAirports()
	skipWithoutData(t, err)
	var nl, nlHeli int
	var eham bool
	for _, a := range as {
		if !InEurope(a.Lon, a.Lat) {
			t.Fatalf("%s outside the Europe box", a.Code)
		}
		if InNL(a.Lon, a.Lat) {
			nl++
			if a.Heliport {
				nlHeli++
			}
		}
		eham = eham || (a.Code == "EHAM" && a.Name == "Amsterdam Airport Schiphol")
	}
	// The 2016 extract: 4,011 open airports and heliports in the Europe box,
	// of which the Netherlands box (which also covers parts of Belgium and
	// Germany) holds a few hundred.
	if len(as) < 3500 || nl < 100 || nlHeli < 29 || !eham {
		t.Errorf("%d airports, %d in the NL box (%d heliports), Schiphol found %v", len(as), nl, nlHeli, eham)
	}
}

func TestReadAirportsQuotedAndShortRows(t *testing.T) {
	csv := "id;code;airport_type;airport_name;latitude;longitude;elevation;continent;country;state;city;active;icao_code;iata_code\n" +
		"1;EHAM;large_airport;Amsterdam Airport Schiphol;52.3086013794;4.7638897896;-11;EU;NL;NL-NH;Amsterdam;yes;EHAM;AMS\n" +
		"2;X1;heliport;\"Rooftop; \"\"A\"\" Heliport\";52.0;5.0;1;EU;NL;NL-UT;Utrecht;no;X1\n" +
		"3;X2;heliport;Shifted; Heliport;52.0;5.0;1;EU;NL;NL-UT;Utrecht;no;X2\n" +
		"4;X3;closed;Old field;52.0;5.0;1;EU;NL;NL-UT;Utrecht;no;;\n" +
		"5;KJFK;large_airport;New York JFK;40.6;-73.8;13;NA;US;US-NY;New York;yes;KJFK;JFK\n"
	path := filepath.Join(t.TempDir(), "airports.csv")
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	as, err := ReadAirports(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Airport{
		{Code: "EHAM", Name: "Amsterdam Airport Schiphol", Lon: 4.7638897896, Lat: 52.3086013794},
		{Code: "X1", Name: `Rooftop; "A" Heliport`, Heliport: true, Lon: 5, Lat: 52},
	}
	if !reflect.DeepEqual(as, want) {
		t.Errorf("got %+v\nwant %+v", as, want)
	}
	if _, err := ReadAirports(filepath.Join(t.TempDir(), "absent.csv")); !errors.Is(err, ErrNoData) {
		t.Errorf("absent file: error %v, want ErrNoData", err)
	}
}

func TestPoints(t *testing.T) {
	pts := Points(20_000, 3)
	if !reflect.DeepEqual(pts[:100], Points(100, 3)) {
		t.Error("Points(100) is not the first 100 of Points(20000)")
	}
	var nl int
	for _, p := range pts {
		if !InEurope(p[0], p[1]) {
			t.Fatalf("%v outside Europe", p)
		}
		if InNL(p[0], p[1]) {
			nl++
		}
	}
	if f := float64(nl) / float64(len(pts)); math.Abs(f-0.7) > 0.02 {
		t.Errorf("%.3f of the points in the NL box, want 0.70", f)
	}
}

func TestRoutes(t *testing.T) {
	routes := Routes(500, 20, 300, 3)
	if !reflect.DeepEqual(routes[:10], Routes(10, 20, 300, 3)) {
		t.Error("Routes(10) is not the first 10 of Routes(500)")
	}
	for i, r := range routes {
		if len(r) != 20 {
			t.Fatalf("route %d: %d waypoints", i, len(r))
		}
		for k := 1; k < len(r); k++ {
			if d := metres(r[k-1], r[k]); d < 300*0.75*0.99 || d > 300*1.25*1.01 {
				t.Fatalf("route %d leg %d: %.0f m", i, k-1, d)
			}
		}
	}
}

// writeShared writes a three-item set in the layout of ../shared/bench/gen.
func writeShared(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"points.txt": "4.7638898 52.3086014\n-3.5000000 40.2500000\n",
		"routes.geojson": `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"R0"},"geometry":{"type":"LineString","coordinates":[[4.0,52.0],[4.01,52.0],[4.02,52.01]]}},
{"type":"Feature","properties":{"id":"R1"},"geometry":{"type":"LineString","coordinates":[[5.0,51.0],[5.0,51.02]]}}
]}
`,
		"zones.geojson": `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"Z0","lower_m":0,"upper_m":120},"geometry":{"type":"Polygon","coordinates":[[[4.0,52.0],[4.1,52.0],[4.1,52.1],[4.0,52.0]]]}},
{"type":"Feature","properties":{"id":"Z1","lower_m":0,"upper_m":500},"geometry":{"type":"Polygon","coordinates":[[[5.0,51.0],[5.1,51.0],[5.1,51.1],[5.0,51.0]]]}}
]}
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSharedSet(t *testing.T) {
	dir := writeShared(t)
	s, err := SharedSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantPts := []orb.Point{{4.7638898, 52.3086014}, {-3.5, 40.25}}
	wantRoutes := []orb.LineString{{{4, 52}, {4.01, 52}, {4.02, 52.01}}, {{5, 51}, {5, 51.02}}}
	if !reflect.DeepEqual(s.Points, wantPts) || !reflect.DeepEqual(s.Routes, wantRoutes) {
		t.Errorf("points %v routes %v", s.Points, s.Routes)
	}
	if got := s.ZonesPath(50_000); got != filepath.Join(dir, "zones.geojson") {
		t.Errorf("ZonesPath(50000) = %s", got)
	}
	if got := s.ZonesPath(5000); got != filepath.Join(dir, "zones_5000.geojson") {
		t.Errorf("ZonesPath(5000) = %s", got)
	}
	ids, polys, err := ReadPolygons(s.ZonesPath(50_000))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids, []string{"Z0", "Z1"}) || len(polys) != 2 || len(polys[1][0]) != 4 || polys[1][0][2] != (orb.Point{5.1, 51.1}) {
		t.Errorf("ids %v polygons %v", ids, polys)
	}

	t.Setenv(EnvBenchData, dir)
	if got, err := SharedDir(); err != nil || got != dir {
		t.Errorf("SharedDir() = %q, %v; want %q", got, err, dir)
	}
	t.Setenv(EnvBenchData, t.TempDir())
	if _, err := SharedDir(); !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "go run ./gen") {
		t.Errorf("SharedDir() on an empty directory: %v, want ErrNoData and how to make the set", err)
	}
}

func TestReadPolygonsRejects(t *testing.T) {
	tests := []struct {
		name, body string
	}{
		{"not an object", `[1,2]`},
		{"no features", `{"type":"FeatureCollection"}`},
		{"point", `{"features":[{"properties":{"id":"a"},"geometry":{"type":"Point","coordinates":[1,2]}}]}`},
		{"short ring", `{"features":[{"properties":{"id":"a"},"geometry":{"type":"Polygon","coordinates":[[[1,2],[3,4],[1,2]]]}}]}`},
		{"truncated", `{"features":[{"properties":{"id":"a"},"geometry":{"type":"Polygon","coordinates":[[[1,2],`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "zones.geojson")
			if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, _, err := ReadPolygons(path); err == nil {
				t.Error("no error")
			}
		})
	}
}

// TestRealSharedSet reads the shared set when it has been generated.
func TestRealSharedSet(t *testing.T) {
	if testing.Short() {
		t.Skip("reads about 50 MB")
	}
	dir, err := SharedDir()
	skipWithoutData(t, err)
	s, err := SharedSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Points) != 200_000 || len(s.Routes) != 20_000 {
		t.Errorf("%d points, %d routes; want 200000 and 20000", len(s.Points), len(s.Routes))
	}
	ids, _, err := ReadPolygons(s.ZonesPath(5000))
	skipWithoutData(t, err)
	if len(ids) != 5000 || ids[0] != "Z0" {
		t.Errorf("zones_5000: %d zones, first %q", len(ids), ids[0])
	}
}

// TestZonesAreValid checks that every synthetic zone passes geo.Validate and
// that an index builds over them.
func TestZonesAreValid(t *testing.T) {
	zs := ZonesFrom(fixture, 5000, 1)
	for i := range zs {
		if probs := geo.Validate(&zs[i]); len(probs) > 0 {
			t.Fatalf("%s: %v", zs[i].ID, probs)
		}
	}
	ix, err := geo.NewIndex(zs)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != len(zs) {
		t.Errorf("index holds %d zones, want %d", ix.Len(), len(zs))
	}
}

func TestPointsInAndRoutesIn(t *testing.T) {
	b := orb.Bound{Min: orb.Point{5.9, 45.8}, Max: orb.Point{10.5, 47.8}}
	pts := PointsIn(b, 1000, 3)
	if !reflect.DeepEqual(pts, PointsIn(b, 1000, 3)) {
		t.Error("PointsIn: same seed, different points")
	}
	for _, p := range pts {
		if !b.Contains(p) {
			t.Fatalf("%v outside %v", p, b)
		}
	}
	routes := RoutesIn(b, 100, 20, 300, 3)
	if !reflect.DeepEqual(routes, RoutesIn(b, 100, 20, 300, 3)) {
		t.Error("RoutesIn: same seed, different routes")
	}
	for i, r := range routes {
		if len(r) != 20 || !b.Contains(r[0]) {
			t.Fatalf("route %d: %d waypoints, starts at %v", i, len(r), r[0])
		}
	}
}

func TestSharedDataPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "zones"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "zones", "a.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvSharedData, dir)
	if p, err := SharedDataPath("zones/a.json"); err != nil || p != filepath.Join(dir, "zones", "a.json") {
		t.Errorf("SharedDataPath = %q, %v", p, err)
	}
	if _, err := SharedDataPath("zones/absent.json"); !errors.Is(err, ErrNoData) {
		t.Errorf("absent file: %v, want ErrNoData", err)
	}
}
