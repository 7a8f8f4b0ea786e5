package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// Outlines for drawing: maps show circles, buffers and closest approaches
// as lon/lat rings and points. They are for display only; checks never
// use them.

// outlineStep is the longest piece, in metres, of a leg that BufferOutline
// draws in one local frame; over 10 km the frame's scale error stays below
// about 1e-3 up to 80° of latitude (see frame.relErr).
const outlineStep = 10_000.0

// CircleOutline returns a closed ring of n+1 points (the first repeated at
// the end) at r metres around c, counterclockwise. n is at least 8. The
// points are laid out in a local frame at c: a point's distance from c
// is r to within r·frame.relErr (well under a metre for r up to 50 km
// below 70° of latitude).
func CircleOutline(c orb.Point, r float64, n int) orb.Ring {
	n = max(n, 8)
	f := newFrame(c[0], c[1])
	ring := make(orb.Ring, 0, n+1)
	for i := range n {
		s, co := math.Sincos(2 * math.Pi * float64(i) / float64(n))
		ring = append(ring, f.lonlat(vec{r * co, r * s}))
	}
	return append(ring, ring[0])
}

// BufferOutline returns rings whose union is the area within r metres of
// path (a point or a line through its points): one capsule, a rectangle
// with round ends, for each piece of each leg, every ring counterclockwise
// so that a renderer filling with the nonzero rule fills the union. Legs
// longer than 10 km are cut into pieces, each laid out in its own local
// frame. A path of one point gives a circle; r <= 0 gives nil.
func BufferOutline(path []orb.Point, r float64) []orb.Ring {
	if r <= 0 || len(path) == 0 {
		return nil
	}
	const arc = 12 // points on each half circle
	var rings []orb.Ring
	if len(path) == 1 {
		return []orb.Ring{CircleOutline(path[0], r, 2*arc)}
	}
	for i := 1; i < len(path); i++ {
		a, b := path[i-1], path[i]
		pieces := max(1, int(math.Ceil(Distance(a, b)/outlineStep)))
		for k := range pieces {
			p := lerpLL(a, b, float64(k)/float64(pieces))
			q := lerpLL(a, b, float64(k+1)/float64(pieces))
			m := lerpLL(p, q, 0.5)
			f := newFrame(m[0], m[1])
			pv, qv := f.xy(p), f.xy(q)
			d := qv.sub(pv)
			heading := math.Atan2(d.y, d.x)
			if d.norm() == 0 {
				heading = 0
			}
			ring := make(orb.Ring, 0, 2*arc+3)
			// Around q from the right of the leg to its left, then
			// around p back to the right: counterclockwise.
			for j := 0; j <= arc; j++ {
				s, c := math.Sincos(heading - math.Pi/2 + math.Pi*float64(j)/arc)
				ring = append(ring, f.lonlat(vec{qv.x + r*c, qv.y + r*s}))
			}
			for j := 0; j <= arc; j++ {
				s, c := math.Sincos(heading + math.Pi/2 + math.Pi*float64(j)/arc)
				ring = append(ring, f.lonlat(vec{pv.x + r*c, pv.y + r*s}))
			}
			rings = append(rings, append(ring, ring[0]))
		}
	}
	return rings
}

// ClosestPoints returns a closest pair of points, p on path (a point or a
// line through its points) and q on the boundary of rings, found in one
// local frame at path's first point: a picture of where a flight comes
// closest to a zone. The distance to show beside it is the check's own,
// measured on the ellipsoid. ok is false when path or rings is empty.
func ClosestPoints(path []orb.Point, rings []orb.Ring) (p, q orb.Point, ok bool) {
	if len(path) == 0 {
		return p, q, false
	}
	f := newFrame(path[0][0], path[0][1])
	best := math.Inf(1)
	var bp, bq vec
	legs := len(path) - 1
	for _, ring := range rings {
		for j := 1; j < len(ring); j++ {
			c, d := f.xy(ring[j-1]), f.xy(ring[j])
			for i := 0; i < max(legs, 1); i++ {
				a := f.xy(path[i])
				b := a
				if legs > 0 {
					b = f.xy(path[i+1])
				}
				dist, t, u := segSegClosest(a, b, c, d)
				if dist < best {
					best, bp, bq = dist, lerp(a, b, t), lerp(c, d, u)
				}
			}
		}
	}
	if math.IsInf(best, 1) {
		return p, q, false
	}
	return f.lonlat(bp), f.lonlat(bq), true
}
