package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// ringBands lets a route leg visit only the edges of a small ring (at most
// bigRing edges, the common case) that lie near it. The ring's latitude
// range is cut into equal bands; each band lists the edges whose latitude
// range meets it, and the longitudes those edges span. A leg visits the
// bands its box meets, skips a band whose edges all lie east or west of the
// box, and visits each edge once, in the first of those bands that lists
// it. The crossing-number test of a point visits the edges of the point's
// band: every edge whose latitudes span the point's is listed there, since
// band is monotone in latitude and an edge is listed in every band from
// its southern end's to its northern end's.
//
// Each listed edge carries its box in 256ths of its band (see bandEdge),
// so that a leg or a point passes over the edges of a band that cannot
// concern it without reading their vertices, which lie scattered along
// the ring.
//
// It is built with the index and never changes. A ring of fewer than
// 2·bandEdges edges has none (bands is nil): the plain pass over its
// edges is as quick.
type ringBands struct {
	min, inv float64 // latitude of the first band's southern edge; bands per degree
	bands    []ringBand
	// edges lists each band's edges.
	edges []bandEdge
}

type ringBand struct {
	x0, x1     float32 // longitudes of the band's edges, rounded outward
	start, end uint16  // the band's run in ringBands.edges
}

// bandEdge is an edge listed in a band: edge i&^firstBand runs from pts[i]
// to pts[i+1], and firstBand is set where the band is the first to list
// it. x0..x1 and y0..y1 hold the edge's whole box (not only its part in
// the band) in the band's quanta (bandQuanta): a bound of 0 stands for
// -∞ and of 255 for +∞, so that a box beyond the band saturates towards
// holding more, never less. The quanta of a longitude or latitude v are
// (v-base)·scale, monotone in v and computed alike when built and when
// asked, and the bounds are rounded outward by a whole quantum besides:
// a box that meets the edge's box always meets its quanta.
type bandEdge struct {
	i              uint8
	x0, x1, y0, y1 uint8
}

const (
	// bandEdges is about how many edges a band holds.
	bandEdges = 6
	firstBand = 0x80 // bigRing < firstBand, so an edge index fits below it
)

func newRingBands(pts []orb.Point) ringBands {
	n := len(pts) - 1
	nb := n / bandEdges
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		lo, hi = min(lo, p[1]), max(hi, p[1])
	}
	if nb < 2 || n > bigRing || !(hi > lo) {
		return ringBands{}
	}
	rb := ringBands{min: lo, inv: float64(nb) / (hi - lo), bands: make([]ringBand, nb)}
	count := make([]uint16, nb)
	for i := 0; i < n; i++ {
		k0, k1 := rb.edgeBands(pts[i], pts[i+1])
		for k := k0; k <= k1; k++ {
			count[k]++
		}
	}
	var off uint16
	for k := range rb.bands {
		rb.bands[k] = ringBand{x0: float32(math.Inf(1)), x1: float32(math.Inf(-1)), start: off, end: off}
		off += count[k]
	}
	rb.edges = make([]bandEdge, off)
	for i := 0; i < n; i++ {
		c, d := pts[i], pts[i+1]
		k0, k1 := rb.edgeBands(c, d)
		for k := k0; k <= k1; k++ {
			b := &rb.bands[k]
			e := uint8(i)
			if k == k0 {
				e |= firstBand
			}
			rb.edges[b.end].i = e
			b.end++
			b.x0 = min(b.x0, down32(min(c[0], d[0])))
			b.x1 = max(b.x1, up32(max(c[0], d[0])))
		}
	}
	// The quanta, once each band's longitudes are known.
	for k := range rb.bands {
		bx, sx, by, sy := rb.bandQuanta(k)
		for j := rb.bands[k].start; j < rb.bands[k].end; j++ {
			e := &rb.edges[j]
			c, d := pts[e.i&^firstBand], pts[e.i&^firstBand+1]
			e.x0, e.x1 = quantLo((min(c[0], d[0])-bx)*sx), quantHi((max(c[0], d[0])-bx)*sx)
			e.y0, e.y1 = quantLo((min(c[1], d[1])-by)*sy), quantHi((max(c[1], d[1])-by)*sy)
		}
	}
	return rb
}

