package geo

import (
	"fmt"
	"slices"
	"sync"
)

// RouteColumn is what a route check finds along each leg at every height:
// for each leg, the volumes it comes within the buffer of while their zone
// is active in the window, each with the part of the leg within reach and
// the closest approach. Check answers the route's own check from it, and
// LegAt the check of one leg flown level at any height, both exactly as
// CheckRoute would, without measuring a shape again: the height limit of
// every leg (how high may it be flown) costs one measure of the route, not
// one per leg and height.
type RouteColumn struct {
	ix *Index
	q  RouteQuery
	ms []legMeasure // in the order a route check measures
	// legs[i] is the measures of leg i, in that order (indices into ms).
	legs [][]int32
	// tas is the zones' activity in the window that measures refer to,
	// each distinct answer once (mostly one: active throughout).
	tas []timeAnswer
	// runs counts the runs of measures of one volume in ms: at least the
	// number of zones met (a route check measures a volume's legs one
	// after another), and about as many.
	runs int
}

// legMeasure is how a leg meets a volume.
type legMeasure struct {
	leg int32
	ta  int32 // index into RouteColumn.tas
	v   *cvol
	n   near
}

// add records that leg meets volume v (n) while v's zone is active (ta).
func (c *RouteColumn) add(leg int, v *cvol, n near, ta timeAnswer) {
	k := len(c.tas) - 1
	// Answers repeat (a zone met by several legs, zones active
	// throughout): the last few are looked at, the rest kept anew.
	for ; k >= max(0, len(c.tas)-4); k-- {
		if c.tas[k] == ta {
			break
		}
	}
	if k < max(0, len(c.tas)-4) {
		k = len(c.tas)
		c.tas = append(c.tas, ta)
	}
	if len(c.ms) == 0 || c.ms[len(c.ms)-1].v != v {
		c.runs++
	}
	c.ms = append(c.ms, legMeasure{leg: int32(leg), ta: int32(k), v: v, n: n})
}

// routeScratch is room for a route column's legs and measures while it
// measures them.
type routeScratch struct {
	segs []segment
	ms   []legMeasure
}

var columnScratch = sync.Pool{New: func() any { return new(routeScratch) }}

// put returns s to the pool, without the volumes its measures point to
// (which a reload may drop) and without room grown for an outsized route.
func (s *routeScratch) put() {
	clear(s.ms)
	if cap(s.ms) > 4096 || cap(s.segs) > 1024 {
		return
	}
	s.ms = s.ms[:0]
	columnScratch.Put(s)
}

