package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// pointGrid finds the volumes whose box holds a point with one map lookup
// and a scan of a short, contiguous list, instead of a walk down the R-tree:
// a position check is bound by memory latency, and the grid touches fewer
// cache lines. Volumes whose box spans more than maxGridCells cells are
// listed in big and always tested. Each polygon volume has its interior
// cells (see raster), which decide most points without the ring test. It
// is built with the index and, like it, never changes.
type pointGrid struct {
	cells map[uint64]span // cell -> its run in items
	items []int32         // volume indices, cell by cell
	big   []int32
	vols  []gridVol // per volume, in the index's order
	marks []byte    // the rasters' cell marks, volume after volume
}

// gridVol is what a position check reads of a volume before its shape:
// its box and interior cells, in one cache line.
type gridVol struct {
	box [4]float32 // min lon, min lat, max lon, max lat, rounded outward
	r   raster
}

type span struct{ start, end uint32 }

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
	for i := range vols {
		b := vols[i].bound
		min, max := boxKeys(b)
		g.vols[i].box = [4]float32{min[0], min[1], max[0], max[1]}
		g.vols[i].r, g.marks = newRaster(&vols[i], g.marks)
		x0, y0 := cellOf(float64(min[0]), float64(min[1]))
		x1, y1 := cellOf(float64(max[0]), float64(max[1]))
		if (x1-x0+1)*(y1-y0+1) > maxGridCells {
			g.big = append(g.big, int32(i))
			continue
		}
		for x := x0; x <= x1; x++ {
			for y := y0; y <= y1; y++ {
				pairs = append(pairs, pair{cellKey(x, y), int32(i)})
			}
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
	g.items = make([]int32, len(pairs))
	for _, p := range pairs {
		s := g.cells[p.key]
		g.items[s.end] = p.vi
		s.end++
		g.cells[p.key] = s
	}
	return g
}

// each calls fn with every volume whose box holds p, but those whose
// interior cells show p outside the shape; in is true when they show it
// inside (otherwise the shape must be tested).
func (g *pointGrid) each(p orb.Point, fn func(vi int32, in bool)) {
	x, y := float32(p[0]), float32(p[1])
	try := func(vi int32) {
		gv := &g.vols[vi]
		b := &gv.box
		if !(x >= b[0] && y >= b[1] && x <= b[2] && y <= b[3]) {
			return
		}
		mk := uint8(cellEdge)
		if gv.r.w != 0 {
			mk = gv.r.mark(g.marks, p)
		}
		if mk != cellOut {
			fn(vi, mk == cellIn)
		}
	}
	cx, cy := cellOf(p[0], p[1])
	if s, ok := g.cells[cellKey(cx, cy)]; ok {
		for _, vi := range g.items[s.start:s.end] {
			try(vi)
		}
	}
	for _, vi := range g.big {
		try(vi)
	}
}
