package geo

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// TestGantrischVariants reads the two features the InterUSS CHE-1 file
// publishes for "Gantrisch Nature Park" (one identifier, different
// uSpaceClass), which were refused whole, and checks a flight in the park
// in each category of operation.
func TestGantrischVariants(t *testing.T) {
	zones, err := ReadFile("testdata/zones/gantrisch-ed269.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(zones) != 2 {
		t.Fatalf("%d zones, want 2 variants", len(zones))
	}
	ix, err := NewIndex(zones)
	if err != nil {
		t.Fatal(err)
	}
	const id = "Gantrisch Nature Park"
	vs := ix.Variants(id)
	if len(vs) != 2 || vs[0].Categories != CategoryCertified|CategorySpecific || vs[1].Categories != CategoryOpen ||
		!slices.Equal(vs[0].Class, []string{"SPECIFIC", "CERTIFIED"}) || vs[0].Restriction != ReqAuthorisation || vs[1].Restriction != NoRestriction {
		t.Fatalf("variants %+v", vs)
	}
	if z, ok := ix.Zone(id); !ok || z != vs[0] {
		t.Fatalf("Zone(%q) = %v, %t: want the first variant", id, z, ok)
	}
	if ix.Variants("nowhere") != nil && len(ix.Variants("nowhere")) != 0 {
		t.Fatal("variants of an unknown zone")
	}
	at := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	in := orb.Point{7.42, 46.73}
	w := Instant(at)
	tests := []struct {
		name string
		cat  Category
		want []Restriction // the variants met, in hit order
	}{
		{"category not given: both, the blocking one first", 0, []Restriction{ReqAuthorisation, NoRestriction}},
		{"open", CategoryOpen, []Restriction{NoRestriction}},
		{"specific", CategorySpecific, []Restriction{ReqAuthorisation}},
		{"certified", CategoryCertified, []Restriction{ReqAuthorisation}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			restrictions := func(hits []Hit) []Restriction {
				var out []Restriction
				for _, h := range hits {
					if h.Zone.ID != id {
						t.Fatalf("hit %q", h.Zone.ID)
					}
					out = append(out, h.Zone.Restriction)
				}
				return out
			}
			pos := ix.CheckPosition(PositionQuery{Point: in, At: at, Category: tc.cat}, nil)
			if got := restrictions(pos); !slices.Equal(got, tc.want) {
				t.Errorf("position: %v, want %v", got, tc.want)
			}
			route, err := ix.CheckRoute(RouteQuery{Waypoints: []Waypoint{{Point: orb.Point{7.3, 46.73}}, {Point: in}}, Window: w, Category: tc.cat})
			if err != nil {
				t.Fatal(err)
			}
			if got := restrictions(route); !slices.Equal(got, tc.want) {
				t.Errorf("route: %v, want %v", got, tc.want)
			}
			area, err := ix.CheckArea(AreaQuery{Area: Shape{Kind: ShapeCircle, Center: in, Radius: 50}, Window: w, Category: tc.cat})
			if err != nil {
				t.Fatal(err)
			}
			if got := restrictions(area); !slices.Equal(got, tc.want) {
				t.Errorf("area: %v, want %v", got, tc.want)
			}
		})
	}
	if err := (PositionQuery{Point: in, At: at, Category: CategoryOpen | CategorySpecific}).Validate(); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("two categories: %v, want invalid", err)
	}
}

// TestSharedIdentifier reads features that share an identifier, by the
// rules of docs/zones.md.
func TestSharedIdentifier(t *testing.T) {
	feature := func(class, restriction, ring string) string {
		return `{"identifier":"Z","restriction":"` + restriction + `",` + class +
			`"geometry":[{"horizontalProjection":{"type":"Polygon","coordinates":[` + ring + `]}}]}`
	}
	const a = `[[7,46],[7.1,46],[7.1,46.1],[7,46]]`
	const b = `[[8,46],[8.1,46],[8.1,46.1],[8,46]]`
	tests := []struct {
		name     string
		features []string
		zones    int    // zones read
		volumes  int    // volumes of the first
		problem  string // part of the one problem, if any
	}{
		{"variants", []string{feature(`"uSpaceClass":"OPEN",`, "NO_RESTRICTION", a), feature(`"uSpaceClass":"SPECIFIC, CERTIFIED",`, "PROHIBITED", a)}, 2, 1, ""},
		{"variants of U-space classes", []string{feature(`"uSpaceClass":"EUROCONTROL",`, "NO_RESTRICTION", a), feature(`"uSpaceClass":"CORUS",`, "PROHIBITED", a)}, 2, 1, ""},
		{"one zone, two volumes", []string{feature("", "PROHIBITED", a), feature("", "PROHIBITED", b)}, 1, 2, ""},
		{"one variant, two volumes", []string{feature(`"uSpaceClass":["OPEN"],`, "PROHIBITED", a), feature(`"uSpaceClass":"open",`, "PROHIBITED", b)}, 1, 2, ""},
		{"differ in restriction", []string{feature("", "PROHIBITED", a), feature("", "CONDITIONAL", b)}, 0, 0,
			"feature 1 (Z): identifier: duplicate zone ID: also feature 0 of f.json, and the two differ in restriction"},
		{"the same twice", []string{feature("", "PROHIBITED", a), feature("", "PROHIBITED", a)}, 0, 0,
			"feature 1 (Z): identifier: duplicate zone ID: also feature 0 of f.json: the same zone twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zones, err := Read(strings.NewReader("["+strings.Join(tc.features, ",")+"]"), "f.json")
			if tc.problem != "" {
				var le *LoadError
				if !errors.As(err, &le) || len(le.Problems) != 1 || !strings.Contains(le.Problems[0].String(), tc.problem) {
					t.Fatalf("Read: %v, want %q", err, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(zones) != tc.zones || len(zones[0].Volumes) != tc.volumes {
				t.Fatalf("%d zones, the first with %d volumes; want %d and %d", len(zones), len(zones[0].Volumes), tc.zones, tc.volumes)
			}
			if _, err := NewIndex(zones); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSharedIdentifierAcrossFiles: variants may come from different files;
// any other duplicate across files is refused, naming both.
func TestSharedIdentifierAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, class string) string {
		p := dir + "/" + name
		err := os.WriteFile(p, []byte(`[{"identifier":"Z","restriction":"PROHIBITED",`+class+`"geometry":[{"horizontalProjection":{"type":"Circle","center":[7,46],"radius":100}}]}]`), 0o644)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	open, spec, plain, plain2 := write("open.json", `"uSpaceClass":"OPEN",`), write("spec.json", `"uSpaceClass":"SPECIFIC",`), write("a.json", ""), write("b.json", "")
	if zones, err := ReadPaths(open, spec); err != nil || len(zones) != 2 {
		t.Fatalf("variants in two files: %d zones, %v", len(zones), err)
	}
	if _, err := ReadPaths(plain, plain2); err == nil || !strings.Contains(err.Error(), "b.json: feature 0 (Z): identifier: duplicate zone ID: also feature 0 of "+plain) {
		t.Fatalf("duplicate across files: %v", err)
	}
}
