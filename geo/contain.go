package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// Containment: does a shape (an exemption's area) hold a flight widened by
// its buffer? The answer is conservative: the flight counts as contained
// only when its clearance from the shape's boundary, in geodesic metres on
// WGS84, is shown to exceed the buffer by more than containSlack. Ties, and
// anything the measurement cannot tell apart from a tie, are not contained.
//
// What is measured:
//   - a path (a point, or legs straight in lon/lat like route legs): every
//     leg lies inside the shape and no point of it comes within the buffer
//     of the boundary;
//   - a polygon area: every edge of its outer rings, as a path, and no part
//     of the shape's boundary (a hole) lies inside the area;
//   - a circular area of radius r: its centre, as a point with buffer
//     r + buffer (the buffer around a geodesic disc is the disc of the
//     summed radius).
//
// Against a polygon, a leg is first measured in one frame centred on it
// (enough when no edge comes near); otherwise it is cut into pieces of at
// most containPiece metres, and each piece is measured against the edges near it in a local
// frame centred on the piece (the frame of the route checks, whose
// relative error relErr bounds within the piece's box grown by the
// buffer). Let D be the frame distance between a piece and an edge, g the
// true geodesic distance and ε the bound. If g ≤ B + s (B the buffer, s =
// containSlack), the closest pair lies within B + s of the piece, so in
// the grown box, where lengths are off by at most ε: D ≤ g(1 + ε). Hence
// D/(1 + ε) > B + s proves g > B + s, and the pair needs no more work;
// likewise D/(1 − ε) ≤ B proves the frame's closest pair (in the box, as
// D < B + s + 1) at most B apart. The frame answers every pair except
// those within about 2εB of the buffer (ε is about tan φ·(ℓ/2 + B)/6,371 km
// for a piece of length ℓ at latitude φ: 3.5·10⁻³ for 2 km pieces and a
// 5 km buffer at 75°, 3·10⁻⁴ for a 500 m buffer at 52°). Those are
// measured geodesically: the distance from a
// point of the piece to the edge by Newton's method on Vincenty's
// distance (closestToPoint), minimised along the piece by golden section
// to 1 mm. That minimisation assumes the distance is unimodal along the
// piece, as it is in the plane; on the ellipsoid the two lon/lat lines
// bend away from geodesics by less than a metre over a piece, which moves
// the minimum but does not create a second one except in a near-tie of
// equal values. containSlack (0.1 m) covers that and the 1 mm tolerances;
// TestContainProperty checks it against a dense geodesic reference. A leg
// is refused only for a distance measured between two actual points, or
// proven by the frame, of at most B + s: its true clearance is at most
// B + s.
//
// Against a circle the distance to the centre decides. Along a curve of
// geodesic curvature κ the distance d to a fixed point satisfies
// d'' ≥ −κ (the Hessian of the distance on the ellipsoid, whose curvature
// is positive, is positive semi-definite within a quarter meridian), so on
// a piece of arc length L, d is at most the larger of its ends plus
// κL²/8. On a sphere of radius R, a straight lon/lat line with
// dλ/dφ = k has bearing α with tan α = k·cos φ, and geodesic curvature
// κ = dα/ds − sin α·tan φ/R (a geodesic keeps dα/ds = sin α·tan φ/R).
// With v = |k|·cos φ and dφ/ds = cos α/R this is
// |κ| = (tan φ/R)·v·((1 + v²)^(−3/2) + (1 + v²)^(−1/2)): tan φ/R for a
// parallel (v → ∞), 0 for a meridian, at most 1.09·tan φ/R (v ≈ 1.5, a
// bearing of about 56°). On WGS84 nofly takes 1.2·tan φ/6,335,439 m (the
// least radius of curvature); TestLonLatCurvature measures up to 0.91 of
// it.
// A leg is halved until each half is either shown inside (ends plus bulge
// below the limit) or its bulge is under containBulge (5 cm). So a leg
// counts as contained only when it is, and is refused only when its true
// clearance is within containSlack + containBulge of the buffer.
//
// Near the poles (within 1°, where relErr has no bound, or a frame error
// of 50%) nothing is measured and nothing is contained.

