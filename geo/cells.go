package geo

import (
	"bytes"
	"math"

	"github.com/paulmach/orb"
)

// Interior cells: each polygon volume's bounding box is cut into a raster
// of up to maxRasterCells cells, and each cell is marked in (every point
// of it is in the shape), out (none is) or edge (an edge comes near it, or
// it could not be shown in or out). A position check looks its point's
// cell up and runs the ring test only for edge cells: a point deep inside
// a zone, or deep outside all its edges, needs no ring test. The answer is
// the ring test's for every point (see docs/zones.md, Geometry).
//
// Why this is exact. Positions are tested against polygons in the
// longitude/latitude plane (a crossing-number test, the boundary counting
// as in); the marks are made in the same plane:
//
//   - The lookup computes t = fl(fl(x − x0)·k) (k cells per degree) and
//     takes cell ⌊t⌋. With |t| ≤ w + 1 and two roundings, the point lies
//     within (w+1)/k·2⁻⁵¹ of the cell's exact rectangle: less than 10⁻¹³°
//     for a box under 360° wide. Likewise in latitude.
//   - A cell is marked in or out only when no edge of any ring of the
//     shape meets the cell's rectangle grown by cellMargin (10⁻⁹°, about
//     0.1 mm) on every side. Each edge marks, row by row, every cell
//     whose grown rectangle the edge's part within the row could reach:
//     that part's longitudes are computed with rounding under 10⁻¹²°
//     times (1 + the edge's slope), and the cell ranges are widened by
//     more than that (markRaster). So every edge is farther than
//     cellMargin from an unmarked cell, hence than 9·10⁻¹⁰° from any
//     point looked up into it.
//   - For a point farther than 10⁻¹²° from every edge the ring test
//     answers exactly: its crossing abscissa is off by under 10⁻¹²°, the
//     horizontal distance from the point to an edge's line is at least the
//     distance to the edge, and its collinearity test cannot hold.
//   - The grown rectangles of the unmarked cells meet no edge, and two
//     unmarked cells side by side, one above the other or corner to
//     corner have overlapping grown rectangles, so they lie in one
//     connected part of the plane less the rings' edges, where being in
//     the shape does not change: they share their answer, and the ring
//     test at one cell's centre (exact there, as above) decides for a
//     group.
//   - A cell on the raster's border reaches outside the shape's box by the
//     margin, so it is never in; a point outside the raster (its cell
//     index out of range) is left to the ring test.
//
// Circles are left to their own test (a distance in a local frame, or a
// geodesic): it is one computation on data the volume holds already.

const (
	// cellMargin is how far, in degrees, the rectangle a cell is marked
	// for extends beyond the cell on every side.
	cellMargin = 1e-9
	// rasterCellsPerEdge and the bounds below set a raster's size: about
	// this many cells per edge of the shape, at least minRasterCells and
	// at most maxRasterCells, and at most maxRasterSide on a side.
	rasterCellsPerEdge = 8
	minRasterCells     = 1024
	maxRasterCells     = 4096
	maxRasterSide      = 255
)

// Cell marks, two bits each.
const (
	cellOut  = 0
	cellIn   = 1
	cellEdge = 2
)

// raster is a volume's interior cells: w × h cells over [x0, x0 + w/kx] ×
// [y0, y0 + h/ky], row by row from the south-west, four to a byte of
// pointGrid.marks from off. w == 0: none (circles, degenerate boxes).
// The origin and scale are float32 (the raster then fits a cache line
// with the volume's other data); the lookup and the marks compute in
// float64 from them alike.
type raster struct {
	x0, y0 float32 // degrees
	kx, ky float32 // cells per degree
	off    uint32
	w, h   uint8
}

// cell returns the index of p's cell, or -1 when p lies outside the raster
// or there is none.
func (r *raster) cell(p orb.Point) int32 {
	tx, ty := (p[0]-float64(r.x0))*float64(r.kx), (p[1]-float64(r.y0))*float64(r.ky)
	if !(tx >= 0 && ty >= 0 && tx < float64(r.w) && ty < float64(r.h)) {
		return -1 // also when w == 0
	}
	return int32(ty)*int32(r.w) + int32(tx)
}

