package fence

import (
	"math"
	"testing"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// sphereDistance is the great-circle distance on a sphere of radius r
// metres, as autopilots measure a fence circle's radius (PX4 on 6,371 km,
// ArduPilot on 6,378.1 km).
func sphereDistance(p, q orb.Point, r float64) float64 {
	const rad = math.Pi / 180
	dLat, dLon := (q[1]-p[1])*rad, (q[0]-p[0])*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(p[1]*rad)*math.Cos(q[1]*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(h))
}

// north is the point due north of c at geodesic distance d (WGS84),
// found by bisection on geo.Distance.
func north(c orb.Point, d float64) orb.Point {
	lo, hi := c[1], c[1]+d/100_000
	for range 100 {
		mid := (lo + hi) / 2
		if geo.Distance(c, orb.Point{c[0], mid}) < d {
			lo = mid
		} else {
			hi = mid
		}
	}
	return orb.Point{c[0], hi}
}

// TestCircleExclusionAsAutopilotsMeasure: a circular zone's exclusion
// holds the zone with its clearance as the aircraft measures distances,
// on a sphere: the zone's edge due north (where a WGS84 metre is shortest
// in degrees, near the equator) must not lie beyond the exported radius.
func TestCircleExclusionAsAutopilotsMeasure(t *testing.T) {
	for _, lat := range []float64{0, 15, 30, 45, 52, 70} {
		for _, r := range []float64{100, 1500, 5000, 15000} {
			c := orb.Point{4.7, lat}
			z := Zone{ID: "Z", Shapes: []geo.Shape{{Kind: geo.ShapeCircle, Center: c, Radius: r}}}
			f := Build([]Zone{z}, Flight{Route: []orb.Point{{4.7, lat + 1}}}, 50, 64, DefaultMarginM)
			got := f.Exclusions[0].Circle.RadiusM
			edge := north(c, r+DefaultMarginM)
			for _, sphere := range []float64{6_371_000, 6_378_137} {
				if d := sphereDistance(c, edge, sphere); d > got {
					t.Errorf("lat %g, zone of %g m: the zone's edge with %g m clearance is %.1f m from the centre on a sphere of %g m, beyond the exclusion's %g m",
						lat, r, float64(DefaultMarginM), d, sphere, got)
				}
			}
		}
	}
}
