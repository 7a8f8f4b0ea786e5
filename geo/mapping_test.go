package geo

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mappedSummary is zoneSummary with what mappings set besides: country,
// reasons, message and the format read.
func mappedSummary(z *Zone) string {
	return fmt.Sprintf("%s country=%q reasons=%q message=%q format=%q", zoneSummary(z), z.Country, z.Reasons, z.Message, z.Source.Format)
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", "golden", name+".txt")
	if *updateGolden {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update ./geo/ to write it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("summary differs from %s (go test -run %s -update ./geo/ rewrites it):\n%s", golden, t.Name(), lineDiff(string(want), got))
	}
}

// kmzOf zips kml as doc.kml, with other entries before it as a KMZ may
// have (images).
func kmzOf(t testing.TB, kml []byte, method uint16) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "files/icon.png", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("\x89PNG not really"))
	w, err = zw.CreateHeader(&zip.FileHeader{Name: "doc.kml", Method: method})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(kml)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestMappedGolden reads each shipped mapping's test file, and the KML and
// KMZ test files, and compares what nofly understood with golden files.
func TestMappedGolden(t *testing.T) {
	kml, err := os.ReadFile("testdata/mapped/zones.kml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kmz := filepath.Join(dir, "zones.kmz")
	if err := os.WriteFile(kmz, kmzOf(t, kml, zip.Deflate), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, mapping string
	}{
		{"mapped-de-dipul", "../examples/de-dipul-layer.geojson", "../data/mappings/de-dipul.mapping"},
		{"mapped-kml-nofly", "testdata/mapped/zones.kml", "../data/mappings/kml-nofly.mapping"},
		{"kml-default", "testdata/mapped/zones.kml", ""},
		{"kml-heights", "testdata/mapped/zones.kml", "testdata/mapped/kml-heights.mapping"},
		{"kmz-default", kmz, ""},
		{"kml-schema", "testdata/mapped/schema.kml", ""}, // schema.mapping beside it
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts ReadOptions
			if tc.mapping != "" {
				m, err := ReadMappingFile(tc.mapping)
				if err != nil {
					t.Fatal(err)
				}
				opts.Mapping = m
			}
			zones, err := ReadPathsWith(opts, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i := range zones {
				b.WriteString(mappedSummary(&zones[i]))
				b.WriteByte('\n')
			}
			checkGolden(t, tc.name, b.String())
		})
	}
}

// TestDefaultKMLMapping: the mapping that reads KML without one is the
// shipped data/mappings/kml-nofly.mapping, so users can start from it.
func TestDefaultKMLMapping(t *testing.T) {
	b, err := os.ReadFile("../data/mappings/kml-nofly.mapping")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(b)) != strings.TrimSpace(defaultKMLMappingText) {
		t.Errorf("data/mappings/kml-nofly.mapping differs from defaultKMLMappingText")
	}
}

// TestBesideMapping: a NAME.mapping beside NAME.geojson is read with it,
// and giving another mapping too is refused.
func TestBesideMapping(t *testing.T) {
	dir := t.TempDir()
	copyFile := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("../examples/de-dipul-layer.geojson", "ctr.geojson")
	copyFile("../data/mappings/de-dipul.mapping", "ctr.mapping")
	copyFile("testdata/zones/nofly-example.geojson", "mine.geojson")
	zones, err := ReadPaths(dir) // the directory: both files, each its own way
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, z := range zones {
		ids[z.ID] = z.Source.Format
	}
	if ids["DE-CTR-Tq7Xk2a"] != "GeoJSON via ctr.mapping" || ids["NL-TEST-PARK"] != FormatNofly {
		t.Errorf("formats by zone: %v", ids)
	}
	m, err := ReadMappingFile("../data/mappings/de-dipul.mapping")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ReadPathsWith(ReadOptions{Mapping: m}, filepath.Join(dir, "ctr.geojson"))
	if err == nil || !strings.Contains(err.Error(), "has a mapping of its own beside it") {
		t.Errorf("two mappings for one file: got %v", err)
	}
	copyFile("../data/mappings/de-dipul.mapping", "ctr-2025.mapping")
	_, err = ReadPaths(dir)
	if err == nil || !strings.Contains(err.Error(), "ctr-2025.mapping: no zone file beside it uses this mapping") {
		t.Errorf("a mapping without its data file: %v", err)
	}
	if got := besideMapping("a/b.geojson.gz"); got != "a/b.mapping" {
		t.Errorf("besideMapping: %s", got)
	}
}

