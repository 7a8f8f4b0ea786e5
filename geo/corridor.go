package geo

import (
	"cmp"
	"container/heap"
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// CorridorCapVertices is the number of vertices of the circle a corridor
// draws around a waypoint (its caps and outer bends use arcs of it).
const CorridorCapVertices = 16

// Corridor returns a simple closed ring, counter-clockwise, of at most
// maxVertices distinct vertices (at least 4) that contains every point
// within bufferM metres (geodesic, WGS84) of the route: the legs straight
// in longitude/latitude from point to point, as nofly's route checks take
// them. It is the route's buffer, drawn conservatively, for a fence the
// aircraft may not leave.
//
// The corridor is drawn in the plane x = lon·k, y = lat, with k the cosine
// of the highest latitude the buffer reaches. There a metre of any
// direction is at most 1/110,574 of a unit: a degree of latitude is at
// least 110,574 m long, and a degree of longitude at latitude φ at least
// 111,319 m·cos φ ≥ 111,319 m·k. So a geodesic of length s from the route
// stays within the plane distance d = s/110,574 (rounded up; and 0.5 m is
// added to the buffer) of it (the
// plane length of a curve is at most its length over 110,574), and the
// route's plane buffer of d contains its geodesic buffer. Legs straight in
// lon/lat are straight in the plane.
//
// The outline of that plane buffer: each side of the route offset by d,
// arcs at the ends and on the outer side of each bend (circumscribed
// polygons of CorridorCapVertices about each waypoint, so outside the
// circle), and on the inner side of a bend the point where the two offset
// lines meet. That is the buffer's own outline (enlarged at the arcs) when
// it is a simple polygon and every leg is long enough for its inner
// offsets to meet. A route that ends where it started (a patrol circuit,
// an out-and-back mission returning to its launch point along another
// line) is taken as the polygon it encloses, moved out by d as Enclose
// moves a zone (corners turning up to 22.5° mitred, arcs round sharper
// ones): what it encloses is fenced in with it. A route flown back along
// its own legs is drawn from its distinct legs when they make one path or
// one loop (the same buffer). Otherwise (legs that cross or branch,
// hairpins tighter than the buffer) the convex hull of the waypoints'
// circles is used, which contains the buffer of every leg. Then, while
// the ring has too many vertices, the cheapest change that only adds area
// (a concave vertex dropped, or an edge cut off by extending its
// neighbours, the ring kept simple) is made; failing that, the convex
// hull simplified as Enclose does.
//
// Routes across the antimeridian or within a degree of a pole are not
// supported: the bounding box grown by the buffer (ExpandBound) is
// returned, which contains the buffer but is no corridor.
func Corridor(route []orb.Point, bufferM float64, maxVertices int) orb.Ring {
	maxVertices = max(maxVertices, 4)
	pts := make([]orb.Point, 0, len(route))
	for _, p := range route {
		if len(pts) == 0 || p != pts[len(pts)-1] {
			pts = append(pts, p)
		}
	}
	if len(pts) == 0 {
		return nil
	}
	bound := orb.MultiPoint(pts).Bound()
	d := metresToDegLat(max(bufferM, 0) + corridorExtraM)
	far := max(math.Abs(bound.Min[1]), math.Abs(bound.Max[1])) + d
	if far > 89 || bound.Max[0]-bound.Min[0] > 180 {
		b := ExpandBound(bound, bufferM)
		return orb.Ring{b.Min, {b.Max[0], b.Min[1]}, b.Max, {b.Min[0], b.Max[1]}, b.Min}
	}
	k := math.Cos(far * rad)
	plane := make([]orb.Point, len(pts))
	for i, p := range pts {
		plane[i] = orb.Point{p[0] * k, p[1]}
	}
	ring, _ := corridorPlane(plane, d)
	ring = reduce(ring, maxVertices)
	out := make(orb.Ring, 0, len(ring)+1)
	for _, p := range ring {
		out = append(out, orb.Point{math.Max(-180, math.Min(180, p[0]/k)), math.Max(-90, math.Min(90, p[1]))})
	}
	return append(out, out[0])
}

// corridorPlane draws the corridor of the plane route p at distance d
// (see Corridor), and says how: "outline", "loop" or "hull".
func corridorPlane(p []orb.Point, d float64) ([]orb.Point, string) {
	if len(p) >= 4 && p[0] == p[len(p)-1] {
		// A loop back to its start: the loop as a polygon, moved out by d,
		// holds the buffer of its edges (and what they enclose).
		// Corners turning more than an arc's step are rounded, so that
		// no vertex lies further out than the arcs' corners.
		if r, ok := offsetSimple(p, d, 2*math.Pi/CorridorCapVertices); ok {
			return r, "loop"
		}
	}
	if r, ok := offsetOutline(p, d); ok && simple(r) {
		return r, "outline"
	}
	// A route flown back along its own legs (out and back, up and down a
	// road): its distinct legs, if they make one path or one loop, have
	// the same buffer.
	if q, loop, ok := distinctLegs(p); ok {
		if loop {
			if r, ok := offsetSimple(q, d, 2*math.Pi/CorridorCapVertices); ok {
				return r, "loop"
			}
		} else if r, ok := offsetOutline(q, d); ok && simple(r) {
			return r, "outline"
		}
	}
	return discHull(p, d), "hull"
}

// distinctLegs returns the route p's distinct legs (a leg and its reverse
// are one) as a path, or as a loop (first point repeated last), when they
// make exactly one; false otherwise, or when no leg repeats.
func distinctLegs(p []orb.Point) ([]orb.Point, bool, bool) {
	type leg struct{ a, b orb.Point }
	seen := map[leg]bool{}
	adj := map[orb.Point][]orb.Point{}
	repeated := false
	for i := 0; i+1 < len(p); i++ {
		a, b := p[i], p[i+1]
		if seen[leg{a, b}] || seen[leg{b, a}] {
			repeated = true
			continue
		}
		seen[leg{a, b}] = true
		adj[a] = append(adj[a], b)
		adj[b] = append(adj[b], a)
	}
	if !repeated || len(seen) == 0 {
		return nil, false, false
	}
	// One path: two ends of degree 1, the rest of degree 2, connected. One
	// loop: every point of degree 2, connected.
	ends := 0
	for _, n := range adj {
		switch len(n) {
		case 1:
			ends++
		case 2:
		default:
			return nil, false, false
		}
	}
	if ends != 0 && ends != 2 {
		return nil, false, false
	}
	// Start at the route's first point, or on a path at the end the route
	// meets first: the same route, the same corridor.
	start := p[0]
	if ends == 2 {
		for _, pt := range p {
			if len(adj[pt]) == 1 {
				start = pt
				break
			}
		}
	}
	// Walk it from start, each point once (a loop back to start at the
	// end): every distinct leg must be walked, or they are not one.
	out := []orb.Point{start}
	visited := map[orb.Point]bool{start: true}
	prev, cur := orb.Point{math.NaN(), math.NaN()}, start
	for range len(seen) {
		nb := adj[cur]
		next := nb[0]
		if next == prev {
			if len(nb) < 2 {
				return nil, false, false
			}
			next = nb[1]
		}
		if visited[next] && !(ends == 0 && next == start && len(out) == len(seen)) {
			return nil, false, false
		}
		visited[next] = true
		out = append(out, next)
		prev, cur = cur, next
	}
	loop := ends == 0
	if len(visited) != len(adj) {
		return nil, false, false // not connected
	}
	return out, loop, true
}

// corridorExtraM is added to the buffer: near the equator a degree of
// latitude is barely longer than 110,574 m, and without it the corridor's
// clearance there could not be told from the buffer by the containment
// measurement (whose allowance is containSlack).
const corridorExtraM = 0.5

// capRadius is the radius to the vertices of a polygon of
// CorridorCapVertices whose edges touch the circle of radius d.
func capRadius(d float64) float64 { return d / math.Cos(math.Pi/CorridorCapVertices) }

// arc appends, counter-clockwise about c from angle a0 to a1 (a1 ≥ a0), the
// vertices of the circumscribed polygon of radius d's circle that cover
// that arc: the tangent points at the ends, and the polygon's corners in
// between.
func arc(out []orb.Point, c orb.Point, d, a0, a1 float64) []orb.Point {
	step := 2 * math.Pi / CorridorCapVertices
	n := int(math.Ceil((a1 - a0) / step))
	if n < 1 {
		n = 1
	}
	s := (a1 - a0) / float64(n) // at most step: the corners lie outside the circle
	r := d / math.Cos(s/2)
	out = append(out, orb.Point{c[0] + d*math.Cos(a0), c[1] + d*math.Sin(a0)})
	for i := range n {
		a := a0 + s*(float64(i)+0.5)
		out = append(out, orb.Point{c[0] + r*math.Cos(a), c[1] + r*math.Sin(a)})
	}
	return append(out, orb.Point{c[0] + d*math.Cos(a1), c[1] + d*math.Sin(a1)})
}

// offsetOutline draws the buffer's outline of the plane polyline p (no two
// consecutive points equal) at distance d, counter-clockwise: the right
// side forward, the end cap, the left side back, the start cap. false when
// an inner bend's offsets do not meet within both legs.
func offsetOutline(p []orb.Point, d float64) ([]orb.Point, bool) {
	if len(p) == 1 {
		return arc(nil, p[0], d, 0, 2*math.Pi)[:CorridorCapVertices+1], true
	}
	n := len(p) - 1
	ang := make([]float64, n) // direction of each leg
	length := make([]float64, n)
	for i := range n {
		ang[i] = math.Atan2(p[i+1][1]-p[i][1], p[i+1][0]-p[i][0])
		length[i] = math.Hypot(p[i+1][0]-p[i][0], p[i+1][1]-p[i][1])
	}
	var out []orb.Point
	// side walks the polyline q (legs with directions a) on its right,
	// from the first point's right offset to the last point's.
	side := func(q []orb.Point, a, l []float64) bool {
		m := len(q) - 1
		out = append(out, offsetPt(q[0], a[0], d))
		for i := 1; i < m; i++ {
			turn := normAngle(a[i] - a[i-1]) // > 0: a left turn, the right side is outer
			switch {
			case turn > 1e-12:
				// Outer: an arc about q[i] from the right normal of the
				// leg in to that of the leg out.
				out = arc(out, q[i], d, a[i-1]-math.Pi/2, a[i-1]-math.Pi/2+turn)
			case turn < -1e-12:
				// Inner: the offsets meet d/cos(θ/2) from q[i]; each must
				// reach it within its leg (d·tan(θ/2) from the bend).
				h := -turn / 2
				if h > math.Pi/2-1e-6 || d*math.Tan(h) > l[i-1] || d*math.Tan(h) > l[i] {
					return false
				}
				mid := a[i-1] + turn/2 - math.Pi/2 // the bisector, on the right
				r := d / math.Cos(h)
				out = append(out, orb.Point{q[i][0] + r*math.Cos(mid), q[i][1] + r*math.Sin(mid)})
			default:
				out = append(out, offsetPt(q[i], a[i], d))
			}
		}
		out = append(out, offsetPt(q[m], a[m-1], d))
		return true
	}
	if !side(p, ang, length) {
		return nil, false
	}
	// The end cap: from the right normal of the last leg, half a turn.
	out = arc(out[:len(out)-1], p[n], d, ang[n-1]-math.Pi/2, ang[n-1]+math.Pi/2)
	out = out[:len(out)-1] // the left side starts there
	// The left side is the reversed polyline's right side.
	rp := make([]orb.Point, len(p))
	ra := make([]float64, n)
	rl := make([]float64, n)
	for i := range p {
		rp[i] = p[n-i]
	}
	for i := range n {
		ra[i] = normAngle(ang[n-1-i] + math.Pi)
		rl[i] = length[n-1-i]
	}
	if !side(rp, ra, rl) {
		return nil, false
	}
	out = arc(out[:len(out)-1], p[0], d, ra[n-1]-math.Pi/2, ra[n-1]+math.Pi/2)
	out = out[:len(out)-1] // back at the start
	return dedupe(out), true
}

// offsetPt is p moved d to the right of direction a.
func offsetPt(p orb.Point, a, d float64) orb.Point {
	return orb.Point{p[0] + d*math.Cos(a-math.Pi/2), p[1] + d*math.Sin(a-math.Pi/2)}
}

// normAngle maps a to (−π, π].
func normAngle(a float64) float64 {
	for a > math.Pi {
		a -= 2 * math.Pi
	}
	for a <= -math.Pi {
		a += 2 * math.Pi
	}
	return a
}

func dedupe(r []orb.Point) []orb.Point {
	out := r[:0:0]
	for _, p := range r {
		if len(out) == 0 || math.Hypot(p[0]-out[len(out)-1][0], p[1]-out[len(out)-1][1]) > 1e-13 {
			out = append(out, p)
		}
	}
	for len(out) > 1 && math.Hypot(out[0][0]-out[len(out)-1][0], out[0][1]-out[len(out)-1][1]) <= 1e-13 {
		out = out[:len(out)-1]
	}
	return out
}

// discHull is the convex hull of the circumscribed polygons of radius d
// about every point of p: it contains the buffer of every leg (a leg's
// buffer is the hull of its ends' discs).
func discHull(p []orb.Point, d float64) []orb.Point {
	var all []orb.Point
	r := capRadius(d)
	for _, c := range p {
		for i := range CorridorCapVertices {
			a := 2 * math.Pi * (float64(i) + 0.5) / CorridorCapVertices
			all = append(all, orb.Point{c[0] + r*math.Cos(a), c[1] + r*math.Sin(a)})
		}
	}
	return convexHull(all)
}

// simple reports whether the ring r (open) is a simple polygon: no two
// edges meet but neighbours at their shared vertex. The edges are swept
// by their least longitude, so that only those overlapping in x are
// compared.
func simple(r []orb.Point) bool {
	n := len(r)
	if n < 3 {
		return false
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	lo := func(i int) float64 { return math.Min(r[i][0], r[(i+1)%n][0]) }
	hi := func(i int) float64 { return math.Max(r[i][0], r[(i+1)%n][0]) }
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(lo(a), lo(b)) })
	for x, i := range idx {
		top := hi(i)
		for _, j := range idx[x+1:] {
			if lo(j) > top {
				break
			}
			if j == (i+1)%n || i == (j+1)%n {
				continue
			}
			if segmentsMeet(r[i], r[(i+1)%n], r[j], r[(j+1)%n]) {
				return false
			}
		}
	}
	return true
}

