package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nofly-project/nofly/geo"
)

// TestZonesConvert converts the dipul-shaped example through its mapping
// without a server, and refuses what it must, writing nothing.
func TestZonesConvert(t *testing.T) {
	const src, mapping = "../../examples/de-dipul-layer.geojson", "../../data/mappings/de-dipul.mapping"
	dir := t.TempDir()
	out := filepath.Join(dir, "de.json")
	for _, to := range []string{"nofly", "ed318"} {
		_, errOut, code := runCLI(t, nil, "zones", "convert", src, "--mapping", mapping, "--to", to, "-o", out)
		if code != 0 || !strings.Contains(errOut, "3 zones from "+src+" written as "+to) {
			t.Fatalf("--to %s: exit %d, stderr %q", to, code, errOut)
		}
		zones, err := geo.ReadFile(out)
		if err != nil || len(zones) != 3 || zones[2].ID != "DE-FLIGHT_RESTRICTION_AREA-Zz01Ab9" {
			t.Fatalf("--to %s: read back %d zones, %v", to, len(zones), err)
		}
	}
	stdout, _, code := runCLI(t, nil, "zones", "convert", src, "--mapping", mapping, "--to", "nofly", "-o", "-")
	if code != 0 || !strings.HasPrefix(stdout, `{"type": "FeatureCollection", "features": [`) || strings.Count(stdout, "\n") != 5 {
		t.Errorf("-o -: exit %d, %q", code, stdout)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{src, "--to", "nofly"}, "-o OUT is required"},
		{[]string{src, "--to", "kml", "-o", out}, `--to "kml": want ed318 or nofly`},
		{[]string{"-o", out, "--to", "nofly"}, "no zone file given"},
		{[]string{src, "--to", "nofly", "-o", filepath.Join(dir, "x.json")}, "properties.name: want a string, got an array"},
		{[]string{"../../geo/testdata/zones/gantrisch-ed269.json", "--to", "nofly", "-o", filepath.Join(dir, "x.json")}, "--to nofly: 3 problems in zone data"},
		{[]string{src, "--mapping", "missing.mapping", "--to", "nofly", "-o", filepath.Join(dir, "x.json")}, "missing.mapping: open: no such file"},
	} {
		_, errOut, code := runCLI(t, nil, append([]string{"zones", "convert"}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.json")); !os.IsNotExist(err) {
		t.Errorf("a refused conversion left x.json: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}