// mark returns the mark of p's cell, or cellEdge when p lies outside the
// raster or there is none.
func (r *raster) mark(marks []byte, p orb.Point) uint8 {
	k := r.cell(p)
	if k < 0 {
		return cellEdge
	}
	return marks[r.off+uint32(k)>>2] >> (k & 3 * 2) & 3
}

// minCellDeg is the least side of a cell in degrees (about 1 cm).
const minCellDeg = 1e-7

// newRaster sizes the interior cells of polygon volume v (the marks come
// later: markRaster). It returns none (w == 0) for circles and for boxes
// without area.
func newRaster(v *cvol) raster {
	b := v.bound
	dx, dy := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
	if v.kind != ShapePolygon || !(dx > 0) || !(dy > 0) {
		return raster{}
	}
	edges := 0
	for _, pg := range v.poly.polys {
		for _, r := range pg {
			edges += len(r.pts) - 1
		}
	}
	// Square cells on the ground, about rasterCellsPerEdge per edge.
	n := float64(min(maxRasterCells, max(minRasterCells, rasterCellsPerEdge*edges)))
	aspect := dx * math.Cos(((b.Min[1]+b.Max[1])/2)*rad) / dy // east-west over north-south
	w := int(math.Round(math.Sqrt(n * aspect)))
	w = max(1, min(maxRasterSide, int(dx/minCellDeg), w))
	h := max(1, min(maxRasterSide, int(dy/minCellDeg), int(math.Round(n/float64(w)))))
	if w*h < 4 {
		return raster{}
	}
	// Origin and scale rounded down: the raster covers the box (a point
	// beyond it would only be left to the ring test).
	x0, y0 := down32(b.Min[0]), down32(b.Min[1])
	r := raster{x0: x0, y0: y0,
		kx: down32(float64(w) / (b.Max[0] - float64(x0))), ky: down32(float64(h) / (b.Max[1] - float64(y0))),
		w: uint8(w), h: uint8(h)}
	if !(r.kx > 0 && r.ky > 0) || math.IsInf(float64(r.kx), 1) || math.IsInf(float64(r.ky), 1) {
		return raster{}
	}
	return r
}

// size is the number of bytes of r's marks.
func (r *raster) size() int { return (int(r.w)*int(r.h) + 3) / 4 }

