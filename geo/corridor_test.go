package geo

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
)

// corridorHow says how Corridor draws route: "outline", "loop" or "hull".
func corridorHow(route []orb.Point, buffer float64) string {
	b := orb.MultiPoint(route).Bound()
	d := metresToDegLat(buffer + corridorExtraM)
	k := math.Cos((max(math.Abs(b.Min[1]), math.Abs(b.Max[1])) + d) * rad)
	var plane []orb.Point
	for _, p := range route {
		if q := (orb.Point{p[0] * k, p[1]}); len(plane) == 0 || q != plane[len(plane)-1] {
			plane = append(plane, q)
		}
	}
	_, how := corridorPlane(plane, d)
	return how
}

// checkCorridor demands that ring is closed, simple, within the vertex
// limit and contains route buffered by buffer metres, measured
// geodesically (ContainsPath: clearance above buffer + 0.1 m).
func checkCorridor(t *testing.T, ring orb.Ring, route []orb.Point, buffer float64, limit int) {
	t.Helper()
	if len(ring) < 4 || ring[0] != ring[len(ring)-1] {
		t.Fatalf("not a closed ring: %v", ring)
	}
	if n := len(ring) - 1; n > limit {
		t.Errorf("%d vertices, limit %d", n, limit)
	}
	if !simple([]orb.Point(ring[:len(ring)-1])) {
		t.Errorf("the ring is not simple")
	}
	if area := orb.Ring(ring).Orientation(); area != orb.CCW {
		t.Errorf("orientation %v", area)
	}
	shape := Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{ring}}}
	if c := ContainsPath(shape, route, nil, buffer); !c.Contained() {
		t.Errorf("the corridor does not contain the route buffered by %g m: %+v", buffer, c)
	}
}

// nearest is the least geodesic distance from p to route, sampled every
// step metres along its legs (so at most step/2 more than the true one).
func nearest(p orb.Point, route []orb.Point, step float64) float64 {
	best := math.Inf(1)
	for i := range route {
		if i == len(route)-1 {
			best = min(best, Distance(p, route[i]))
			break
		}
		a, b := route[i], route[i+1]
		n := int(math.Ceil(Distance(a, b)/step)) + 1
		for j := 0; j <= n; j++ {
			f := float64(j) / float64(n)
			best = min(best, Distance(p, orb.Point{a[0] + f*(b[0]-a[0]), a[1] + f*(b[1]-a[1])}))
		}
	}
	return best
}

