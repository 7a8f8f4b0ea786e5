package exemptions

import (
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// TestCoverAt70North: a 99 km north-south route at 70° N with a 1,000 m
// buffer, and an exemption area whose east edge is a meridian 996 m from
// the leg's north end (where meridians lie closest): not covered, and the
// reason names the leg, the distance and the buffer; with the edge
// 1,002 m away, covered.
func TestCoverAt70North(t *testing.T) {
	route := []orb.Point{{20.0, 69.56}, {20.0, 70.44}}
	north := route[1]
	// The longitude of the meridian d metres east of the north end.
	meridian := func(d float64) float64 {
		lo, hi := 20.0, 21.0
		for range 100 {
			if mid := (lo + hi) / 2; geo.Distance(north, orb.Point{mid, north[1]}) < d {
				lo = mid
			} else {
				hi = mid
			}
		}
		return lo
	}
	hit := baseHit()
	hit.Legs = []int{0}
	f := baseFlight()
	f.Kind, f.Route, f.Buffer = FlightRoute, route, 1000
	tests := []struct {
		edge float64
		want string // "" when covered
	}{
		{996, "the route's legs in the zone: leg 0 comes within 996 m of the edge of the exemption's area, so its 1000 m buffer leaves the area"},
		{999.5, "leg 0 comes within 999.5 m of the edge of the exemption's area, so its 1000 m buffer leaves the area"},
		{1002, ""},
	}
	for _, tc := range tests {
		lon := meridian(tc.edge)
		ex := base()
		ex.Area = &geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{{{
			{19.9, 69.5}, {lon, 69.5}, {lon, 70.5}, {19.9, 70.5}, {19.9, 69.5}}}}}
		d := Cover(hit, f, []*Exemption{ex}, t0)
		switch {
		case tc.want == "" && !d.Covered():
			t.Errorf("edge %v m away: not covered: %v", tc.edge, d.Reasons)
		case tc.want != "" && d.Covered():
			t.Errorf("edge %v m away: covered, want %q", tc.edge, tc.want)
		case tc.want != "" && !strings.Contains(d.Reasons[0].Text, tc.want):
			t.Errorf("edge %v m away: reason %q, want %q", tc.edge, d.Reasons[0].Text, tc.want)
		}
	}
}
