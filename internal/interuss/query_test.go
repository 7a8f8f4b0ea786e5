package interuss

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nofly-project/nofly/geo"
)

// fixedZones serves one index, ready.
type fixedZones struct{ idx *geo.Index }

func (f fixedZones) Ready() bool       { return f.idx != nil }
func (f fixedZones) Index() *geo.Index { return f.idx }

func loadIndex(t testing.TB, paths ...string) *geo.Index {
	t.Helper()
	zones, err := geo.ReadPaths(paths...)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := geo.NewIndex(zones)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestServer(t testing.TB, cfg Config) *httptest.Server {
	t.Helper()
	if cfg.Zones == nil {
		cfg.Zones = fixedZones{loadIndex(t, "testdata/ed269-test.json")}
	}
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Now = func() time.Time { return testNow }
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// The JSON the harness sends (monitorlib's geospatial_info client, the
// implicitdict of the OpenAPI types): snake_case, optional members left out.

func circleVol(lat, lng, r float64, extra string) string {
	return fmt.Sprintf(`{"volume": {"outline_circle": {"center": {"lat": %v, "lng": %v}, "radius": {"value": %v, "units": "M"}}%s}}`, lat, lng, r, extra)
}

func polygonVol(latlngs [][2]float64, extra string) string {
	var vs []string
	for _, p := range latlngs {
		vs = append(vs, fmt.Sprintf(`{"lat": %v, "lng": %v}`, p[0], p[1]))
	}
	return fmt.Sprintf(`{"volume": {"outline_polygon": {"vertices": [%s]}%s}}`, strings.Join(vs, ", "), extra)
}

func alts(lo, hi float64, ref, units string) string {
	return fmt.Sprintf(`, "altitude_lower": {"value": %v, "reference": %q, "units": %q}, "altitude_upper": {"value": %v, "reference": %q, "units": %q}`, lo, ref, units, hi, ref, units)
}

func withTimes(vol, start, end string) string {
	return strings.TrimSuffix(vol, "}") + fmt.Sprintf(`, "time_start": {"value": %q, "format": "RFC3339"}, "time_end": {"value": %q, "format": "RFC3339"}}`, start, end)
}

func query(t *testing.T, url string, filterSets ...string) []checkResult {
	t.Helper()
	body := fmt.Sprintf(`{"checks": [{"filter_sets": [%s]}]}`, strings.Join(filterSets, ", "))
	resp, out := post(t, url+BasePath+"/map/queries", body, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s\nrequest: %s", resp.StatusCode, out, body)
	}
	var r queryReply
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	return r.Results
}

func post(t *testing.T, url, body, token string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestQuerySemantics(t *testing.T) {
	ts := newTestServer(t, Config{})
	// Points inside the test zones (testdata/ed269-test.json):
	//   GANT  7.40..7.50 E, 46.70..46.75 N, from the ground up: NO_RESTRICTION
	//         for OPEN, REQ_AUTHORISATION for SPECIFIC and CERTIFIED
	//   PROH  circle of 500 m around 46.80 N 7.60 E, 0–120 m AGL, PROHIBITED
	//   COND  7.70..7.72 E, 46.90..46.92 N, 0–150 m AGL, CONDITIONAL, June 2026
	//   HIGH  7.80..7.82 E, 47.00..47.02 N, 1000–2000 m AMSL, REQ_AUTHORISATION
	gant := circleVol(46.72, 7.45, 100, "")
	proh := circleVol(46.80, 7.60, 50, alts(0, 100, "SFC", "M"))
	june := withTimes(polygonVol([][2]float64{{46.905, 7.705}, {46.905, 7.715}, {46.915, 7.715}}, alts(0, 100, "SFC", "M")),
		"2026-06-10T10:00:00Z", "2026-06-10T11:00:00Z")
	may := withTimes(polygonVol([][2]float64{{46.905, 7.705}, {46.905, 7.715}, {46.915, 7.715}}, alts(0, 100, "SFC", "M")),
		"2026-05-10T10:00:00Z", "2026-05-10T11:00:00Z")
	nowhere := circleVol(46.60, 7.30, 200, "")
	fs := func(vol, more string) string { return fmt.Sprintf(`{"volumes4d": [%s]%s}`, vol, more) }
	block := `, "resulting_operational_impact": "Block"`
	advise := `, "resulting_operational_impact": "Advise"`
	either := `, "resulting_operational_impact": "BlockOrAdvise"`

	for _, tc := range []struct {
		name string
		sets []string
		want string
	}{
		{"prohibited circle blocks", []string{fs(proh, block)}, Present},
		{"prohibited circle does not advise", []string{fs(proh, advise)}, Absent},
		{"prohibited circle, block or advise", []string{fs(proh, either)}, Present},
		{"prohibited circle, no impact filter", []string{fs(proh, "")}, Present},
		{"above the prohibited band (SFC, feet)", []string{fs(circleVol(46.80, 7.60, 50, alts(500, 1000, "SFC", "FT")), block)}, Absent},
		{"just reaching the prohibited band (SFC, feet)", []string{fs(circleVol(46.80, 7.60, 50, alts(390, 1000, "SFC", "FT")), block)}, Present},
		{"circle edge touches the prohibited circle", []string{fs(circleVol(46.80, 7.6131, 520, ""), block)}, Present},
		{"circle 50 m short of the prohibited circle", []string{fs(circleVol(46.80, 7.6131, 450, ""), block)}, Absent},
		{"nothing there", []string{fs(nowhere, either)}, Absent},
		{"event in June: advises in June", []string{fs(june, advise)}, Present},
		{"event in June: does not block", []string{fs(june, block)}, Absent},
		{"event in June: nothing in May", []string{fs(may, either)}, Absent},
		{"event in June: after filter", []string{fs(strings.Replace(may, "2026-05-10T11:00:00Z", "2026-07-10T11:00:00Z", 1), advise+`, "after": "2026-07-01T00:00:00Z"`)}, Absent},
		{"event in June: before filter", []string{fs(strings.Replace(may, "2026-05-10T11:00:00Z", "2026-07-10T11:00:00Z", 1), advise+`, "before": "2026-06-02T00:00:00Z"`)}, Present},
		{"clockwise polygon: the smaller area", []string{fs(polygonVol([][2]float64{{46.905, 7.705}, {46.915, 7.715}, {46.905, 7.715}}, alts(0, 100, "SFC", "M")), advise)}, Present},
		{"clockwise polygon beside the zone: the smaller area", []string{fs(polygonVol([][2]float64{{46.93, 7.705}, {46.94, 7.715}, {46.93, 7.715}}, alts(0, 100, "SFC", "M")), either)}, Absent},
		{"no times: any time counts", []string{fs(polygonVol([][2]float64{{46.905, 7.705}, {46.905, 7.715}, {46.915, 7.715}}, ""), advise)}, Present},
		{"AMSL band, W84 below it", []string{fs(circleVol(47.01, 7.81, 100, alts(100, 500, "W84", "M")), block)}, Absent},
		{"AMSL band, W84 inside it", []string{fs(circleVol(47.01, 7.81, 100, alts(1200, 1500, "W84", "M")), block)}, Present},
		{"AMSL band, SFC heights cannot rule it out", []string{fs(circleVol(47.01, 7.81, 100, alts(0, 120, "SFC", "M")), block)}, Present},
		{"Gantrisch, no class: both variants", []string{fs(gant, block)}, Present},
		{"Gantrisch, OPEN class: does not block", []string{fs(gant, block+`, "ed269": {"u_space_class": "OPEN"}`)}, Absent},
		{"Gantrisch, OPEN class: advises", []string{fs(gant, advise+`, "ed269": {"u_space_class": "OPEN"}`)}, Present},
		{"Gantrisch, SPECIFIC class: blocks", []string{fs(gant, block+`, "ed269": {"u_space_class": "SPECIFIC"}`)}, Present},
		{"Gantrisch, SPECIFIC class: does not advise", []string{fs(gant, advise+`, "ed269": {"u_space_class": "SPECIFIC"}`)}, Absent},
		{"Gantrisch, open rule set: does not block", []string{fs(gant, block+`, "operation_rule_set": "open"`)}, Absent},
		{"Gantrisch, certified rule set: blocks", []string{fs(gant, block+`, "operation_rule_set": "CERTIFIED"`)}, Present},
		{"acceptable restrictions: prohibited", []string{fs(proh, `, "ed269": {"acceptable_restrictions": ["PROHIBITED"]}`)}, Present},
		{"acceptable restrictions: others", []string{fs(proh, `, "ed269": {"acceptable_restrictions": ["REQ_AUTHORISATION", "CONDITIONAL"]}`)}, Absent},
		{"restriction source: the zone file", []string{fs(proh, block+`, "restriction_source": "ed269-test.json"`)}, Present},
		{"position inside", []string{`{"position": {"location": {"lat": 46.80, "lng": 7.60}}, "resulting_operational_impact": "Block"}`}, Present},
		{"position inside, above", []string{`{"position": {"location": {"lat": 46.80, "lng": 7.60}, "altitude": {"value": 200, "reference": "SFC", "units": "M"}}}`}, Absent},
		{"position and volume must both hold", []string{`{"position": {"location": {"lat": 46.60, "lng": 7.30}}, "volumes4d": [` + proh + `]}`}, Absent},
		{"position inside, volume outside the times", []string{`{"position": {"location": {"lat": 46.80, "lng": 7.60}}, "after": "2026-07-01T00:00:00Z", "volumes4d": [` +
			withTimes(circleVol(46.80, 7.60, 50, ""), "2026-05-10T10:00:00Z", "2026-05-10T11:00:00Z") + `]}`}, Absent},
		{"any filter set: the second selects", []string{fs(nowhere, ""), fs(proh, block)}, Present},
		{"unsupported rule set", []string{fs(proh, `, "operation_rule_set": "Part107"`)}, UnsupportedFilter},
		{"unknown restriction source", []string{fs(proh, `, "restriction_source": "FAA_LAANC"`)}, UnsupportedFilter},
		{"no geometry", []string{`{"resulting_operational_impact": "Block"}`}, UnsupportedFilter},
		{"a supported set that selects wins over an unsupported one", []string{fs(proh, `, "operation_rule_set": "Part107"`), fs(proh, block)}, Present},
		{"no filter sets", nil, Absent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := query(t, ts.URL, tc.sets...)
			if len(r) != 1 || r[0].Outcome != tc.want {
				t.Fatalf("got %+v, want %s", r, tc.want)
			}
			if (r[0].Message != "") != (tc.want == UnsupportedFilter || tc.want == OutcomeError) {
				t.Errorf("message %q with outcome %s", r[0].Message, r[0].Outcome)
			}
		})
	}
}

func TestQueryOneResultPerCheckInOrder(t *testing.T) {
	ts := newTestServer(t, Config{})
	body := `{"checks": [
	 {"filter_sets": [{"volumes4d": [` + circleVol(46.60, 7.30, 200, "") + `]}]},
	 {"filter_sets": [{"volumes4d": [` + circleVol(46.80, 7.60, 50, "") + `], "resulting_operational_impact": "Block"}]},
	 {"filter_sets": [{"operation_rule_set": "Part107", "volumes4d": [` + circleVol(46.80, 7.60, 50, "") + `]}]}]}`
	resp, out := post(t, ts.URL+BasePath+"/map/queries", body, "")
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode, string(out))
	}
	var got map[string][]map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, r := range got["results"] {
		outcomes = append(outcomes, r["features_selection_outcome"])
	}
	if want := []string{Absent, Present, UnsupportedFilter}; strings.Join(outcomes, ",") != strings.Join(want, ",") {
		t.Fatalf("outcomes %v, want %v (body %s)", outcomes, want, out)
	}
}

