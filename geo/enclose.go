package geo

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// Enclose returns a ring of at most maxVertices distinct vertices
// (maxVertices ≥ 4) that contains ring with a clearance of at least marginM
// metres: never smaller, so that a fence drawn from it keeps an aircraft
// out of all of ring. It works in longitude/latitude, where nofly's polygon
// edges are straight (see the package doc), as PX4 and ArduPilot test
// fences.
//
// When ring is a simple polygon of at most MaxTightVertices vertices it is
// first enclosed tightly, concave bays kept (encloseTight): every edge
// moved out by marginM in the plane of Corridor (where no metre is longer
// than 1/110,574 of a unit, so the move is at least marginM on WGS84),
// mitred at concave corners and at convex ones turning up to 90°, arcs of
// circumscribed polygons round sharper convex corners; then reduced to
// maxVertices by changes that only add area, the ring kept simple (see
// Corridor). Where that fails (the ring is not simple, an edge is too
// short for its concave corner's offsets to meet, the offset ring crosses
// itself) Enclose falls back to the convex hull (encloseHull).
//
// The result is closed (first vertex repeated last), counter-clockwise.
func Enclose(ring orb.Ring, maxVertices int, marginM float64) orb.Ring {
	maxVertices = max(maxVertices, 4)
	if r, ok := encloseTight(ring, maxVertices, marginM); ok {
		return r
	}
	return encloseHull(ring, maxVertices, marginM)
}

// MaxTightVertices bounds the rings Enclose encloses tightly (keeping
// their concave bays): checking that a ring is simple costs the square of
// its vertices. Larger rings are enclosed by their convex hull.
const MaxTightVertices = 1000

// encloseTight is Enclose's tight enclosure; false when it cannot be made.
func encloseTight(ring orb.Ring, maxVertices int, marginM float64) (orb.Ring, bool) {
	pts := []orb.Point(ring)
	if len(pts) > 1 && pts[0] == pts[len(pts)-1] {
		pts = pts[:len(pts)-1]
	}
	if len(pts) < 3 || len(pts) > MaxTightVertices {
		return nil, false
	}
	b := orb.MultiPoint(pts).Bound()
	d := metresToDegLat(max(marginM, 0) + corridorExtraM)
	far := max(math.Abs(b.Min[1]), math.Abs(b.Max[1])) + d
	if far > 89 || b.Max[0]-b.Min[0] > 180 {
		return nil, false
	}
	k := math.Cos(far * rad)
	plane := make([]orb.Point, 0, len(pts))
	for _, p := range pts {
		q := orb.Point{p[0] * k, p[1]}
		if len(plane) == 0 || q != plane[len(plane)-1] {
			plane = append(plane, q)
		}
	}
	out, ok := offsetSimple(plane, d, math.Pi/2)
	if !ok {
		return nil, false
	}
	out = reduce(out, maxVertices)
	res := make(orb.Ring, 0, len(out)+1)
	for _, p := range out {
		res = append(res, orb.Point{math.Max(-180, math.Min(180, p[0]/k)), math.Max(-90, math.Min(90, p[1]))})
	}
	return append(res, res[0]), true
}

// offsetSimple moves the plane ring r (open, either orientation) out by d
// (offsetRing), counter-clockwise; false unless r and the result are simple.
func offsetSimple(r []orb.Point, d, mitre float64) ([]orb.Point, bool) {
	plane := slices.Clone(r)
	for len(plane) > 1 && plane[0] == plane[len(plane)-1] {
		plane = plane[:len(plane)-1]
	}
	if len(plane) < 3 {
		return nil, false
	}
	if orb.Ring(closeRing(plane)).Orientation() == orb.CW {
		slices.Reverse(plane)
	}
	plane = dropCollinear(plane)
	if len(plane) < 3 || !simple(plane) {
		return nil, false
	}
	out, ok := offsetRing(plane, d, mitre)
	if !ok || !simple(out) {
		return nil, false
	}
	return out, true
}

// dropCollinear drops vertices where the ring goes straight on.
func dropCollinear(r []orb.Point) []orb.Point {
	out := make([]orb.Point, 0, len(r))
	n := len(r)
	for i := range n {
		a, b, c := r[(i-1+n)%n], r[i], r[(i+1)%n]
		if cross(a, b, c) == 0 && (b[0]-a[0])*(c[0]-b[0])+(b[1]-a[1])*(c[1]-b[1]) > 0 {
			continue
		}
		out = append(out, b)
	}
	return out
}

