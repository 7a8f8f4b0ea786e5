package geo

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// These tests place flights 1 m inside and 1 m outside zone edges, circles
// and buffers at the equator, 52° and 70°, with zones and legs up to 100 km,
// and demand the right answer and a closest approach within 0.5 m of a
// brute-force geodesic measurement.

var accLats = []float64{0, 52, 70}

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// oracleDist is the least geodesic distance in metres from p to the
// straight lon/lat segment ab, by dense sampling and local refinement.
func oracleDist(p, a, b orb.Point) float64 {
	const n = 20000
	best, bi := math.Inf(1), 0
	for i := 0; i <= n; i++ {
		if d := Distance(p, lerpLL(a, b, float64(i)/n)); d < best {
			best, bi = d, i
		}
	}
	lo, hi := float64(max(0, bi-1))/n, float64(min(n, bi+1))/n
	for i := 0; i < 200; i++ {
		m1, m2 := lo+(hi-lo)/3, hi-(hi-lo)/3
		if Distance(p, lerpLL(a, b, m1)) <= Distance(p, lerpLL(a, b, m2)) {
			hi = m2
		} else {
			lo = m1
		}
	}
	return math.Min(best, Distance(p, lerpLL(a, b, (lo+hi)/2)))
}

// atDistance is the point at exactly d metres (geodesic) from c in the
// direction az (degrees from north, in c's local frame).
func atDistance(c orb.Point, az, d float64) orb.Point {
	f := newFrame(c[0], c[1])
	dir := vec{math.Sin(az * rad), math.Cos(az * rad)}
	lo, hi := 0.0, 2*d+10
	for i := 0; i < 100; i++ {
		m := (lo + hi) / 2
		if Distance(c, f.lonlat(dir.scale(m))) < d {
			lo = m
		} else {
			hi = m
		}
	}
	return f.lonlat(dir.scale((lo + hi) / 2))
}

func circleZone(id string, c orb.Point, r float64) Zone {
	return Zone{ID: id, Restriction: Prohibited, Volumes: []Volume{{
		Shape: Shape{Kind: ShapeCircle, Center: c, Radius: r}, Lower: OpenLimit, Upper: OpenLimit}}}
}

func polyZone(id string, rings ...orb.Ring) Zone {
	return Zone{ID: id, Restriction: Prohibited, Volumes: []Volume{{
		Shape: Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{orb.Polygon(rings)}}, Lower: OpenLimit, Upper: OpenLimit}}}
}

