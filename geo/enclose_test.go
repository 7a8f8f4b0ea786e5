package geo

import (
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb"
)

// starRing is a ring of n points alternating between two radii (degrees)
// around c: concave, so that the hull step matters.
func starRing(c orb.Point, n int, r1, r2 float64) orb.Ring {
	var r orb.Ring
	for i := range n {
		rad := r1
		if i%2 == 1 {
			rad = r2
		}
		a := 2 * math.Pi * float64(i) / float64(n)
		r = append(r, orb.Point{c[0] + rad*math.Cos(a), c[1] + rad*math.Sin(a)})
	}
	return append(r, r[0])
}

func TestEncloseContains(t *testing.T) {
	for _, tc := range []struct {
		name string
		ring orb.Ring
		max  int
	}{
		{"small, unchanged", starRing(orb.Point{4.7, 52.3}, 10, 0.05, 0.03), 64},
		{"star of 400", starRing(orb.Point{4.7, 52.3}, 400, 0.05, 0.03), 64},
		{"circle of 1000 to 8", starRing(orb.Point{4.7, 52.3}, 1000, 0.05, 0.05), 8},
		{"circle of 1000 to 4", starRing(orb.Point{-70.1, -33.4}, 1000, 0.2, 0.2), 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := Enclose(tc.ring, tc.max, 5)
			if n := len(out) - 1; n > tc.max || out[0] != out[len(out)-1] {
				t.Fatalf("%d vertices (limit %d), closed %v", n, tc.max, out[0] == out[len(out)-1])
			}
			fence := Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{out}}}
			zone := Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{tc.ring}}}
			// Enclose promises 5 m of clearance: 4.9 m is measured.
			if c := ContainsArea(fence, zone, 4.9-ErrorAllowance); !c.Contained() {
				t.Errorf("the enclosing ring does not contain the zone: %+v", c)
			}
			in := NewContainer(fence)
			for _, p := range tc.ring {
				if c := in.ContainsPath([]orb.Point{p}, nil, 0); !c.Contained() {
					t.Fatalf("vertex %v outside: %+v", p, c)
				}
			}
		})
	}
}

func TestCircleRingContains(t *testing.T) {
	for _, c := range []orb.Point{{4.76, 52.31}, {-70, -33}, {10, 70}} {
		circle := Shape{Kind: ShapeCircle, Center: c, Radius: 3000}
		ring := Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{CircleRing(c, 3000, 72)}}}
		if got := ContainsArea(ring, circle, 0); !got.Contained() {
			t.Errorf("at %v the ring does not contain the circle: %+v", c, got)
		}
	}
}

// TestEncloseKeepsBays: a U-shaped zone is enclosed with its bay kept
// open (the hull would close it), with the clearance, within the limit;
// a ring that crosses itself falls back to the hull.
func TestEncloseKeepsBays(t *testing.T) {
	// A U 4 km wide, 3 km high, its bay 2 km wide and 2.5 km deep, near
	// Schiphol.
	u := orb.Ring{{4.70, 52.30}, {4.76, 52.30}, {4.76, 52.327}, {4.745, 52.327}, {4.745, 52.3045},
		{4.715, 52.3045}, {4.715, 52.327}, {4.70, 52.327}, {4.70, 52.30}}
	bay := orb.Point{4.73, 52.32}
	for _, limit := range []int{64, 8} {
		out := Enclose(u, limit, 10)
		if n := len(out) - 1; n > limit {
			t.Errorf("limit %d: %d vertices", limit, n)
		}
		fence := Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{out}}}
		if c := ContainsArea(fence, Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{u}}}, 10-ErrorAllowance); !c.Contained() {
			t.Errorf("limit %d: the enclosure does not contain the U with 10 m: %+v", limit, c)
		}
		if c := NewContainer(fence).ContainsPath([]orb.Point{bay}, nil, 0); c.Contained() {
			t.Errorf("limit %d: the bay is fenced off: %v", limit, out)
		}
	}
	bowtie := orb.Ring{{4.70, 52.30}, {4.76, 52.33}, {4.76, 52.30}, {4.70, 52.33}, {4.70, 52.30}}
	if got, want := Enclose(bowtie, 64, 10), encloseHull(bowtie, 64, 10); !slices.Equal(got, want) {
		t.Errorf("a ring crossing itself: %v, want the hull's %v", got, want)
	}
}