// offsetRing moves every edge of the simple counter-clockwise ring r out
// by d (see Enclose): convex corners turning up to mitre radians mitred
// (the corner d/cos(mitre/2) out at most), sharper ones rounded by arcs;
// false when a concave corner's offsets do not meet within its edges.
func offsetRing(r []orb.Point, d, mitre float64) ([]orb.Point, bool) {
	n := len(r)
	ang := make([]float64, n) // edge i runs from r[i] to r[i+1]
	length := make([]float64, n)
	for i := range n {
		a, b := r[i], r[(i+1)%n]
		ang[i] = math.Atan2(b[1]-a[1], b[0]-a[0])
		length[i] = math.Hypot(b[0]-a[0], b[1]-a[1])
	}
	var out []orb.Point
	for i := range n {
		in, o := ang[(i-1+n)%n], ang[i]
		turn := normAngle(o - in) // > 0: a left turn, a convex corner of a counter-clockwise ring
		// The outside of a counter-clockwise ring is on the right.
		switch h := math.Abs(turn) / 2; {
		case turn > mitre:
			out = arc(out, r[i], d, in-math.Pi/2, in-math.Pi/2+turn)
		case turn > 0:
			mid := in + turn/2 - math.Pi/2
			rr := d / math.Cos(h)
			out = append(out, orb.Point{r[i][0] + rr*math.Cos(mid), r[i][1] + rr*math.Sin(mid)})
		case turn < 0:
			if h > math.Pi/2-1e-6 || d*math.Tan(h) > length[(i-1+n)%n] || d*math.Tan(h) > length[i] {
				return nil, false
			}
			mid := in + turn/2 - math.Pi/2
			rr := d / math.Cos(h)
			out = append(out, orb.Point{r[i][0] + rr*math.Cos(mid), r[i][1] + rr*math.Sin(mid)})
		default:
			out = append(out, offsetPt(r[i], o, d))
		}
	}
	return dedupe(out), true
}

// encloseHull is Enclose by the convex hull:
//
//  1. The convex hull of ring, which contains it (concave bays are fenced
//     off with the zone).
//  2. While the hull has too many vertices, the edge whose removal adds the
//     least area is removed by extending its two neighbouring edges until
//     they meet (the result still contains the hull). Should no edge be
//     removable, the bounding box.
//  3. Every edge moved outward by marginM (mitred corners), measured in a
//     plane scaled at the polygon's latitude nearest a pole, with 10 %
//     added for the scale's error over the polygon: the clearance is at
//     least marginM.
func encloseHull(ring orb.Ring, maxVertices int, marginM float64) orb.Ring {
	maxVertices = max(maxVertices, 4)
	pts := slices.Clone([]orb.Point(ring))
	hull := convexHull(pts)
	for len(hull) > maxVertices {
		var ok bool
		if hull, ok = cutEdge(hull); !ok {
			b := orb.MultiPoint(pts).Bound()
			hull = []orb.Point{b.Min, {b.Max[0], b.Min[1]}, b.Max, {b.Min[0], b.Max[1]}}
			break
		}
	}
	if len(hull) >= 3 && marginM > 0 {
		hull = offsetConvex(hull, marginM)
	}
	return closeRing(hull)
}

// offsetConvex moves every edge of the convex counter-clockwise polygon h
// outward by m metres (see Enclose).
func offsetConvex(h []orb.Point, m float64) []orb.Point {
	maxLat := 0.0
	for _, p := range h {
		maxLat = max(maxLat, math.Abs(p[1]))
	}
	k := math.Cos(min(maxLat, 89) * math.Pi / 180) // x = lon·k, y = lat: metres alike in both
	d := metresToDegLat(m) * 1.1                   // degrees of latitude, rounded up
	n := len(h)
	type line struct{ p, dir orb.Point }
	lines := make([]line, n)
	for i := range n {
		a, b := h[i], h[(i+1)%n]
		ax, bx := orb.Point{a[0] * k, a[1]}, orb.Point{b[0] * k, b[1]}
		dx, dy := bx[0]-ax[0], bx[1]-ax[1]
		l := math.Hypot(dx, dy)
		// The outward normal of a counter-clockwise edge is (dy, -dx).
		nx, ny := dy/l*d, -dx/l*d
		lines[i] = line{p: orb.Point{ax[0] + nx, ax[1] + ny}, dir: orb.Point{dx, dy}}
	}
	out := make([]orb.Point, n)
	for i := range n {
		l1, l2 := lines[(i-1+n)%n], lines[i]
		den := l1.dir[0]*l2.dir[1] - l1.dir[1]*l2.dir[0]
		var p orb.Point
		if den == 0 { // collinear edges: the vertex moves along the normal
			p = l2.p
		} else {
			t := ((l2.p[0]-l1.p[0])*l2.dir[1] - (l2.p[1]-l1.p[1])*l2.dir[0]) / den
			p = orb.Point{l1.p[0] + t*l1.dir[0], l1.p[1] + t*l1.dir[1]}
		}
		out[i] = orb.Point{math.Max(-180, math.Min(180, p[0]/k)), math.Max(-90, math.Min(90, p[1]))}
	}
	return out
}

