package geo

import (
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb"
)

// pointGrid finds the volumes whose box holds a point with one map lookup
// and a scan of a short, contiguous list, instead of a walk down the R-tree:
// a position check is bound by memory latency, and the grid touches fewer
// cache lines. The list holds each volume's box, so that volumes whose box
// misses the point cost no other memory. Volumes whose box spans more than
// maxGridCells cells are listed in big and always tested. Each polygon
// volume has its interior cells (see raster), which decide most points
// without the ring test. It is built with the index and, like it, never
// changes.
type pointGrid struct {
	shapes []cvol     // the index's volumes
	cells  cellTable  // cell -> its run in items
	items  []gridItem // cell by cell
	big    []gridItem
	vols   []gridVol // per volume, in the index's order
	marks  []byte    // the rasters' cell marks, volume after volume
}

type span struct{ start, end uint32 }

// gridItem is a volume listed in a cell, with its box: min lon, min lat,
// max lon, max lat, rounded outward.
type gridItem struct {
	box [4]float32
	vi  int32
}

// gridVol is what a position check reads of a volume to decide a hit but
// for its ring test: its interior cells, and its zone, limits and flags,
// in one cache line (64 bytes) with no pointer.
type gridVol struct {
	r     raster
	zone  int32 // index into Index.zones
	flags uint8 // volMulti | volPerm | volBlock
	lower Limit
	upper Limit
}

// gridVol flags, as the cvol fields of the same names.
const (
	volMulti = 1 << iota
	volPerm
	volBlock
)

// order is the sort key of hits on the volume's zone (cvol.order).
func (gv *gridVol) order() uint32 {
	if gv.flags&volBlock != 0 {
		return uint32(gv.zone)
	}
	return uint32(gv.zone) + nonBlocking
}

const (
	gridDeg      = 0.05 // cell size in degrees: about 5.5 km north-south
	maxGridCells = 4096
)

func cellOf(lon, lat float64) (int64, int64) {
	return int64(math.Floor(lon / gridDeg)), int64(math.Floor(lat / gridDeg))
}

func cellKey(x, y int64) uint64 { return uint64(uint32(int32(x)))<<32 | uint64(uint32(int32(y))) }

func newPointGrid(vols []cvol) pointGrid {
	g := pointGrid{shapes: vols, vols: make([]gridVol, len(vols))}
	type pair struct {
		key uint64
		vi  int32
	}
	var pairs []pair
	nmarks := 0
	boxes := make([][4]float32, len(vols))
	for i := range vols {
		v := &vols[i]
		min, max := boxKeys(v.bound)
		boxes[i] = [4]float32{min[0], min[1], max[0], max[1]}
		gv := &g.vols[i]
		gv.r = newRaster(v)
		if gv.r.w != 0 {
			gv.r.off = uint32(nmarks)
			nmarks += gv.r.size()
		}
		gv.zone, gv.lower, gv.upper = v.zone, v.lower, v.upper
		if v.multi {
			gv.flags |= volMulti
		}
		if v.perm {
			gv.flags |= volPerm
		}
		if v.block {
			gv.flags |= volBlock
		}
		x0, y0 := cellOf(float64(min[0]), float64(min[1]))
		x1, y1 := cellOf(float64(max[0]), float64(max[1]))
		if (x1-x0+1)*(y1-y0+1) > maxGridCells {
			g.big = append(g.big, gridItem{boxes[i], int32(i)})
			continue
		}
		for x := x0; x <= x1; x++ {
			for y := y0; y <= y1; y++ {
				pairs = append(pairs, pair{cellKey(x, y), int32(i)})
			}
		}
	}
	g.marks = make([]byte, nmarks)
	g.markAll(vols)
	// Group by cell, keeping volume order (Z-order) within each cell.
	counts := make(map[uint64]uint32)
	for _, p := range pairs {
		counts[p.key]++
	}
	cells := make(map[uint64]span, len(counts))
	var off uint32
	for _, p := range pairs {
		if _, ok := cells[p.key]; !ok {
			cells[p.key] = span{off, off}
			off += counts[p.key]
		}
	}
	g.items = make([]gridItem, len(pairs))
	for _, p := range pairs {
		s := cells[p.key]
		g.items[s.end] = gridItem{boxes[p.vi], p.vi}
		s.end++
		cells[p.key] = s
	}
	g.cells = newCellTable(cells)
	return g
}