// bandQuanta is how band k measures longitudes and latitudes in its
// quanta: (lon-bx)·sx and (lat-by)·sy, 0 to 255 across the band. A band
// of no width (its edges all run north-south on one meridian) has sx 0:
// every longitude is quantum 0, and no edge is passed over by longitude.
func (rb *ringBands) bandQuanta(k int) (bx, sx, by, sy float64) {
	b := &rb.bands[k]
	bx = float64(b.x0)
	if w := float64(b.x1) - bx; w > 0 {
		sx = 255 / w
	}
	return bx, sx, rb.min + float64(k)/rb.inv, 255 * rb.inv
}

// quantLo is the quantum below t, a whole one lower, 0 (-∞) at most.
func quantLo(t float64) uint8 {
	f := math.Floor(t) - 1
	if !(f > 0) { // NaN too
		return 0
	}
	return uint8(min(f, 254))
}

// quantHi is the quantum above t, a whole one higher, 255 (+∞) at least.
func quantHi(t float64) uint8 {
	f := math.Ceil(t) + 1
	if !(f < 255) { // NaN too
		return 255
	}
	return uint8(max(f, 1))
}

// below reports whether a range of quanta whose top is hi (255: +∞) lies
// wholly below quantum t.
func below(hi uint8, t float64) bool { return hi < 255 && float64(hi) < t }

// above reports whether a range of quanta whose bottom is lo (0: -∞) lies
// wholly above quantum t.
func above(lo uint8, t float64) bool { return lo > 0 && float64(lo) > t }

// band is the band of latitude lat; latitudes beyond the ring's fall in
// the first or last band. It is monotone in lat.
func (rb *ringBands) band(lat float64) int {
	k := int((lat - rb.min) * rb.inv)
	return max(0, min(len(rb.bands)-1, k))
}

// edgeBands is the range of bands that list edge cd.
func (rb *ringBands) edgeBands(c, d orb.Point) (int, int) {
	return rb.band(min(c[1], d[1])), rb.band(max(c[1], d[1]))
}

// hold reports whether p is inside the closed ring pts (of which rb is the
// bands) or on it: ptsHold, visiting p's band only.
func (rb *ringBands) hold(pts []orb.Point, p orb.Point) bool {
	inside := false
	k := rb.band(p[1])
	b := &rb.bands[k]
	_, _, by, sy := rb.bandQuanta(k)
	ty := (p[1] - by) * sy
	for _, e := range rb.edges[b.start:b.end] {
		if below(e.y1, ty) || above(e.y0, ty) {
			continue // the edge's latitudes do not reach p's
		}
		i := int(e.i &^ firstBand)
		if spans(p, pts[i], pts[i+1]) && edgeCase(p, pts[i], pts[i+1], &inside) {
			return true
		}
	}
	return inside
}

// edgesNear appends to dst, once each, the edges of the ring pts (of
// which rb is the bands) whose box meets q, and returns the extended slice.
func (rb *ringBands) edgesNear(pts []orb.Point, q orb.Bound, dst []uint8) []uint8 {
	k0, k1 := rb.band(q.Min[1]), rb.band(q.Max[1])
	for k := k0; k <= k1; k++ {
		b := &rb.bands[k]
		if float64(b.x1) < q.Min[0] || float64(b.x0) > q.Max[0] {
			continue // every edge of the band lies east or west of q
		}
		bx, sx, by, sy := rb.bandQuanta(k)
		tx0, tx1 := (q.Min[0]-bx)*sx, (q.Max[0]-bx)*sx
		ty0, ty1 := (q.Min[1]-by)*sy, (q.Max[1]-by)*sy
		for _, e := range rb.edges[b.start:b.end] {
			if k > k0 && e.i&firstBand == 0 {
				continue // visited in an earlier band
			}
			if below(e.x1, tx0) || above(e.x0, tx1) || below(e.y1, ty0) || above(e.y0, ty1) {
				continue // the edge's box, quantised, misses q
			}
			i := e.i &^ firstBand
			c, d := pts[i], pts[i+1]
			if (c[0] < q.Min[0] && d[0] < q.Min[0]) || (c[0] > q.Max[0] && d[0] > q.Max[0]) ||
				(c[1] < q.Min[1] && d[1] < q.Min[1]) || (c[1] > q.Max[1] && d[1] > q.Max[1]) {
				continue
			}
			dst = append(dst, i)
		}
	}
	return dst
}
