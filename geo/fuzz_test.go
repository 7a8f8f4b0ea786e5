package geo

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// Fuzz targets for every parser of zone data. Run one with, for example,
//
//	go test -run='^$' -fuzz='^FuzzRead$' -fuzztime=45s ./geo/
//
// Inputs that once made a target fail are kept in testdata/fuzz/<target>/
// and run with the ordinary tests.

// seedFiles are the sample zone files the targets start from.
var seedFiles = []string{
	"testdata/zones/nofly-example.geojson",
	"testdata/zones/gantrisch-ed269.json",
	sharedRefData + "/zones/interuss-sample-ed269.json",
	sharedRefData + "/zones/interuss-sample-ed318.json",
	sharedRefData + "/formats/ed318/Example_Collection.json",
	sharedRefData + "/formats/ed318/Example_GeoZone_Circle.json",
	sharedRefData + "/formats/ed318/InvalidExample_GeoZone_2_Layers.json",
}

// seedBroken are small inputs that exercise the error paths.
var seedBroken = []string{
	``, `[`, `{}`, `[]`, `null`, `"x"`, `{"features":5}`, `{"UASZoneList":[{}]}`,
	noflyFeature(`{"id":"A"}`, readSquare),
	noflyFeature(`{"id":"A","radius_m":5}`, `{"type":"Point","coordinates":[5,52]}`),
	noflyFeature(`{"id":"A","lower_m":1e400,"active":[{"schedule":[{"days":["ANY"],"start":"08:00:00.5+01:00","end":"24:00"}]}]}`,
		`{"type":"MultiPolygon","coordinates":[[[[5,52],[5.1],[5,52,1,2],[5,"x"],[]]]]}`),
	`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"identifier":"I","type":"USPACE"},"geometry":{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[5,52],"extent":{"subType":"Circle","radius":10},"layer":{"upper":99999,"uom":"ft"}}]}}]}`,
	`[{"identifier":"E","restriction":"PROHIBITED","applicability":[{"permanent":"NO","dailyPeriod":[{"day":["MON"],"startTime":"8:00"}]}],"geometry":[{"uomDimensions":"FT","lowerLimit":"0","horizontalProjection":{"type":"Circle","center":[5,52],"radius":10}}]}]`,
	"\xef\xbb\xbf{\"type\":\"FeatureCollection\",\"features\":[]}",
	`{"a":"\ud800\u00e9\\\/","b":[1e5,-0.0,12345678901234567890,0.1e-400]}`,
	// Refused since issue 11: a ring drawn across ±180° (read the long way),
	// a ring round a pole along one parallel (no area), control characters
	// and invalid UTF-8 in texts.
	noflyFeature(`{"id":"FJ-1"}`, `{"type":"Polygon","coordinates":[[[179.5,-17],[-179.5,-17],[-179.5,-16],[179.5,-16],[179.5,-17]]]}`),
	noflyFeature(`{"id":"POLE"}`, `{"type":"Polygon","coordinates":[[[0,85],[90,85],[180,85],[90,85],[0,85]]]}`),
	noflyFeature(`{"id":"A","message":"call tower\r\u001b[2K\u001b[1A\u001b[32mNO CONDITIONS - FLY FREELY"}`, readSquare),
	noflyFeature("{\"id\":\"A\u0007\",\"name\":\"Z\xfcrich\",\"reasons\":[\"\u009b\"]}", readSquare),
	// Features that share an identifier: volumes of one zone, and a pair
	// refused for differing in restriction (variants: gantrisch-ed269.json).
	`[{"identifier":"Z","restriction":"PROHIBITED","geometry":[{"horizontalProjection":{"type":"Circle","center":[7,46],"radius":100}}]},{"identifier":"Z","restriction":"PROHIBITED","geometry":[{"horizontalProjection":{"type":"Circle","center":[8,46],"radius":100}}]}]`,
	`[{"identifier":"Z","restriction":"PROHIBITED","uSpaceClass":"OPEN","geometry":[{"horizontalProjection":{"type":"Circle","center":[7,46],"radius":100}}]},{"identifier":"Z","restriction":"CONDITIONAL","uSpaceClass":"open","geometry":[{"horizontalProjection":{"type":"Circle","center":[8,46],"radius":100}}]}]`,
	`[{"identifier":"E","restriction":"PROHIBITED","name":"\u001b]0;x\u0007","restrictionConditions":["a\nb","c\r"],"geometry":[{"horizontalProjection":{"type":"Polygon","coordinates":[[[179,0],[-179,0],[-179,1],[179,0]]]}}]}]`,
}

