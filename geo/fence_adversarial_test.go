package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// offsetM is p moved e metres east and n metres north (small moves only).
func offsetM(p orb.Point, e, n float64) orb.Point {
	return orb.Point{p[0] + e/(111_320*math.Cos(p[1]*rad)), p[1] + n/110_574}
}

// TestCorridorAdversarial: routes built to break the corridor (hairpins and
// U-turns whose middle leg is between one and two buffers long, legs of a
// metre under a kilometre's buffer, repeated waypoints, figure-eight loops,
// long east-west legs far north, a buffer of 0), each measured
// geodesically.
func TestCorridorAdversarial(t *testing.T) {
	type tc struct {
		name   string
		route  []orb.Point
		buffer float64
	}
	var cases []tc
	add := func(name string, route []orb.Point, buffer float64) {
		cases = append(cases, tc{name, route, buffer})
	}
	for _, lat := range []float64{0.3, 52.3, -45, 70, 80} {
		o := orb.Point{4.7, lat}
		for _, buffer := range []float64{0, 30, 500} {
			B := max(buffer, 1)
			for _, f := range []float64{0.2, 0.9, 1.0, 1.1, 1.5, 1.9, 2.0, 2.1, 3} {
				mid := f * B
				// U-turn: east, north by mid, west.
				add(fmt.Sprintf("U lat %g buffer %g mid %.1fB", lat, buffer, f),
					[]orb.Point{o, offsetM(o, 20*B, 0), offsetM(o, 20*B, mid), offsetM(o, 5*B, mid)}, buffer)
				// Z: east, back west-south-west, east (a zigzag of short legs).
				add(fmt.Sprintf("Z lat %g buffer %g leg %.1fB", lat, buffer, f),
					[]orb.Point{o, offsetM(o, 10*B, 0), offsetM(o, 10*B-mid, mid/3), offsetM(o, 20*B, mid/2)}, buffer)
				// A spike: out, a short sharp step, back close by.
				add(fmt.Sprintf("spike lat %g buffer %g %.1fB", lat, buffer, f),
					[]orb.Point{o, offsetM(o, 10*B, 0), offsetM(o, 10*B+mid, mid/10), offsetM(o, 0, mid/5)}, buffer)
				// A square spiral closing in on itself.
				var sp []orb.Point
				p := o
				for i := range 12 {
					l := (12 - float64(i)) * mid
					dirs := [4][2]float64{{1, 0}, {0, 1}, {-1, 0}, {0, -1}}
					sp = append(sp, p)
					p = offsetM(p, dirs[i%4][0]*l, dirs[i%4][1]*l)
				}
				add(fmt.Sprintf("spiral lat %g buffer %g step %.1fB", lat, buffer, f), sp, buffer)
			}
			// Legs of a metre and repeated points.
			add(fmt.Sprintf("tiny legs lat %g buffer %g", lat, buffer),
				[]orb.Point{o, o, offsetM(o, 1, 0), offsetM(o, 1, 1), o, offsetM(o, 0.5, 0.3), offsetM(o, 0.5, 0.3)}, buffer)
			// Legs of a tenth of a millimetre, and a turn back along one.
			add(fmt.Sprintf("hair legs lat %g buffer %g", lat, buffer),
				[]orb.Point{o, {o[0] + 1e-9, o[1]}, {o[0] + 1e-9, o[1] + 1e-9}, offsetM(o, 20*B, 0), {o[0] + 2e-9, o[1]}, offsetM(o, 0, 20*B)}, buffer)
			// A figure eight flown back to its start.
			add(fmt.Sprintf("figure eight lat %g buffer %g", lat, buffer),
				[]orb.Point{o, offsetM(o, 30*B, 30*B), offsetM(o, 30*B, 0), offsetM(o, 0, 30*B), o}, buffer)
			// A loop whose closing leg is its first leg reversed, then more.
			add(fmt.Sprintf("lollipop lat %g buffer %g", lat, buffer),
				[]orb.Point{o, offsetM(o, 20*B, 0), offsetM(o, 30*B, 10*B), offsetM(o, 20*B, 20*B), offsetM(o, 20*B, 0), o}, buffer)
			// A loop that comes back near, not onto, its start.
			add(fmt.Sprintf("near loop lat %g buffer %g", lat, buffer),
				[]orb.Point{o, offsetM(o, 20*B, 0), offsetM(o, 20*B, 20*B), offsetM(o, 0, 20*B), offsetM(o, 0, 1.5*B)}, buffer)
		}
		// Long east-west legs: the lon/lat line bulges away from the geodesic.
		add(fmt.Sprintf("long legs lat %g", lat), []orb.Point{o, {o[0] + 3, o[1]}, {o[0] + 3, o[1] + 0.5}, {o[0], o[1] + 0.2}}, 200)
	}
	for _, c := range cases {
		for _, limit := range []int{4, 7, 16, 64, 255} {
			ring := Corridor(c.route, c.buffer, limit)
			t.Run(fmt.Sprintf("%s limit %d", c.name, limit), func(t *testing.T) {
				checkCorridor(t, ring, c.route, c.buffer, limit)
				if t.Failed() {
					t.Logf("how %s; route %v", corridorHow(c.route, c.buffer), c.route)
				}
			})
		}
	}
}

