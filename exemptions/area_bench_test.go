package exemptions

import (
	"testing"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// BenchmarkContainsFlight is one area rule: a route of four 3.5 km legs
// with a 500 m buffer, two of them in the zone, against an exemption
// polygon and circle that contain them, and an operating area in a
// polygon.
func BenchmarkContainsFlight(b *testing.B) {
	route := []orb.Point{{4.70, 52.3}, {4.75, 52.3}, {4.80, 52.3}, {4.85, 52.3}, {4.90, 52.3}}
	hit := baseHit()
	hit.Legs = []int{1, 2}
	f := baseFlight()
	f.Kind, f.Route, f.Buffer = FlightRoute, route, 500
	area := baseFlight()
	area.Kind, area.Area, area.Buffer = FlightArea, *square(orb.Point{4.8, 52.3}, 0.05), 500
	cases := []struct {
		name string
		ex   *geo.Shape
		f    Flight
	}{
		{"route/polygon", square(orb.Point{4.80, 52.3}, 0.06), f},
		{"route/circle", &geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.80, 52.3}, Radius: 4000}, f},
		{"area/polygon", square(orb.Point{4.8, 52.3}, 0.1), area},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if msg := containsFlight(*c.ex, hit, c.f); msg != "" {
				b.Fatal(msg)
			}
			b.ReportAllocs()
			for b.Loop() {
				containsFlight(*c.ex, hit, c.f)
			}
		})
	}
}