// markCells marks the w × h cells of polygon volume v over [x0, x0 + w/kx]
// × [y0, y0 + h/ky], row by row from the south-west, as a lookup of
// t = fl(fl(x − x0)·k) finds them (see the exactness argument above): it
// returns them in m (working memory, reused), one a byte, the mark in the
// low two bits. near says to visit only the edges that come near the
// cells (through the rings' own indexes), for cells that cover a small
// part of a big shape; otherwise every edge is visited.
func markCells(v *cvol, x0, y0, kx, ky float64, w, h int, near bool, m []uint8) []uint8 {
	const (
		unknown = 0
		done    = 4 // | cellIn or cellOut: marked
	)
	m = append(m[:0], make([]uint8, w*h)...)
	cellH := 1 / ky // degrees; j·cellH is off j/ky by under j ulps
	// index is the range of cells whose rectangle grown by cellMargin
	// meets lo..hi, with an allowance pad for rounding: a cell's grown
	// side i/k − cellMargin lies at or below hi when i ≤ (hi + margin)·k,
	// and its other side at or above lo when i ≥ (lo − margin)·k − 1,
	// that is from ⌊(lo − margin)·k⌋ (one less when that is whole); the
	// floor of (lo − 2·margin − pad)·k covers both.
	// (Truncation stands in for the floor: it differs only below 0, where
	// a is clamped to 0 anyway and z may take cell 0 in too many.)
	// Both are clamped to the raster while still floats: a float beyond
	// int's range converts to an unspecified int (the least one on amd64,
	// which would mark no cell for a nearly horizontal edge, whose slope
	// times the margin is huge), and NaN (an infinite slope times 0) takes
	// the whole range.
	index := func(lo, hi, o, k, pad float64, n int) (int, int) {
		a := (lo - 2*cellMargin - pad - o) * k
		z := (hi + 2*cellMargin + pad - o) * k
		ai, zi := 0, n-1
		if a > 0 {
			ai = int(min(a, float64(n)))
		}
		if z < float64(n-1) {
			zi = int(max(z, -1))
		}
		return ai, zi
	}
	// Cells near an edge: in each row of the edge's box, those that the
	// part of the edge within the row (grown by the margin) reaches. The
	// part's ends are computed with rounding under 10⁻¹³° in the row's
	// latitudes, times the edge's slope, and under 2·10⁻¹³° along it,
	// which pad allows for five times over. A horizontal edge marks its
	// whole box.
	edge := func(a, c orb.Point) {
		xmin, xmax := min(a[0], c[0]), max(a[0], c[0])
		i0, i1 := index(xmin, xmax, x0, kx, 1e-12, w)
		j0, j1 := index(min(a[1], c[1]), max(a[1], c[1]), y0, ky, 1e-12, h)
		if a[1] == c[1] {
			for j := j0; j <= j1; j++ {
				row := m[j*w : (j+1)*w]
				for i := i0; i <= i1; i++ {
					row[i] = cellEdge
				}
			}
			return
		}
		// The line's longitude at each row boundary, the row's own part
		// spanning the two, grown by the slope times the margin.
		dxdy := (c[0] - a[0]) / (c[1] - a[1])
		pad := 1e-12*(1+math.Abs(dxdy)) + math.Abs(dxdy)*cellMargin
		xa := a[0] + dxdy*(y0+float64(j0)*cellH-a[1])
		for j := j0; j <= j1; j++ {
			xb := a[0] + dxdy*(y0+float64(j+1)*cellH-a[1])
			ri0, ri1 := index(max(min(xa, xb), xmin), min(max(xa, xb), xmax), x0, kx, pad, w)
			row := m[j*w : (j+1)*w]
			for i := max(ri0, i0); i <= min(ri1, i1); i++ {
				row[i] = cellEdge
			}
			xa = xb
		}
	}
	if near {
		// An edge whose box stays farther than nearDeg from the cells
		// meets no cell's grown rectangle: it marks none.
		const nearDeg = 1e-6
		q := orb.Bound{Min: orb.Point{x0 - nearDeg, y0 - nearDeg},
			Max: orb.Point{x0 + float64(w)/kx + nearDeg, y0 + float64(h)/ky + nearDeg}}
		v.poly.eachEdgeNear(q, edge)
	} else {
		for _, pg := range v.poly.polys {
			for _, rg := range pg {
				for e := 0; e+1 < len(rg.pts); e++ {
					edge(rg.pts[e], rg.pts[e+1])
				}
			}
		}
	}
	// The other cells, run by run along each row: two such cells side by
	// side, one above the other or corner to corner share their mark
	// (their grown rectangles overlap, and no edge meets them), so a run
	// takes the mark of such a cell below it when there is one, and the
	// ring test's at its first cell's centre otherwise.
	for j := 0; j < h; j++ {
		row := m[j*w : (j+1)*w]
		var below []uint8
		if j > 0 {
			below = m[(j-1)*w : j*w]
			below = below[:len(row)]
		}
		for i := 0; i < len(row); {
			if row[i] == cellEdge {
				i++
				continue
			}
			e := len(row)
			if k := bytes.IndexByte(row[i:], cellEdge); k >= 0 {
				e = i + k
			}
			mk := uint8(unknown)
			if below != nil {
				for k := max(i-1, 0); k < min(e+1, len(row)); k++ {
					if below[k] != cellEdge {
						mk = below[k]
						break
					}
				}
			}
			if mk == unknown {
				mk = done | cellOut
				if v.poly.contains(orb.Point{x0 + (float64(i)+0.5)/kx, y0 + (float64(j)+0.5)/ky}) {
					mk = done | cellIn
				}
			}
			for ; i < e; i++ {
				row[i] = mk
			}
		}
	}
	return m
}

// markRaster writes the marks of v's cells, as r lays them out, to
// marks[r.off:]. m is working memory, returned for reuse.
func markRaster(v *cvol, r *raster, marks []byte, m []uint8) []uint8 {
	m = markCells(v, float64(r.x0), float64(r.y0), float64(r.kx), float64(r.ky), int(r.w), int(r.h), false, m)
	packed := marks[r.off : int(r.off)+r.size()]
	clear(packed)
	k := 0
	for ; k+4 <= len(m); k += 4 {
		packed[k>>2] = m[k]&3 | (m[k+1]&3)<<2 | (m[k+2]&3)<<4 | (m[k+3]&3)<<6
	}
	for ; k < len(m); k++ {
		packed[k>>2] |= (m[k] & 3) << (k & 3 * 2)
	}
	return m
}
