package geo

import (
	"math"

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
	cells map[uint64]span // cell -> its run in items
	items []gridItem      // cell by cell
	big   []gridItem
	vols  []gridVol // per volume, in the index's order
	marks []byte    // the rasters' cell marks, volume after volume
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
	g := pointGrid{vols: make([]gridVol, len(vols))}
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
	var m []uint8
	for i := range g.vols {
		if r := &g.vols[i].r; r.w != 0 {
			m = markRaster(&vols[i], r, g.marks, m)
		}
	}
	// Group by cell, keeping volume order (Z-order) within each cell.
	counts := make(map[uint64]uint32)
	for _, p := range pairs {
		counts[p.key]++
	}
	g.cells = make(map[uint64]span, len(counts))
	var off uint32
	for _, p := range pairs {
		if _, ok := g.cells[p.key]; !ok {
			g.cells[p.key] = span{off, off}
			off += counts[p.key]
		}
	}
	g.items = make([]gridItem, len(pairs))
	for _, p := range pairs {
		s := g.cells[p.key]
		g.items[s.end] = gridItem{boxes[p.vi], p.vi}
		s.end++
		g.cells[p.key] = s
	}
	return g
}

// each calls fn with every volume whose box holds p, but those whose
// interior cells show p outside the shape; in is true when they show it
// inside (otherwise the shape must be tested).
func (g *pointGrid) each(p orb.Point, fn func(vi int32, gv *gridVol, in bool)) {
	x, y := float32(p[0]), float32(p[1])
	try := func(it *gridItem) {
		if b := &it.box; !(x >= b[0] && y >= b[1] && x <= b[2] && y <= b[3]) {
			return
		}
		gv := &g.vols[it.vi]
		mk := uint8(cellEdge)
		if gv.r.w != 0 {
			mk = gv.r.mark(g.marks, p)
		}
		if mk != cellOut {
			fn(it.vi, gv, mk == cellIn)
		}
	}
	cx, cy := cellOf(p[0], p[1])
	if s, ok := g.cells[cellKey(cx, cy)]; ok {
		for i := s.start; i < s.end; i++ {
			try(&g.items[i])
		}
	}
	for i := range g.big {
		try(&g.big[i])
	}
}