func addFileSeeds(f *testing.F) {
	for _, p := range seedFiles {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	for _, s := range seedBroken {
		f.Add([]byte(s))
	}
}

// checkRead checks the contract of a read: either valid zones with unique
// IDs, or none and problems naming the file.
func checkRead(t *testing.T, zones []Zone, probs []Problem, name string) {
	if len(probs) > 0 {
		for _, p := range probs {
			if p.File != name || p.Msg == "" {
				t.Fatalf("problem %#v: want File %q and a message", p, name)
			}
		}
		return
	}
	type key struct{ id, variant string }
	seen := map[key]bool{}
	for i := range zones {
		z := &zones[i]
		if ps := Validate(z); len(ps) > 0 {
			t.Fatalf("zone %d read without problems fails Validate: %v", i, ps)
		}
		k := key{z.ID, z.VariantKey()}
		if seen[k] {
			t.Fatalf("duplicate ID %q (class %q) read without problems", z.ID, k.variant)
		}
		seen[k] = true
		if z.Source.File != name || z.Source.Format == "" {
			t.Fatalf("zone %d Source %+v", i, z.Source)
		}
	}
}

func FuzzRead(f *testing.F) {
	addFileSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		zones, err := Read(bytes.NewReader(data), "f.json")
		var probs []Problem
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) || len(le.Problems) == 0 || zones != nil {
				t.Fatalf("error %v with %d zones", err, len(zones))
			}
			probs = le.Problems
		}
		checkRead(t, zones, probs, "f.json")
	})
}

