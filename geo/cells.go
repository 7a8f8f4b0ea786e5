package geo

import (
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
//     0.1 mm) on every side. The test (boxes overlap, and the rectangle's
//     corners not all strictly on one side of the edge's line) is exact
//     but for rounding of the rectangle's sides (10⁻¹³°) and of the cross
//     products (under 10⁻¹²° of distance for boxes within the globe), so
//     "no edge meets" proves every edge farther than cellMargin − 2·10⁻¹²°
//     from the rectangle, hence than 9·10⁻¹⁰° from any point looked up
//     into the cell.
//   - For a point farther than 10⁻¹²° from every edge the ring test
//     answers exactly: its crossing abscissa is off by under 10⁻¹²°, the
//     horizontal distance from the point to an edge's line is at least the
//     distance to the edge, and its collinearity test cannot hold.
//   - The grown rectangles of the unmarked cells meet no edge, so each
//     4-connected group of them lies in one connected part of the plane
//     less the rings' edges, where being in the shape does not change: the
//     ring test at one cell's centre (exact there, as above) decides for
//     the group.
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
	minRasterCells     = 256
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
type raster struct {
	x0, y0 float64 // degrees
	kx, ky float64 // cells per degree
	off    uint32
	w, h   uint8
}

// mark returns the mark of p's cell, or cellEdge when p lies outside the
// raster.
func (r *raster) mark(marks []byte, p orb.Point) uint8 {
	tx, ty := (p[0]-r.x0)*r.kx, (p[1]-r.y0)*r.ky
	if !(tx >= 0 && ty >= 0 && tx < float64(r.w) && ty < float64(r.h)) {
		return cellEdge
	}
	k := uint32(ty)*uint32(r.w) + uint32(tx)
	return marks[r.off+k>>2] >> (k & 3 * 2) & 3
}

// newRaster marks the cells of polygon volume v and appends their marks
// to marks. It returns no raster for circles and for boxes without area.
func newRaster(v *cvol, marks []byte) (raster, []byte) {
	b := v.bound
	dx, dy := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
	if v.kind != ShapePolygon || !(dx > 0) || !(dy > 0) {
		return raster{}, marks
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
	w = max(1, min(maxRasterSide, w))
	h := max(1, min(maxRasterSide, int(math.Round(n/float64(w)))))
	if w*h < 4 {
		return raster{}, marks
	}
	r := raster{x0: b.Min[0], y0: b.Min[1], kx: float64(w) / dx, ky: float64(h) / dy,
		off: uint32(len(marks)), w: uint8(w), h: uint8(h)}
	m := make([]uint8, w*h) // cellEdge where an edge meets, else 0 until grouped
	cell := func(i, j int) orb.Bound {
		return orb.Bound{
			Min: orb.Point{r.x0 + float64(i)/r.kx - cellMargin, r.y0 + float64(j)/r.ky - cellMargin},
			Max: orb.Point{r.x0 + float64(i+1)/r.kx + cellMargin, r.y0 + float64(j+1)/r.ky + cellMargin},
		}
	}
	// Cells near an edge: those of the edge's box (and one more on every
	// side, against rounding) that the edge meets.
	span := func(lo, hi, o, k float64, n int) (int, int) {
		a := int(math.Floor((lo-cellMargin-o)*k)) - 1
		z := int(math.Floor((hi+cellMargin-o)*k)) + 1
		return max(0, a), min(n-1, z)
	}
	for _, pg := range v.poly.polys {
		for _, rg := range pg {
			pts := rg.pts
			for e := 0; e+1 < len(pts); e++ {
				a, c := pts[e], pts[e+1]
				i0, i1 := span(min(a[0], c[0]), max(a[0], c[0]), r.x0, r.kx, w)
				j0, j1 := span(min(a[1], c[1]), max(a[1], c[1]), r.y0, r.ky, h)
				for j := j0; j <= j1; j++ {
					for i := i0; i <= i1; i++ {
						if m[j*w+i] != cellEdge && segMeetsRect(a, c, cell(i, j)) {
							m[j*w+i] = cellEdge
						}
					}
				}
			}
		}
	}
	// Group the other cells (4-connected) and mark each group by the ring
	// test at the centre of its first cell.
	const seen = 3
	var stack []int
	for k := range m {
		if m[k] != 0 {
			continue
		}
		i, j := k%w, k/w
		c := orb.Point{r.x0 + (float64(i)+0.5)/r.kx, r.y0 + (float64(j)+0.5)/r.ky}
		mk := uint8(cellOut)
		if v.poly.contains(c) {
			mk = cellIn
		}
		var group []int
		m[k] = seen
		stack = append(stack[:0], k)
		for len(stack) > 0 {
			q := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			group = append(group, q)
			qi, qj := q%w, q/w
			for _, nb := range [4][2]int{{qi - 1, qj}, {qi + 1, qj}, {qi, qj - 1}, {qi, qj + 1}} {
				if nb[0] >= 0 && nb[0] < w && nb[1] >= 0 && nb[1] < h && m[nb[1]*w+nb[0]] == 0 {
					m[nb[1]*w+nb[0]] = seen
					stack = append(stack, nb[1]*w+nb[0])
				}
			}
		}
		for _, q := range group {
			m[q] = mk | 4 // 4: grouped, cleared below
		}
	}
	packed := make([]byte, (w*h+3)/4)
	for k, mk := range m {
		packed[k>>2] |= (mk & 3) << (k & 3 * 2)
	}
	return r, append(marks, packed...)
}

// segMeetsRect reports whether segment ac meets the closed rectangle q,
// or may within rounding: their boxes overlap and q's corners are not all
// strictly on one side of ac's line.
func segMeetsRect(a, c orb.Point, q orb.Bound) bool {
	if max(a[0], c[0]) < q.Min[0] || min(a[0], c[0]) > q.Max[0] ||
		max(a[1], c[1]) < q.Min[1] || min(a[1], c[1]) > q.Max[1] {
		return false
	}
	ex, ey := c[0]-a[0], c[1]-a[1]
	pos, neg := false, false
	for _, p := range [4]orb.Point{q.Min, {q.Max[0], q.Min[1]}, q.Max, {q.Min[0], q.Max[1]}} {
		s := ex*(p[1]-a[1]) - ey*(p[0]-a[0])
		pos, neg = pos || s >= 0, neg || s <= 0
	}
	return pos && neg
}
