package geo

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/data"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// sharedRefData is the reference data shared beside the repository
// (../shared/data, see its README).
const sharedRefData = "../../shared/data"

// needSharedFile skips the test when path, a shared reference file, is absent.
func needSharedFile(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("reference data %s absent (it lives in ../shared/data beside the repository): %v", path, err)
	}
}

// readString reads zone data given inline.
func readString(t *testing.T, name, data string) ([]Zone, []Problem) {
	t.Helper()
	zones, err := Read(strings.NewReader(data), name)
	return zones, problemsOf(t, zones, err)
}

// problemsOf checks the contract of a reader's result and returns its
// problems: either zones and no error, or no zones and a *LoadError with at
// least one problem that wraps ErrInvalidZone.
func problemsOf(t *testing.T, zones []Zone, err error) []Problem {
	t.Helper()
	if err == nil {
		return nil
	}
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("error %v (%T) is not a *LoadError", err, err)
	}
	if !errors.Is(err, ErrInvalidZone) {
		t.Errorf("error does not wrap ErrInvalidZone")
	}
	if len(le.Problems) == 0 {
		t.Errorf("LoadError without problems")
	}
	if zones != nil {
		t.Errorf("got %d zones along with an error; want none", len(zones))
	}
	return le.Problems
}

// zoneSummary is one line describing a zone for golden files: ID, name, restriction,
// each volume (shape, limits), a bounding box of the polygons' vertices and
// circle centers (rounded to 1e-4°), applicability and exemptions.
func zoneSummary(z *Zone) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q %s vols=%d", z.ID, z.Name, z.Restriction, len(z.Volumes))
	minLon, minLat, maxLon, maxLat := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	grow := func(lon, lat float64) {
		minLon, minLat = math.Min(minLon, lon), math.Min(minLat, lat)
		maxLon, maxLat = math.Max(maxLon, lon), math.Max(maxLat, lat)
	}
	for _, v := range z.Volumes {
		switch v.Shape.Kind {
		case ShapePolygon:
			rings, pts := 0, 0
			for _, p := range v.Shape.Polygons {
				for _, r := range p {
					rings++
					pts += len(r)
					for _, pt := range r {
						grow(pt[0], pt[1])
					}
				}
			}
			fmt.Fprintf(&b, " [polygons=%d rings=%d pts=%d", len(v.Shape.Polygons), rings, pts)
		case ShapeCircle:
			grow(v.Shape.Center[0], v.Shape.Center[1])
			fmt.Fprintf(&b, " [circle r=%gm", v.Shape.Radius)
		}
		fmt.Fprintf(&b, " %s..%s]", v.Lower, v.Upper)
	}
	fmt.Fprintf(&b, " bbox=%.4f,%.4f,%.4f,%.4f", minLon, minLat, maxLon, maxLat)
	if z.Applicability.Permanent() {
		b.WriteString(" always")
	}
	for _, p := range z.Applicability.Periods {
		b.WriteString(" period=")
		b.WriteString(sumTime(p.Start) + ".." + sumTime(p.End))
		for _, d := range p.Schedule {
			fmt.Fprintf(&b, " %s", sumDaily(d))
		}
	}
	fmt.Fprintf(&b, " exemptions=%s", z.Exemptions)
	return b.String()
}

func sumTime(t time.Time) string {
	if t.IsZero() {
		return "open"
	}
	return t.UTC().Format(time.RFC3339)
}

func sumDaily(d DailyPeriod) string {
	var days []string
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		if d.Days.Has(wd) {
			days = append(days, wd.String()[:3])
		}
	}
	start, end := sumClock(d.Start), sumClock(d.End)
	if d.StartEvent != "" {
		start = d.StartEvent
	}
	if d.EndEvent != "" {
		end = d.EndEvent
	}
	zone := fmtUTCOffset(d.Offset)
	if d.Loc != nil {
		zone = d.Loc.String()
	}
	return fmt.Sprintf("%s/%s-%s/%s", strings.Join(days, ","), start, end, zone)
}

func sumClock(s int32) string { return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60) }

