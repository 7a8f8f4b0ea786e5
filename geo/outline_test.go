package geo

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
)

// signedArea is the shoelace area of a ring in square degrees: positive
// for counterclockwise.
func signedArea(r orb.Ring) float64 {
	a := 0.0
	for i := 1; i < len(r); i++ {
		a += r[i-1][0]*r[i][1] - r[i][0]*r[i-1][1]
	}
	return a / 2
}

func TestCircleOutline(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    orb.Point
		r    float64
	}{
		{"Schiphol 500 m", orb.Point{4.76, 52.31}, 500},
		{"equator 20 km", orb.Point{-60, 0}, 20_000},
		{"Tromsø 5 km", orb.Point{18.9, 69.65}, 5_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ring := CircleOutline(tc.c, tc.r, 32)
			if len(ring) != 33 || ring[0] != ring[32] {
				t.Fatalf("ring of %d points, closed %v; want 33, closed", len(ring), ring[0] == ring[len(ring)-1])
			}
			for i, p := range ring {
				if d := Distance(tc.c, p); math.Abs(d-tc.r) > tc.r*1e-3 {
					t.Errorf("point %d at %.2f m from the centre; want %.0f m", i, d, tc.r)
				}
			}
			if signedArea(ring) <= 0 {
				t.Error("ring is clockwise")
			}
		})
	}
}

func TestBufferOutline(t *testing.T) {
	path := []orb.Point{{4.70, 52.30}, {4.70, 52.30}, {4.75, 52.32}, {4.75, 52.55}}
	const r = 250.0
	rings := BufferOutline(path, r)
	// Legs of 0 m, 4.1 km and 25.6 km: 1 + 1 + 3 pieces.
	if len(rings) != 5 {
		t.Fatalf("%d rings; want 5", len(rings))
	}
	for i, ring := range rings {
		if signedArea(ring) <= 0 && i != 0 {
			t.Errorf("ring %d is clockwise", i)
		}
		// Every vertex lies on a half circle around one end of its piece:
		// r from the nearest point of the path's vertices and cut points.
		for j, p := range ring {
			best := math.Inf(1)
			for k := 1; k < len(path); k++ {
				for s := 0.0; s <= 1; s += 1.0 / 3 {
					best = min(best, Distance(p, lerpLL(path[k-1], path[k], s)))
				}
				best = min(best, Distance(p, path[k]))
			}
			if math.Abs(best-r) > r*2e-3 {
				t.Errorf("ring %d point %d is %.2f m from the path's ends; want %.0f m", i, j, best, r)
			}
		}
	}
	if got := BufferOutline(path[:1], r); len(got) != 1 || len(got[0]) != 25 {
		t.Errorf("one point: %d rings; want one circle", len(got))
	}
	if BufferOutline(path, 0) != nil {
		t.Error("buffer 0 gave rings")
	}
}

func TestClosestPoints(t *testing.T) {
	square := []orb.Ring{{{4.0, 52.0}, {4.1, 52.0}, {4.1, 52.1}, {4.0, 52.1}, {4.0, 52.0}}}
	for _, tc := range []struct {
		name  string
		path  []orb.Point
		p, q  orb.Point
		noPos bool
	}{
		{name: "point east", path: []orb.Point{{4.2, 52.05}}, p: orb.Point{4.2, 52.05}, q: orb.Point{4.1, 52.05}},
		{name: "route passing north", path: []orb.Point{{3.9, 52.2}, {4.05, 52.15}, {4.3, 52.2}}, p: orb.Point{4.05, 52.15}, q: orb.Point{4.05, 52.1}},
		{name: "empty path", noPos: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, q, ok := ClosestPoints(tc.path, square)
			if ok == tc.noPos {
				t.Fatalf("ok %v", ok)
			}
			if !ok {
				return
			}
			if Distance(p, tc.p) > 1 || Distance(q, tc.q) > 1 {
				t.Errorf("got %v, %v; want %v, %v", p, q, tc.p, tc.q)
			}
		})
	}
}
