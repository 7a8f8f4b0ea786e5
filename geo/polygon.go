package geo

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"
)

// bigRing is the edge count above which a ring gets its own indexes, so that
// checks against polygons with thousands of vertices cost about the square
// root of the edge count (containment) or the edges near the query
// (distance), not all edges.
const bigRing = 64

// ring is a closed ring of a polygon in lon/lat degrees.
type ring struct {
	pts   []orb.Point // closed: pts[0] == pts[len-1]
	bound orb.Bound

	// For big rings only. Containment: the ring's latitude range is cut
	// into equal bands, and each band lists the edges whose latitude range
	// meets it; a horizontal ray from a point only crosses edges of its band.
	bandMin, bandH float64
	bands          [][]int32 // edge i runs from pts[i] to pts[i+1]
	// Distance: the edges' boxes in an R-tree.
	edges *rtree.RTreeGN[float64, int32]
}

func newRing(pts []orb.Point) ring {
	r := ring{pts: pts, bound: orb.MultiPoint(pts).Bound()}
	n := len(pts) - 1
	if n <= bigRing {
		return r
	}
	nb := int(math.Sqrt(float64(n))) * 2
	r.bandMin = r.bound.Min[1]
	r.bandH = (r.bound.Max[1] - r.bound.Min[1]) / float64(nb)
	if r.bandH <= 0 {
		r.bandH = 1
		nb = 1
	}
	r.bands = make([][]int32, nb)
	r.edges = &rtree.RTreeGN[float64, int32]{}
	for i := 0; i < n; i++ {
		a, b := pts[i], pts[i+1]
		lo, hi := r.band(min(a[1], b[1])), r.band(max(a[1], b[1]))
		for k := lo; k <= hi; k++ {
			r.bands[k] = append(r.bands[k], int32(i))
		}
		eb := orb.Bound{Min: a, Max: a}.Extend(b)
		r.edges.Insert(eb.Min, eb.Max, int32(i))
	}
	return r
}

func (r *ring) band(lat float64) int {
	k := int((lat - r.bandMin) / r.bandH)
	return max(0, min(len(r.bands)-1, k))
}

// locate reports whether p is inside the ring (crossing number) and whether
// it lies on the ring's boundary.
func (r *ring) locate(p orb.Point) (inside, onEdge bool) {
	if !r.bound.Contains(p) {
		return false, false
	}
	// The loops read the latitudes in place: spans on whole points made
	// the compiler copy each point (and p) through the stack every edge,
	// which cost a 100,000-vertex ring's band walk two to five times as
	// much, depending on where the loop fell in the code.
	pts, py := r.pts, p[1]
	if r.bands == nil {
		for i := 0; i+1 < len(pts); i++ {
			if (pts[i][1]-py)*(pts[i+1][1]-py) <= 0 && edgeCase(p, pts[i], pts[i+1], &inside) {
				return true, true
			}
		}
		return inside, false
	}
	for _, i := range r.bands[r.band(py)] {
		if (pts[i][1]-py)*(pts[i+1][1]-py) <= 0 && edgeCase(p, pts[i], pts[i+1], &inside) {
			return true, true
		}
	}
	return inside, false
}

// spans is false when edge ab lies wholly above or wholly below p, so that
// it neither crosses p's ray nor holds p: the quick rejection of most edges
// before edgeCase, inlined in the loops. (A product that underflows to 0
// only takes the full test.)
func spans(p, a, b orb.Point) bool { return (a[1]-p[1])*(b[1]-p[1]) <= 0 }

// edgeCase adds edge ab's contribution to a crossing-number test of p and
// reports whether p lies on ab. Callers skip it for edges that do not span
// p's latitude, to which it adds nothing.
func edgeCase(p, a, b orb.Point, inside *bool) bool {
	if (a[1] > p[1]) != (b[1] > p[1]) {
		x := (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1]) + a[0]
		if p[0] < x {
			*inside = !*inside
		} else if p[0] == x {
			return true
		}
	}
	// On the edge: collinear and within its box (also catches horizontal
	// edges and vertices, which the crossing rule above skips).
	if p[0] >= min(a[0], b[0]) && p[0] <= max(a[0], b[0]) &&
		p[1] >= min(a[1], b[1]) && p[1] <= max(a[1], b[1]) &&
		(p[0]-a[0])*(b[1]-a[1]) == (p[1]-a[1])*(b[0]-a[0]) {
		return true
	}
	return false
}

// eachEdgeNear calls fn for every edge of the ring whose box meets q.
func (r *ring) eachEdgeNear(q orb.Bound, fn func(a, b orb.Point)) {
	if !r.bound.Intersects(q) {
		return
	}
	if r.edges == nil {
		for i := 0; i+1 < len(r.pts); i++ {
			a, b := r.pts[i], r.pts[i+1]
			// Both ends on the same far side of q: the edge misses it.
			if (a[0] < q.Min[0] && b[0] < q.Min[0]) || (a[0] > q.Max[0] && b[0] > q.Max[0]) ||
				(a[1] < q.Min[1] && b[1] < q.Min[1]) || (a[1] > q.Max[1] && b[1] > q.Max[1]) {
				continue
			}
			fn(a, b)
		}
		return
	}
	r.edges.Search(q.Min, q.Max, func(_, _ [2]float64, i int32) bool {
		fn(r.pts[i], r.pts[i+1])
		return true
	})
}

// polygon is an outer ring and its holes.
type polygon []ring

// polyShape is a compiled multipolygon.
type polyShape struct {
	polys []polygon
	bound orb.Bound
}

func newPolyShape(mp orb.MultiPolygon) *polyShape {
	s := &polyShape{bound: mp.Bound()}
	for _, p := range mp {
		var pg polygon
		for _, r := range p {
			pg = append(pg, newRing(r))
		}
		s.polys = append(s.polys, pg)
	}
	return s
}

// contains reports whether p is in the shape; points on any boundary
// (outer ring or hole) are in.
func (s *polyShape) contains(p orb.Point) bool {
	for i := range s.polys {
		pg := s.polys[i]
		in, on := pg[0].locate(p)
		if on {
			return true
		}
		if !in {
			continue
		}
		inHole := false
		for h := 1; h < len(pg); h++ {
			if hin, hon := pg[h].locate(p); hon {
				return true
			} else if hin {
				inHole = true
				break
			}
		}
		if !inHole {
			return true
		}
	}
	return false
}

// eachEdgeNear calls fn for every edge of every ring whose box meets q.
func (s *polyShape) eachEdgeNear(q orb.Bound, fn func(a, b orb.Point)) {
	if !s.bound.Intersects(q) {
		return
	}
	for _, pg := range s.polys {
		for i := range pg {
			pg[i].eachEdgeNear(q, fn)
		}
	}
}
