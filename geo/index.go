package geo

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"
)

// Index answers checks against a fixed set of zones. It is immutable once
// built and safe for any number of concurrent readers; to change the zones,
// build a new Index and swap it in.
//
// Each volume's bounding box sits in an R-tree with float32 keys rounded
// outward, so the box filter never misses; the exact test follows. Routes,
// areas and Search walk the tree; positions look their point's cell up in a
// grid of the same boxes, which touches less memory.
type Index struct {
	zones []*Zone          // sorted by ID
	byID  map[string]*Zone // ID -> zone
	act   []activity       // per zone, same order
	vols  []cvol
	tree  rtree.RTreeGN[float32, int32] // volume boxes -> index into vols

	grid pointGrid // volume boxes by cell, for positions

	scanAll bool // tests: visit every volume instead of searching the tree
	noCarry bool // tests: never carry a segment's end side to the next
}

// search calls fn with the index of every volume whose box meets [min, max].
func (ix *Index) search(min, max [2]float32, fn func(vi int32) bool) {
	if ix.scanAll {
		for i := range ix.vols {
			if !fn(int32(i)) {
				return
			}
		}
		return
	}
	ix.tree.Search(min, max, func(_, _ [2]float32, vi int32) bool { return fn(vi) })
}

// NewIndex builds an index over zones. It refuses zones that fail Validate
// and duplicate IDs, listing every problem in a *LoadError.
func NewIndex(zones []Zone) (*Index, error) {
	var probs []Problem
	type key struct{ id, variant string }
	seen := make(map[key]int, len(zones))
	for i := range zones {
		z := &zones[i]
		probs = append(probs, Validate(z)...)
		k := key{z.ID, z.VariantKey()}
		if j, dup := seen[k]; dup && z.ID != "" {
			probs = append(probs, Problem{File: z.Source.File, Feature: z.Source.Feature, ZoneID: z.ID, Field: "id",
				Msg: fmt.Sprintf("duplicate zone id, also at %s feature %d", zones[j].Source.File, zones[j].Source.Feature)})
		}
		seen[k] = i
	}
	if len(probs) > 0 {
		return nil, &LoadError{Problems: probs}
	}
	ix := &Index{
		zones: make([]*Zone, len(zones)),
		byID:  make(map[string]*Zone, len(zones)),
		act:   make([]activity, len(zones)),
	}
	for i := range zones {
		ix.zones[i] = &zones[i]
	}
	sort.Slice(ix.zones, func(i, j int) bool {
		a, b := ix.zones[i], ix.zones[j]
		return a.ID < b.ID || a.ID == b.ID && a.VariantKey() < b.VariantKey()
	})
	for i, z := range ix.zones {
		if _, ok := ix.byID[z.ID]; !ok {
			ix.byID[z.ID] = z // the first variant
		}
		ix.act[i] = compileActivity(z.Applicability)
		for vi := range z.Volumes {
			ix.vols = append(ix.vols, compileVolume(i, vi, &z.Volumes[vi]))
		}
	}
	// Lay volumes out in Z-order of their boxes' centres, and small rings'
	// vertices in one array in that order, so that the candidates of one
	// query sit close together in memory: a check is bound by memory
	// latency more than by arithmetic.
	keys := make([]uint64, len(ix.vols))
	for i := range ix.vols {
		c := ix.vols[i].bound.Center()
		keys[i] = zorder(c)
	}
	order := make([]int, len(ix.vols))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return keys[order[a]] < keys[order[b]] })
	sorted := make([]cvol, len(ix.vols))
	n := 0
	for i, o := range order {
		sorted[i] = ix.vols[o]
		if sorted[i].pts != nil {
			n += len(sorted[i].pts)
		}
	}
	arena := make([]orb.Point, 0, n)
	var nb, ne int
	for i := range sorted {
		v := &sorted[i]
		if v.pts != nil {
			start := len(arena)
			arena = append(arena, v.pts...)
			v.pts = arena[start:len(arena):len(arena)]
			v.rb = newRingBands(v.pts)
			nb, ne = nb+len(v.rb.bands), ne+len(v.rb.edges)
		}
		v.multi = len(ix.zones[v.zone].Volumes) > 1
		v.block = ix.zones[v.zone].Restriction.Blocking()
		v.perm = len(ix.act[v.zone].periods) == 0
		min, max := boxKeys(v.bound)
		ix.tree.Insert(min, max, int32(i))
	}
	// The rings' bands too, in the same order.
	bands, edges := make([]ringBand, 0, nb), make([]uint8, 0, ne)
	for i := range sorted {
		if rb := &sorted[i].rb; rb.bands != nil {
			b, e := len(bands), len(edges)
			bands, edges = append(bands, rb.bands...), append(edges, rb.edges...)
			rb.bands, rb.edges = bands[b:len(bands):len(bands)], edges[e:len(edges):len(edges)]
		}
	}
	ix.vols = sorted
	ix.grid = newPointGrid(ix.vols)
	return ix, nil
}