func TestReadGolden(t *testing.T) {
	tests := []struct {
		name, path string
	}{
		{"nofly-example", "testdata/zones/nofly-example.geojson"},
		{"interuss-sample-ed269", sharedRefData + "/zones/interuss-sample-ed269.json"},
		{"interuss-sample-ed318", sharedRefData + "/zones/interuss-sample-ed318.json"},
		{"ed318-Example_Collection", sharedRefData + "/formats/ed318/Example_Collection.json"},
		{"ed318-Example_GeoZone_2_Layers", sharedRefData + "/formats/ed318/Example_GeoZone_2_Layers.json"},
		{"ed318-Example_GeoZone_Circle", sharedRefData + "/formats/ed318/Example_GeoZone_Circle.json"},
		{"ed318-Example_GeoZone_with_extension", sharedRefData + "/formats/ed318/Example_GeoZone_with_extension.json"},
		{"ch-foca-ed318-testdata", sharedRefData + "/zones/ch-foca-ed318-testdata.json.gz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			needSharedFile(t, tc.path)
			zones, err := ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i := range zones {
				b.WriteString(zoneSummary(&zones[i]))
				b.WriteByte('\n')
			}
			golden := filepath.Join("testdata", "golden", tc.name+".txt")
			if *updateGolden {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestReadGolden -update ./geo/ to write it)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("summary differs from %s (go test -run TestReadGolden -update ./geo/ rewrites it):\n%s", golden, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 5; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

func TestReadSwissED318(t *testing.T) {
	path := sharedRefData + "/zones/ch-foca-ed318-testdata.json.gz"
	needSharedFile(t, path)
	zones, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(zones) != 1179 {
		t.Fatalf("got %d zones, want 1179", len(zones))
	}
	byID := map[string]*Zone{}
	openUpper, closedAGL := 0, 0
	for i := range zones {
		z := &zones[i]
		byID[z.ID] = z
		if z.Source.Format != FormatED318 || z.Source.File != path || z.Source.Feature != i {
			t.Fatalf("zone %d: Source %+v", i, z.Source)
		}
		if z.Restriction != ReqAuthorisation {
			t.Errorf("%s: restriction %s, want REQ_AUTHORISATION (REQ_AUTHORIZATION in the file)", z.ID, z.Restriction)
		}
		v := z.Volumes[0]
		if v.Lower.Open || v.Lower.Ref != AGL {
			t.Errorf("%s: lower %s, want closed AGL", z.ID, v.Lower)
		}
		switch {
		case v.Upper.Open:
			openUpper++
		case v.Upper.Ref == AGL:
			closedAGL++
		}
	}
	// 875 zones have upper 99999 (66 of them AMSL-referenced), which means
	// no ceiling; the other 304 close at an AGL height.
	if openUpper != 875 || closedAGL != 304 {
		t.Errorf("open uppers %d, closed AGL uppers %d; want 875 and 304", openUpper, closedAGL)
	}
	tests := []struct {
		id           string
		rings        []int
		lower, upper Limit
		exemptions   Exemptions
		periods      int
	}{
		{"WZV0028", []int{4696}, Limit{Metres: 0, Ref: AGL}, OpenLimit, ExemptionsUnspecified, 0},
		{"LSZB003", []int{28}, Limit{Metres: 60, Ref: AGL}, OpenLimit, ExemptionsUnspecified, 0},
		// lower AGL, upper 99999 AMSL: open.
		{"GE71", []int{12}, Limit{Metres: 0, Ref: AGL}, OpenLimit, ExemptionsUnspecified, 0},
		{"EVA0001", nil, Limit{Metres: 0, Ref: AGL}, Limit{Metres: 2000, Ref: AGL}, ExemptionsUnspecified, 0},
		// A schedule of ANY day from 00:00+01:00 to 00:00+01:00: the whole day.
		{"KTAG502", nil, Limit{Metres: 0, Ref: AGL}, Limit{Metres: 120, Ref: AGL}, ExemptionsNotAllowed, 1},
		{"VD00053", nil, Limit{Metres: 0, Ref: AGL}, Limit{Metres: 120, Ref: AGL}, ExemptionsUnspecified, 1},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			z := byID[tc.id]
			if z == nil {
				t.Fatalf("zone %s missing", tc.id)
			}
			v := z.Volumes[0]
			if tc.rings != nil {
				var rings []int
				for _, r := range v.Shape.Polygons[0] {
					rings = append(rings, len(r))
				}
				if !slices.Equal(rings, tc.rings) {
					t.Errorf("ring sizes %v, want %v", rings, tc.rings)
				}
			}
			if v.Lower != tc.lower || v.Upper != tc.upper {
				t.Errorf("limits %s..%s, want %s..%s", v.Lower, v.Upper, tc.lower, tc.upper)
			}
			if z.Exemptions != tc.exemptions {
				t.Errorf("exemptions %s, want %s", z.Exemptions, tc.exemptions)
			}
			if len(z.Applicability.Periods) != tc.periods {
				t.Errorf("%d periods, want %d", len(z.Applicability.Periods), tc.periods)
			}
		})
	}
	d := byID["KTAG502"].Applicability.Periods[0].Schedule[0]
	if want := (DailyPeriod{Days: AllDays, Start: 0, End: 0, Offset: 3600}); d != want {
		t.Errorf("KTAG502 schedule %+v, want %+v", d, want)
	}
	p := byID["VD00053"].Applicability.Periods[0]
	if want := time.Date(2024, 11, 14, 23, 0, 0, 0, time.UTC); !p.Start.Equal(want) {
		t.Errorf("VD00053 start %s, want %s", p.Start, want)
	}
	if want := time.Date(2025, 4, 14, 22, 0, 0, 0, time.UTC); !p.End.Equal(want) {
		t.Errorf("VD00053 end %s, want %s", p.End, want)
	}
	if z := byID["LSZB003"]; z.Name != "LSZB Bern-Belp 2" || !strings.Contains(z.Message, "250 g") ||
		len(z.Authorities) != 1 || z.Authorities[0].Name != "Skyguide" || z.Authorities[0].IntervalBefore != "P10DT00H" {
		t.Errorf("LSZB003 texts: name %q message %q authorities %+v", z.Name, z.Message, z.Authorities)
	}
}

func TestReadInvalidED318Example(t *testing.T) {
	path := sharedRefData + "/formats/ed318/InvalidExample_GeoZone_2_Layers.json"
	needSharedFile(t, path)
	zones, err := ReadFile(path)
	probs := problemsOf(t, zones, err)
	// Besides metadata.validFrom, the example's name lacks its "lang" and
	// its type is spelled REQ_AUTHORISATION (ED-269's spelling): nofly
	// accepts both, since neither changes what the zone means.
	want := []Problem{{File: path, Feature: -1, Field: "metadata.validFrom",
		Msg: `want a date-time string such as "2025-06-01T08:00:00Z" (RFC 3339), got an object (line 5, column 18)`}}
	if !slices.Equal(probs, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", fmtProblems(probs), fmtProblems(want))
	}
}

func fmtProblems(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "  %#v\n", p)
	}
	return b.String()
}