// TestParseMappingProblems: a mapping is checked as strictly as zone data.
func TestParseMappingProblems(t *testing.T) {
	const ok = `"nofly_mapping": 1, "id": {"property": "id"}`
	tests := []struct {
		name, text string
		want       []string
	}{
		{"not JSON", `{`, []string{"invalid JSON"}},
		{"no version", `{"id": {"property": "id"}}`, []string{"nofly_mapping: required"}},
		{"other version", `{"nofly_mapping": 2, "id": {"property": "id"}}`, []string{"nofly_mapping: want 1"}},
		{"no id", `{"nofly_mapping": 1}`, []string{"id: required"}},
		{"unknown key", `{` + ok + `, "nmae": {"property": "name"}}`, []string{`nmae: unknown key (line 1, column`}},
		{"unknown field key", `{` + ok + `, "name": {"proprety": "name"}}`, []string{"name.proprety: unknown key", "name: want exactly one of value, property and template, got 0"}},
		{"key twice", `{` + ok + `, "name": {"value": "a"}, "name": {"value": "b"}}`, []string{"name: key given more than once"}},
		{"two sources", `{` + ok + `, "name": {"value": "a", "property": "b"}}`, []string{"want exactly one of value, property and template, got 2 (value, property)"}},
		{"bad restriction constant", `{` + ok + `, "restriction": {"value": "FORBIDDEN"}}`, []string{`restriction.value: unknown restriction "FORBIDDEN"`}},
		{"bad restriction in table", `{` + ok + `, "restriction": {"property": "t", "table": {"A": "PROHIBITED", "B": "MAYBE"}}}`, []string{`restriction.table.B: unknown restriction "MAYBE"`}},
		{"empty table", `{` + ok + `, "restriction": {"property": "t", "table": {}}}`, []string{"restriction.table: empty"}},
		{"table on a value", `{` + ok + `, "restriction": {"value": "PROHIBITED", "table": {"A": "PROHIBITED"}}}`, []string{"restriction.table: only a property or template takes table"}},
		{"bad unit", `{` + ok + `, "upper": {"value": {"property": "u"}, "unit": {"value": "yards"}}}`, []string{`upper.unit.value: unknown unit "yards": want m, ft or FL`}},
		{"bad reference", `{` + ok + `, "lower": {"value": {"value": 0}, "reference": {"value": "GROUND"}}}`, []string{`lower.reference.value: unknown vertical reference "GROUND"`}},
		{"unit without value", `{` + ok + `, "upper": {"unit": {"value": "ft"}}}`, []string{"upper.value: required when upper gives a unit or reference"}},
		{"number as text", `{` + ok + `, "upper": {"value": {"value": "120"}}}`, []string{`upper.value.value: want a number, got a string ("120")`}},
		{"control character", `{` + ok + `, "message": {"value": "call\u001b[2K tower"}}`, []string{"message.value: control character U+001B (ESC)"}},
		{"template without property", `{` + ok + `, "name": {"template": "fixed"}}`, []string{"name.template: names no property"}},
		{"template unclosed", `{` + ok + `, "name": {"template": "{a}-{b"}}`, []string{"name.template: unclosed {"}},
		{"kml_heights not a boolean", `{` + ok + `, "kml_heights": "yes"}`, []string{`kml_heights: want true or false, got a string ("yes")`}},
		{"template on a number", `{` + ok + `, "radius": {"template": "{r}"}}`, []string{"radius.template: a template builds a text"}},
		{"first on a value", `{` + ok + `, "name": {"value": "a", "first": true}}`, []string{"name.first: only a property takes first"}},
		{"default without optional", `{` + ok + `, "name": {"property": "n", "default": "x"}}`, []string{`name.default: only an optional field takes a default`}},
		{"bad date-time", `{` + ok + `, "applicability": {"start": {"value": "tomorrow"}}}`, []string{"applicability.start.value: want an RFC 3339 date-time"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMapping([]byte(tc.text), "x.mapping")
			var le *LoadError
			if !errors.As(err, &le) || m != nil {
				t.Fatalf("want a *LoadError and no mapping, got %v, %v", m, err)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("want %q in:\n%s", w, msg)
				}
			}
			if !strings.HasPrefix(msg, "x.mapping: ") && !strings.Contains(msg, "\n  x.mapping: ") {
				t.Errorf("problems do not name the mapping: %s", msg)
			}
		})
	}
}