// RouteColumn measures route q (its heights aside) against the zones. It
// fails as CheckRoute does on a bad query and when q.Stop ends it; it does
// not count hits (Check and LegAt do).
func (ix *Index) RouteColumn(q RouteQuery) (*RouteColumn, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	// The legs and the measures as they are found go in scratch space
	// kept between routes; the column keeps a copy of the measures, of
	// their size.
	sc := columnScratch.Get().(*routeScratch)
	defer sc.put()
	c := &RouteColumn{ix: ix, q: q, ms: sc.ms[:0]}
	h := ix.newHitSet(q.Window, q.Stop)
	h.col = c
	segs := slices.Grow(sc.segs[:0], len(q.Waypoints)-1)[:len(q.Waypoints)-1]
	sc.segs = segs
	for i := range segs {
		a, b := q.Waypoints[i], q.Waypoints[i+1]
		segs[i] = newSegment(a.Point, b.Point, a.Alt, b.Alt, i, q.Buffer)
	}
	h.add(segs, q.AltRef, nil)
	sc.ms = c.ms
	if h.err != nil {
		return nil, h.err
	}
	c.ms = slices.Clone(c.ms)
	c.legs = make([][]int32, len(segs))
	counts := make([]int32, len(segs)+1)
	for _, m := range c.ms {
		counts[m.leg+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	all := make([]int32, len(c.ms))
	next := slices.Clone(counts[:len(segs)])
	for i, m := range c.ms {
		all[next[m.leg]] = int32(i)
		next[m.leg]++
	}
	for i := range c.legs {
		c.legs[i] = all[counts[i]:counts[i+1]:counts[i+1]]
	}
	return c, nil
}

// Check returns what CheckRoute returns for the column's route.
func (c *RouteColumn) Check() ([]Hit, error) {
	// At most one hit per run of measures of a volume: room for them all
	// at once, rather than growing the list and its index as a check
	// does; a leg of a hit per measure at most.
	h := &hitSet{ix: c.ix, list: make([]Hit, 0, c.runs), at: make(map[int32]int32, c.runs), legs: make([]uint64, 0, len(c.ms)),
		win: c.q.Window, work: stopEvery}
	for i := range c.ms {
		m := &c.ms[i]
		a, b := c.q.Waypoints[m.leg].Alt, c.q.Waypoints[m.leg+1].Alt
		if _, ok, _ := heightOverlap(min(a, b), max(a, b), c.q.AltRef, m.v.lower, m.v.upper); !ok {
			continue
		}
		h.hit(a, b, int(m.leg), m.v, c.q.AltRef, nil, m.n, c.tas[m.ta])
	}
	hits, err := h.result()
	if err != nil {
		return nil, err
	}
	return byCategory(hits, c.q.Category), nil
}

// Legs is the number of legs of the column's route.
func (c *RouteColumn) Legs() int { return len(c.legs) }

// MaxLegHits is the most hits LegAt or AppendLeg may return for a leg: a
// buffer of that capacity serves every leg.
func (c *RouteColumn) MaxLegHits() int {
	n := 0
	for _, l := range c.legs {
		n = max(n, len(l))
	}
	return n
}

// firstLeg is the Legs of every hit AppendLeg returns, shared (read only;
// its capacity is its length, so that an append copies it).
var firstLeg = []int{0}[:1:1]

// LegAt returns what CheckRoute returns for leg i of the column's route
// alone (waypoints i and i+1, the route's buffer, window and category)
// flown level at height a (RefUnknown: at any height); its hits' Legs are
// [0]. It merges the leg's measures as a check's hitSet does, without one.
func (c *RouteColumn) LegAt(i int, a Altitude) ([]Hit, error) {
	return c.AppendLeg(nil, i, a)
}

// AppendLeg is LegAt answered in dst's array (from dst[:0]) when it has
// room, so that a caller asking at many heights (a leg's height limit)
// reuses one buffer; the hits' Legs are shared and must not be changed.
func (c *RouteColumn) AppendLeg(dst []Hit, i int, a Altitude) ([]Hit, error) {
	hits := dst[:0]
	if hits == nil || cap(hits) < len(c.legs[i]) { // at most one hit per measure
		hits = make([]Hit, 0, len(c.legs[i]))
	}
	for _, k := range c.legs[i] {
		m := &c.ms[k]
		band, ok, hcav := heightOverlap(a.Metres, a.Metres, a.Ref, m.v.lower, m.v.upper)
		if !ok {
			continue
		}
		z, dist := c.ix.zones[m.v.zone], max(0, m.n.dist)
		j := 0
		for j < len(hits) && hits[j].Zone != z {
			j++
		}
		if j == len(hits) {
			ta := &c.tas[m.ta]
			hits = append(hits, Hit{Zone: z, Legs: firstLeg, Distance: dist, Band: band, When: ta.w, Caveats: hcav | ta.cav, order: m.v.order()})
			continue
		}
		hit := &hits[j]
		hit.Distance = min(hit.Distance, dist)
		hit.Band = unionBand(hit.Band, band)
		hit.Caveats |= hcav
	}
	if len(hits) > MaxHits {
		return nil, fmt.Errorf("%w: the flight meets more than %d zones; check it in parts", ErrTooManyHits, MaxHits)
	}
	sortHitsKeyed(hits)
	return byCategory(hits, c.q.Category), nil
}

// hitKey is what hitLess compares of a hit, and the hit's index.
type hitKey struct {
	dist  float64
	order uint32
	i     uint32
}

// hitKeyLess is the one ordering of hits: blocking ones first, then by
// distance, then by the order key.
func hitKeyLess(a, b *hitKey) bool {
	if ab, bb := a.order < nonBlocking, b.order < nonBlocking; ab != bb {
		return ab
	}
	if a.dist != b.dist {
		return a.dist < b.dist
	}
	return a.order < b.order
}

// sortHitsKeyed sorts hits as sortHits does, comparing and moving small
// keys rather than hits (120 bytes each): the keys are sorted, then each
// hit moved once to its place. hitLess is a total order on hits of one
// set, so the result is the same as any other sort's.
func sortHitsKeyed(h []Hit) {
	sorted := true
	for i := 1; i < len(h) && sorted; i++ {
		sorted = !hitLess(&h[i], &h[i-1])
	}
	if sorted {
		return
	}
	var kbuf [32]hitKey
	keys := kbuf[:0]
	if len(h) > len(kbuf) {
		keys = make([]hitKey, 0, len(h))
	}
	for i := range h {
		keys = append(keys, hitKey{dist: h[i].Distance, order: h[i].order, i: uint32(i)})
	}
	if len(keys) <= 16 {
		for i := 1; i < len(keys); i++ {
			for j := i; j > 0 && hitKeyLess(&keys[j], &keys[j-1]); j-- {
				keys[j], keys[j-1] = keys[j-1], keys[j]
			}
		}
	} else {
		slices.SortFunc(keys, func(a, b hitKey) int {
			switch {
			case hitKeyLess(&a, &b):
				return -1
			case hitKeyLess(&b, &a):
				return 1
			}
			return 0
		})
	}
	// Place i takes hit keys[i].i: follow each cycle of that permutation,
	// marking the places filled (keys[j].i = j).
	for i := range keys {
		if keys[i].i == uint32(i) {
			continue
		}
		tmp := h[i]
		j := i
		for {
			k := int(keys[j].i)
			keys[j].i = uint32(j)
			if k == i {
				h[j] = tmp
				break
			}
			h[j] = h[k]
			j = k
		}
	}
}