const (
	// containSlack is the error allowance, in metres: a flight is
	// contained when its clearance from the boundary exceeds buffer +
	// containSlack as measured.
	containSlack = 0.1
	// containPiece is the longest piece, in metres, of a leg measured in
	// one frame against a polygon.
	containPiece = 2000
	// containBulge is the largest bulge, in metres, of a piece left
	// unresolved against a circle before the leg is refused.
	containBulge = 0.05
	// maxContainErr is the largest frame error with which pieces are
	// measured at all (as in route checks): the bound holds at any error,
	// a larger one only sends more pairs to the geodesic measurement.
	maxContainErr = 0.5
)

// ContainFailure says why a shape does not contain a flight.
type ContainFailure uint8

const (
	// ContainOK: the shape contains the flight with its buffer.
	ContainOK ContainFailure = iota
	// ContainOutside: part of the flight itself (without its buffer) lies
	// outside the shape or on its boundary.
	ContainOutside
	// ContainNear: the flight lies inside, but comes within its buffer
	// (and the error allowance) of the boundary: Containment.Distance.
	ContainNear
	// ContainHole: part of the shape's boundary, a hole, lies inside the
	// operating area.
	ContainHole
	// ContainUnmeasured: the flight has no geometry, is not valid, or lies
	// too near a pole to be measured.
	ContainUnmeasured
)

// Containment is the answer of ContainsPath and ContainsArea.
type Containment struct {
	Failure ContainFailure
	// Leg is the leg that fails: leg i of a path runs from path[i] to
	// path[i+1]; the edges of an area's outer rings are numbered in order
	// across rings. -1 for a point, a circular area, a hole, or when no
	// single leg is to blame.
	Leg int
	// Distance (ContainNear) is the least clearance found, in metres,
	// between the flight (the leg; the edge of a circular area) and the
	// shape's boundary. It is a distance actually measured between two
	// points, so the flight comes at least this near; it may exceed
	// Buffer by up to containSlack plus the bulge allowance, when the
	// measurement could not tell the clearance from the buffer.
	Distance float64
	// Buffer is the buffer asked for, in metres.
	Buffer float64
}

// Contained reports whether the shape contains the flight.
func (c Containment) Contained() bool { return c.Failure == ContainOK }

// ErrorAllowance is the margin, in metres, by which a flight's clearance
// must exceed its buffer to count as contained.
const ErrorAllowance = containSlack

// Container is a shape ready for containment tests. It is read-only after
// NewContainer and safe for concurrent use.
type Container struct {
	kind   ShapeKind
	poly   *polyShape
	center orb.Point
	radius float64
}

// NewContainer prepares s for containment tests.
func NewContainer(s Shape) *Container {
	c := &Container{kind: s.Kind}
	switch s.Kind {
	case ShapePolygon:
		c.poly = newPolyShape(s.Polygons)
	case ShapeCircle:
		c.center, c.radius = s.Center, s.Radius
	}
	return c
}

// ContainsPath reports whether s contains the path widened by buffer
// metres: see Container.ContainsPath.
func ContainsPath(s Shape, path []orb.Point, legs []int, buffer float64) Containment {
	return NewContainer(s).ContainsPath(path, legs, buffer)
}

// ContainsArea reports whether s contains the area widened by buffer
// metres: see Container.ContainsArea.
func ContainsArea(s Shape, area Shape, buffer float64) Containment {
	return NewContainer(s).ContainsArea(area, buffer)
}

