package mapview

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Three zones near Schiphol, drawn like this (not to scale):
//
//	+------------------+        +----+
//	|   CTR (blocking) |        | ADV|  advisory
//	|     +----+       |        +----+
//	|     |hole|       |
//	+-----+----+-------+   +--+  PRB: prohibited, small
//	                       +--+
func fixtureZones() []Zone {
	ctr := orb.Polygon{
		{{4.70, 52.28}, {4.82, 52.28}, {4.82, 52.34}, {4.70, 52.34}, {4.70, 52.28}},
		{{4.74, 52.30}, {4.76, 52.30}, {4.76, 52.31}, {4.74, 52.31}, {4.74, 52.30}},
	}
	return []Zone{
		{ID: "EHAM-CTR", Name: "Schiphol <CTR> & surroundings", Restriction: "REQ_AUTHORISATION", Blocking: true,
			Heights: "0–450 m AMSL", Schedule: "always", Message: "Ask the tower", Shapes: []orb.Polygon{ctr}},
		{ID: "PRB-1", Name: "Prison", Restriction: "PROHIBITED", Blocking: true, Heights: "≤ 120 m AGL", Schedule: "always",
			Shapes: []orb.Polygon{{{{4.84, 52.26}, {4.85, 52.26}, {4.85, 52.27}, {4.84, 52.27}, {4.84, 52.26}}}}},
		{ID: "ADV-1", Name: "Nature reserve", Restriction: "CONDITIONAL", Heights: "any height", Schedule: "mon-fri 08:00–18:00",
			Shapes: []orb.Polygon{{{{4.86, 52.33}, {4.88, 52.33}, {4.88, 52.345}, {4.86, 52.345}, {4.86, 52.33}}}}},
	}
}

func fixtures() map[string]*Map {
	check := fixtureZones()
	check[0].Hit = &Hit{Inside: true, Band: "100 m AGL", When: "2026-05-01T12:00:00Z", NotCovered: []string{"EX-1: purpose training not allowed"}}
	check[1].Hit = &Hit{Distance: 2345}

	route := fixtureZones()
	route[0].Hit = &Hit{Inside: true, Legs: []int{0, 1}}
	route[1].Hit = &Hit{Distance: 480, Legs: []int{2}}
	route[2].Hit = &Hit{Distance: 150, Legs: []int{3}}

	ex := fixtureZones()
	return map[string]*Map{
		"check": {
			Title:  "DENIED — 1 blocking zone",
			Lines:  []string{"Position 52.31500 N, 4.79000 E, 100 m AGL, at 2026-05-01T12:00:00Z", "Zone set abc123: 3 zones; checked 2026-05-01T11:59:58Z"},
			Flight: &Flight{Path: []orb.Point{{4.79, 52.315}}},
			Zones:  check,
		},
		"route": {
			Title: "DENIED — 1 blocking zone; 1 advisory: read the conditions",
			Lines: []string{"Route of 5 waypoints, 60–100 m AGL, buffer 50 m", "Zone set abc123"},
			Flight: &Flight{Path: []orb.Point{{4.66, 52.30}, {4.78, 52.33}, {4.83, 52.29}, {4.86, 52.30}, {4.87, 52.32}},
				Buffer: 50, ConflictLegs: []int{0, 1}},
			Zones: route,
		},
		"exemption": {
			Title: "Exemption EX-000001 (active)",
			Lines: []string{"Holder AMS-DRONE; valid 2026-05-01T00:00:00Z to 2026-06-01T00:00:00Z; ceiling 120 m AGL"},
			Exemption: &Exemption{ID: "EX-000001", Lines: []string{"legal basis test"}, Center: orb.Point{4.78, 52.31}, Radius: 1500,
				ZoneIDs: []string{"EHAM-CTR"}},
			Zones: ex,
		},
	}
}

func TestSVGGolden(t *testing.T) {
	for name, m := range fixtures() {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteSVG(&buf, m); err != nil {
				t.Fatal(err)
			}
			checkXML(t, buf.Bytes())
			golden := filepath.Join("testdata", name+".svg")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from the golden file; run go test ./internal/mapview -update and look at the picture", golden)
			}
		})
	}
}

// checkXML fails unless b is well-formed XML: an SVG viewer refuses
// anything less.
func checkXML(t *testing.T, b []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
	}
}

func TestSVGShows(t *testing.T) {
	m := fixtures()["route"]
	var buf bytes.Buffer
	if err := WriteSVG(&buf, m); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, want := range []string{
		`class="zone conflict" data-zone="EHAM-CTR"`,
		`class="zone advisory" data-zone="ADV-1"`,
		`class="leg conflict"`, `class="leg clear"`, `class="buffer"`,
		"480 m to PRB-1", "150 m to ADV-1",
		`class="scale"`, `class="north"`, "Natural Earth",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if n := strings.Count(s, `class="leg conflict"`); n != 2 {
		t.Errorf("%d conflicting legs drawn; want 2", n)
	}
}