// noflyFeature wraps nofly properties and a geometry in a one-feature
// collection.
func noflyFeature(props, geometry string) string {
	return `{"type":"FeatureCollection","features":[{"type":"Feature","properties":` + props + `,"geometry":` + geometry + `}]}`
}

const readSquare = `{"type":"Polygon","coordinates":[[[5,52],[5.1,52],[5.1,52.1],[5,52.1],[5,52]]]}`

// TestReadBroken reads broken inputs and checks every problem exactly.
func TestReadBroken(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []Problem
	}{
		{
			name: "unclosed ring",
			data: noflyFeature(`{"id":"A"}`, `{"type":"Polygon","coordinates":[[[5,52],[5.1,52],[5.1,52.1],[5,52.1]]]}`),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "geometry.coordinates[0]", Msg: "ring not closed: last position [5 52.1] differs from first [5 52]"}},
		},
		{
			name: "ring of 3 positions",
			data: noflyFeature(`{"id":"A"}`, `{"type":"Polygon","coordinates":[[[5,52],[5.1,52],[5,52]]]}`),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "geometry.coordinates[0]", Msg: "ring has 3 positions: want at least 4, the last repeating the first"}},
		},
		{
			name: "longitude 200 and latitude 1e400",
			data: noflyFeature(`{"id":"A"}`, `{"type":"Polygon","coordinates":[[[5,52],[200,52],[5.1,1e400],[5,52]]]}`),
			want: []Problem{
				{Feature: 0, ZoneID: "A", Field: "geometry.coordinates[0][1]", Msg: "longitude 200 outside -180..180"},
				{Feature: 0, ZoneID: "A", Field: "geometry.coordinates[0][2]", Msg: "latitude +Inf outside -90..90"},
			},
		},
		{
			name: "wrong-length positions",
			data: noflyFeature(`{"id":"A"}`, `{"type":"Polygon","coordinates":[[[5,52],[5.1],[5.1,52.1,3,4],[5,52]]]}`),
			want: []Problem{
				{Feature: 0, ZoneID: "A", Field: "geometry.coordinates[0][1]", Msg: "position has 1 numbers; want [longitude, latitude] or [longitude, latitude, altitude]"},
				{Feature: 0, ZoneID: "A", Field: "geometry.coordinates[0][2]", Msg: "position has 4 numbers; want [longitude, latitude] or [longitude, latitude, altitude]"},
			},
		},
		{
			name: "position holding a string",
			data: noflyFeature(`{"id":"A"}`, `{"type":"Polygon","coordinates":[[[5,52],[5.1,"52"],[5.1,52.1],[5,52]]]}`),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "geometry.coordinates[0][1]", Msg: "position element 1 is a string; want numbers [longitude, latitude]"}},
		},
		{
			name: "polygon missing a level of brackets",
			data: noflyFeature(`{"id":"A"}`, `{"type":"Polygon","coordinates":[[5,52],[5.1,52],[5.1,52.1],[5,52]]}`),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "geometry.coordinates", Msg: "want a polygon (an array of rings, each an array of positions), got an array of positions"}},
		},
		{
			name: "point without radius",
			data: noflyFeature(`{"id":"A"}`, `{"type":"Point","coordinates":[5,52]}`),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.radius_m", Msg: "required for a Point geometry: the circle's radius in metres"}},
		},
		{
			name: "zero radius",
			data: noflyFeature(`{"id":"A","radius_m":0}`, `{"type":"Point","coordinates":[5,52]}`),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.radius_m", Msg: "radius 0 m: want more than 0"}},
		},
		{
			name: "negative radius",
			data: noflyFeature(`{"id":"A","radius_m":-5}`, `{"type":"Point","coordinates":[5,52]}`),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.radius_m", Msg: "radius -5 m: want more than 0"}},
		},
		{
			name: "radius over the maximum",
			data: noflyFeature(`{"id":"A","radius_m":2e6}`, `{"type":"Point","coordinates":[5,52]}`),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.radius_m", Msg: "radius 2e+06 m is over the 1000000 m maximum"}},
		},
		{
			name: "lower above upper",
			data: noflyFeature(`{"id":"A","lower_m":150,"upper_m":50}`, readSquare),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.lower_m", Msg: "lower limit 150 m AGL is above upper limit 50 m AGL"}},
		},
		{
			name: "unknown restriction",
			data: noflyFeature(`{"id":"A","restriction":"FORBIDDEN"}`, readSquare),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.restriction", Msg: `unknown restriction "FORBIDDEN" (want PROHIBITED, REQ_AUTHORISATION, CONDITIONAL or NO_RESTRICTION)`}},
		},
		{
			name: "unknown reference",
			data: noflyFeature(`{"id":"A","upper_m":120,"upper_ref":"QNH"}`, readSquare),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.upper_ref", Msg: `unknown vertical reference "QNH" (want AGL, AMSL or WGS84)`}},
		},
		{
			name: "end before start",
			data: noflyFeature(`{"id":"A","active":[{"start":"2025-06-02T00:00:00Z","end":"2025-06-01T00:00:00Z"}]}`, readSquare),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.active[0].end", Msg: "end 2025-06-01T00:00:00Z before start 2025-06-02T00:00:00Z"}},
		},
		{
			name: "unknown day and bad time",
			data: noflyFeature(`{"id":"A","active":[{"schedule":[{"days":["MON","FUNDAY"],"start":"25:00","end":"26:00"}]}]}`, readSquare),
			want: []Problem{
				{Feature: 0, ZoneID: "A", Field: "properties.active[0].schedule[0].days[1]", Msg: `unknown day "FUNDAY": want MON, TUE, WED, THU, FRI, SAT, SUN or ANY`},
				{Feature: 0, ZoneID: "A", Field: "properties.active[0].schedule[0].start", Msg: `want a time of day "HH:MM", "HH:MM:SS" or "HH:MM:SS.fff", optionally followed by "Z" or an offset like "+01:00", got "25:00": hours run 00..24`},
				{Feature: 0, ZoneID: "A", Field: "properties.active[0].schedule[0].end", Msg: `want a time of day "HH:MM", "HH:MM:SS" or "HH:MM:SS.fff", optionally followed by "Z" or an offset like "+01:00", got "26:00": hours run 00..24`},
			},
		},
		{
			name: "empty days",
			data: noflyFeature(`{"id":"A","active":[{"schedule":[{"days":[],"start":"08:00","end":"09:00"}]}]}`, readSquare),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.active[0].schedule[0].days", Msg: "no days: want one or more of MON, TUE, WED, THU, FRI, SAT, SUN, or ANY"}},
		},
		{
			name: "duplicate id in a file",
			data: `{"type":"FeatureCollection","features":[` +
				`{"type":"Feature","properties":{"id":"A"},"geometry":` + readSquare + `},` +
				`{"type":"Feature","properties":{"id":"B"},"geometry":` + readSquare + `},` +
				`{"type":"Feature","properties":{"id":"A"},"geometry":` + readSquare + `}]}`,
			want: []Problem{{Feature: 2, ZoneID: "A", Field: "properties.id", Msg: "duplicate zone ID: also feature 0 of t.json: the same zone twice"}},
		},
		{
			name: "missing id",
			data: noflyFeature(`{"name":"no id"}`, readSquare),
			want: []Problem{{Feature: 0, Field: "properties.id", Msg: "required: a zone needs a non-empty ID"}},
		},
		{
			name: "truncated JSON",
			data: "{\"type\":\"FeatureCollection\",\n\"features\":[{\"type\":\"Feature\",",
			want: []Problem{{Feature: -1, Msg: "invalid JSON at byte offset 59 (line 2, column 31): unexpected end of JSON input"}},
		},
		{
			name: "invalid character",
			data: "{\"type\":\"FeatureCollection\",\n \"features\":[}",
			want: []Problem{{Feature: -1, Msg: "invalid JSON at byte offset 42 (line 2, column 14): invalid character '}' looking for beginning of value"}},
		},
		{
			name: "unsupported geometry",
			data: noflyFeature(`{"id":"A"}`, `{"type":"LineString","coordinates":[[5,52],[5.1,52]]}`),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "geometry.type", Msg: `unsupported geometry type "LineString": want Polygon, MultiPolygon or Point (a circle with properties.radius_m)`}},
		},
		{
			name: "missing geometry",
			data: noflyFeature(`{"id":"A"}`, `null`),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "geometry", Msg: "required: Polygon, MultiPolygon or Point (a circle with properties.radius_m)"}},
		},
		{
			name: "wrong type of limit",
			data: noflyFeature(`{"id":"A","upper_m":"120"}`, readSquare),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.upper_m", Msg: `want a number or null, got a string ("120") (line 1, column 92)`}},
		},
		{
			name: "member given twice",
			data: noflyFeature(`{"id":"A","upper_m":120,"upper_m":500}`, readSquare),
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.upper_m", Msg: "member given more than once"}},
		},
		{
			name: "not a zone file",
			data: `{"hello":"world"}`,
			want: []Problem{{Feature: -1, Msg: `not a zone file: want a GeoJSON FeatureCollection (with "features"), an ED-269 "UASZoneList" or an array of ED-269 zones`}},
		},
		{
			name: "two bad zones report both",
			data: `{"type":"FeatureCollection","features":[` +
				`{"type":"Feature","properties":{"id":"A","restriction":"NOPE"},"geometry":` + readSquare + `},` +
				`{"type":"Feature","properties":{"id":"B"},"geometry":` + readSquare + `},` +
				`{"type":"Feature","properties":{"id":"C","lower_m":200,"upper_m":100},"geometry":{"type":"Point","coordinates":[5,52]}}]}`,
			want: []Problem{
				{Feature: 0, ZoneID: "A", Field: "properties.restriction", Msg: `unknown restriction "NOPE" (want PROHIBITED, REQ_AUTHORISATION, CONDITIONAL or NO_RESTRICTION)`},
				{Feature: 2, ZoneID: "C", Field: "properties.radius_m", Msg: "required for a Point geometry: the circle's radius in metres"},
				{Feature: 2, ZoneID: "C", Field: "properties.lower_m", Msg: "lower limit 200 m AGL is above upper limit 100 m AGL"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := readString(t, "t.json", tc.data)
			for i := range tc.want {
				tc.want[i].File = "t.json"
			}
			if !slices.Equal(probs, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", fmtProblems(probs), fmtProblems(tc.want))
			}
		})
	}
}