func closeRing(pts []orb.Point) orb.Ring {
	r := orb.Ring(slices.Clone(pts))
	if len(r) > 0 && r[0] != r[len(r)-1] {
		r = append(r, r[0])
	}
	return r
}

func cross(o, a, b orb.Point) float64 {
	return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0])
}

// convexHull is Andrew's monotone chain: the hull's vertices,
// counter-clockwise, collinear points dropped.
func convexHull(pts []orb.Point) []orb.Point {
	p := slices.Clone(pts)
	slices.SortFunc(p, func(a, b orb.Point) int {
		if a[0] != b[0] {
			if a[0] < b[0] {
				return -1
			}
			return 1
		}
		switch {
		case a[1] < b[1]:
			return -1
		case a[1] > b[1]:
			return 1
		}
		return 0
	})
	p = slices.Compact(p)
	if len(p) < 3 {
		return p
	}
	h := make([]orb.Point, 0, 2*len(p))
	for _, pt := range p {
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], pt) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, pt)
	}
	lower := len(h) + 1
	for i := len(p) - 2; i >= 0; i-- {
		for len(h) >= lower && cross(h[len(h)-2], h[len(h)-1], p[i]) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, p[i])
	}
	return h[:len(h)-1]
}

// cutEdge removes from the convex polygon h (counter-clockwise) the edge
// h[i]→h[i+1] whose neighbours, extended, meet at the apex adding the
// least area, replacing its two vertices by the apex. The apex is pushed
// outward by a relative 1e-12 so that rounding cannot cut into the hull.
func cutEdge(h []orb.Point) ([]orb.Point, bool) {
	n := len(h)
	best, bestArea := -1, math.Inf(1)
	var bestApex orb.Point
	for i := range n {
		a, b, c, d := h[(i-1+n)%n], h[i], h[(i+1)%n], h[(i+2)%n]
		apex, ok := meet(a, b, c, d)
		if !ok {
			continue
		}
		// The triangle b, apex, c is what the cut adds.
		area := math.Abs(cross(b, apex, c)) / 2
		if area < bestArea {
			best, bestArea, bestApex = i, area, apex
		}
	}
	if best < 0 {
		return h, false
	}
	out := make([]orb.Point, 0, n-1)
	for j := range n {
		switch j {
		case best:
			out = append(out, bestApex)
		case (best + 1) % n:
		default:
			out = append(out, h[j])
		}
	}
	return out, true
}

// meet is where the line a→b, extended beyond b, meets the line d→c,
// extended beyond c; false when they do not meet on that side (the
// edges diverge or are parallel).
func meet(a, b, c, d orb.Point) (orb.Point, bool) {
	r := orb.Point{b[0] - a[0], b[1] - a[1]}
	s := orb.Point{c[0] - d[0], c[1] - d[1]}
	den := r[0]*s[1] - r[1]*s[0]
	if den == 0 {
		return orb.Point{}, false
	}
	// a + t·r = d + u·s
	t := ((d[0]-a[0])*s[1] - (d[1]-a[1])*s[0]) / den
	u := ((d[0]-a[0])*r[1] - (d[1]-a[1])*r[0]) / den
	if t <= 1 || u <= 1 || math.IsInf(t, 0) || math.IsNaN(t) {
		return orb.Point{}, false
	}
	p := orb.Point{a[0] + t*r[0], a[1] + t*r[1]}
	if math.Abs(p[0]) > 180 || math.Abs(p[1]) > 90 {
		return orb.Point{}, false
	}
	// Outward from the edge's midpoint, a hair: never inside the hull.
	m := orb.Point{(b[0] + c[0]) / 2, (b[1] + c[1]) / 2}
	const eps = 1e-9
	p = orb.Point{p[0] + (p[0]-m[0])*eps, p[1] + (p[1]-m[1])*eps}
	return p, true
}

// CircleRing is a closed polygon of n vertices (n ≥ 8) that contains the
// circle of radius r metres around c: its edges lie outside the circle,
// measured with the degree lengths rounded as expandBound rounds them.
func CircleRing(c orb.Point, r float64, n int) orb.Ring {
	n = max(n, 8)
	rr := r / math.Cos(math.Pi/float64(n)) // to the vertices
	dLat := metresToDegLat(rr)
	dLon := metresToDegLon(rr, min(math.Abs(c[1])+dLat, 89))
	out := make(orb.Ring, 0, n+1)
	for i := range n {
		a := 2 * math.Pi * float64(i) / float64(n)
		out = append(out, orb.Point{c[0] + dLon*math.Cos(a), c[1] + dLat*math.Sin(a)})
	}
	return append(out, out[0])
}
