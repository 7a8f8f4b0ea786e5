package mapview

import (
	"math"

	"github.com/paulmach/orb"
)

// Display simplification: Douglas–Peucker on each ring, in a local
// equirectangular frame in metres. It is for drawing only: checks use the
// zones as loaded.

// simplifyRing returns ring (closed) with the vertices that stray at most
// tol metres from the simplified outline removed; it keeps at least four
// points (a triangle, closed). tol <= 0 returns ring.
func simplifyRing(ring orb.Ring, tol float64) orb.Ring {
	n := len(ring)
	if tol <= 0 || n <= 5 {
		return ring
	}
	kx := 111_320 * math.Cos(ring[0][1]*math.Pi/180)
	const ky = 110_574.0
	xy := func(p orb.Point) (float64, float64) { return p[0] * kx, p[1] * ky }
	// Split the closed ring at its first vertex and the vertex farthest
	// from it, and simplify the two halves.
	x0, y0 := xy(ring[0])
	far, farD := 0, -1.0
	for i := 1; i < n-1; i++ {
		x, y := xy(ring[i])
		if d := math.Hypot(x-x0, y-y0); d > farD {
			far, farD = i, d
		}
	}
	keep := make([]bool, n)
	keep[0], keep[far], keep[n-1] = true, true, true
	var dp func(i, j int)
	dp = func(i, j int) {
		if j <= i+1 {
			return
		}
		ax, ay := xy(ring[i])
		bx, by := xy(ring[j])
		dx, dy := bx-ax, by-ay
		l2 := dx*dx + dy*dy
		best, bestD := -1, tol
		for k := i + 1; k < j; k++ {
			px, py := xy(ring[k])
			var d float64
			if l2 == 0 {
				d = math.Hypot(px-ax, py-ay)
			} else {
				t := max(0, min(1, ((px-ax)*dx+(py-ay)*dy)/l2))
				d = math.Hypot(px-ax-t*dx, py-ay-t*dy)
			}
			if d > bestD {
				best, bestD = k, d
			}
		}
		if best >= 0 {
			keep[best] = true
			dp(i, best)
			dp(best, j)
		}
	}
	dp(0, far)
	dp(far, n-1)
	out := make(orb.Ring, 0, n/4+4)
	for i, k := range keep {
		if k {
			out = append(out, ring[i])
		}
	}
	if len(out) < 4 {
		// A sliver: keep one more vertex so the ring stays an area.
		mid := (far + 1) / 2
		if mid == 0 || mid == far {
			mid = (far + n - 1) / 2
		}
		keep[mid] = true
		out = out[:0]
		for i, k := range keep {
			if k {
				out = append(out, ring[i])
			}
		}
	}
	return out
}

// simplifyZones returns the zones' shapes simplified so that all of them
// hold at most budget vertices: the tolerance starts at 0 (nothing removed
// when they fit) and doubles from 1 m. It returns the shapes per zone and
// the tolerance used.
func simplifyZones(zones []Zone, budget int) ([][]orb.Polygon, float64) {
	count := func(shapes [][]orb.Polygon) int {
		n := 0
		for _, ss := range shapes {
			for _, s := range ss {
				for _, r := range s {
					n += len(r)
				}
			}
		}
		return n
	}
	shapes := make([][]orb.Polygon, len(zones))
	for i, z := range zones {
		shapes[i] = z.Shapes
	}
	if count(shapes) <= budget {
		return shapes, 0
	}
	for tol := 1.0; ; tol *= 2 {
		for i, z := range zones {
			ss := make([]orb.Polygon, len(z.Shapes))
			for j, s := range z.Shapes {
				p := make(orb.Polygon, len(s))
				for k, r := range s {
					p[k] = simplifyRing(r, tol)
				}
				ss[j] = p
			}
			shapes[i] = ss
		}
		if count(shapes) <= budget || tol > 1e5 {
			return shapes, tol
		}
	}
}
