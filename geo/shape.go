package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// boundarySlack is how close, in metres, a flight may come to the edge of
// its buffer around a zone and still count as meeting it. It is far below
// the accuracy the checks promise (0.5 m), and errs towards a conflict.
const boundarySlack = 0.05

// cvol is a compiled volume: its shape ready for queries. The fields a
// position check reads first fill the first 64 bytes (one cache line).
type cvol struct {
	zone  int32 // index into Index.zones
	kind  ShapeKind
	multi bool // the zone has other volumes
	perm  bool // the zone is always active
	block bool // the zone's restriction blocks
	// pts is the only ring of a small single-ring polygon, so that the
	// common case tests containment without following pointers.
	pts   []orb.Point
	lower Limit
	upper Limit
	rb    ringBands // of pts, for routes

	vol    int32 // index into Zone.Volumes
	poly   *polyShape
	center orb.Point
	radius float64
	cf     frame // frame at the circle's centre
	bound  orb.Bound
}

func compileVolume(zi, vi int, v *Volume) cvol {
	cv := cvol{zone: int32(zi), vol: int32(vi), kind: v.Shape.Kind, lower: v.Lower, upper: v.Upper, bound: v.Shape.Bound()}
	switch v.Shape.Kind {
	case ShapePolygon:
		cv.poly = newPolyShape(v.Shape.Polygons)
		if mp := v.Shape.Polygons; len(mp) == 1 && len(mp[0]) == 1 && len(mp[0][0]) <= bigRing+1 {
			cv.pts = mp[0][0]
		}
	case ShapeCircle:
		cv.center, cv.radius = v.Shape.Center, v.Shape.Radius
		cv.cf = newFrame(v.Shape.Center[0], v.Shape.Center[1])
	}
	return cv
}

// nonBlocking is added to the order of hits on zones that do not block.
const nonBlocking = 1 << 31

// order is the sort key of hits on v's zone: blocking zones first, then by
// ID (the index keeps zones sorted by ID).
func (v *cvol) order() uint32 {
	if v.block {
		return uint32(v.zone)
	}
	return uint32(v.zone) + nonBlocking
}

// someVertexIn reports whether a vertex of any of the volume's polygons (or
// a circle's centre) lies in area: a shape that meets no edge of the area
// lies wholly inside it exactly when this holds.
func (v *cvol) someVertexIn(area *polyShape) bool {
	if v.kind == ShapeCircle {
		return area.contains(v.center)
	}
	for _, pg := range v.poly.polys {
		if area.contains(pg[0].pts[0]) {
			return true
		}
	}
	return false
}

// containsPoint reports whether p lies in the volume's horizontal shape;
// the boundary is inside.
func (v *cvol) containsPoint(p orb.Point) bool {
	if v.pts != nil {
		return v.holds(p)
	}
	if v.kind == ShapePolygon {
		return v.poly.contains(p)
	}
	d := v.cf.xy(p).norm()
	// The frame decides when its error bound allows (it does not far from
	// the centre or near the poles); the geodesic otherwise.
	if eps := v.cf.relErr(math.Abs(p[1]-v.center[1]), math.Abs(p[0]-v.center[0])); eps < 0.5 {
		switch {
		case d/(1+eps) > v.radius+boundarySlack:
			return false
		case d/(1-eps) <= v.radius:
			return true
		}
	}
	return Distance(p, v.center) <= v.radius+boundarySlack
}

// ptsHold reports whether p is inside the closed ring pts or on it
// (crossing number).
func ptsHold(pts []orb.Point, p orb.Point) bool {
	inside := false
	for i := 0; i+1 < len(pts); i++ {
		if spans(p, pts[i], pts[i+1]) && edgeCase(p, pts[i], pts[i+1], &inside) {
			return true
		}
	}
	return inside
}

// holds reports whether p is in the volume's small ring v.pts or on it.
func (v *cvol) holds(p orb.Point) bool {
	if v.rb.bands != nil {
		return v.rb.hold(v.pts, p)
	}
	return ptsHold(v.pts, p)
}