// TestMappedProblems: what a mapping cannot read in a feature is a problem
// naming the feature and the property, and the checks every zone gets
// (control characters, antimeridian, zero area) apply to mapped data too.
func TestMappedProblems(t *testing.T) {
	m, err := ReadMappingFile("../data/mappings/de-dipul.mapping")
	if err != nil {
		t.Fatal(err)
	}
	props := func(over string) string {
		p := `"name": ["Testhausen CTR"], "type_code": "CTR", "type_code_detail": "Kontrollzone", "external_reference": "Tq7Xk2a",
			"legal_ref": "LuftVO", "lower_limit_altitude": 0, "lower_limit_unit": "m", "lower_limit_alt_ref": "AGL"`
		if over != "" {
			p += ", " + over
		}
		return "{" + p + "}"
	}
	square := `{"type": "Polygon", "coordinates": [[[8.5, 50], [8.7, 50], [8.7, 50.1], [8.5, 50.1], [8.5, 50]]]}`
	file := func(props, geom string) string {
		return `{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": ` + props + `, "geometry": ` + geom + `}]}`
	}
	tests := []struct {
		name, data string
		want       []string
	}{
		{"unmapped type code", file(strings.Replace(props(""), `"CTR"`, `"HELIPORT"`, 1), square),
			[]string{`d.geojson: feature 0 (DE-HELIPORT-Tq7Xk2a): properties.type_code: value "HELIPORT" is not in the table of the mapping's restriction`, `"AIRFIELD", "AIRPORT", "CTR", "FLIGHT_RESTRICTION_AREA": add it to the mapping`}},
		{"missing property", file(strings.Replace(props(""), `"lower_limit_unit": "m", `, "", 1), square),
			[]string{"feature 0 (DE-CTR-Tq7Xk2a): properties.lower_limit_unit: required by the mapping's lower.unit (../data/mappings/de-dipul.mapping): the feature does not have it"}},
		{"missing template property", file(strings.Replace(props(""), `"external_reference": "Tq7Xk2a",`, "", 1), square),
			[]string{"feature 0: properties.external_reference: required by the mapping's id template"}},
		{"unmapped reference", file(props(`"upper_limit_altitude": 100, "upper_limit_unit": "m", "upper_limit_alt_ref": "QNH"`), square),
			[]string{`properties.upper_limit_alt_ref: value "QNH" is not in the table of the mapping's upper.reference`}},
		{"unknown unit", file(props(`"upper_limit_altitude": 100, "upper_limit_unit": "yd", "upper_limit_alt_ref": "AGL"`), square),
			[]string{`properties.upper_limit_unit: unknown unit "yd": want m, ft or FL`}},
		{"flight level above ground", file(props(`"upper_limit_altitude": 65, "upper_limit_unit": "FL", "upper_limit_alt_ref": "AGL"`), square),
			[]string{"properties.upper_limit_alt_ref: a flight level is a pressure altitude, not a height above ground"}},
		{"altitude not a number", file(strings.Replace(props(""), `"lower_limit_altitude": 0`, `"lower_limit_altitude": "low"`, 1), square),
			[]string{`properties.lower_limit_altitude: want a number, got a string ("low")`}},
		{"name not a string", file(strings.Replace(props(""), `["Testhausen CTR"]`, `[{"de": "x"}]`, 1), square),
			[]string{"properties.name[0]: want a string or a number, got an object"}},
		{"empty name array", file(strings.Replace(props(""), `["Testhausen CTR"]`, `[]`, 1), square),
			[]string{"properties.name: an empty array: the mapping's name takes its first element"}},
		{"control character in a name", file(strings.Replace(props(""), `"Testhausen CTR"`, `"Test\u009b2Khausen"`, 1), square),
			[]string{"properties.name[0]: control character U+009B (CSI)"}},
		{"control character in a template part", file(strings.Replace(props(""), `"Tq7Xk2a"`, `"Tq7\rXk2a"`, 1), square),
			[]string{"properties.external_reference: control character U+000D (carriage return)"}},
		{"across the antimeridian", file(props(""), `{"type": "Polygon", "coordinates": [[[179.5, -17], [-179.5, -17], [-179.5, -16], [179.5, -16], [179.5, -17]]]}`),
			[]string{"geometry.coordinates[0][0]: edge from position 0 (179.5, -17) to position 1 (-179.5, -17) spans 359° of longitude"}},
		{"zero area", file(props(""), `{"type": "Polygon", "coordinates": [[[8.5, 50], [8.6, 50], [8.7, 50], [8.5, 50]]]}`),
			[]string{"geometry.coordinates[0]: ring encloses no area"}},
		{"point without radius", file(props(""), `{"type": "Point", "coordinates": [8.5, 50]}`),
			[]string{"geometry: a Point is a circle, and the mapping gives no radius"}},
		{"no properties", `{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": ` + square + `}]}`,
			[]string{"properties: required: the mapping reads the zone from the feature's properties"}},
		{"ED-269 through a mapping", `{"UASZoneList": []}`, []string{"is ED-269, and the mapping"}},
		{"duplicate", `{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": ` + props("") + `, "geometry": ` + square + `},
			{"type": "Feature", "properties": ` + props("") + `, "geometry": ` + square + `}]}`, []string{"duplicate zone ID: also feature 0 of d.geojson: the same zone twice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zones, err := ReadMapped(strings.NewReader(tc.data), "d.geojson", m)
			if err == nil {
				t.Fatalf("read %d zones, want problems", len(zones))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("want %q in:\n%s", w, err)
				}
			}
		})
	}
}

