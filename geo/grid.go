package geo

import (
	"cmp"
	"encoding/binary"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb"
)

// pointGrid finds the volumes whose shape may hold a point with one table
// lookup and a few contiguous reads, instead of a walk down the R-tree: a
// position check is bound by memory latency, and the grid touches few
// cache lines.
//
// The globe is cut into cells of gridDeg degrees; each cell lists the
// volumes whose box meets it, and is itself cut into fine cells (up to
// 16 × 16, about 350 × 220 m at 52° N), which hold a two-bit mark for each
// volume of the list: out (no point of the fine cell is in the shape),
// in (every point is) or edge (the shape must be asked: its own interior
// cells, then the ring test). A point reads its fine cell's marks, one
// run of bits, and visits only the volumes not out, most of them known
// in without reading the volume at all. The marks are made as a volume's
// interior cells are (markCells), with the same exactness argument (see
// cells.go). Volumes whose box spans more than maxGridCells cells are
// listed in big and always asked. It is built with the index and, like
// it, never changes.
type pointGrid struct {
	shapes []cvol     // the index's volumes
	cells  cellTable  // cell -> its run in items and its fine marks
	items  []int32    // volume indexes, cell by cell
	fine   []byte     // each cell's fine marks (see fineRun)
	big    []gridItem // in the index's order
	vols   []gridVol  // per volume, in the index's order
	marks  []byte     // the rasters' cell marks, volume after volume
}

// gridItem is a volume listed in big, with its box: min lon, min lat,
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
	// maxCellIndex bounds a cell's coordinates, so that a key packs them
	// in 16 bits each: a box beyond (which no valid shape has) is big.
	maxCellIndex = 1 << 14
)

func cellOf(lon, lat float64) (int64, int64) {
	return int64(math.Floor(lon / gridDeg)), int64(math.Floor(lat / gridDeg))
}

func cellKey(x, y int64) uint32 { return uint32(uint16(int16(x)))<<16 | uint32(uint16(int16(y))) }

// Fine cells: a cell listing n volumes is cut into 2^fineShift(n) fine
// cells a side, over [x0, x0 + gridDeg] × [y0, y0 + gridDeg] with x0 =
// fl(cx·gridDeg) (likewise y0) and fineK[shift] fine cells per degree. Its
// marks take (n + 3)/4 bytes a fine cell (two bits a volume, in the list's
// order, from the low bits up), fine cell after fine cell, row by row
// from the south-west: 16·n bytes a listed volume with 16 × 16 fine cells.
// A cell listing few volumes is cut less finely: its points visit few
// volumes anyway.
func fineShift(n uint32) uint {
	switch {
	case n >= 4:
		return 4
	case n >= 2:
		return 3
	}
	return 2
}

// fineK is the fine cells per degree, by shift.
var fineK = [5]float64{1 / gridDeg, 2 / gridDeg, 4 / gridDeg, 8 / gridDeg, 16 / gridDeg}

// fineCell is the index of p's fine cell in cell (cx, cy), cut 1 << sh fine
// cells a side. A point of the cell whose lookup rounds to just outside
// it (by under 10⁻¹³°) takes the nearest fine cell, which its marks'
// margin covers.
func fineCell(p orb.Point, cx, cy int64, sh uint) int {
	k := fineK[sh]
	tx, ty := (p[0]-float64(cx)*gridDeg)*k, (p[1]-float64(cy)*gridDeg)*k
	s := 1<<sh - 1
	i, j := 0, 0
	if tx > 0 {
		i = min(int(tx), s)
	}
	if ty > 0 {
		j = min(int(ty), s)
	}
	return j<<sh | i
}

// fineSize is the bytes of fine marks of a cell listing n volumes.
func fineSize(n uint32) int { return int((n+3)/4) << (2 * fineShift(n)) }