// each calls fn with every volume whose box holds p, but those whose
// interior cells show p outside the shape; in is true when they show it
// inside (otherwise the shape must be tested). It calls fn in the order of
// the cell's list, then big.
//
// A check waits on memory more than it computes, so each works in passes
// over up to eachBatch candidates: their boxes, then their rasters, then
// their marks, so that the loads of one pass do not wait on each other.
func (g *pointGrid) each(p orb.Point, fn func(vi int32, gv *gridVol, in bool)) {
	var b eachBatch
	x, y := float32(p[0]), float32(p[1])
	cx, cy := cellOf(p[0], p[1])
	if s, ok := g.cells.get(cellKey(cx, cy)); ok {
		for i := s.start; i < s.end; i++ {
			if it := &g.items[i]; x >= it.box[0] && y >= it.box[1] && x <= it.box[2] && y <= it.box[3] {
				if b.add(it.vi) {
					b.flush(g, p, fn)
				}
			}
		}
	}
	for i := range g.big {
		if it := &g.big[i]; x >= it.box[0] && y >= it.box[1] && x <= it.box[2] && y <= it.box[3] {
			if b.add(it.vi) {
				b.flush(g, p, fn)
			}
		}
	}
	b.flush(g, p, fn)
}

// eachBatch is a run of candidates of pointGrid.each.
type eachBatch struct {
	touch uint16 // what the loads ahead of the ring tests read
	n     int
	vi    [32]int32
	cell  [32]int32 // the cell's index in its raster's marks, or -1
}

// add appends vi and reports whether the batch is full.
func (b *eachBatch) add(vi int32) bool {
	b.vi[b.n] = vi
	b.n++
	return b.n == len(b.vi)
}

func (b *eachBatch) flush(g *pointGrid, p orb.Point, fn func(vi int32, gv *gridVol, in bool)) {
	n := b.n
	b.n = 0
	for k := 0; k < n; k++ {
		b.cell[k] = g.vols[b.vi[k]].r.cell(p)
	}
	var mk [32]uint8
	for k := 0; k < n; k++ {
		mk[k] = cellEdge
		if c := b.cell[k]; c >= 0 {
			off := g.vols[b.vi[k]].r.off
			mk[k] = g.marks[off+uint32(c)>>2] >> (c & 3 * 2) & 3
		}
	}
	// The ring tests to come read the volume's band of p's latitude: ask
	// for it now, for all of them at once.
	var touch uint16
	for k := 0; k < n; k++ {
		if mk[k] == cellEdge {
			if v := &g.shapes[b.vi[k]]; v.rb.bands != nil {
				touch += v.rb.bands[v.rb.band(p[1])].start
			}
		}
	}
	b.touch += touch
	for k := 0; k < n; k++ {
		if mk[k] != cellOut {
			fn(b.vi[k], &g.vols[b.vi[k]], mk[k] == cellIn)
		}
	}
}

// cellTable maps grid cells to their runs of items: open addressing with
// linear probing in one array, so that a lookup mostly reads one cache
// line (a Go map reads two or more).
type cellTable struct {
	slots []cellSlot // a power of two, at most half full
	shift uint8      // 64 − log2(len(slots))
}

type cellSlot struct {
	key uint64
	s   span // end == 0: empty (a listed cell holds at least one item)
}

func newCellTable(m map[uint64]span) cellTable {
	n := 1
	for n < 2*len(m) {
		n <<= 1
	}
	t := cellTable{slots: make([]cellSlot, n), shift: uint8(64 - bits.TrailingZeros(uint(n)))}
	for k, s := range m {
		i := t.home(k)
		for t.slots[i].s.end != 0 {
			i = (i + 1) & (len(t.slots) - 1)
		}
		t.slots[i] = cellSlot{k, s}
	}
	return t
}

// home is key's first slot (Fibonacci hashing).
func (t *cellTable) home(key uint64) int {
	return int((key * 0x9e3779b97f4a7c15) >> t.shift)
}

func (t *cellTable) get(key uint64) (span, bool) {
	if len(t.slots) == 0 {
		return span{}, false
	}
	for i := t.home(key); ; i = (i + 1) & (len(t.slots) - 1) {
		sl := &t.slots[i]
		if sl.s.end == 0 {
			return span{}, false
		}
		if sl.key == key {
			return sl.s, true
		}
	}
}

// markAll marks every volume's cells, on all processors: each raster's
// marks are its own bytes of g.marks, so the workers share nothing else.
func (g *pointGrid) markAll(vols []cvol) {
	const chunk = 256
	var next atomic.Int64
	work := func() {
		var m []uint8
		for {
			start := int(next.Add(chunk)) - chunk
			if start >= len(vols) {
				return
			}
			for i := start; i < min(start+chunk, len(vols)); i++ {
				if r := &g.vols[i].r; r.w != 0 {
					m = markRaster(&vols[i], r, g.marks, m)
				}
			}
		}
	}
	n := min(runtime.GOMAXPROCS(0), (len(vols)+chunk-1)/chunk)
	var wg sync.WaitGroup
	for k := 1; k < n; k++ {
		wg.Go(work)
	}
	work()
	wg.Wait()
}