// smallEdgesNear appends to dst, once each, the edges of the small ring
// v.pts whose box meets q.
func (v *cvol) smallEdgesNear(q orb.Bound, dst []uint8) []uint8 {
	if v.rb.bands != nil {
		return v.rb.edgesNear(v.pts, q, dst)
	}
	for i := 0; i+1 < len(v.pts); i++ {
		c, d := v.pts[i], v.pts[i+1]
		if (c[0] < q.Min[0] && d[0] < q.Min[0]) || (c[0] > q.Max[0] && d[0] > q.Max[0]) ||
			(c[1] < q.Min[1] && d[1] < q.Min[1]) || (c[1] > q.Max[1] && d[1] > q.Max[1]) {
			continue
		}
		dst = append(dst, uint8(i))
	}
	return dst
}

// near is how a segment (or a point) meets a volume's shape.
type near struct {
	dist   float64 // metres from the shape; 0 when it enters the shape
	t0, t1 float64 // parameters of the segment within the limit (a hull)
}

// segNear measures the segment s (a == b for a point) against the volume's
// shape. ok is false when the segment stays farther than limit metres from
// the shape.
//
// aSide says on which side of the shape's boundary s.a lies, when known
// (the previous segment of a route ends there); bSide says the same of s.b
// for the next segment.
func (v *cvol) segNear(s *segment, limit float64, aSide side) (n near, ok bool, bSide side) {
	if v.kind == ShapeCircle {
		n, ok = v.segNearCircle(s.a, s.b, &s.f, s.q, limit)
		return n, ok, sideUnknown
	}
	return v.segNearPoly(s.a, s.b, &s.f, s.q, s.eps, limit, aSide)
}

// side is where a point lies against a shape, when known.
type side uint8

const (
	sideUnknown side = iota
	sideIn           // in the shape or on its boundary
	sideOut
)

func sideOf(in bool) side {
	if in {
		return sideIn
	}
	return sideOut
}

// frameErr bounds the relative error of lengths in f between points in q.
func frameErr(f *frame, q orb.Bound) float64 {
	return f.relErr(max(math.Abs(q.Max[1]-f.lat0), math.Abs(q.Min[1]-f.lat0)),
		max(math.Abs(q.Max[0]-f.lon0), math.Abs(q.Min[0]-f.lon0)))
}