// TestCorridorPropertyTight: random routes with short legs (a tenth of a
// buffer to three buffers) and sharp turns, where the inner offsets of
// neighbouring bends compete for the same leg.
func TestCorridorPropertyTight(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 13))
	for i := range 400 {
		lat := rng.Float64()*160 - 80
		buffer := []float64{0, 5, 50, 400}[i%4]
		B := max(buffer, 1)
		route := []orb.Point{{rng.Float64()*300 - 150, lat}}
		heading := rng.Float64() * 2 * math.Pi
		for range 2 + rng.IntN(12) {
			heading += (rng.Float64() - 0.5) * 2 * math.Pi * 0.95
			l := B * (0.1 + rng.Float64()*3)
			route = append(route, offsetM(route[len(route)-1], l*math.Cos(heading), l*math.Sin(heading)))
		}
		if i%5 == 0 {
			route = append(route, route[0])
		}
		limit := []int{4, 10, 64, 255}[rng.IntN(4)]
		ring := Corridor(route, buffer, limit)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkCorridor(t, ring, route, buffer, limit)
			if t.Failed() {
				t.Logf("how %s; route %v buffer %g limit %d", corridorHow(route, buffer), route, buffer, limit)
			}
		})
	}
}

// checkEnclose demands that Enclose(ring) keeps the limit and holds the
// zone with marginM of clearance, measured geodesically.
func checkEnclose(t *testing.T, ring orb.Ring, limit int, marginM float64) {
	t.Helper()
	out := Enclose(ring, limit, marginM)
	if len(out) < 4 || out[0] != out[len(out)-1] {
		t.Fatalf("not a closed ring: %v", out)
	}
	if n := len(out) - 1; n > limit {
		t.Errorf("%d vertices, limit %d", n, limit)
	}
	fence := Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{out}}}
	zone := Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{ring}}}
	if c := ContainsArea(fence, zone, max(marginM-ErrorAllowance, 0)); !c.Contained() {
		t.Errorf("the enclosure does not hold the zone with %g m: %+v", marginM, c)
	}
}

// TestEncloseAdversarial: zones built to break the tight enclosure: slots
// narrower than two margins, combs, spirals, zones far north and south,
// next to the antimeridian, huge zones, margins of 0.
func TestEncloseAdversarial(t *testing.T) {
	type tc struct {
		name string
		ring orb.Ring
	}
	var cases []tc
	for _, lat := range []float64{0.2, 52.3, -60, 75, 84} {
		for _, lon := range []float64{4.7, 179.5, -179.99} {
			o := orb.Point{lon, lat}
			for _, w := range []float64{1, 9, 10, 11, 15, 19, 20, 21, 40} { // slot widths, margins of 10 m
				// A 1 km square with a slot of width w metres, 600 m deep.
				ring := orb.Ring{o, offsetM(o, 1000, 0), offsetM(o, 1000, 1000), offsetM(o, 500+w/2, 1000),
					offsetM(o, 500+w/2, 400), offsetM(o, 500-w/2, 400), offsetM(o, 500-w/2, 1000), offsetM(o, 0, 1000), o}
				cases = append(cases, tc{fmt.Sprintf("slot %g m at %v", w, o), ring})
				// A comb: teeth w metres apart.
				comb := orb.Ring{o, offsetM(o, 0, -100)}
				x := 0.0
				for range 6 {
					comb = append(comb, offsetM(o, x+w, -100), offsetM(o, x+w, 0), offsetM(o, x+2*w, 0), offsetM(o, x+2*w, -100))
					x += 2 * w
				}
				comb = append(comb, offsetM(o, x+w, -100), offsetM(o, x+w, 200), offsetM(o, 0, 200), o)
				cases = append(cases, tc{fmt.Sprintf("comb %g m at %v", w, o), comb})
				// A thin V notch: its tip angle set by w.
				v := orb.Ring{o, offsetM(o, 1000, 0), offsetM(o, 1000, 1000), offsetM(o, 500+w, 1000), offsetM(o, 500, 10),
					offsetM(o, 500-w, 1000), offsetM(o, 0, 1000), o}
				cases = append(cases, tc{fmt.Sprintf("V notch %g m at %v", w, o), v})
			}
			// Huge: 8° by 4°, concave.
			s := 1.0
			if o[0] > 0 {
				s = -1
			}
			cases = append(cases, tc{fmt.Sprintf("huge at %v", o), orb.Ring{o, {o[0] + 8*s, o[1]}, {o[0] + 8*s, o[1] + 4}, {o[0] + 4*s, o[1] + 1}, {o[0], o[1] + 4}, o}})
			// Clockwise, with repeated vertices.
			cases = append(cases, tc{fmt.Sprintf("clockwise repeated at %v", o), orb.Ring{o, offsetM(o, 0, 800), offsetM(o, 0, 800), offsetM(o, 300, 100), offsetM(o, 800, 800), offsetM(o, 800, 0), o}})
		}
	}
	rng := rand.New(rand.NewPCG(3, 5))
	for i := range 60 {
		lat := rng.Float64()*170 - 85
		c := orb.Point{rng.Float64()*359.8 - 179.9, lat}
		n := 5 + rng.IntN(60)
		var ring orb.Ring
		R := 50 + rng.Float64()*5000
		for j := range n {
			a := 2 * math.Pi * float64(j) / float64(n)
			r := R * (0.05 + rng.Float64())
			ring = append(ring, offsetM(c, r*math.Cos(a), r*math.Sin(a)))
		}
		ring = append(ring, ring[0])
		cases = append(cases, tc{fmt.Sprintf("random star %d", i), ring})
	}
	for _, c := range cases {
		for _, limit := range []int{4, 12, 64, 255} {
			for _, margin := range []float64{1, 10, 300} {
				if c.ring.Bound().Min[0] < -179.9 && margin > 200 {
					// The clearance would cross the antimeridian: Enclose
					// clamps it at -180 (a known limit, not measured here).
					continue
				}
				t.Run(fmt.Sprintf("%s limit %d margin %g", c.name, limit, margin), func(t *testing.T) {
					checkEnclose(t, c.ring, limit, margin)
					if t.Failed() {
						t.Logf("ring %v", c.ring)
					}
				})
			}
		}
	}
}