// featureSeeds returns the features (or ED-269 zones) of the sample files.
func featureSeeds(f *testing.F, files ...string) {
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var doc struct {
			Features    []json.RawMessage `json:"features"`
			UASZoneList []json.RawMessage `json:"UASZoneList"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			f.Fatalf("%s: %v", p, err)
		}
		for _, raw := range append(doc.Features, doc.UASZoneList...) {
			f.Add([]byte(raw))
		}
	}
}

// fuzzFeature reads data as one feature of format with read, and checks
// that a feature read without problems is a valid zone.
func fuzzFeature(t *testing.T, data []byte, format string, read func(c *zoneReader, v *jvalue)) {
	v, perr := parseJSON(data)
	if perr != nil {
		return
	}
	r := &fileReader{file: "f.json", format: format, lines: lineIndex{data: data}}
	read(r.zone(0), &v)
	checkRead(t, r.zones, r.probs, "f.json")
	if len(r.probs) == 0 && len(r.zones) != 1 {
		t.Fatalf("%d zones read from one feature without problems", len(r.zones))
	}
}

func FuzzReadNofly(f *testing.F) {
	featureSeeds(f, "testdata/zones/nofly-example.geojson")
	f.Add([]byte(`{"type":"Feature","properties":{"id":"A","radius_m":1,"lower_ft":null,"upper_ref":"WGS84","active":[{"schedule":[{"tz":"Asia/Kolkata","start":"23:59:59.999"}]}]},"geometry":{"type":"Point","coordinates":[-180,90]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzFeature(t, data, FormatNofly, func(c *zoneReader, v *jvalue) { c.readNofly(v) })
	})
}

func FuzzReadED269(f *testing.F) {
	featureSeeds(f, sharedRefData+"/zones/interuss-sample-ed269.json")
	f.Add([]byte(`{"identifier":"E","restriction":"CONDITIONAL","regulationExemption":"YES","applicability":[{"permanent":"NO","startDateTime":"2025-01-01T00:00:00Z","schedule":[{"day":["ANY"],"startTime":"22:00Z","endTime":"02:00Z"}]}],"geometry":[{"uomDimensions":"FT","lowerLimit":"10","lowerVerticalReference":"AMSL","upperLimit":400,"upperVerticalReference":"AMSL","horizontalProjection":{"type":"Polygon","coordinates":[[[5,52],[5.1,52],[5.1,52.1],[5,52]]]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzFeature(t, data, FormatED269, func(c *zoneReader, v *jvalue) { c.readED269(v) })
	})
}

func FuzzReadED318(f *testing.F) {
	featureSeeds(f, sharedRefData+"/zones/interuss-sample-ed318.json", sharedRefData+"/formats/ed318/Example_Collection.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzFeature(t, data, FormatED318, func(c *zoneReader, v *jvalue) { c.readED318(v, "fuzzing") })
	})
}

// FuzzParseJSON checks the parser against encoding/json: it accepts exactly
// what json.Valid accepts, and reads the same values.
func FuzzParseJSON(f *testing.F) {
	addFileSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, perr := parseJSON(data)
		if valid := json.Valid(data); valid != (perr == nil) {
			t.Fatalf("json.Valid %t, parseJSON error %v", valid, perr)
		}
		if perr != nil {
			if perr.off < 0 || perr.off > len(data) {
				t.Fatalf("error offset %d outside 0..%d", perr.off, len(data))
			}
			if msg := syntaxProblemMsg(data, 0, perr); !strings.HasPrefix(msg, "invalid JSON at byte offset ") {
				t.Fatalf("message %q", msg)
			}
			return
		}
		var want any
		if json.Unmarshal(data, &want) != nil || bytes.Contains(data, []byte("coordinates")) {
			return // numbers beyond float64, or coordinates, which are read apart
		}
		if got := jsonToAny(&v); !reflect.DeepEqual(got, want) {
			t.Fatalf("read %#v, encoding/json %#v", got, want)
		}
	})
}

// jsonToAny converts a parsed value to what encoding/json decodes into any.
func jsonToAny(v *jvalue) any {
	switch v.kind {
	case jBool:
		return v.b
	case jNumber:
		return v.num
	case jString:
		return v.str
	case jArray:
		out := make([]any, 0, len(v.kids))
		for i := range v.kids {
			out = append(out, jsonToAny(&v.kids[i].val))
		}
		return out
	case jObject:
		out := map[string]any{}
		for i := range v.kids {
			out[v.kids[i].key] = jsonToAny(&v.kids[i].val) // the last of duplicates wins, as in encoding/json
		}
		return out
	}
	return nil
}

func FuzzParseScheduleTime(f *testing.F) {
	for _, s := range []string{"08:00", "24:00", "23:59:59.999Z", "00:00:00.00+01:00", "12:30-05:30", "7:00", "12:60", "24:00:01", "12:00+24:00"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, end bool) {
		c, err := parseScheduleTime(s, end)
		if err != nil {
			return
		}
		if c.sec < 0 || c.sec > 86400 || (!end && c.sec == 86400) {
			t.Fatalf("%q (end %t): %d s", s, end, c.sec)
		}
		if c.offset <= -86400 || c.offset >= 86400 || (!c.hasOff && c.offset != 0) {
			t.Fatalf("%q: offset %d (given %t)", s, c.offset, c.hasOff)
		}
	})
}

// FuzzReadFastMatches checks that whatever the streaming reader takes, the
// whole-tree reader reads without problems into the same zones.
func FuzzReadFastMatches(f *testing.F) {
	addFileSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := readFast(data, "f.json")
		if !ok {
			return
		}
		whole, probs := readWhole(data, 0, "f.json")
		if len(probs) > 0 {
			t.Fatalf("readFast took data with problems: %v", probs)
		}
		if !reflect.DeepEqual(fast, whole) {
			t.Fatalf("readFast read %+v, readWhole %+v", fast, whole)
		}
	})
}