func TestReadGzipAndBOM(t *testing.T) {
	plain := noflyFeature(`{"id":"A"}`, readSquare)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(plain))
	w.Close()
	tests := []struct {
		name string
		data []byte
	}{
		{"plain", []byte(plain)},
		{"gzip", gz.Bytes()},
		{"byte order mark", append([]byte{0xef, 0xbb, 0xbf}, plain...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zones, err := Read(bytes.NewReader(tc.data), "x.geojson")
			if err != nil {
				t.Fatal(err)
			}
			if len(zones) != 1 || zones[0].ID != "A" || zones[0].Source != (Source{File: "x.geojson", Feature: 0, Format: FormatNofly}) {
				t.Errorf("zones %+v", zones)
			}
		})
	}
	t.Run("corrupt gzip", func(t *testing.T) {
		bad := slices.Clone(gz.Bytes()[:len(gz.Bytes())-6])
		zones, err := Read(bytes.NewReader(bad), "x.json.gz")
		probs := problemsOf(t, zones, err)
		if len(probs) != 1 || probs[0].File != "x.json.gz" || probs[0].Feature != -1 || !strings.HasPrefix(probs[0].Msg, "gzip: ") {
			t.Errorf("problems %v", probs)
		}
	})
}

// writeZoneFiles writes name -> content under dir.
func writeZoneFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadPaths(t *testing.T) {
	dir := t.TempDir()
	writeZoneFiles(t, dir, map[string]string{
		"b.geojson":       noflyFeature(`{"id":"B"}`, readSquare),
		"a.json":          noflyFeature(`{"id":"A"}`, readSquare),
		"notes.txt":       "not read",
		"sub/c.geojson":   noflyFeature(`{"id":"C"}`, readSquare),
		"dup/x.geojson":   noflyFeature(`{"id":"A"}`, readSquare),
		"empty/README.md": "no zone files here",
	})
	ids := func(zones []Zone) []string {
		var out []string
		for _, z := range zones {
			out = append(out, z.ID+"@"+filepath.Base(z.Source.File))
		}
		return out
	}
	t.Run("directory in name order, not recursive", func(t *testing.T) {
		zones, err := ReadPaths(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(zones), []string{"A@a.json", "B@b.geojson"}; !slices.Equal(got, want) {
			t.Errorf("zones %v, want %v", got, want)
		}
	})
	t.Run("files and directories in argument order", func(t *testing.T) {
		zones, err := ReadPaths(filepath.Join(dir, "sub", "c.geojson"), dir)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(zones), []string{"C@c.geojson", "A@a.json", "B@b.geojson"}; !slices.Equal(got, want) {
			t.Errorf("zones %v, want %v", got, want)
		}
	})
	t.Run("duplicate across files", func(t *testing.T) {
		a, x := filepath.Join(dir, "a.json"), filepath.Join(dir, "dup", "x.geojson")
		zones, err := ReadPaths(a, x)
		probs := problemsOf(t, zones, err)
		want := []Problem{{File: x, Feature: 0, ZoneID: "A", Field: "properties.id", Msg: "duplicate zone ID: also feature 0 of " + a}}
		if !slices.Equal(probs, want) {
			t.Errorf("problems:\n%s\nwant:\n%s", fmtProblems(probs), fmtProblems(want))
		}
	})
	t.Run("same file twice", func(t *testing.T) {
		a := filepath.Join(dir, "a.json")
		_, err := ReadPaths(a, a)
		if err == nil || !strings.Contains(err.Error(), "duplicate zone ID: also feature 0 of "+a) {
			t.Errorf("error %v, want a duplicate", err)
		}
	})
	t.Run("every problem of every file", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.json")
		empty := filepath.Join(dir, "empty")
		bad := filepath.Join(t.TempDir(), "bad.json")
		writeZoneFiles(t, filepath.Dir(bad), map[string]string{"bad.json": `[`})
		zones, err := ReadPaths(missing, empty, bad, dir)
		probs := problemsOf(t, zones, err)
		want := []Problem{
			{File: missing, Feature: -1, Msg: "stat: no such file or directory"},
			{File: empty, Feature: -1, Msg: "directory holds no zone files (*.json, *.geojson, *.json.gz, *.geojson.gz, *.kml, *.kmz)"},
			{File: bad, Feature: -1, Msg: "invalid JSON at byte offset 1 (line 1, column 2): unexpected end of JSON input"},
		}
		if !slices.Equal(probs, want) {
			t.Errorf("problems:\n%s\nwant:\n%s", fmtProblems(probs), fmtProblems(want))
		}
	})
	t.Run("no paths", func(t *testing.T) {
		zones, err := ReadPaths()
		probs := problemsOf(t, zones, err)
		if len(probs) != 1 || probs[0].Msg != "no zone files given" {
			t.Errorf("problems %v", probs)
		}
	})
}

