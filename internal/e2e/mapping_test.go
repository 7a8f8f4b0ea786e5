package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMappedZoneFiles serves a file in the shape of the German portal's
// layers with data/mappings/de-dipul.mapping, given by --zones-mapping and
// found beside the file (in a directory with a KML zone file), with the real binaries: a
// check inside a mapped zone is DENIED, and zones convert writes what
// noflyd serves.
func TestMappedZoneFiles(t *testing.T) {
	src, err := filepath.Abs("../../examples/de-dipul-layer.geojson")
	if err != nil {
		t.Fatal(err)
	}
	mapping, err := filepath.Abs("../../data/mappings/de-dipul.mapping")
	if err != nil {
		t.Fatal(err)
	}
	kml, err := filepath.Abs("../../geo/testdata/mapped/zones.kml")
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, addr, format string) {
		t.Helper()
		r := nofly(t, addr, "check", "--lat", "50.21", "--lon", "8.81", "--alt", "50")
		wantExit(t, r, 1)
		for _, w := range []string{"DENIED", "DE-FLIGHT_RESTRICTION_AREA-Zz01Ab9", "ED-R Testwerk", "PROHIBITED"} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("want %q, got %s", w, r)
			}
		}
		// In the airport zone's hole: clear of it, but inside the CTR.
		r = nofly(t, addr, "check", "--lat", "50.045", "--lon", "8.60", "--alt", "50")
		if !strings.Contains(r.stdout, "DE-CTR-Tq7Xk2a") || strings.Contains(r.stdout, "DE-AIRPORT") {
			t.Errorf("in the airport's hole: %s", r)
		}
		r = nofly(t, addr, "zones", "show", "DE-CTR-Tq7Xk2a")
		wantExit(t, r, 0)
		for _, w := range []string{"Testhausen CTR", "0 m AGL – 762 m AMSL", "feature 0 (" + format + ")"} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("want %q, got %s", w, r)
			}
		}
	}
	t.Run("--zones-mapping", func(t *testing.T) {
		d := startDaemon(t, "--zones", src, "--zones-mapping", mapping)
		check(t, d.addr, "GeoJSON via de-dipul.mapping")
	})
	t.Run("beside", func(t *testing.T) {
		dir := t.TempDir()
		for from, to := range map[string]string{src: "ctr.geojson", mapping: "ctr.mapping", kml: "at.kml"} {
			b, err := os.ReadFile(from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, to), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		d := startDaemon(t, "--zones", dir)
		check(t, d.addr, "GeoJSON via ctr.mapping")
		r := nofly(t, d.addr, "check", "--lat", "48.201", "--lon", "16.301", "--alt", "50")
		wantExit(t, r, 1)
		if !strings.Contains(r.stdout, "AT-TEST-PARK") {
			t.Errorf("KML zone: %s", r)
		}
	})
	t.Run("without the mapping, refused", func(t *testing.T) {
		dir := t.TempDir()
		cmd := exec.Command(filepath.Join(bin, "noflyd"), "--listen", "127.0.0.1:0", "--zones", src, "--db", filepath.Join(dir, "nofly.db"))
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "feature 0 (kontrollzonen.1): properties.name: want a string, got an array") {
			t.Errorf("noflyd: %v, want exit 2 naming properties.id\n%s", err, out)
		}
	})
	t.Run("convert", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "de.geojson")
		r := nofly(t, "", "zones", "convert", src, "--mapping", mapping, "--to", "nofly", "-o", out)
		wantExit(t, r, 0)
		if !strings.Contains(r.stderr, "3 zones from") {
			t.Errorf("convert: %s", r)
		}
		d := startDaemon(t, "--zones", out)
		check(t, d.addr, "nofly")
		r = nofly(t, "", "zones", "convert", src, "--to", "ed318", "-o", out)
		wantExit(t, r, 2)
		if !strings.Contains(r.stderr, "properties.name: want a string, got an array") {
			t.Errorf("convert without mapping: %s", r)
		}
	})
}
