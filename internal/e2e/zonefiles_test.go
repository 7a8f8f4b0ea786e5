package e2e

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCategoryVariants serves the two variants of "Gantrisch Nature Park"
// (one ED-269 identifier, different uSpaceClass, as the InterUSS CHE-1 file
// publishes them), which noflyd refused to start on, and checks a flight in
// the park by category of operation with the real binaries.
func TestCategoryVariants(t *testing.T) {
	file, err := filepath.Abs("../../geo/testdata/zones/gantrisch-ed269.json")
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "--zones", file)
	in := []string{"check", "--lat", "46.73", "--lon", "7.42", "--alt", "50"}
	for _, tc := range []struct {
		category string
		exit     int
		verdict  string
		want     []string
	}{
		{"", 1, "DENIED", []string{"REQ_AUTHORISATION [specific, certified]", "NO_RESTRICTION [open]"}},
		{"open", 0, "CLEAR", []string{"NO_RESTRICTION [open]"}},
		{"specific", 1, "DENIED", []string{"REQ_AUTHORISATION [specific, certified]"}},
	} {
		t.Run("category "+tc.category, func(t *testing.T) {
			args := in
			if tc.category != "" {
				args = append(args[:len(args):len(args)], "--category", tc.category)
			}
			r := nofly(t, d.addr, args...)
			wantExit(t, r, tc.exit)
			if !strings.HasPrefix(r.stdout, tc.verdict) {
				t.Errorf("want %s first, got %s", tc.verdict, r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("want %q, got %s", w, r)
				}
			}
		})
	}
	r := nofly(t, d.addr, "zones", "show", "Gantrisch Nature Park")
	wantExit(t, r, 0)
	for _, w := range []string{"Categories:     specific, certified", "U-space class:  SPECIFIC, CERTIFIED", "Categories:     open"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("want %q, got %s", w, r)
		}
	}
	r = nofly(t, d.addr, "check", "--lat", "46.73", "--lon", "7.42", "--category", "leisure")
	wantExit(t, r, 2)
}

// TestDaemonRefusesHostileZoneFiles: a zone drawn across ±180° (which
// answered CLEAR inside it), control characters in a zone's texts, and a
// gzip bomb are each refused at start with the file, feature and field.
func TestDaemonRefusesHostileZoneFiles(t *testing.T) {
	dir := t.TempDir()
	feature := func(props, geometry string) string {
		return `{"type":"FeatureCollection","features":[{"type":"Feature","properties":` + props + `,"geometry":` + geometry + `}]}`
	}
	square := `{"type":"Polygon","coordinates":[[[5,52],[5.1,52],[5.1,52.1],[5,52]]]}`
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 256 {
		zw.Write(zeros)
	}
	zw.Close()
	for _, tc := range []struct {
		name, content, want string
	}{
		{"fiji.geojson", feature(`{"id":"FJ-1"}`, `{"type":"Polygon","coordinates":[[[179.5,-17],[-179.5,-17],[-179.5,-16],[179.5,-16],[179.5,-17]]]}`),
			"fiji.geojson: feature 0 (FJ-1): geometry.coordinates[0][0]: edge from position 0 (179.5, -17) to position 1 (-179.5, -17) spans 359° of longitude"},
		{"escape.geojson", feature(`{"id":"A","message":"call tower\r\u001b[2K\u001b[1A\u001b[32mNO CONDITIONS - FLY FREELY"}`, square),
			"escape.geojson: feature 0 (A): properties.message: control character U+000D (carriage return) at byte 10"},
		{"bomb.json.gz", bomb.String(), "bomb.json.gz: gzip: refused while unpacking"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(filepath.Join(bin, "noflyd"), "--listen", "127.0.0.1:0", "--zones", path, "--db", filepath.Join(dir, "nofly.db"))
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
				t.Errorf("noflyd: %v, want exit 2 naming %q\n%s", err, tc.want, out)
			}
			if strings.ContainsAny(string(out), "\x1b\r") {
				t.Errorf("the log holds raw control characters: %q", out)
			}
		})
	}
}