// ContainsPath reports whether the shape contains the legs of path (a
// single point when len(path) == 1) widened by buffer metres. legs lists
// the legs to test (leg i runs from path[i] to path[i+1]); all legs when it
// is empty. Legs are straight in longitude/latitude.
func (c *Container) ContainsPath(path []orb.Point, legs []int, buffer float64) Containment {
	res := Containment{Leg: -1, Buffer: buffer}
	if !(buffer >= 0) || math.IsInf(buffer, 1) {
		res.Failure = ContainUnmeasured
		return res
	}
	for _, p := range path {
		if !pointOK(p) {
			res.Failure = ContainUnmeasured
			return res
		}
	}
	if len(path) == 1 {
		res.Failure, res.Distance = c.leg(path[0], path[0], 0, buffer)
		return res
	}
	if len(legs) == 0 {
		for i := 0; i+1 < len(path); i++ {
			if fail, d := c.leg(path[i], path[i+1], 0, buffer); fail != ContainOK {
				res.Failure, res.Leg, res.Distance = fail, i, d
				return res
			}
		}
		if len(path) < 2 {
			res.Failure = ContainUnmeasured
		}
		return res
	}
	for _, i := range legs {
		if i < 0 || i+1 >= len(path) {
			res.Failure = ContainUnmeasured
			return res
		}
		if fail, d := c.leg(path[i], path[i+1], 0, buffer); fail != ContainOK {
			res.Failure, res.Leg, res.Distance = fail, i, d
			return res
		}
	}
	return res
}

// ContainsArea reports whether the shape contains the operating area (a
// polygon, of which only the outer rings count: holes in an operating
// area are flown over too, or a circle) widened by buffer metres.
func (c *Container) ContainsArea(area Shape, buffer float64) Containment {
	res := Containment{Leg: -1, Buffer: buffer}
	if !(buffer >= 0) || math.IsInf(buffer, 1) {
		res.Failure = ContainUnmeasured
		return res
	}
	switch area.Kind {
	case ShapeCircle:
		if !pointOK(area.Center) || !(area.Radius >= 0) || math.IsInf(area.Radius, 1) {
			res.Failure = ContainUnmeasured
			return res
		}
		res.Failure, res.Distance = c.leg(area.Center, area.Center, area.Radius, buffer)
		return res
	case ShapePolygon:
	default:
		res.Failure = ContainUnmeasured
		return res
	}
	var outer orb.MultiPolygon
	edge := 0
	for _, pg := range area.Polygons {
		if len(pg) == 0 || len(pg[0]) == 0 {
			continue
		}
		r := pg[0]
		for _, p := range r {
			if !pointOK(p) {
				res.Failure = ContainUnmeasured
				return res
			}
		}
		outer = append(outer, orb.Polygon{r})
		for i := 0; i+1 < len(r); i++ {
			if fail, d := c.leg(r[i], r[i+1], 0, buffer); fail != ContainOK {
				res.Failure, res.Leg, res.Distance = fail, edge, d
				return res
			}
			edge++
		}
	}
	if len(outer) == 0 {
		res.Failure = ContainUnmeasured
		return res
	}
	// Every edge of the area is inside the shape and clear of its
	// boundary, so each ring of the shape lies wholly inside the area or
	// wholly outside it; one vertex says which.
	if c.kind == ShapePolygon {
		in := newPolyShape(outer)
		for _, pg := range c.poly.polys {
			for _, r := range pg {
				if in.contains(r.pts[0]) {
					res.Failure = ContainHole
					return res
				}
			}
		}
	}
	return res
}

// leg measures leg ab (a point when a == b) widened by r + buffer metres
// against the shape. It returns the failure and, for ContainNear, the
// clearance found between the leg widened by r and the boundary.
func (c *Container) leg(a, b orb.Point, r, buffer float64) (ContainFailure, float64) {
	var fail ContainFailure
	var d float64
	switch c.kind {
	case ShapePolygon:
		if !c.poly.contains(a) {
			return ContainOutside, 0
		}
		fail, d = c.legPoly(a, b, r+buffer)
	case ShapeCircle:
		fail, d = c.legCircle(a, b, r+buffer)
	default:
		return ContainUnmeasured, 0
	}
	if fail != ContainNear {
		return fail, 0
	}
	if d <= r { // the circular area itself reaches the boundary
		return ContainOutside, 0
	}
	return fail, d - r
}

