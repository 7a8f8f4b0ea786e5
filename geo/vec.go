package geo

import "math"

// vec is a point or direction in a local metric frame, in metres.
type vec struct{ x, y float64 }

func (a vec) sub(b vec) vec        { return vec{a.x - b.x, a.y - b.y} }
func (a vec) scale(k float64) vec  { return vec{a.x * k, a.y * k} }
func (a vec) dot(b vec) float64    { return a.x*b.x + a.y*b.y }
func (a vec) cross(b vec) float64  { return a.x*b.y - a.y*b.x }
func (a vec) norm() float64        { return math.Hypot(a.x, a.y) }
func lerp(a, b vec, t float64) vec { return vec{a.x + (b.x-a.x)*t, a.y + (b.y-a.y)*t} }
func clamp01(t float64) float64    { return max(0, min(1, t)) }

// paramOnSeg is the parameter t in [0,1] of the point of segment ab closest
// to p.
func paramOnSeg(p, a, b vec) float64 {
	d := b.sub(a)
	l2 := d.dot(d)
	if l2 == 0 {
		return 0
	}
	return clamp01(p.sub(a).dot(d) / l2)
}

// segSegClosest returns the distance between segments ab and cd and the
// parameters t on ab and u on cd of a closest pair.
func segSegClosest(a, b, c, d vec) (dist, t, u float64) {
	if t, u, ok := segIntersect(a, b, c, d); ok {
		return 0, t, u
	}
	// The closest pair of two non-crossing segments includes an endpoint.
	d2 := math.Inf(1)
	try := func(tt, uu float64) {
		if e := lerp(a, b, tt).sub(lerp(c, d, uu)); e.dot(e) < d2 {
			d2, t, u = e.dot(e), tt, uu
		}
	}
	try(0, paramOnSeg(a, c, d))
	try(1, paramOnSeg(b, c, d))
	try(paramOnSeg(c, a, b), 0)
	try(paramOnSeg(d, a, b), 1)
	return math.Sqrt(d2), t, u
}

// segIntersect reports whether segments ab and cd share a point (touching
// and collinear overlap count) and, if so, its parameters on ab and cd.
func segIntersect(a, b, c, d vec) (t, u float64, ok bool) {
	r := b.sub(a)
	s := d.sub(c)
	den := r.cross(s)
	ca := c.sub(a)
	if den == 0 {
		if ca.cross(r) != 0 {
			return 0, 0, false // parallel, apart
		}
		// Collinear: overlap of projections.
		l2 := r.dot(r)
		if l2 == 0 {
			if s.dot(s) == 0 {
				return 0, 0, a == c
			}
			u := -ca.dot(s) / s.dot(s) // a on cd?
			return 0, u, u >= 0 && u <= 1 && ca.cross(s) == 0
		}
		t0 := ca.dot(r) / l2
		t1 := d.sub(a).dot(r) / l2
		lo, hi := min(t0, t1), max(t0, t1)
		if hi < 0 || lo > 1 {
			return 0, 0, false
		}
		t = clamp01(lo)
		return t, paramOnSeg(lerp(a, b, t), c, d), true
	}
	t = ca.cross(s) / den
	u = ca.cross(r) / den
	if t >= 0 && t <= 1 && u >= 0 && u <= 1 {
		return t, u, true
	}
	return 0, 0, false
}

// capsuleParams returns the interval of t in [0,1] for which the point
// a+t(b-a) lies within r of segment cd; ok is false when there is none.
// The set is an interval because distance to a convex set is convex along
// a line.
func capsuleParams(a, b, c, d vec, r float64) (t0, t1 float64, ok bool) {
	t0, t1 = math.Inf(1), math.Inf(-1)
	add := func(lo, hi float64) {
		lo, hi = max(lo, 0), min(hi, 1)
		if lo <= hi {
			t0, t1 = min(t0, lo), max(t1, hi)
		}
	}
	dir := b.sub(a)
	// Discs around c and d.
	for _, q := range [2]vec{c, d} {
		if lo, hi, ok := lineDisc(a, dir, q, r); ok {
			add(lo, hi)
		}
	}
	// Slab around the inside of cd: |cross| <= r|cd| and 0 <= proj <= |cd|².
	e := d.sub(c)
	el := e.norm()
	if el > 0 {
		lo, hi := math.Inf(-1), math.Inf(1)
		// cross(e, p-c) = cross(e, a-c) + t·cross(e, dir)
		lo, hi = linearBetween(e.cross(a.sub(c)), e.cross(dir), -r*el, r*el, lo, hi)
		lo, hi = linearBetween(e.dot(a.sub(c)), e.dot(dir), 0, el*el, lo, hi)
		if lo <= hi {
			add(lo, hi)
		}
	}
	return t0, t1, t0 <= t1
}

// linearBetween narrows [lo,hi] to the t with vmin <= k0 + k1·t <= vmax.
func linearBetween(k0, k1, vmin, vmax, lo, hi float64) (float64, float64) {
	if k1 == 0 {
		if k0 < vmin || k0 > vmax {
			return 1, 0
		}
		return lo, hi
	}
	ta, tb := (vmin-k0)/k1, (vmax-k0)/k1
	if ta > tb {
		ta, tb = tb, ta
	}
	return max(lo, ta), min(hi, tb)
}

// lineDisc returns the t for which |a + t·dir - q| <= r.
func lineDisc(a, dir, q vec, r float64) (float64, float64, bool) {
	f := a.sub(q)
	A := dir.dot(dir)
	B := 2 * f.dot(dir)
	C := f.dot(f) - r*r
	if A == 0 {
		if C <= 0 {
			return math.Inf(-1), math.Inf(1), true
		}
		return 0, 0, false
	}
	disc := B*B - 4*A*C
	if disc < 0 {
		return 0, 0, false
	}
	sq := math.Sqrt(disc)
	return (-B - sq) / (2 * A), (-B + sq) / (2 * A), true
}
