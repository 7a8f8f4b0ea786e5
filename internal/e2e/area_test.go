package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// TestExemptionAreaAt70North: a prohibited zone at 70° N, a 99 km
// north-south route through it with a 1,000 m buffer, and two units' exemptions
// whose areas end at a meridian 996 m and 1,002 m east of the route's north
// end (where the meridians lie closest to it). The first leaves the buffer
// 4 m outside its area: DENIED, saying so; the second contains it: EXEMPTED.
func TestExemptionAreaAt70North(t *testing.T) {
	dir := t.TempDir()
	zones := filepath.Join(dir, "zones.geojson")
	write(t, zones, `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"NO-TEST-70N","name":"test zone at 70 N",
	  "restriction":"PROHIBITED","lower_m":0,"lower_ref":"AGL","upper_m":120,"upper_ref":"AGL","radius_m":2000},
	  "geometry":{"type":"Point","coordinates":[20.0,70.0]}}]}`)
	route := filepath.Join(dir, "route.geojson")
	write(t, route, `{"type":"LineString","coordinates":[[20.0,69.56,60],[20.0,70.44,60]]}`)
	d := startDaemon(t, "--zones", zones)

	north := orb.Point{20.0, 70.44}
	for _, tc := range []struct {
		unit string
		edge float64 // metres east of the route's north end
		code int
		want string
	}{
		{"TROMSO-996", 996, 1, "leg 0 comes within 996 m of the edge of the exemption's area, so its 1000 m buffer leaves the area"},
		{"TROMSO-1002", 1002, 0, "EXEMPTED"},
	} {
		t.Run(tc.unit, func(t *testing.T) {
			lo, hi := 20.0, 21.0 // the meridian tc.edge metres east of north
			for range 100 {
				if mid := (lo + hi) / 2; geo.Distance(north, orb.Point{mid, north[1]}) < tc.edge {
					lo = mid
				} else {
					hi = mid
				}
			}
			area := filepath.Join(dir, tc.unit+".geojson")
			write(t, area, fmt.Sprintf(`{"type":"Polygon","coordinates":[[[19.9,69.5],[%.12f,69.5],[%.12f,70.5],[19.9,70.5],[19.9,69.5]]]}`, lo, lo))
			r := nofly(t, d.addr, "exemptions", "create", "--unit", tc.unit, "--zone", "NO-TEST-70N", "--from", "now", "--until", "+8h",
				"--max-alt", "120", "--area-file", area, "--legal-basis", "LT/2026/70", "--by", "admin")
			wantExit(t, r, 0)
			id := strings.TrimSpace(r.stdout)
			r = nofly(t, d.addr, "plan", "check", route, "--buffer", "1000", "--unit", tc.unit)
			wantExit(t, r, tc.code)
			if tc.code == 0 {
				if !strings.HasPrefix(r.stdout, "EXEMPTED") || !strings.Contains(r.stdout, "covered by "+id) {
					t.Errorf("area 1,002 m east of the route: %s", r)
				}
				return
			}
			if !strings.HasPrefix(r.stdout, "DENIED") || !strings.Contains(r.stdout, id+": the route's legs in the zone: "+tc.want) {
				t.Errorf("area 996 m east of the route: want DENIED and %q, got %s", tc.want, r)
			}
		})
	}
}