// segNearPoly measures segment ab against a polygon. f is a frame near the
// segment, q the segment's box grown by limit metres and eps the relative
// error of lengths in f within q.
func (v *cvol) segNearPoly(a, b orb.Point, f *frame, q orb.Bound, eps, limit float64, aSide side) (near, bool, side) {
	av, bv := f.xy(a), f.xy(b)
	r := limit*(1+eps) + boundarySlack // capsule radius for the hull, widened
	if eps >= 0.5 {
		r = math.Inf(1) // the frame says little here: every edge near q counts
	}
	n := near{dist: math.Inf(1), t0: math.Inf(1), t1: math.Inf(-1)}
	hull := func(lo, hi float64) {
		n.t0, n.t1 = min(n.t0, lo), max(n.t1, hi)
	}
	var ea, eb orb.Point // edge of the closest pair
	near := func(c, d orb.Point) {
		cv, dv := f.xy(c), f.xy(d)
		dd, _, _ := segSegClosest(av, bv, cv, dv)
		if dd < n.dist {
			n.dist, ea, eb = dd, c, d
		}
		if dd <= r {
			if lo, hi, ok := capsuleParams(av, bv, cv, dv, r); ok {
				hull(lo, hi)
			}
		}
	}
	var ain bool
	if pts := v.pts; pts != nil && v.rb.bands == nil {
		// A small single ring: one pass over its edges both measures the
		// edges near the segment and, unless known, tests whether a is
		// inside.
		inside, on := false, aSide != sideUnknown
		for i := 0; i+1 < len(pts); i++ {
			c, d := pts[i], pts[i+1]
			// q holds a: an edge wholly above or below q is neither near
			// the segment nor crosses a's ray.
			if (c[1] < q.Min[1] && d[1] < q.Min[1]) || (c[1] > q.Max[1] && d[1] > q.Max[1]) {
				continue
			}
			if !on && spans(a, c, d) && edgeCase(a, c, d, &inside) {
				on = true
			}
			if (c[0] < q.Min[0] && d[0] < q.Min[0]) || (c[0] > q.Max[0] && d[0] > q.Max[0]) {
				continue
			}
			near(c, d)
		}
		ain = (on && aSide != sideOut) || inside
		if aSide != sideUnknown {
			ain = aSide == sideIn
		}
	} else if pts != nil {
		// A small ring with bands (see ringBands): the edges of the bands
		// q meets, and a's band for its side.
		var ebuf [bigRing]uint8
		for _, i := range v.rb.edgesNear(pts, q, ebuf[:0]) {
			near(pts[i], pts[i+1])
		}
		switch aSide {
		case sideUnknown:
			ain = v.rb.hold(pts, a)
		case sideIn:
			ain = true
		}
	} else {
		v.poly.eachEdgeNear(q, near)
		if n.dist > 0 {
			ain = aSide == sideIn || (aSide == sideUnknown && v.poly.contains(a))
		}
	}
	// No edge crossed: the whole segment is on one side of the boundary,
	// and one containment test says which.
	if n.dist > 0 {
		if ain {
			// Inside throughout; b's side carries only when the segment
			// stays clear of the boundary beyond any rounding.
			bSide := sideIn
			if n.dist < 1e-3 {
				bSide = sideUnknown
			}
			n.dist, n.t0, n.t1 = 0, 0, 1
			return n, true, bSide
		}
		if n.dist/(1+eps) > limit+boundarySlack {
			return n, false, sideOut
		}
	} else {
		// Crossing: the parts inside the shape count too. A small ring's
		// pass above already learnt a's side (with the box test, it is the
		// containment test's answer); b's is tested on the same vertices,
		// which sit in the index's arena, nearer in memory than the
		// shape's own.
		var ainX, bin bool
		if v.pts != nil {
			ainX = ain && (aSide != sideUnknown || v.bound.Contains(a))
			bin = v.bound.Contains(b) && v.holds(b)
		} else {
			ainX = aSide == sideIn || (aSide == sideUnknown && v.poly.contains(a))
			bin = v.poly.contains(b)
		}
		if ainX {
			hull(0, 0)
		}
		if bin {
			hull(1, 1)
		}
		return n, true, sideOf(bin)
	}
	// Near the limit or a hit: measure the closest pairs again in frames
	// centred on them, then geodesically. Edges whose frame distance is
	// within the frame's error of the best are candidates too.
	best := refinePair(a, b, ea, eb, f)
	cut := math.Inf(1)
	if eps < 0.5 {
		cut = n.dist * (1 + eps) / (1 - eps)
	}
	if pts := v.pts; pts != nil {
		var ebuf [bigRing]uint8
		for _, i := range v.smallEdgesNear(q, ebuf[:0]) {
			c, d := pts[i], pts[i+1]
			if c == ea && d == eb {
				continue
			}
			if dd, _, _ := segSegClosest(av, bv, f.xy(c), f.xy(d)); dd <= cut {
				best = min(best, refinePair(a, b, c, d, f))
			}
		}
	} else {
		v.poly.eachEdgeNear(q, func(c, d orb.Point) {
			if c == ea && d == eb {
				return
			}
			dd, _, _ := segSegClosest(av, bv, f.xy(c), f.xy(d))
			if dd <= cut {
				best = min(best, refinePair(a, b, c, d, f))
			}
		})
	}
	n.dist = best
	// So close to the boundary the frame's "no crossing" may be rounding:
	// the end's side is not carried.
	return n, best <= limit+boundarySlack, sideUnknown
}

// refinePair measures the distance in metres between segments ab and cd
// (lon/lat): it finds the closest pair in f, again in a frame centred on
// that pair, and returns the geodesic distance between the two points. Over
// more than a few kilometres a frame is not exact enough, so the pair is
// then refined geodesically, moving each point in turn to the closest one
// to the other.
func refinePair(a, b, c, d orb.Point, f *frame) float64 {
	var t, u float64
	var nf frame // declared outside the loop, so that it stays on the stack
	for i := 0; i < 2; i++ {
		var dd float64
		dd, t, u = segSegClosest(f.xy(a), f.xy(b), f.xy(c), f.xy(d))
		if dd == 0 {
			return 0
		}
		p, q := lerpLL(a, b, t), lerpLL(c, d, u)
		nf = newFrame((p[0]+q[0])/2, (p[1]+q[1])/2)
		f = &nf
	}
	dist := Distance(lerpLL(a, b, t), lerpLL(c, d, u))
	if dist < 2000 {
		return dist
	}
	for i := 0; i < 20; i++ {
		prev := dist
		if _, nu, ok := closestToPoint(c, d, lerpLL(a, b, t), u); ok {
			u = nu
		}
		if _, nt, ok := closestToPoint(a, b, lerpLL(c, d, u), t); ok {
			t = nt
		}
		dist = min(dist, Distance(lerpLL(a, b, t), lerpLL(c, d, u)))
		if prev-dist < 1e-4 {
			break
		}
	}
	return dist
}