func TestQueryBadRequests(t *testing.T) {
	ts := newTestServer(t, Config{})
	for _, tc := range []struct {
		name, body, field string
	}{
		{"empty", ``, ""},
		{"not json", `{"checks": [`, ""},
		{"camelCase", `{"checks": [{"filterSets": []}]}`, "filterSets"},
		{"unknown member", `{"checks": [], "x": 1}`, "x"},
		{"no checks", `{}`, "checks"},
		{"no filter sets", `{"checks": [{}]}`, "checks[0].filter_sets"},
		{"wrong type", `{"checks": [{"filter_sets": [{"after": 5}]}]}`, "checks.filter_sets.after"},
		{"bad time", `{"checks": [{"filter_sets": [{"after": "yesterday"}]}]}`, "checks[0].filter_sets[0].after"},
		{"bad impact", `{"checks": [{"filter_sets": [{"resulting_operational_impact": "Deny"}]}]}`, "checks[0].filter_sets[0].resulting_operational_impact"},
		{"bad restriction", `{"checks": [{"filter_sets": [{"ed269": {"acceptable_restrictions": ["NONE"]}}]}]}`, "checks[0].filter_sets[0].ed269.acceptable_restrictions[0]"},
		{"no outline", `{"checks": [{"filter_sets": [{"volumes4d": [{"volume": {}}]}]}]}`, "checks[0].filter_sets[0].volumes4d[0].volume"},
		{"radius units", `{"checks": [{"filter_sets": [{"volumes4d": [{"volume": {"outline_circle": {"center": {"lat": 1, "lng": 1}, "radius": {"value": 5, "units": "FT"}}}}]}]}]}`, "checks[0].filter_sets[0].volumes4d[0].volume.outline_circle.radius.units"},
		{"latitude", `{"checks": [{"filter_sets": [{"volumes4d": [` + circleVol(91, 7, 5, "") + `]}]}]}`, "checks[0].filter_sets[0].volumes4d[0].volume.outline_circle.center.lat"},
		{"reference", `{"checks": [{"filter_sets": [{"volumes4d": [` + circleVol(46, 7, 5, alts(0, 1, "AMSL", "M")) + `]}]}]}`, "checks[0].filter_sets[0].volumes4d[0].volume.altitude_lower.reference"},
		{"lower above upper", `{"checks": [{"filter_sets": [{"volumes4d": [` + circleVol(46, 7, 5, alts(10, 1, "W84", "M")) + `]}]}]}`, "checks[0].filter_sets[0].volumes4d[0].volume.altitude_lower"},
		{"two vertices", `{"checks": [{"filter_sets": [{"volumes4d": [` + polygonVol([][2]float64{{46, 7}, {46.1, 7}}, "") + `]}]}]}`, "checks[0].filter_sets[0].volumes4d[0].volume.outline_polygon.vertices"},
		{"time end before start", `{"checks": [{"filter_sets": [{"volumes4d": [` + withTimes(circleVol(46, 7, 5, ""), "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z") + `]}]}]}`, "checks[0].filter_sets[0].volumes4d[0].time_end"},
		{"trailing data", `{"checks": []} {}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := post(t, ts.URL+BasePath+"/map/queries", tc.body, "")
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", resp.StatusCode, out)
			}
			var e errorBody
			if err := json.Unmarshal(out, &e); err != nil || e.Message == "" {
				t.Fatalf("body %s: %v", out, err)
			}
			if e.Field != tc.field {
				t.Errorf("field %q, want %q (message %q)", e.Field, tc.field, e.Message)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		name  string
		zones Zones
		want  string
	}{
		{"loading", fixedZones{}, "Starting"},
		{"loaded", fixedZones{loadIndex(t, "testdata/ed269-test.json")}, "Ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, Config{Zones: tc.zones})
			resp, err := http.Get(ts.URL + BasePath + "/status")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var st statusResponse
			if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
				t.Fatal(err)
			}
			if st.Status != tc.want || st.APIName != APIName || st.APIVersion != APIVersion {
				t.Fatalf("%+v, want status %s", st, tc.want)
			}
			// Queries wait for the zones too.
			r, out := post(t, ts.URL+BasePath+"/map/queries", `{"checks": []}`, "")
			if want := map[string]int{"Starting": 503, "Ready": 200}[tc.want]; r.StatusCode != want {
				t.Errorf("query: %d %s, want %d", r.StatusCode, out, want)
			}
		})
	}
}

func FuzzDecodeQuery(f *testing.F) {
	f.Add([]byte(`{"checks": [{"filter_sets": [{"volumes4d": [` + circleVol(46.8, 7.6, 50, alts(0, 100, "SFC", "FT")) + `], "resulting_operational_impact": "Block", "ed269": {"u_space_class": "OPEN", "acceptable_restrictions": ["PROHIBITED"]}}]}]}`))
	f.Add([]byte(`{"checks": [{"filter_sets": [{"position": {"location": {"lat": 1, "lng": 2}, "altitude": {"value": 1, "reference": "W84", "units": "M"}}, "after": "2026-01-01T00:00:00Z", "before": "2026-01-02T00:00:00Z"}]}]}`))
	f.Add([]byte(`{"checks": [{"filter_sets": [{"volumes4d": [` + withTimes(polygonVol([][2]float64{{46, 7}, {46.1, 7}, {46.1, 7.1}}, ""), "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z") + `]}]}]}`))
	idx := loadIndex(f, "testdata/ed269-test.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		checks, err := decodeQuery(b)
		if err != nil {
			if _, ok := err.(*RequestError); !ok {
				t.Fatalf("error %T %v, want *RequestError", err, err)
			}
			return
		}
		// Whatever decodes is answered, one result per check, without a
		// geo error: the decoder let through only valid queries.
		for _, sets := range checks {
			r := evaluate(sets, []layer{{idx: idx}}, testNow, nil)
			if r.Outcome == OutcomeError {
				t.Fatalf("decoded, then %s: %s\n%s", r.Outcome, r.Message, b)
			}
		}
	})
}

func TestDecodeQueryFieldPathNeedsNoRegexp(t *testing.T) {
	// Decode errors of nested members name the member path.
	_, err := decodeQuery(bytes.TrimSpace([]byte(`{"checks": [{"filter_sets": [{"volumes4d": [{"volume": {"outline_circle": {"center": {"lat": "x"}}}}]}]}]}`)))
	re, ok := err.(*RequestError)
	if !ok || re.Field != "checks.filter_sets.volumes4d.volume.outline_circle.center.lat" {
		t.Fatalf("%#v", err)
	}
}

func TestUnknownOperation(t *testing.T) {
	ts := newTestServer(t, Config{})
	for _, tc := range []struct{ method, path string }{
		{"GET", BasePath + "/map/queries"},
		{"POST", BasePath + "/status"},
		{"GET", "/geospatial_map/v2/status"},
	} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e errorBody
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 404 || err != nil || !strings.Contains(e.Message, tc.method+" "+tc.path) {
			t.Errorf("%s %s: %d %+v %v", tc.method, tc.path, resp.StatusCode, e, err)
		}
	}
}
