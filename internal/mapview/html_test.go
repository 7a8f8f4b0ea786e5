package mapview

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// htmlPayload returns the data an HTML map carries.
func htmlPayload(t *testing.T, page string) map[string]any {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="nofly-data">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no map data in the page")
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestHTMLHostileText(t *testing.T) {
	m := fixtures()["route"]
	evil := `</script><script>alert(1)</script><!--`
	m.Title = evil
	m.Zones[0].Name = evil
	m.Zones[0].Message = "<img src=x onerror=alert(2)>"
	var buf bytes.Buffer
	if err := WriteHTML(&buf, m); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "<script>alert(1)") || strings.Contains(page, "<img src=x") {
		t.Fatal("zone text reached the page as markup")
	}
	// The text itself survives, as data.
	d := htmlPayload(t, page)
	if d["title"] != evil {
		t.Errorf("title %q; want %q", d["title"], evil)
	}
	if !strings.Contains(page, "<title>&lt;/script&gt;") {
		t.Error("the page title is not escaped")
	}
	// The map's script sets text with textContent; nothing it builds from
	// the data goes through innerHTML.
	if strings.Contains(mapJS, "innerHTML") {
		t.Error("map.js uses innerHTML")
	}
}

func TestHTMLSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, fixtures()["check"]); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	// No element that loads from elsewhere: every script and style inline.
	for _, re := range []string{`<script[^>]+src=`, `<link[^>]+href=`, `<img[^>]+src=`, `@import`, `<iframe`} {
		if regexp.MustCompile(re).MatchString(page) {
			t.Errorf("the page matches %s", re)
		}
	}
	if !strings.Contains(page, `http-equiv="Content-Security-Policy" content="default-src 'none'`) {
		t.Error("the page has no Content-Security-Policy")
	}
	d := htmlPayload(t, page)
	if n := len(d["zones"].([]any)); n != 3 {
		t.Errorf("%d zones in the data; want 3", n)
	}
	if len(d["basemap"].([]any)) == 0 {
		t.Error("no outlines near Schiphol")
	}
}

func TestSimplifyRing(t *testing.T) {
	// A 2 km circle of 2,000 vertices: every vertex is within 0.02 m of
	// the straight lines between its neighbours.
	circle := geo.CircleOutline(orb.Point{8.5, 47.4}, 2000, 2000)
	for _, tc := range []struct {
		tol     float64
		maxPts  int
		minPts  int
		maxDrop float64 // metres, distance of a dropped vertex from the outline
	}{
		{tol: 0, minPts: 2001, maxPts: 2001},
		{tol: 1, minPts: 20, maxPts: 200, maxDrop: 1},
		{tol: 50, minPts: 8, maxPts: 40, maxDrop: 50},
		{tol: 1e6, minPts: 4, maxPts: 4, maxDrop: 1e6},
	} {
		got := simplifyRing(circle, tc.tol)
		if len(got) < tc.minPts || len(got) > tc.maxPts {
			t.Errorf("tolerance %g m: %d points; want %d..%d", tc.tol, len(got), tc.minPts, tc.maxPts)
		}
		if got[0] != got[len(got)-1] {
			t.Errorf("tolerance %g m: ring not closed", tc.tol)
		}
		if tc.tol == 0 || tc.tol >= 1e6 {
			continue
		}
		// The simplified circle's chords stay within tol of the circle:
		// the sagitta of the longest chord.
		for i := 1; i < len(got); i++ {
			c := geo.Distance(got[i-1], got[i])
			sag := 2000 - math.Sqrt(2000*2000-c*c/4)
			if sag > tc.tol*1.01 {
				t.Errorf("tolerance %g m: chord %d strays %.2f m from the circle", tc.tol, i, sag)
			}
		}
	}
}

func TestSimplifyZonesBudget(t *testing.T) {
	var zones []Zone
	for i := range 50 {
		c := orb.Point{7 + float64(i)*0.05, 46.5}
		zones = append(zones, Zone{ID: "Z", Shapes: []orb.Polygon{{geo.CircleOutline(c, 1000, 4000)}}})
	}
	shapes, tol := simplifyZones(zones, 10_000)
	n := 0
	for _, ss := range shapes {
		for _, s := range ss {
			for _, r := range s {
				n += len(r)
			}
		}
	}
	if n > 10_000 || tol == 0 {
		t.Errorf("%d vertices at tolerance %g m; want at most 10000, simplified", n, tol)
	}
	if _, tol := simplifyZones(zones, 1_000_000); tol != 0 {
		t.Errorf("zones within the budget simplified to %g m", tol)
	}
	// The zones themselves are untouched.
	if len(zones[0].Shapes[0][0]) != 4001 {
		t.Error("simplification changed the zones it was given")
	}
}