// legPoly measures leg ab against the polygon's boundary: ContainOK when
// every point of the leg is farther than limit + containSlack from it (a
// lies inside, tested by the caller), ContainOutside when the leg meets
// the boundary, ContainNear with the least distance found otherwise.
func (c *Container) legPoly(a, b orb.Point, limit float64) (ContainFailure, float64) {
	need := limit + containSlack
	n := legPieces(a, b)
	if n > 1 && c.clearInOneFrame(a, b, need) {
		return ContainOK, 0
	}
	fail := ContainOK
	// The nearest pair the frames found among those that fail, measured
	// geodesically at the end for the report, and the least distance
	// measured geodesically on the way.
	bestD, measured := math.Inf(1), math.Inf(1)
	var bp, bq, bc, bd orb.Point
	for i := 0; i < n && fail != ContainOutside; i++ {
		p, q := lerpLL(a, b, float64(i)/float64(n)), b
		if i+1 < n {
			q = lerpLL(a, b, float64(i+1)/float64(n))
		}
		f := newFrame((p[0]+q[0])/2, (p[1]+q[1])/2)
		box := expandBound(extendBound(orb.Bound{Min: p, Max: p}, q), need+1)
		eps := frameErr(&f, box)
		if !(eps < maxContainErr) {
			return ContainUnmeasured, 0
		}
		pv, qv := f.xy(p), f.xy(q)
		c.poly.eachEdgeNear(box, func(e0, e1 orb.Point) {
			if fail == ContainOutside {
				return
			}
			d, _, _ := segSegClosest(pv, qv, f.xy(e0), f.xy(e1))
			switch {
			case d/(1+eps) > need:
				return // clear, proven by the frame's bound
			case d == 0:
				fail = ContainOutside
				return
			case d/(1-eps) <= limit:
				// Near, proven by the frame's bound: the closest pair in
				// the frame is at most d/(1−ε) apart.
			case fail != ContainOK:
				// Already refused; an undecided pair is no nearer than
				// the pairs that refused.
				return
			default:
				// Undecided by the frame: measure geodesically.
				g := segSegGeo(p, q, e0, e1)
				if g > need {
					return
				}
				measured = min(measured, g)
			}
			fail = ContainNear
			if d < bestD {
				bestD, bp, bq, bc, bd = d, p, q, e0, e1
			}
		})
	}
	if fail == ContainNear {
		return fail, min(measured, segSegGeo(bp, bq, bc, bd))
	}
	return fail, 0
}

// clearInOneFrame reports whether one frame for the whole leg ab proves
// it farther than need metres from every edge: most legs are far from all
// of them, and then need not be cut into pieces.
func (c *Container) clearInOneFrame(a, b orb.Point, need float64) bool {
	f := newFrame((a[0]+b[0])/2, (a[1]+b[1])/2)
	box := expandBound(extendBound(orb.Bound{Min: a, Max: a}, b), need+1)
	eps := frameErr(&f, box)
	if !(eps < maxContainErr) {
		return false
	}
	av, bv := f.xy(a), f.xy(b)
	clear := true
	c.poly.eachEdgeNear(box, func(e0, e1 orb.Point) {
		if clear {
			d, _, _ := segSegClosest(av, bv, f.xy(e0), f.xy(e1))
			clear = d/(1+eps) > need
		}
	})
	return clear
}

// legPieces is the number of pieces of at most about containPiece metres
// leg ab is cut into.
func legPieces(a, b orb.Point) int {
	if a == b {
		return 1
	}
	f := newFrame((a[0]+b[0])/2, (a[1]+b[1])/2)
	l := f.xy(b).sub(f.xy(a)).norm()
	return max(1, min(1<<20, int(math.Ceil(l*1.01/containPiece))))
}

