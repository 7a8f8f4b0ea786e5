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
// It is built with the index and never changes. A ring of fewer than
// 2·bandEdges edges has none (bands is nil): the plain pass over its
// edges is as quick.
type ringBands struct {
	min, inv float64 // latitude of the first band's southern edge; bands per degree
	bands    []ringBand
	// edges lists each band's edges: edge i runs from pts[i] to pts[i+1],
	// and firstBand is set where the band is the first to list the edge;
	// a band lists those edges first.
	edges []uint8
}

type ringBand struct {
	x0, x1     float32 // longitudes of the band's edges, rounded outward
	start, end uint16  // the band's run in ringBands.edges
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
	rb.edges = make([]uint8, off)
	// Two passes, so that each band lists the edges it is first to list
	// before the others (edgesNear stops there in all but one band).
	for pass := range 2 {
		for i := 0; i < n; i++ {
			c, d := pts[i], pts[i+1]
			k0, k1 := rb.edgeBands(c, d)
			for k := k0; k <= k1; k++ {
				if (k == k0) != (pass == 0) {
					continue
				}
				b := &rb.bands[k]
				e := uint8(i)
				if k == k0 {
					e |= firstBand
				}
				rb.edges[b.end] = e
				b.end++
				b.x0 = min(b.x0, down32(min(c[0], d[0])))
				b.x1 = max(b.x1, up32(max(c[0], d[0])))
			}
		}
	}
	return rb
}

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
	b := &rb.bands[rb.band(p[1])]
	for _, e := range rb.edges[b.start:b.end] {
		i := int(e &^ firstBand)
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
		for _, e := range rb.edges[b.start:b.end] {
			if k > k0 && e&firstBand == 0 {
				break // this and the rest visited in an earlier band
			}
			i := e &^ firstBand
			c, d := pts[i], pts[i+1]
			// The edge's box misses q: one branch on the four tests
			// (whose outcomes a processor cannot foresee) rather than one
			// or more on each.
			miss := b2u(max(c[0], d[0]) < q.Min[0]) | b2u(min(c[0], d[0]) > q.Max[0]) |
				b2u(max(c[1], d[1]) < q.Min[1]) | b2u(min(c[1], d[1]) > q.Max[1])
			dst = append(dst, i)
			dst = dst[:len(dst)-int(miss)]
		}
	}
	return dst
}

// b2u is 1 for true, 0 for false, without a branch.
func b2u(b bool) uint8 {
	var x uint8
	if b {
		x = 1
	}
	return x
}