func mustIndex(t testing.TB, zones ...Zone) *Index {
	t.Helper()
	ix, err := NewIndex(zones)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func route(buffer float64, pts ...orb.Point) RouteQuery {
	q := RouteQuery{Buffer: buffer, Window: TimeWindow{t0, t0.Add(time.Hour)}}
	for _, p := range pts {
		q.Waypoints = append(q.Waypoints, Waypoint{Point: p})
	}
	return q
}

func TestAccuracyCirclePosition(t *testing.T) {
	for _, lat := range accLats {
		for _, r := range []float64{50, 1000, 100_000} {
			for _, az := range []float64{0, 45, 90, 200} {
				c := orb.Point{5, lat}
				ix := mustIndex(t, circleZone("C", c, r))
				for _, tc := range []struct {
					off  float64
					want int
				}{{-1, 1}, {+1, 0}} {
					name := fmt.Sprintf("lat%v/r%v/az%v/%+vm", lat, r, az, tc.off)
					t.Run(name, func(t *testing.T) {
						p := atDistance(c, az, r+tc.off)
						hits := ix.CheckPosition(PositionQuery{Point: p, At: t0}, nil)
						if len(hits) != tc.want {
							t.Errorf("point %v m from the edge: %d hits, want %d", tc.off, len(hits), tc.want)
						}
					})
				}
			}
		}
	}
}

func TestAccuracyPolygonPosition(t *testing.T) {
	for _, lat := range accLats {
		for _, size := range []float64{0.01, 0.9} { // degrees: ~1 km and ~100 km edges
			c := orb.Point{5, lat}
			ring := orb.Ring{{c[0] - size, c[1] - size/2}, {c[0] + size, c[1] - size/2}, {c[0] + size/3, c[1] + size/2}, {c[0] - size, c[1] + size/2}, {c[0] - size, c[1] - size/2}}
			ix := mustIndex(t, polyZone("P", ring))
			for e := 0; e < 4; e++ {
				a, b := ring[e], ring[e+1]
				for _, tt := range []float64{0.1, 0.5, 0.93} {
					m := lerpLL(a, b, tt)
					f := newFrame(m[0], m[1])
					d := f.xy(b).sub(f.xy(a))
					out := vec{d.y, -d.x}.scale(1 / d.norm()) // right of a CCW ring's edge: outside
					for _, tc := range []struct {
						off  float64
						want int
					}{{-1, 1}, {1, 0}} {
						p := f.lonlat(out.scale(tc.off))
						hits := ix.CheckPosition(PositionQuery{Point: p, At: t0}, nil)
						if len(hits) != tc.want {
							t.Errorf("lat %v size %v edge %d t %v: %+v m from the edge: %d hits, want %d", lat, size, e, tt, tc.off, len(hits), tc.want)
						}
					}
				}
			}
			// Vertices and edge points are inside.
			for _, v := range ring {
				if hits := ix.CheckPosition(PositionQuery{Point: v, At: t0}, nil); len(hits) != 1 {
					t.Errorf("vertex %v: %d hits, want 1", v, len(hits))
				}
			}
		}
	}
}

// TestAccuracyRouteCircle: legs of 1 and 100 km pass a circle zone (radius
// up to 100 km) with the buffer set 1 m short of and 1 m beyond the true
// closest approach.
func TestAccuracyRouteCircle(t *testing.T) {
	for _, lat := range accLats {
		for _, r := range []float64{200, 100_000} {
			for _, leg := range []float64{1000, 100_000} {
				for _, az := range []float64{0, 60, 90} {
					c := orb.Point{5, lat}
					ix := mustIndex(t, circleZone("C", c, r))
					// A leg through the point 50 m outside the circle,
					// across the direction to the centre.
					m := atDistance(c, az, r+50)
					a := atDistance(m, az+90, leg/2)
					b := atDistance(m, az-90, leg/2)
					gap := oracleDist(c, a, b) - r
					for _, tc := range []struct {
						buffer float64
						want   int
					}{{gap - 1, 0}, {gap + 1, 1}} {
						name := fmt.Sprintf("lat%v/r%v/leg%v/az%v/buffer%+.0f", lat, r, leg, az, tc.buffer-gap)
						t.Run(name, func(t *testing.T) {
							hits, err := ix.CheckRoute(route(tc.buffer, a, b))
							if err != nil {
								t.Fatal(err)
							}
							if len(hits) != tc.want {
								t.Fatalf("gap %.3f m, buffer %.3f m: %d hits, want %d", gap, tc.buffer, len(hits), tc.want)
							}
							if tc.want == 1 && math.Abs(hits[0].Distance-gap) > 0.5 {
								t.Errorf("closest approach %.3f m, true %.3f m", hits[0].Distance, gap)
							}
						})
					}
				}
			}
		}
	}
}

// TestAccuracyRoutePolygon: a point-like flight near an edge of up to
// 100 km, and a 100 km leg passing the sharp tip of a polygon.
func TestAccuracyRoutePolygon(t *testing.T) {
	for _, lat := range accLats {
		for _, size := range []float64{0.01, 0.9} {
			c := orb.Point{5, lat}
			ring := orb.Ring{{c[0] - size, c[1] - size/2}, {c[0] + size, c[1] - size/2}, {c[0] + size/3, c[1] + size/2}, {c[0] - size, c[1] + size/2}, {c[0] - size, c[1] - size/2}}
			ix := mustIndex(t, polyZone("P", ring))
			for e := 0; e < 4; e++ {
				a, b := ring[e], ring[e+1]
				mid := lerpLL(a, b, 0.37)
				f := newFrame(mid[0], mid[1])
				d := f.xy(b).sub(f.xy(a))
				p := f.lonlat(vec{d.y, -d.x}.scale(30 / d.norm()))
				gap := oracleDist(p, a, b)
				for _, tc := range []struct {
					buffer float64
					want   int
				}{{gap - 1, 0}, {gap + 1, 1}} {
					hits, err := ix.CheckRoute(route(tc.buffer, p, p))
					if err != nil {
						t.Fatal(err)
					}
					if len(hits) != tc.want {
						t.Errorf("lat %v size %v edge %d: gap %.3f, buffer %.3f: %d hits, want %d", lat, size, e, gap, tc.buffer, len(hits), tc.want)
						continue
					}
					if tc.want == 1 && math.Abs(hits[0].Distance-gap) > 0.5 {
						t.Errorf("lat %v size %v edge %d: closest approach %.3f m, true %.3f m", lat, size, e, hits[0].Distance, gap)
					}
				}
			}
		}
		// A spike whose tip points at a 100 km leg.
		tip := orb.Point{5, lat}
		spike := orb.Ring{tip, {5.01, lat - 0.3}, {4.99, lat - 0.3}, tip}
		ix := mustIndex(t, polyZone("S", spike))
		m := atDistance(tip, 0, 40)
		a, b := atDistance(m, 90, 50_000), atDistance(m, 270, 50_000)
		gap := oracleDist(tip, a, b)
		for _, tc := range []struct {
			buffer float64
			want   int
		}{{gap - 1, 0}, {gap + 1, 1}} {
			hits, err := ix.CheckRoute(route(tc.buffer, a, b))
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != tc.want {
				t.Errorf("lat %v spike: gap %.3f, buffer %.3f: %d hits, want %d", lat, gap, tc.buffer, len(hits), tc.want)
				continue
			}
			if tc.want == 1 && math.Abs(hits[0].Distance-gap) > 0.5 {
				t.Errorf("lat %v spike: closest approach %.3f m, true %.3f m", lat, hits[0].Distance, gap)
			}
		}
	}
}
