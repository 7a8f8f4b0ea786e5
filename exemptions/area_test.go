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

// TestAreaReasons: each way an area can fail to contain a flight reads as
// its own reason.
func TestAreaReasons(t *testing.T) {
	ring := square(orb.Point{4.8, 52.3}, 0.1).Polygons[0][0]
	hole := square(orb.Point{4.8, 52.3}, 0.01).Polygons[0][0]
	holed := &geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{{ring, {hole[0], hole[3], hole[2], hole[1], hole[0]}}}}
	tests := []struct {
		name string
		f    func(f *Flight)
		want string
	}{
		{"position outside", func(f *Flight) { f.Point = orb.Point{5, 52.3} },
			"the position is not inside the exemption's area"},
		{"position 5 cm inside the edge", func(f *Flight) { f.Point = orb.Point{4.8999993, 52.3} },
			"the position comes within 0.05 m of the edge of the exemption's area, too near to count as inside (nofly allows 0.1 m for error)"},
		{"route leg across the hole", func(f *Flight) {
			f.Kind, f.Route, f.Buffer = FlightRoute, []orb.Point{{4.75, 52.3}, {4.85, 52.3}}, 10
		}, "the route's legs in the zone: leg 0 is not inside the exemption's area"},
		{"route whose buffer reaches the hole", func(f *Flight) {
			f.Kind, f.Route, f.Buffer = FlightRoute, []orb.Point{{4.75, 52.32}, {4.85, 52.32}}, 2000
		}, "the route's legs in the zone: leg 0 comes within 1112.7 m of the edge of the exemption's area, so its 2000 m buffer leaves the area"},
		{"route without waypoints", func(f *Flight) { f.Kind, f.Route = FlightRoute, nil },
			"the route's legs in the zone cannot be measured against the exemption's area"},
		{"operating area around the hole", func(f *Flight) {
			f.Kind, f.Area = FlightArea, *square(orb.Point{4.8, 52.3}, 0.05)
		}, "the operating area holds part of the edge of the exemption's area (a hole in it)"},
		{"operating area across the edge", func(f *Flight) {
			f.Kind, f.Area = FlightArea, *square(orb.Point{4.9, 52.35}, 0.02)
		}, "the operating area: edge 0 is not inside the exemption's area"},
		{"circular operating area whose buffer reaches the hole", func(f *Flight) {
			f.Kind, f.Area, f.Buffer = FlightArea, geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.8, 52.33}, Radius: 1000}, 1500
		}, "the operating area comes within 1225.5 m of the edge of the exemption's area, so its 1500 m buffer leaves the area"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := baseFlight()
			tc.f(&f)
			hit := baseHit()
			if got := containsFlight(*holed, hit, f); !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