func TestBasemap(t *testing.T) {
	arcs, err := basemap()
	if err != nil {
		t.Fatal(err)
	}
	if len(arcs) < 1000 {
		t.Fatalf("%d arcs; want the 1:50m world's", len(arcs))
	}
	// Around Amsterdam: the North Sea coast, and the Dutch–German border
	// to the east.
	near, err := basemapNear(orb.Bound{Min: orb.Point{3, 51}, Max: orb.Point{7.5, 54}})
	if err != nil {
		t.Fatal(err)
	}
	var coast, border bool
	for _, a := range near {
		for _, p := range a.pts {
			if p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90 {
				t.Fatalf("point %v off the earth", p)
			}
		}
		coast = coast || !a.border
		border = border || a.border
	}
	if !coast || !border {
		t.Errorf("near Amsterdam: coastline %v, border %v; want both", coast, border)
	}
}

func FuzzDecodeBasemap(f *testing.F) {
	f.Add(basemapBin[:200])
	f.Add([]byte("NFBM1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeBasemap(b)
	})
}

func TestFormat(t *testing.T) {
	for name, want := range map[string]string{"a.html": "html", "B.HTM": "html", "x/route.svg": "svg", "map.png": "", "map": ""} {
		got, err := Format(name)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("Format(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestFlightRingsOneWay(t *testing.T) {
	cw := orb.Ring{{4.7, 52.3}, {4.7, 52.32}, {4.74, 52.32}, {4.74, 52.3}, {4.7, 52.3}}
	if cw.Orientation() != orb.CW {
		t.Fatal("fixture is not clockwise")
	}
	f := &Flight{Area: orb.Polygon{cw}, Buffer: 100}
	for i, r := range f.flightRings() {
		if r.Orientation() != orb.CCW {
			t.Errorf("ring %d is %v; every ring must be counterclockwise for the nonzero fill", i, r.Orientation())
		}
	}
	if cw.Orientation() != orb.CW {
		t.Error("flightRings changed the flight's area")
	}
}

// TestGenBasemap converts a small TopoJSON with the generator and reads it
// back: two countries sharing one border arc, each with a coast arc.
func TestGenBasemap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the generator")
	}
	dir := t.TempDir()
	// Arc 0 is the shared border from (10,50) to (10,51); the second
	// country refers to it reversed (-1, TopoJSON's ~0). Arcs 1 and 2 are
	// the coasts. Quantised with scale 0.5 and translate (0,40),
	// delta-coded.
	topo := `{"type":"Topology","transform":{"scale":[0.5,0.5],"translate":[0,40]},
"objects":{"countries":{"type":"GeometryCollection","geometries":[
  {"type":"Polygon","arcs":[[0,1]]},{"type":"Polygon","arcs":[[-1,2]]}]},
 "land":{"type":"MultiPolygon","arcs":[[[1,2]]]}},
"arcs":[[[20,20],[0,2]],[[20,22],[-2,0],[0,-2],[2,0]],[[20,20],[2,0],[0,2],[-2,0]]]}`
	in, out := filepath.Join(dir, "countries.json"), filepath.Join(dir, "basemap.bin")
	if err := os.WriteFile(in, []byte(topo), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "./internal/genbasemap", "-in", in, "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("genbasemap: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	arcs, err := decodeBasemap(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []arc{
		{border: true, pts: []orb.Point{{10, 50}, {10, 51}}},
		{pts: []orb.Point{{10, 51}, {9, 51}, {9, 50}, {10, 50}}},
		{pts: []orb.Point{{10, 50}, {11, 50}, {11, 51}, {10, 51}}},
	}
	if len(arcs) != len(want) {
		t.Fatalf("%d arcs; want %d", len(arcs), len(want))
	}
	for i, a := range arcs {
		if a.border != want[i].border || !slices.Equal(a.pts, want[i].pts) {
			t.Errorf("arc %d: border %v %v; want border %v %v", i, a.border, a.pts, want[i].border, want[i].pts)
		}
	}
}
