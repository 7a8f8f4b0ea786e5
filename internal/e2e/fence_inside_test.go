package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFenceExcludesZonesInsideTheInclusion: a patrol circuit around a
// prohibited zone (a prison yard, 500 m) that the route with its buffer and
// margin never reaches. The fence's inclusion is the circuit with what it
// encloses, so the zone lies inside it: it must be fenced off, or the
// aircraft's own fence lets it fly over the zone.
func TestFenceExcludesZonesInsideTheInclusion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	zones := filepath.Join(dir, "zones.geojson")
	write(t, zones, zoneFile(map[string]float64{"T-YARD": 3.5}))
	d := startDaemon(t, "--zones", zones)
	// A square circuit about 4 km a side around 53.5 N 3.5 E, 60 m AGL.
	circuit := filepath.Join(dir, "circuit.geojson")
	write(t, circuit, `{"type":"LineString","coordinates":[[3.47,53.482,60],[3.53,53.482,60],[3.53,53.518,60],[3.47,53.518,60],[3.47,53.482,60]]}`)

	// Without the zone inside, the check alone is clear.
	wantExit(t, nofly(t, d.addr, "plan", "check", circuit, "--buffer", "50"), 0)

	out := filepath.Join(dir, "fenced.plan")
	r := nofly(t, d.addr, "plan", "fence", circuit, "--buffer", "50", "--margin", "200", "-o", out)
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "Of them 1 beyond 200 m but inside the inclusion, where the aircraft may fly (T-YARD)") {
		t.Errorf("the zone inside the circuit is not fenced off:\n%s", r)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var plan struct {
		GeoFence struct {
			Circles []struct {
				Circle struct {
					Center [2]float64 `json:"center"`
					Radius float64    `json:"radius"`
				} `json:"circle"`
				Inclusion bool `json:"inclusion"`
			} `json:"circles"`
		} `json:"geoFence"`
	}
	if err := json.Unmarshal(raw, &plan); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range plan.GeoFence.Circles {
		if !c.Inclusion && c.Circle.Center == [2]float64{53.5, 3.5} && c.Circle.Radius >= 500 {
			found = true
		}
	}
	if !found {
		t.Errorf("no exclusion circle over the zone (53.5 N 3.5 E, 500 m):\n%s", raw)
	}
}