// segmentsMeet reports whether the closed segments ab and cd share a point.
func segmentsMeet(a, b, c, d orb.Point) bool {
	if math.Max(a[0], b[0]) < math.Min(c[0], d[0]) || math.Max(c[0], d[0]) < math.Min(a[0], b[0]) ||
		math.Max(a[1], b[1]) < math.Min(c[1], d[1]) || math.Max(c[1], d[1]) < math.Min(a[1], b[1]) {
		return false
	}
	d1, d2 := cross(c, d, a), cross(c, d, b)
	d3, d4 := cross(a, b, c), cross(a, b, d)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	on := func(p, q, r orb.Point, v float64) bool { // r on segment pq, collinear
		return v == 0 && math.Min(p[0], q[0]) <= r[0] && r[0] <= math.Max(p[0], q[0]) &&
			math.Min(p[1], q[1]) <= r[1] && r[1] <= math.Max(p[1], q[1])
	}
	return on(c, d, a, d1) || on(c, d, b, d2) || on(a, b, c, d3) || on(a, b, d, d4)
}

// reduce brings the simple counter-clockwise ring r (open) to at most max
// vertices by changes that only add area, each the one adding least:
// dropping a concave vertex (adds the triangle it made) or cutting an edge
// between two convex vertices by extending its neighbours until they meet
// (adds the triangle beyond it); a change is taken only when its new edges
// cross no other edge, so that the ring stays simple (and so contains
// what it did: anything of the ring inside the added triangle would
// cross a new edge). When none is possible, the convex hull is reduced as
// Enclose reduces it. A step costs O(n) when its cheapest change is
// taken, as it nearly always is.
func reduce(r []orb.Point, maxV int) []orb.Point {
	n := len(r)
	if n <= maxV {
		return r
	}
	// The ring as a linked list; each vertex's best change is in a heap,
	// stamped, and recomputed when a change reaches it.
	pts := slices.Clone(r)
	prev, next := make([]int, n), make([]int, n)
	alive := make([]bool, n)
	stamp := make([]int, n)
	for i := range n {
		prev[i], next[i], alive[i] = (i-1+n)%n, (i+1)%n, true
	}
	h := &changeHeap{}
	eval := func(i int) {
		stamp[i]++
		a, b, c := pts[prev[i]], pts[i], pts[next[i]]
		if t := cross(a, b, c); t <= 0 { // concave (or straight): drop b
			heap.Push(h, reduceStep{i: i, stamp: stamp[i], area: -t / 2})
			return
		}
		d := pts[next[next[i]]]
		if cross(b, c, d) <= 0 {
			return
		}
		if apex, ok := meet(a, b, c, d); ok {
			heap.Push(h, reduceStep{i: i, stamp: stamp[i], cut: true, apex: apex, area: math.Abs(cross(b, apex, c)) / 2})
		}
	}
	for i := range n {
		eval(i)
	}
	// crosses reports whether segment p–q crosses an edge of the ring
	// other than those starting at the vertices skip.
	crosses := func(p, q orb.Point, skip ...int) bool {
		start := next[skip[0]]
		for j := start; ; j = next[j] {
			if !slices.Contains(skip, j) && segmentsMeet(p, q, pts[j], pts[next[j]]) {
				return true
			}
			if next[j] == start {
				return false
			}
		}
	}
	var refused []reduceStep
	for n > maxV {
		var c reduceStep
		found := false
		for h.Len() > 0 {
			c = heap.Pop(h).(reduceStep)
			if !alive[c.i] || c.stamp != stamp[c.i] {
				continue // stale
			}
			i := c.i
			p, q := prev[i], next[i]
			if c.cut {
				q2 := next[q]
				// New edges p–apex and apex–q2; removed: p–i, i–q, q–q2;
				// sharing an end: prev[p]–p and q2–next[q2].
				skip := []int{prev[p], p, i, q, q2}
				if crosses(pts[p], c.apex, skip...) || crosses(c.apex, pts[q2], skip...) {
					refused = append(refused, c)
					continue
				}
			} else if crosses(pts[p], pts[q], prev[p], p, i, q) {
				refused = append(refused, c)
				continue
			}
			found = true
			break
		}
		if !found {
			hull := encloseHull(closeRing(ringOf(pts, next, alive)), maxV, 0)
			return hull[:len(hull)-1]
		}
		// Changes refused may be taken after this one: offer them again.
		for _, x := range refused {
			if alive[x.i] && x.stamp == stamp[x.i] {
				heap.Push(h, x)
			}
		}
		refused = refused[:0]
		i := c.i
		p, q := prev[i], next[i]
		if c.cut {
			pts[i] = c.apex // i becomes the apex; q goes
			q2 := next[q]
			alive[q] = false
			next[i], prev[q2] = q2, i
		} else {
			alive[i] = false
			next[p], prev[q] = q, p
			i = p
		}
		n--
		for j, k := i, 0; k < 3; j, k = prev[j], k+1 {
			eval(j)
		}
		for j, k := next[i], 0; k < 3; j, k = next[j], k+1 {
			eval(j)
		}
	}
	return ringOf(pts, next, alive)
}

// ringOf lists the live vertices of a linked ring in order.
func ringOf(pts []orb.Point, next []int, alive []bool) []orb.Point {
	first := slices.Index(alive, true)
	var out []orb.Point
	for j := first; ; j = next[j] {
		out = append(out, pts[j])
		if next[j] == first {
			return out
		}
	}
}

// reduceStep is a step of reduce: vertex i dropped, or the edge from i cut at
// apex; stamp is i's when the change was computed.
type reduceStep struct {
	i, stamp int
	cut      bool
	apex     orb.Point
	area     float64
}

type changeHeap []reduceStep

func (h changeHeap) Len() int           { return len(h) }
func (h changeHeap) Less(i, j int) bool { return h[i].area < h[j].area }
func (h changeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *changeHeap) Push(x any)        { *h = append(*h, x.(reduceStep)) }
func (h *changeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