// segSegGeo is the geodesic distance in metres between the straight
// lon/lat segments pq and cd, minimised along pq by golden section to
// 1 mm (see the derivation at the top of this file).
func segSegGeo(p, q, c, d orb.Point) float64 {
	if p == q {
		return pointSegGeo(p, c, d)
	}
	f := newFrame((p[0]+q[0])/2, (p[1]+q[1])/2)
	l := f.xy(q).sub(f.xy(p)).norm()
	g, _ := goldenMin(func(t float64) float64 { return pointSegGeo(lerpLL(p, q, t), c, d) }, 0, 1, 1e-3/max(l, 1e-3))
	return g
}

// pointSegGeo is the geodesic distance in metres from x to the straight
// lon/lat segment cd.
func pointSegGeo(x, c, d orb.Point) float64 {
	f := newFrame(x[0], x[1])
	cv, dv := f.xy(c), f.xy(d)
	if dist, _, ok := closestToPoint(c, d, x, paramOnSeg(vec{}, cv, dv)); ok {
		return dist
	}
	l := dv.sub(cv).norm()
	g, _ := goldenMin(func(u float64) float64 { return Distance(x, lerpLL(c, d, u)) }, 0, 1, 1e-4/max(l, 1e-3))
	return g
}

// lonLatCurvature bounds the geodesic curvature, per metre, of a straight
// lon/lat line at latitudes up to |lat| degrees (see the derivation at the
// top of this file); +Inf within 1° of a pole.
func lonLatCurvature(lat float64) float64 {
	lat = math.Abs(lat)
	if lat >= 89 {
		return math.Inf(1)
	}
	return 1.2 * math.Tan(lat*rad) / 6_335_439
}

// legCircle measures leg ab against the circle: ContainOK when every point
// of the leg is nearer the centre than radius − limit − containSlack,
// ContainOutside when a point of it is on or beyond the circle,
// ContainNear with the clearance (radius less the greatest distance from
// the centre measured) otherwise.
func (c *Container) legCircle(a, b orb.Point, limit float64) (ContainFailure, float64) {
	inner := c.radius - limit - containSlack
	da, db := Distance(c.center, a), Distance(c.center, b)
	far := max(da, db)
	verdict := func() (ContainFailure, float64) {
		if far >= c.radius {
			return ContainOutside, 0
		}
		return ContainNear, c.radius - far
	}
	if far >= inner {
		return verdict()
	}
	if a == b {
		return ContainOK, 0
	}
	type piece struct{ t0, t1, d0, d1 float64 }
	stack := []piece{{0, 1, da, db}}
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		p, q := lerpLL(a, b, pc.t0), lerpLL(a, b, pc.t1)
		k := lonLatCurvature(max(math.Abs(p[1]), math.Abs(q[1])))
		if math.IsInf(k, 1) {
			return ContainUnmeasured, 0
		}
		// Arc length of the lon/lat piece: its length in a frame at its
		// middle, where the curve is straight, grown by the frame's scale
		// error over the piece.
		f := newFrame((p[0]+q[0])/2, (p[1]+q[1])/2)
		eps := f.relErr(math.Abs(q[1]-p[1])/2, math.Abs(q[0]-p[0])/2)
		bulge := math.Inf(1) // a frame that says little: halve the piece
		if eps < maxContainErr {
			l := f.xy(q).sub(f.xy(p)).norm() * (1 + eps)
			bulge = k * l * l / 8
		}
		if max(pc.d0, pc.d1)+bulge < inner {
			continue
		}
		if bulge <= containBulge || len(stack) > 64 {
			// Undecided within the allowance: refused.
			return verdict()
		}
		tm := (pc.t0 + pc.t1) / 2
		dm := Distance(c.center, lerpLL(a, b, tm))
		if dm > far {
			far = dm
		}
		if dm >= inner {
			return verdict()
		}
		stack = append(stack, piece{pc.t0, tm, pc.d0, dm}, piece{tm, pc.t1, dm, pc.d1})
	}
	return ContainOK, 0
}