// lerpLL is the point at t along the straight lon/lat line from a to b.
func lerpLL(a, b orb.Point, t float64) orb.Point {
	return orb.Point{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t}
}

func (v *cvol) segNearCircle(a, b orb.Point, f *frame, q orb.Bound, limit float64) (near, bool) {
	av, bv, cv := f.xy(a), f.xy(b), f.xy(v.center)
	qq := extendBound(q, v.center)
	eps := frameErr(f, qq)
	dir := bv.sub(av)
	dc := lerp(av, bv, paramOnSeg(cv, av, bv)).sub(cv).norm() // frame distance to the centre
	n := near{dist: math.Inf(1), t0: math.Inf(1), t1: math.Inf(-1)}
	if eps >= 0.5 { // the frame says nothing here: measure geodesically
		eps = math.Inf(1)
	} else if dc/(1+eps)-v.radius > limit+boundarySlack {
		return n, false
	}
	if lo, hi, ok := lineDisc(av, dir, cv, (v.radius+limit)*(1+eps)+boundarySlack); ok {
		lo, hi = max(lo, 0), min(hi, 1)
		if lo <= hi {
			n.t0, n.t1 = lo, hi
		}
	}
	if eps < 0.5 && dc/(1-eps) <= v.radius { // certainly enters the circle
		n.dist = 0
		if n.t0 > n.t1 {
			n.t0, n.t1 = 0, 1
		}
		return n, true
	}
	// Geodesic distance to the centre, minimised along the segment (it is
	// unimodal there), to 0.1 mm.
	l := dir.norm()
	var dmin float64
	if l == 0 {
		dmin = Distance(a, v.center)
	} else if d, _, ok := closestToPoint(a, b, v.center, paramOnSeg(cv, av, bv)); ok {
		dmin = d
	} else {
		dmin, _ = goldenMin(func(s float64) float64 { return Distance(lerpLL(a, b, s), v.center) }, 0, 1, 1e-4/l)
	}
	n.dist = max(0, dmin-v.radius)
	if n.dist > limit+boundarySlack {
		return n, false
	}
	if n.t0 > n.t1 { // frame hull missed it: the whole segment
		n.t0, n.t1 = 0, 1
	}
	return n, true
}

// closestToPoint finds the least geodesic distance from c to the straight
// lon/lat segment ab by Newton's method from parameter t: at each point it
// takes the geodesic towards c, and moves along the segment by the part of
// that distance that lies along it. ok is false when it does not settle.
func closestToPoint(a, b, c orb.Point, t float64) (dist, at float64, ok bool) {
	for i := 0; i < 8; i++ {
		p := lerpLL(a, b, t)
		d, az := distAz(p, c)
		f := newFrame(p[0], p[1])
		seg := f.xy(b).sub(f.xy(a))
		l := seg.norm()
		if l == 0 || d == 0 {
			return d, t, true
		}
		// Metres along the segment towards c, and the step in t.
		along := d * (math.Sin(az)*seg.x + math.Cos(az)*seg.y) / l
		nt := clamp01(t + along/l)
		if math.Abs(nt-t)*l < 1e-3 {
			return d, t, true
		}
		t = nt
	}
	return 0, 0, false
}

// goldenMin minimises the unimodal f on [lo, hi] to within tol and returns
// the least value seen and where.
func goldenMin(f func(float64) float64, lo, hi, tol float64) (float64, float64) {
	const g = 0.6180339887498949
	best, at := f(lo), lo
	if v := f(hi); v < best {
		best, at = v, hi
	}
	x1 := hi - g*(hi-lo)
	x2 := lo + g*(hi-lo)
	f1, f2 := f(x1), f(x2)
	for i := 0; i < 80 && hi-lo > tol; i++ {
		if f1 <= f2 {
			hi, x2, f2 = x2, x1, f1
			x1 = hi - g*(hi-lo)
			f1 = f(x1)
		} else {
			lo, x1, f1 = x1, x2, f2
			x2 = lo + g*(hi-lo)
			f2 = f(x2)
		}
	}
	if f1 < best {
		best, at = f1, x1
	}
	if f2 < best {
		best, at = f2, x2
	}
	return best, at
}