func newPointGrid(vols []cvol) pointGrid {
	g := pointGrid{shapes: vols, vols: make([]gridVol, len(vols))}
	type pair struct {
		key uint32
		vi  int32
	}
	var pairs []pair
	nmarks := 0
	for i := range vols {
		v := &vols[i]
		lo, hi := pointBox(v)
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
		x0, y0 := cellOf(float64(lo[0]), float64(lo[1]))
		x1, y1 := cellOf(float64(hi[0]), float64(hi[1]))
		if (x1-x0+1)*(y1-y0+1) > maxGridCells || max(-x0, x1, -y0, y1) >= maxCellIndex {
			g.big = append(g.big, gridItem{[4]float32{lo[0], lo[1], hi[0], hi[1]}, int32(i)})
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
	counts := make(map[uint32]uint32)
	for _, p := range pairs {
		counts[p.key]++
	}
	cells := make(map[uint32]cellRun, len(counts))
	var runs []uint32 // cell keys in the order of their runs
	var off uint32
	nfine := 0
	for _, p := range pairs {
		if _, ok := cells[p.key]; !ok {
			n := counts[p.key]
			cells[p.key] = cellRun{start: off, end: off, fine: uint32(nfine)}
			off += n
			nfine += fineSize(n)
			runs = append(runs, p.key)
		}
	}
	g.items = make([]int32, len(pairs))
	for _, p := range pairs {
		s := cells[p.key]
		g.items[s.end] = p.vi
		s.end++
		cells[p.key] = s
	}
	// 8 bytes beyond the last cell's marks: they are read 8 at a time.
	g.fine = make([]byte, nfine+8)
	// Marked in Z-order of the cells, so that the cells one worker marks
	// in a row share most of their volumes, which then stay in its cache.
	slices.SortFunc(runs, func(a, b uint32) int { return cmp.Compare(cellZ(a), cellZ(b)) })
	g.markFine(runs, cells)
	g.cells = newCellTable(cells)
	return g
}

// each calls fn with every volume whose shape may hold p, but those whose
// fine marks or interior cells show p outside the shape; in is true when
// they show it inside (otherwise the shape must be tested). It calls fn in
// the order of the cell's list, then big.
//
// A check waits on memory more than it computes, so each works in passes
// over up to eachBatch candidates: their rasters, then their marks, so
// that the loads of one pass do not wait on each other.
func (g *pointGrid) each(p orb.Point, fn func(vi int32, gv *gridVol, in bool)) {
	var b eachBatch
	cx, cy := cellOf(p[0], p[1])
	if s, ok := g.cells.get(cellKey(cx, cy)); ok {
		n := s.end - s.start
		sh := fineShift(n)
		at := s.fine + uint32(fineCell(p, cx, cy, sh))*((n+3)/4)
		items := g.items[s.start:s.end]
		// The cell's list, asked for now: it then arrives with the marks
		// rather than after them (which of its entries are read depends
		// on the marks).
		b.touch += uint64(items[0]) + uint64(items[n-1])
		for q := uint32(0); q < n; q += 32 {
			w := binary.LittleEndian.Uint64(g.fine[at+q/4:])
			if rest := n - q; rest < 32 {
				w &= 1<<(2*rest) - 1
			}
			// The volumes not out: a bit set in their two.
			for set := (w | w>>1) & 0x5555555555555555; set != 0; set &= set - 1 {
				t := bits.TrailingZeros64(set)
				if b.add(items[q+uint32(t/2)], uint8(w>>t)&3) {
					b.flush(g, p, fn)
				}
			}
		}
	}
	if len(g.big) > 0 {
		x, y := float32(p[0]), float32(p[1])
		for i := range g.big {
			if it := &g.big[i]; x >= it.box[0] && y >= it.box[1] && x <= it.box[2] && y <= it.box[3] {
				if b.add(it.vi, cellEdge) {
					b.flush(g, p, fn)
				}
			}
		}
	}
	b.flush(g, p, fn)
}

// eachBatch is a run of candidates of pointGrid.each.
type eachBatch struct {
	touch uint64 // what the loads ahead of the ring tests read
	n     int
	vi    [32]int32
	mk    [32]uint8 // cellIn, or cellEdge: ask the volume
}

// add appends vi with its fine mark and reports whether the batch is full.
func (b *eachBatch) add(vi int32, mk uint8) bool {
	b.vi[b.n] = vi
	b.mk[b.n] = mk
	b.n++
	return b.n == len(b.vi)
}

func (b *eachBatch) flush(g *pointGrid, p orb.Point, fn func(vi int32, gv *gridVol, in bool)) {
	n := b.n
	b.n = 0
	var cell [32]int32 // the cell's index in its raster's marks, or -1
	var touch uint64
	for k := 0; k < n; k++ {
		if b.mk[k] == cellEdge {
			cell[k] = g.vols[b.vi[k]].r.cell(p)
			// Where the ring lies, asked for beside the raster rather
			// than after its marks.
			touch += uint64(len(g.shapes[b.vi[k]].pts))
		} else {
			touch += uint64(g.vols[b.vi[k]].flags) // read by fn: asked for now
		}
	}
	for k := 0; k < n; k++ {
		if b.mk[k] == cellEdge {
			if c := cell[k]; c >= 0 {
				off := g.vols[b.vi[k]].r.off
				b.mk[k] = g.marks[off+uint32(c)>>2] >> (c & 3 * 2) & 3
			}
		}
	}
	// The ring tests to come read the ring's vertices, and the band of
	// p's latitude with its list of edges: ask for all of them now, one
	// load a cache line, so that they arrive together rather than each
	// after the one it depends on.
	for k := 0; k < n; k++ {
		if b.mk[k] == cellEdge {
			v := &g.shapes[b.vi[k]]
			pts := v.pts
			if len(pts) == 0 {
				continue
			}
			for i := 0; i < len(pts); i += 4 {
				touch += math.Float64bits(pts[i][1])
			}
			touch += math.Float64bits(pts[len(pts)-1][1])
			if rb := &v.rb; rb.bands != nil {
				touch += uint64(rb.bands[rb.band(p[1])].start) + uint64(rb.edges[0]) + uint64(rb.edges[len(rb.edges)-1])
			}
		}
	}
	b.touch += touch
	for k := 0; k < n; k++ {
		if b.mk[k] != cellOut {
			fn(b.vi[k], &g.vols[b.vi[k]], b.mk[k] == cellIn)
		}
	}
}

// markFine makes every listed cell's fine marks, on all processors: each
// cell's are its own bytes of g.fine, so the workers share nothing else.
// A polygon's marks come from markCells over the cell's fine cells; a
// circle's say edge wherever its box may meet the fine cell (the box
// rounded outward, the fine cell grown by far more than the lookup's
// rounding), out elsewhere.
func (g *pointGrid) markFine(runs []uint32, cells map[uint32]cellRun) {
	const chunk = 64
	var next atomic.Int64
	work := func() {
		var m []uint8
		for {
			start := int(next.Add(chunk)) - chunk
			if start >= len(runs) {
				return
			}
			for _, key := range runs[start:min(start+chunk, len(runs))] {
				s := cells[key]
				cx, cy := int64(int16(key>>16)), int64(int16(key))
				n := s.end - s.start
				sh := fineShift(n)
				side, stride := 1<<sh, int((n+3)/4)
				x0, y0, k := float64(cx)*gridDeg, float64(cy)*gridDeg, fineK[sh]
				marks := g.fine[s.fine : int(s.fine)+fineSize(n)]
				for j, vi := range g.items[s.start:s.end] {
					v := &g.shapes[vi]
					if v.kind != ShapePolygon {
						m = markBox(v, x0, y0, k, side, m)
						for c, mk := range m {
							marks[c*stride+j/4] |= mk << (j & 3 * 2)
						}
						continue
					}
					// Only the fine cells near the volume's box: a point
					// of any other lies more than 10⁻⁹° outside the box,
					// so farther than 10⁻¹²° from every edge, where the
					// ring test answers exactly: out.
					lo, hi := pointBox(v)
					i0, i1 := fineRange(float64(lo[0]), float64(hi[0]), x0, k, side)
					j0, j1 := fineRange(float64(lo[1]), float64(hi[1]), y0, k, side)
					if i0 > i1 || j0 > j1 {
						continue
					}
					w := i1 - i0 + 1
					m = markCells(v, x0+float64(i0)/k, y0+float64(j0)/k, k, k, w, j1-j0+1, true, m)
					for c, mk := range m {
						if mk&3 != cellOut {
							fc := (j0+c/w)<<sh | (i0 + c%w)
							marks[fc*stride+j/4] |= (mk & 3) << (j & 3 * 2)
						}
					}
				}
			}
		}
	}
	n := min(runtime.GOMAXPROCS(0), (len(runs)+chunk-1)/chunk)
	var wg sync.WaitGroup
	for k := 1; k < n; k++ {
		wg.Go(work)
	}
	work()
	wg.Wait()
}

// cellZ is the Morton code of the cell of key.
func cellZ(key uint32) uint64 {
	return spread(uint64(uint16(key>>16)^0x8000)) | spread(uint64(uint16(key)^0x8000))<<1
}

// fineRange is the range of fine cells, of side a side from o at k a
// degree, that may hold a point within 10⁻⁹° of lo..hi: those beyond lie
// at least 1.9·10⁻⁹° away (the cells' sides are computed with rounding
// under 10⁻¹³°). An empty range has i0 > i1.
func fineRange(lo, hi, o, k float64, side int) (int, int) {
	a, z := (lo-2e-9-o)*k, (hi+2e-9-o)*k
	if z < 0 || a >= float64(side) {
		return side, side - 1
	}
	i0, i1 := 0, side-1
	if a > 0 {
		i0 = int(a)
	}
	if z < float64(side-1) {
		i1 = int(z)
	}
	return i0, i1
}

// pointBox is the box, rounded outward to float32, of the points that a
// position check may find in v: a circle's holds the points its test takes
// in, up to boundarySlack beyond the radius.
func pointBox(v *cvol) (lo, hi [2]float32) {
	if v.kind == ShapeCircle {
		return boxKeys(circleBound(v.center, v.radius+boundarySlack))
	}
	return boxKeys(v.bound)
}

// markBox returns in m the marks of the side × side fine cells over
// [x0, x0 + side/k] × [y0, y0 + side/k] for a volume whose shape is known
// only by its box: edge where the box may meet the fine cell, out
// elsewhere.
func markBox(v *cvol, x0, y0, k float64, side int, m []uint8) []uint8 {
	m = append(m[:0], make([]uint8, side*side)...)
	lo, hi := pointBox(v)
	const grow = 1e-9 // degrees, far above the lookup's rounding
	for j := 0; j < side; j++ {
		ya, yb := y0+float64(j)/k-grow, y0+float64(j+1)/k+grow
		if yb < float64(lo[1]) || ya > float64(hi[1]) {
			continue
		}
		for i := 0; i < side; i++ {
			xa, xb := x0+float64(i)/k-grow, x0+float64(i+1)/k+grow
			if xb < float64(lo[0]) || xa > float64(hi[0]) {
				continue
			}
			m[j*side+i] = cellEdge
		}
	}
	return m
}

// cellTable maps grid cells to their runs of items: open addressing with
// linear probing in one array, so that a lookup mostly reads one cache
// line (a Go map reads two or more).
type cellTable struct {
	slots []cellSlot // a power of two, at most half full
	shift uint8      // 64 − log2(len(slots))
}

type cellSlot struct {
	key uint32
	cellRun
}

// cellRun is a cell's run in pointGrid.items, [start, end), and the
// offset of its fine marks in pointGrid.fine. end == 0: none (a listed
// cell holds at least one item).
type cellRun struct{ start, end, fine uint32 }

func newCellTable(m map[uint32]cellRun) cellTable {
	n := 1
	for n < 2*len(m) {
		n <<= 1
	}
	t := cellTable{slots: make([]cellSlot, n), shift: uint8(64 - bits.TrailingZeros(uint(n)))}
	for k, s := range m {
		i := t.home(k)
		for t.slots[i].end != 0 {
			i = (i + 1) & (len(t.slots) - 1)
		}
		t.slots[i] = cellSlot{k, s}
	}
	return t
}

// home is key's first slot (Fibonacci hashing).
func (t *cellTable) home(key uint32) int {
	return int((uint64(key) * 0x9e3779b97f4a7c15) >> t.shift)
}

func (t *cellTable) get(key uint32) (cellRun, bool) {
	if len(t.slots) == 0 {
		return cellRun{}, false
	}
	for i := t.home(key); ; i = (i + 1) & (len(t.slots) - 1) {
		sl := &t.slots[i]
		if sl.end == 0 {
			return cellRun{}, false
		}
		if sl.key == key {
			return sl.cellRun, true
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