func TestReadFS(t *testing.T) {
	fsys := fstest.MapFS{
		"zones/a.geojson":    {Data: []byte(noflyFeature(`{"id":"A"}`, readSquare))},
		"zones/b.json.gz":    {Data: gzipString(noflyFeature(`{"id":"B"}`, readSquare))},
		"zones/ignored.yaml": {Data: []byte("x")},
		"top.geojson":        {Data: []byte(noflyFeature(`{"id":"T"}`, readSquare))},
	}
	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{"root by default", nil, []string{"T"}},
		{"directory", []string{"zones"}, []string{"A", "B"}},
		{"file and directory", []string{"top.geojson", "zones"}, []string{"T", "A", "B"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zones, err := ReadFS(fsys, tc.paths...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, z := range zones {
				got = append(got, z.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("zones %v, want %v", got, tc.want)
			}
		})
	}
	if zones, err := ReadFS(fsys, "zones"); err == nil && zones[1].Source.File != "zones/b.json.gz" {
		t.Errorf("Source.File %q, want the fs path zones/b.json.gz", zones[1].Source.File)
	}
}

func gzipString(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// TestReadSyntheticShape reads features shaped like the shared benchmark
// set's (../shared/bench/gen), which must read as nofly's schema.
func TestReadSyntheticShape(t *testing.T) {
	data := `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"Z0","lower_m":0,"upper_m":120},"geometry":{"type":"Polygon","coordinates":[[[6.7767996,50.7088275],[6.7833925,50.7240932],[6.7672948,50.7289322],[6.7767996,50.7088275]]]}},
{"type":"Feature","properties":{"id":"Z1","lower_m":0,"upper_m":500},"geometry":{"type":"Polygon","coordinates":[[[3.1870235,51.0565712],[3.1830701,51.0515514],[3.1921523,51.0495173],[3.1870235,51.0565712]]]}}
]}
`
	zones, probs := readString(t, "zones.geojson", data)
	if probs != nil {
		t.Fatal(fmtProblems(probs))
	}
	want := []string{
		"Z0 \"\" PROHIBITED vols=1 [polygons=1 rings=1 pts=4 0 m AGL..120 m AGL] bbox=6.7673,50.7088,6.7834,50.7289 always exemptions=UNSPECIFIED",
		"Z1 \"\" PROHIBITED vols=1 [polygons=1 rings=1 pts=4 0 m AGL..500 m AGL] bbox=3.1831,51.0495,3.1922,51.0566 always exemptions=UNSPECIFIED",
	}
	for i := range zones {
		if got := zoneSummary(&zones[i]); got != want[i] {
			t.Errorf("zone %d:\n got %s\nwant %s", i, got, want[i])
		}
		if zones[i].Volumes[0].Shape.Polygons[0][0][1] != (orb.Point{6.7833925, 50.7240932}) && i == 0 {
			t.Errorf("vertex read as %v", zones[i].Volumes[0].Shape.Polygons[0][0][1])
		}
	}
}

// TestReadFastMatches reads files laid out as real files are both ways:
// streamed (readFast) and as a whole tree (readWhole, the reference).
// readFast must take them and give the same zones.
func TestReadFastMatches(t *testing.T) {
	files := []string{
		"testdata/zones/nofly-example.geojson",
		sharedRefData + "/zones/interuss-sample-ed269.json",
		sharedRefData + "/zones/interuss-sample-ed318.json",
		sharedRefData + "/formats/ed318/Example_Collection.json",
		sharedRefData + "/formats/ed318/Example_GeoZone_Circle.json",
		sharedRefData + "/zones/ch-foca-ed318-testdata.json.gz",
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			needSharedFile(t, path)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			data, err := readAllMaybeGzip(f, 0)
			if err != nil {
				t.Fatal(err)
			}
			fast, ok := readFast(data, path)
			if !ok {
				t.Fatal("readFast did not take the file")
			}
			whole, probs := readWhole(data, 0, path)
			if probs != nil {
				t.Fatal(fmtProblems(probs))
			}
			if !reflect.DeepEqual(fast, whole) {
				t.Errorf("readFast and readWhole differ")
			}
		})
	}
	layouts := []struct {
		name, data string
		fast       bool
	}{
		{"type after features", `{"features":[{"type":"Feature","properties":{"id":"A"},"geometry":` + readSquare + `}],"type":"FeatureCollection"}`, false},
		{"ED-318 marker after a plain feature", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"A"},"geometry":` + readSquare + `},` +
			`{"type":"Feature","properties":{"identifier":"B","type":"PROHIBITED"},"geometry":` + readSquare + `}]}`, false},
		{"a problem", noflyFeature(`{"id":"A","restriction":"NOPE"}`, readSquare), false},
		{"duplicate key", `{"type":"FeatureCollection","type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"A"},"geometry":` + readSquare + `}]}`, false},
		{"empty", `{"type":"FeatureCollection","features":[]}`, false},
		{"UASZoneList after features", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"A"},"geometry":` + readSquare + `}],"UASZoneList":null}`, false},
		{"trailing data", `[{"identifier":"E","restriction":"PROHIBITED","geometry":[{"horizontalProjection":{"type":"Circle","center":[5,52],"radius":10}}]}] x`, false},
		{"ED-269 list", `{"UASZoneList":[{"identifier":"E","restriction":"PROHIBITED","geometry":[{"horizontalProjection":{"type":"Circle","center":[5,52],"radius":10}}]}]}`, true},
	}
	for _, tc := range layouts {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := readFast([]byte(tc.data), "x"); ok != tc.fast {
				t.Errorf("readFast took it: %t, want %t", ok, tc.fast)
			}
		})
	}
}

// TestReadFSEmbeddedSample loads the sample set noflyd serves by default.
func TestReadFSEmbeddedSample(t *testing.T) {
	zones, err := ReadFS(data.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(zones) == 0 {
		t.Fatal("no zones in the embedded sample set")
	}
	for _, z := range zones {
		if strings.Contains(z.Source.File, "/") || !isZoneFileName(z.Source.File) || z.Source.Format != FormatNofly {
			t.Errorf("zone %s: Source %+v, want a nofly file at the root of data.FS", z.ID, z.Source)
		}
	}
}