// TestMappedLimitUnits: a limit's unit and reference are needed only when
// the limit has a value; a value without its unit is a problem, not metres.
func TestMappedLimitUnits(t *testing.T) {
	m, err := ReadMappingFile("../data/mappings/de-dipul.mapping")
	if err != nil {
		t.Fatal(err)
	}
	feature := func(upper string) string {
		return `{"type": "Feature", "properties": {"name": ["X"], "type_code": "CTR", "type_code_detail": "K", "external_reference": "A", "legal_ref": "L",
			"lower_limit_altitude": 0, "lower_limit_unit": "m", "lower_limit_alt_ref": "AGL"` + upper + `},
			"geometry": {"type": "Polygon", "coordinates": [[[8.5, 50], [8.7, 50], [8.7, 50.1], [8.5, 50.1], [8.5, 50]]]}}`
	}
	zones, err := ReadMapped(strings.NewReader(feature("")), "d.geojson", m)
	if err != nil || !zones[0].Volumes[0].Upper.Open {
		t.Errorf("no upper limit: %v, %+v", err, zones)
	}
	_, err = ReadMapped(strings.NewReader(feature(`, "upper_limit_altitude": 65`)), "d.geojson", m)
	if err == nil || !strings.Contains(err.Error(), "properties.upper_limit_unit: required by the mapping's upper.unit") ||
		!strings.Contains(err.Error(), "properties.upper_limit_alt_ref: required") {
		t.Errorf("upper altitude without unit and reference: %v", err)
	}
	zones, err = ReadMapped(strings.NewReader(feature(`, "upper_limit_altitude": 65, "upper_limit_unit": "FL", "upper_limit_alt_ref": "PA"`)), "d.geojson", m)
	if err != nil {
		t.Fatal(err)
	}
	// FL 65: 1,981.2 m, widened up by 450 m and 15%.
	if u := zones[0].Volumes[0].Upper; u.Ref != AMSL || u.Metres != 1981.2+450+0.15*1981.2 {
		t.Errorf("FL 65 as upper limit: %v", u)
	}
	lower := flightLevelLimit(65, false)
	if lower != 1981.2-450-0.15*1981.2 {
		t.Errorf("FL 65 as lower limit: %v", lower)
	}
}