// boxKeys rounds b outward to float32 R-tree keys.
func boxKeys(b orb.Bound) (min, max [2]float32) {
	for k := 0; k < 2; k++ {
		min[k] = down32(b.Min[k])
		max[k] = up32(b.Max[k])
	}
	return min, max
}

func down32(x float64) float32 {
	f := float32(x)
	if float64(f) > x {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

func up32(x float64) float32 {
	f := float32(x)
	if float64(f) < x {
		f = math.Nextafter32(f, float32(math.Inf(1)))
	}
	return f
}

// Len is the number of zones.
func (ix *Index) Len() int { return len(ix.zones) }

// Zone returns the zone with the given ID; of a zone published in variants
// for different categories of operation, the first by VariantKey (see
// Variants).
func (ix *Index) Zone(id string) (*Zone, bool) {
	z, ok := ix.byID[id]
	return z, ok
}

// Variants returns every zone with the given ID, sorted by VariantKey: one
// for most zones, more for a zone published in variants for different
// categories of operation; none for an unknown ID. The slice must not be
// modified.
func (ix *Index) Variants(id string) []*Zone {
	i := sort.Search(len(ix.zones), func(i int) bool { return ix.zones[i].ID >= id })
	j := i
	for j < len(ix.zones) && ix.zones[j].ID == id {
		j++
	}
	return ix.zones[i:j:j]
}

// Zones returns all zones, sorted by ID, then VariantKey. The slice must
// not be modified.
func (ix *Index) Zones() []*Zone { return ix.zones }

// Search calls fn once for every zone whose bounding box meets b, in no
// particular order, until fn returns false.
func (ix *Index) Search(b orb.Bound, fn func(*Zone) bool) {
	min, max := boxKeys(b)
	var last int32 = -1
	seen := map[int32]bool{}
	ix.search(min, max, func(vi int32) bool {
		zi := ix.vols[vi].zone
		if zi == last || seen[zi] {
			return true
		}
		last, seen[zi] = zi, true
		return fn(ix.zones[zi])
	})
}

// CheckPosition appends to dst the zones that hold q's point at q's height
// and instant, and returns the extended slice: the point is in the shape
// (the boundary counts), the height within the limits and the zone active
// at that instant. It does not allocate when dst has room. The query must
// be valid (see PositionQuery.Validate).
func (ix *Index) CheckPosition(q PositionQuery, dst []Hit) []Hit {
	start := len(dst)
	p := q.Point
	visit := func(vi int32, gv *gridVol, in bool) {
		if gv.flags&volMulti != 0 {
			for i := start; i < len(dst); i++ {
				if dst[i].Zone == ix.zones[gv.zone] {
					return // another volume of this zone is already hit
				}
			}
		}
		band, ok, hcav := heightOverlap(q.Alt.Metres, q.Alt.Metres, q.Alt.Ref, gv.lower, gv.upper)
		if !ok {
			return
		}
		var tcav Caveat
		if gv.flags&volPerm == 0 {
			var active bool
			if active, tcav = ix.act[gv.zone].activeAt(q.At); !active {
				return
			}
		}
		if !in && !ix.vols[vi].containsPoint(p) {
			return
		}
		dst = append(dst, Hit{Zone: ix.zones[gv.zone], Band: band, When: Instant(q.At), Caveats: hcav | tcav,
			order: gv.order()})
	}
	if ix.scanAll {
		for vi := range ix.vols {
			visit(int32(vi), &ix.grid.vols[vi], false)
		}
	} else {
		ix.grid.each(p, visit)
	}
	dst = dst[:start+len(byCategory(dst[start:], q.Category))] // compacts in place
	sortHits(dst[start:])
	return dst
}

// sortHits orders hits: blocking zones first, then nearest, then by ID. It
// compares the order key the index set, so as not to fetch each zone from
// memory.
func sortHits(h []Hit) {
	// Few hits, as a position mostly has: an insertion sort that compares
	// in place rather than copying two hits per comparison, and moves each
	// hit found out of place once: the hits above its place shift up one
	// (each written once, not swapped through it), then it is put down.
	if len(h) <= 12 {
		for i := 1; i < len(h); i++ {
			if !hitLess(&h[i], &h[i-1]) {
				continue
			}
			j := i - 1
			for j > 0 && hitLess(&h[i], &h[j-1]) {
				j--
			}
			x := h[i]
			copy(h[j+1:i+1], h[j:i])
			h[j] = x
		}
		return
	}
	// More: by their keys (a hit is too big to copy twice a comparison,
	// as slices.SortFunc's function would).
	sortHitsKeyed(h)
}

// hitLess orders hits as sortHits says; hits of one set have distinct order
// keys, so the order is total.
func hitLess(a, b *Hit) bool {
	ka := hitKey{dist: a.Distance, order: a.order}
	kb := hitKey{dist: b.Distance, order: b.order}
	return hitKeyLess(&ka, &kb)
}

// segment is a straight lon/lat piece of a flight: a route leg, an edge of
// an operating area, or a single point (a == b).
type segment struct {
	a, b  orb.Point
	altA  float64 // heights at a and b, in the flight's reference
	altB  float64
	leg   int       // route leg index, or -1
	f     frame     // local frame at the segment's midpoint
	q     orb.Bound // box grown by limit (and a metre)
	eps   float64   // relative error of lengths in f within q
	limit float64   // metres: how near counts (the buffer)
}

func newSegment(a, b orb.Point, altA, altB float64, leg int, limit float64) segment {
	s := segment{a: a, b: b, altA: altA, altB: altB, leg: leg, limit: limit}
	s.f = newFrame((a[0]+b[0])/2, (a[1]+b[1])/2)
	s.q = expandBound(extendBound(orb.Bound{Min: a, Max: a}, b), s.limit+1)
	s.eps = frameErr(&s.f, s.q)
	return s
}

// hitSet gathers hits per zone.
type hitSet struct {
	ix   *Index
	list []Hit           // one per zone met; Legs are filled in by result
	at   map[int32]int32 // zone -> index into list
	// legs holds index into list << 32 | leg for every leg that meets a
	// zone, so that all hits' Legs come from one sort and one allocation.
	legs []uint64
	win  TimeWindow
	// time activity per zone, computed once
	when map[int32]timeAnswer
	// lastZone is the zone of the last hit recorded, at place lastK-1 of
	// list (lastK 0: none yet).
	lastZone, lastK int32

	// col, when set, gathers the measures of a route column instead of
	// hits (RouteColumn).
	col *RouteColumn

	// stop, when set, is called every stopEvery units of work (work
	// counts down); its error, or ErrTooManyHits, ends the check (err).
	stop func() error
	work int
	err  error
}

// checkpoint asks stop whether to go on, and checks the number of hits,
// once work has counted down to 0 (callers count it down inline, so that
// the hot path stays a subtraction). It reports false when the check must
// end (h.err says why).
func (h *hitSet) checkpoint() bool {
	h.work = stopEvery
	if len(h.list) > MaxHits {
		h.err = fmt.Errorf("%w: the flight meets more than %d zones; check it in parts", ErrTooManyHits, MaxHits)
		return false
	}
	if h.stop != nil {
		if err := h.stop(); err != nil {
			h.err = err
			return false
		}
	}
	return true
}

type timeAnswer struct {
	w   TimeWindow
	ok  bool
	cav Caveat
}

func (h *hitSet) active(zi int32) timeAnswer {
	if a, ok := h.when[zi]; ok {
		return a
	}
	w, ok, cav := h.ix.act[zi].overlap(h.win)
	a := timeAnswer{w, ok, cav}
	h.when[zi] = a
	return a
}

// add measures segments against the volumes near them. One tree search
// serves a run of segments whose boxes lie close together; each candidate
// volume is then measured against those segments whose box meets it.
func (h *hitSet) add(segs []segment, flightRef VerticalRef, fixedBand *Band) {
	var (
		prev *segment // the last chunk's last segment
		// The sides prev ends on: volume index << 8 | side, sorted.
		carried, spare []uint64
	)
	for len(segs) > 0 && h.err == nil {
		n, box := 1, segs[0].q
		for n < len(segs) && n < maxChunk {
			b := unionBound(box, segs[n].q)
			if b.Max[1]-b.Min[1] > chunkDeg || (b.Max[0]-b.Min[0])*math.Cos(b.Max[1]*rad) > chunkDeg {
				break
			}
			box, n = b, n+1
		}
		chunk := segs[:n]
		segs = segs[n:]
		// The chunk goes on from the last one's end: the sides that end
		// was found on carry over.
		cont := prev != nil && chunk[0].a == prev.b && !h.ix.noCarry
		ends := spare[:0]
		min, max := boxKeys(box)
		h.ix.search(min, max, func(vi int32) bool {
			v := &h.ix.vols[vi]
			// A large polygon's measure (pts nil; circles have no poly) may
			// walk many edges: ask before each.
			if h.work -= len(chunk); (h.work <= 0 || (v.pts == nil && v.poly != nil)) && !h.checkpoint() {
				return false
			}
			// Where one segment ends the next begins: what a segment
			// learns of its end's side of the boundary saves the next a
			// containment test.
			next := sideUnknown
			if cont {
				if !boundsMeet(prev.q, v.bound) {
					next = sideOut
				} else if k, _ := slices.BinarySearch(carried, uint64(vi)<<8); k < len(carried) && carried[k]>>8 == uint64(vi) {
					next = side(carried[k])
				}
			}
			for i := range chunk {
				if (i > 0 && chunk[i].a != chunk[i-1].b) || h.ix.noCarry {
					next = sideUnknown
				}
				if !boundsMeet(chunk[i].q, v.bound) {
					next = sideOut // the segment, its end too, is outside the shape's box
					continue
				}
				next = h.measure(&chunk[i], v, flightRef, fixedBand, next)
			}
			if next != sideUnknown {
				ends = append(ends, uint64(vi)<<8|uint64(next))
			}
			return true
		})
		slices.Sort(ends)
		carried, spare = ends, carried
		prev = &chunk[len(chunk)-1]
	}
}

// Runs of segments share a tree search while their box stays within
// chunkDeg degrees (about 11 km) and maxChunk segments: a volume is then
// read once for the legs of a run that come near it, while it is in the
// cache, rather than searched for and read again for each leg or two.
const (
	chunkDeg = 0.1
	maxChunk = 16
)

// measure records how segment s meets volume v, if it does, and returns
// the side of v's boundary s ends on, when it learnt it. aSide is the side
// s starts on, when known.
func (h *hitSet) measure(s *segment, v *cvol, flightRef VerticalRef, fixedBand *Band, aSide side) side {
	// Heights first, over the whole segment: cheap, and often enough. A
	// route column measures at every height.
	if fixedBand == nil && h.col == nil {
		if _, ok, _ := heightOverlap(min(s.altA, s.altB), max(s.altA, s.altB), flightRef, v.lower, v.upper); !ok {
			return sideUnknown
		}
	}
	ta := timeAnswer{h.win, true, 0}
	if !v.perm {
		if ta = h.active(v.zone); !ta.ok {
			return sideUnknown
		}
	}
	n, ok, bSide := v.segNear(s, s.limit, aSide)
	if !ok {
		return bSide
	}
	if h.col != nil {
		h.col.add(s.leg, v, n, ta)
		return bSide
	}
	h.hit(s.altA, s.altB, s.leg, v, flightRef, fixedBand, n, ta)
	return bSide
}

// hit records that a segment from height altA to altB (leg leg) comes
// within reach of volume v (n, as segNear measured it) while v's zone is
// active (ta), if the heights meet.
func (h *hitSet) hit(altA, altB float64, leg int, v *cvol, flightRef VerticalRef, fixedBand *Band, n near, ta timeAnswer) {
	// Heights over the part of the segment within reach of the zone.
	lo, hi := altA+(altB-altA)*n.t0, altA+(altB-altA)*n.t1
	if n.t0 > n.t1 {
		lo, hi = min(altA, altB), max(altA, altB)
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	if fixedBand != nil {
		lo, hi = fixedBand.Lower, fixedBand.Upper
	}
	band, ok, hcav := heightOverlap(lo, hi, flightRef, v.lower, v.upper)
	if !ok {
		return
	}
	dist := max(0, n.dist)
	// A zone's measures mostly come one after another (a volume's legs):
	// the last zone's place is kept, to look up the others.
	var (
		k    int32
		seen bool
	)
	if h.lastK > 0 && h.lastZone == v.zone {
		k, seen = h.lastK-1, true
	} else {
		k, seen = h.at[v.zone]
	}
	if !seen {
		k = int32(len(h.list))
		h.list = append(h.list, Hit{Zone: h.ix.zones[v.zone], Distance: dist, Band: band, When: ta.w, Caveats: hcav | ta.cav, order: v.order()})
		h.at[v.zone] = k
	}
	h.lastZone, h.lastK = v.zone, k+1
	if seen {
		hit := &h.list[k]
		hit.Distance = min(hit.Distance, dist)
		hit.Band = unionBand(hit.Band, band)
		hit.Caveats |= hcav
	}
	if leg >= 0 {
		if kl := uint64(k)<<32 | uint64(leg); len(h.legs) == 0 || h.legs[len(h.legs)-1] != kl {
			h.legs = append(h.legs, kl)
		}
	}
}

func unionBand(a, b Band) Band {
	if a.Ref != b.Ref {
		return a
	}
	return Band{Lower: min(a.Lower, b.Lower), Upper: max(a.Upper, b.Upper), Ref: a.Ref}
}

// result is the hits, sorted, or the error that ended the check.
func (h *hitSet) result() ([]Hit, error) {
	if h.err == nil && len(h.list) > MaxHits {
		h.checkpoint() // the last few measures' hits
	}
	if h.err != nil {
		return nil, h.err
	}
	if len(h.legs) > 0 {
		slices.Sort(h.legs)
		h.legs = slices.Compact(h.legs)
		all := make([]int, len(h.legs))
		for i, kl := range h.legs {
			all[i] = int(uint32(kl))
		}
		for i := 0; i < len(h.legs); {
			j, k := i+1, h.legs[i]>>32
			for j < len(h.legs) && h.legs[j]>>32 == k {
				j++
			}
			h.list[k].Legs = all[i:j:j]
			i = j
		}
	}
	if h.list == nil {
		return []Hit{}, nil
	}
	sortHits(h.list)
	return h.list, nil
}

func (ix *Index) newHitSet(w TimeWindow, stop func() error) *hitSet {
	return &hitSet{ix: ix, at: map[int32]int32{}, win: w, when: map[int32]timeAnswer{}, stop: stop, work: stopEvery}
}

// CheckRoute returns the zones the route meets: some leg passes within the
// buffer of the zone's shape at a height within its limits (heights are
// interpolated linearly along the leg, over the part of the leg within
// reach of the zone), and the zone is active at some time in the window.
// Hits carry the legs, the closest approach and the overlapping heights and
// times. It fails with ErrTooManyHits beyond MaxHits zones, and with q.Stop's
// error when that ends it.
func (ix *Index) CheckRoute(q RouteQuery) ([]Hit, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	h := ix.newHitSet(q.Window, q.Stop)
	segs := make([]segment, len(q.Waypoints)-1)
	for i := range segs {
		a, b := q.Waypoints[i], q.Waypoints[i+1]
		segs[i] = newSegment(a.Point, b.Point, a.Alt, b.Alt, i, q.Buffer)
	}
	h.add(segs, q.AltRef, nil)
	hits, err := h.result()
	if err != nil {
		return nil, err
	}
	return byCategory(hits, q.Category), nil
}

// CheckArea returns the zones the operating area (grown by the buffer)
// meets at a height within the area's band while active in the window. It
// ends as CheckRoute does.
func (ix *Index) CheckArea(q AreaQuery) ([]Hit, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	h := ix.newHitSet(q.Window, q.Stop)
	band := q.Band
	switch q.Area.Kind {
	case ShapeCircle:
		// Every zone within radius+buffer of the centre.
		h.add([]segment{newSegment(q.Area.Center, q.Area.Center, 0, 0, -1, q.Area.Radius+q.Buffer)}, band.Ref, &band)
	case ShapePolygon:
		// The area's edges within the buffer of a zone, or a zone inside
		// the area.
		var segs []segment
		for _, p := range q.Area.Polygons {
			for _, r := range p {
				for i := 0; i+1 < len(r); i++ {
					segs = append(segs, newSegment(r[i], r[i+1], 0, 0, -1, q.Buffer))
				}
			}
		}
		h.add(segs, band.Ref, &band)
		if h.err == nil {
			ix.zonesInside(h, newPolyShape(q.Area.Polygons), &band)
		}
	}
	hits, err := h.result()
	if err != nil {
		return nil, err
	}
	return byCategory(hits, q.Category), nil
}

// zonesInside adds the zones that lie wholly inside the area (they meet no
// edge of it, so the edge pass misses them).
func (ix *Index) zonesInside(h *hitSet, area *polyShape, band *Band) {
	min, max := boxKeys(area.bound)
	ix.search(min, max, func(vi int32) bool {
		v := &ix.vols[vi]
		if h.work--; h.work <= 0 && !h.checkpoint() {
			return false
		}
		if _, done := h.at[v.zone]; done {
			return true
		}
		if !v.someVertexIn(area) {
			return true
		}
		ta := h.active(v.zone)
		if !ta.ok {
			return true
		}
		b, ok, hcav := heightOverlap(band.Lower, band.Upper, band.Ref, v.lower, v.upper)
		if !ok {
			return true
		}
		h.at[v.zone] = int32(len(h.list))
		h.list = append(h.list, Hit{Zone: ix.zones[v.zone], Band: b, When: ta.w, Caveats: hcav | ta.cav, order: v.order()})
		return true
	})
}

// zorder is the Morton code of p on a 2^24 × 2^24 grid over the globe.
func zorder(p orb.Point) uint64 {
	q := func(v, lo, span float64) uint64 {
		return uint64(max(0, min(1<<24-1, (v-lo)/span*(1<<24))))
	}
	return spread(q(p[0], -180, 360)) | spread(q(p[1], -90, 180))<<1
}

// spread moves the low 32 bits of x to the even bits.
func spread(x uint64) uint64 {
	x &= 0xffffffff
	x = (x | x<<16) & 0x0000ffff0000ffff
	x = (x | x<<8) & 0x00ff00ff00ff00ff
	x = (x | x<<4) & 0x0f0f0f0f0f0f0f0f
	x = (x | x<<2) & 0x3333333333333333
	x = (x | x<<1) & 0x5555555555555555
	return x
}
