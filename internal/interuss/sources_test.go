package interuss

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	swissED318  = "../../../shared/data/zones/ch-foca-ed318-testdata.json.gz"
	genevaED269 = "../../../shared/data/zones/interuss-sample-ed269.json"
)

func do(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if os.IsNotExist(err) {
		t.Skipf("%s not present (../shared/data)", from)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func sourceOf(t *testing.T, b []byte) sourceStatus {
	t.Helper()
	var r sourceResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return r.DataSource
}

func TestDataSources(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, genevaED269, filepath.Join(dir, "geneva.json"))
	copyFile(t, swissED318, filepath.Join(dir, "che.json.gz"))
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"UASZoneList": [{"identifier": "A", "restriction": "MAYBE"}, {"identifier": "B"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside.json")
	copyFile(t, genevaED269, outside)
	if err := os.Symlink(outside, filepath.Join(dir, "link.json")); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, Config{DataDir: dir})
	base := ts.URL + BasePath + "/geospatial_data_sources/"
	put := func(id, url string) (int, sourceStatus) {
		code, b := do(t, http.MethodPut, base+id, `{"https_source": {"url": "`+url+`", "format": "ED-269"}}`)
		if code != 200 {
			return code, sourceStatus{}
		}
		return code, sourceOf(t, b)
	}

	const geneva = "0b8d2a83-8c3b-4c11-9b6e-2d6f8a1e7a01"
	const che = "5e0c8f4e-5d0f-4b6a-8e43-3a0d1f0c9b02"
	for _, tc := range []struct {
		name, id, url, status, msg string
	}{
		{"https is not fetched", "a1", "https://caa.example.com/geozones.json", SourceRejected, "no outbound connections"},
		{"outside the data directory", "a2", "file://" + outside, SourceRejected, "outside the data directory"},
		{"symlink out of the data directory", "a3", "file://" + filepath.Join(dir, "link.json"), SourceRejected, "outside the data directory"},
		{"dot-dot out of the data directory", "a4", "file://" + dir + "/../x.json", SourceRejected, ""},
		{"missing file", "a5", "file://" + filepath.Join(dir, "none.json"), SourceRejected, "no such file"},
		{"invalid zones: every problem", "a6", "file://" + filepath.Join(dir, "broken.json"), SourceRejected, "problems"},
		{"ftp", "a7", "ftp://example.com/x", SourceRejected, "scheme"},
		{"relative file URL", "a10", "file:geneva.json", SourceRejected, "absolute"},
		{"Geneva ED-269", geneva, "file://" + filepath.Join(dir, "geneva.json"), SourceReady, "1 zones"},
		{"Swiss ED-318", che, "file://" + filepath.Join(dir, "che.json.gz"), SourceReady, "1179 zones"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, st := put(tc.id, tc.url)
			if code != 200 || st.ID != tc.id || st.Status != tc.status || !strings.Contains(st.Message, tc.msg) {
				t.Fatalf("%d %+v, want %s with %q", code, st, tc.status, tc.msg)
			}
			if st.Status == SourceRejected && st.Message == "" {
				t.Fatal("rejected without a message")
			}
		})
	}
	// The broken file's status names both zones' problems.
	if code, b := do(t, http.MethodGet, base+"a6", ""); code != 200 || !strings.Contains(string(b), "4 problems") || !strings.Contains(string(b), `MAYBE`) || !strings.Contains(string(b), `feature 1 (B): restriction: required`) {
		t.Errorf("broken source: %d %s", code, b)
	}
	// The same id again: the same URL is the same source, another one a conflict.
	if code, st := put(geneva, "file://"+filepath.Join(dir, "geneva.json")); code != 200 || st.Status != SourceReady {
		t.Errorf("put again: %d %+v", code, st)
	}
	if code, _ := put(geneva, "file://"+filepath.Join(dir, "che.json.gz")); code != http.StatusConflict {
		t.Errorf("put another URL under the same id: %d, want 409", code)
	}
	if code, b := do(t, http.MethodPut, base+"a8", `{"https_source": {"url": "file:///x", "format": "ED-318"}}`); code != 200 || sourceOf(t, b).Status != SourceUnsupported {
		t.Errorf("ED-318 format: %d %s", code, b)
	}
	if code, b := do(t, http.MethodPut, base+"a9", `{"https_source": {}}`); code != 400 || !strings.Contains(string(b), "https_source.url") {
		t.Errorf("no url: %d %s", code, b)
	}
	if code, b := do(t, http.MethodPut, base+"a%20b", `{"https_source": {"url": "file:///x"}}`); code != 400 {
		t.Errorf("bad id: %d %s", code, b)
	}
	code, b := do(t, http.MethodGet, ts.URL+BasePath+"/geospatial_data_sources", "")
	var list listSourcesResponse
	if err := json.Unmarshal(b, &list); code != 200 || err != nil || len(list.DataSources) != 11 {
		t.Errorf("list: %d %s", code, b)
	}

	// The sources join the zones queried, each under its id.
	lsxx := circleVol(46.215, 6.168, 50, alts(0, 100, "SFC", "M")) // Geneva sample: REQ_AUTHORISATION from 0 m AGL
	bern := circleVol(46.9402526, 7.4355068, 100, alts(0, 100, "SFC", "M"))
	lake := circleVol(46.88, 6.85, 100, alts(0, 100, "SFC", "M"))
	for _, tc := range []struct {
		name string
		set  string
		want string
	}{
		{"Geneva blocks", `{"volumes4d": [` + lsxx + `], "resulting_operational_impact": "Block"}`, Present},
		{"Geneva does not advise", `{"volumes4d": [` + lsxx + `], "resulting_operational_impact": "Advise"}`, Absent},
		{"Geneva from its source", `{"volumes4d": [` + lsxx + `], "restriction_source": "` + geneva + `"}`, Present},
		{"Geneva also in the Swiss data", `{"volumes4d": [` + lsxx + `], "restriction_source": "` + che + `"}`, Present},
		{"Geneva not in noflyd's zone file", `{"volumes4d": [` + lsxx + `], "restriction_source": "ed269-test.json"}`, Absent},
		{"Bern-Belp blocks", `{"volumes4d": [` + bern + `], "resulting_operational_impact": "Block", "restriction_source": "` + che + `"}`, Present},
		{"Bern-Belp: REQ_AUTHORIZATION reads as REQ_AUTHORISATION", `{"volumes4d": [` + bern + `], "ed269": {"acceptable_restrictions": ["REQ_AUTHORISATION"]}}`, Present},
		{"Bern-Belp: not PROHIBITED", `{"volumes4d": [` + bern + `], "ed269": {"acceptable_restrictions": ["PROHIBITED"]}}`, Absent},
		{"Lake Neuchâtel: nothing", `{"volumes4d": [` + lake + `], "resulting_operational_impact": "BlockOrAdvise"}`, Absent},
		{"rejected source is no source", `{"volumes4d": [` + lsxx + `], "restriction_source": "a6"}`, UnsupportedFilter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := query(t, ts.URL, tc.set); r[0].Outcome != tc.want {
				t.Fatalf("%+v, want %s", r, tc.want)
			}
		})
	}

	// Deleted, a source leaves the queries.
	if code, b := do(t, http.MethodDelete, base+geneva, ""); code != 200 || sourceOf(t, b).Status != SourceDeactivated {
		t.Fatalf("delete: %d %s", code, b)
	}
	if code, _ := do(t, http.MethodGet, base+geneva, ""); code != 404 {
		t.Errorf("get after delete: %d, want 404", code)
	}
	if code, _ := do(t, http.MethodDelete, base+geneva, ""); code != 404 {
		t.Errorf("delete again: %d, want 404", code)
	}
	if r := query(t, ts.URL, `{"volumes4d": [`+lsxx+`], "restriction_source": "`+geneva+`"}`); r[0].Outcome != UnsupportedFilter {
		t.Errorf("Geneva after delete: %+v", r)
	}
}

func TestDataSourcesWithoutDataDir(t *testing.T) {
	ts := newTestServer(t, Config{})
	code, b := do(t, http.MethodPut, ts.URL+BasePath+"/geospatial_data_sources/x1", `{"https_source": {"url": "file:///etc/passwd"}}`)
	if st := sourceOf(t, b); code != 200 || st.Status != SourceRejected || !strings.Contains(st.Message, "--interuss-data-dir") {
		t.Fatalf("%d %s", code, b)
	}
}