func TestCorridor(t *testing.T) {
	westpoort := []orb.Point{{4.7600, 52.3900}, {4.7800, 52.3950}, {4.8100, 52.3960}, {4.8300, 52.3990}, {4.8500, 52.4010}, {4.8700, 52.3990}, {4.8790, 52.3950}}
	zigzag := []orb.Point{{4.70, 52.30}, {4.72, 52.31}, {4.74, 52.30}, {4.76, 52.31}, {4.78, 52.30}}
	var patrol []orb.Point // 300 legs along a meandering river
	for i := range 301 {
		x := float64(i) * 0.002
		patrol = append(patrol, orb.Point{4.5 + x, 52.2 + 0.01*math.Sin(x*20)})
	}
	for _, tc := range []struct {
		name   string
		route  []orb.Point
		buffer float64
		limit  int
		how    string // outline, loop or hull
	}{
		{"one point", []orb.Point{{4.76, 52.31}}, 500, 64, "outline"},
		{"a straight leg", []orb.Point{{4.76, 52.31}, {4.86, 52.35}}, 1050, 64, "outline"},
		{"the Westpoort mission", westpoort, 1050, 64, "outline"},
		{"the Westpoort mission, 50 m", westpoort, 50, 64, "outline"},
		{"a zigzag", zigzag, 300, 64, "outline"},
		{"an L", []orb.Point{{4.70, 52.30}, {4.80, 52.30}, {4.80, 52.40}}, 200, 64, "outline"},
		{"a hairpin tighter than the buffer", []orb.Point{{4.70, 52.30}, {4.80, 52.30}, {4.70, 52.302}}, 500, 64, "hull"},
		{"a route crossing itself", []orb.Point{{4.70, 52.30}, {4.80, 52.35}, {4.80, 52.30}, {4.70, 52.35}}, 200, 64, "hull"},
		{"a zigzag to 12 vertices", zigzag, 300, 12, "outline"},
		{"a zigzag to 4 vertices", zigzag, 300, 4, "outline"},
		{"the Westpoort mission to 5 vertices", westpoort, 1050, 5, "outline"},
		{"the Westpoort mission, out and back", append(slices.Clone(westpoort), westpoort[0]), 1050, 64, "loop"},
		{"a patrol circuit", []orb.Point{{4.70, 52.30}, {4.75, 52.29}, {4.80, 52.31}, {4.78, 52.35}, {4.74, 52.33}, {4.70, 52.30}}, 300, 64, "loop"},
		{"a circuit crossing itself", []orb.Point{{4.70, 52.30}, {4.80, 52.35}, {4.80, 52.30}, {4.70, 52.35}, {4.70, 52.30}}, 200, 64, "hull"},
		{"an L out and back along itself", []orb.Point{{4.70, 52.30}, {4.80, 52.30}, {4.80, 52.35}, {4.80, 52.30}, {4.70, 52.30}}, 200, 64, "outline"},
		{"up and down a road twice", []orb.Point{{4.70, 52.30}, {4.75, 52.31}, {4.80, 52.30}, {4.75, 52.31}, {4.70, 52.30}, {4.75, 52.31}, {4.80, 52.30}}, 150, 64, "outline"},
		{"a circuit flown twice", []orb.Point{{4.70, 52.30}, {4.75, 52.29}, {4.80, 52.31}, {4.70, 52.30}, {4.75, 52.29}, {4.80, 52.31}, {4.70, 52.30}}, 300, 64, "loop"},
		{"a spur off a road (a T)", []orb.Point{{4.70, 52.30}, {4.80, 52.30}, {4.75, 52.30}, {4.75, 52.35}, {4.75, 52.30}, {4.70, 52.30}}, 150, 64, "hull"},
		{"a meandering patrol of 300 legs", patrol, 100, 64, "outline"},
		{"far north", []orb.Point{{18.9, 69.6}, {19.1, 69.7}, {19.3, 69.6}}, 2000, 64, "outline"},
		{"south and west", []orb.Point{{-70.6, -33.4}, {-70.5, -33.45}, {-70.4, -33.4}}, 800, 64, "outline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := corridorHow(tc.route, tc.buffer); got != tc.how {
				t.Errorf("drawn as %s, want %s", got, tc.how)
			}
			ring := Corridor(tc.route, tc.buffer, tc.limit)
			checkCorridor(t, ring, tc.route, tc.buffer, tc.limit)
			for range 3 {
				if again := Corridor(tc.route, tc.buffer, tc.limit); !slices.Equal(again, ring) {
					t.Fatal("the same route gave another corridor")
				}
			}
			if tc.how == "hull" || len(ring)-1 >= tc.limit {
				return
			}
			// Not much larger than the buffer: every vertex within f·buffer
			// of the route. The bound f: the cap polygons' corners are
			// 1/cos(π/16) = 1.0196 out; a plane unit is at most 111,694 m
			// (a degree of latitude at the pole) / 110,574 m = 1.0101 of the
			// metres it was drawn for, ·1.001 rounding; the east-west scale,
			// taken at the highest latitude reached, is off elsewhere by at
			// most tan φ·Δφ (Δφ the latitudes spanned, in radians).
			b := ExpandBound(orb.MultiPoint(tc.route).Bound(), tc.buffer)
			top := max(math.Abs(b.Min[1]), math.Abs(b.Max[1])) * rad
			f := 1 / math.Cos(math.Pi/16) * 111_694 / 110_574 * 1.001 * (1 + math.Tan(top)*(b.Max[1]-b.Min[1])*rad)
			const step = 2.0
			for _, v := range ring {
				if d := nearest(v, tc.route, step); d > f*(tc.buffer+corridorExtraM)+step {
					t.Errorf("vertex %v is %.1f m from the route, more than %.4f × %g m", v, d, f, tc.buffer)
				}
			}
		})
	}
}

// TestCorridorProperty: random routes of up to 30 legs, buffers of 20 m to
// 3 km and vertex limits of 4 to 64, at latitudes up to 75°: the corridor
// always contains the buffered route, geodesically, and keeps the limit.
func TestCorridorProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 2))
	n := 200
	if testing.Short() {
		n = 40
	}
	drawn, hows := 0, map[string]int{}
	for i := range n {
		lat := rng.Float64()*150 - 75
		lon := rng.Float64()*340 - 170
		route := []orb.Point{{lon, lat}}
		heading := rng.Float64() * 2 * math.Pi
		for range 1 + rng.IntN(30) {
			p := route[len(route)-1]
			if i%2 == 0 { // a random walk
				route = append(route, orb.Point{p[0] + (rng.Float64()-0.5)*0.05, p[1] + (rng.Float64()-0.5)*0.03})
				continue
			}
			// A patrol: legs of 0.2 to 3 km turning up to 60° either way.
			heading += (rng.Float64() - 0.5) * 2 * math.Pi / 3
			l := (200 + rng.Float64()*2800) / 111_000
			route = append(route, orb.Point{p[0] + l*math.Cos(heading)/math.Cos(p[1]*rad), p[1] + l*math.Sin(heading)})
		}
		switch i % 4 {
		case 1: // back to the start
			route = append(route, route[0])
		case 3: // back along its own legs
			for j := len(route) - 2; j >= 0; j-- {
				route = append(route, route[j])
			}
		}
		buffer := 20 + rng.Float64()*3000
		limit := 4 + rng.IntN(61)
		how := corridorHow(route, buffer)
		hows[how]++
		if how != "hull" {
			drawn++
		}
		ring := Corridor(route, buffer, limit)
		t.Run("", func(t *testing.T) {
			checkCorridor(t, ring, route, buffer, limit)
			if t.Failed() {
				t.Logf("route %d: %v, buffer %g, limit %d", i, route, buffer, limit)
			}
		})
	}
	t.Logf("%d of %d routes drawn as their outline or loop: %v", drawn, n, hows)
}
