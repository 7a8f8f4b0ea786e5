package geo

import "slices"

// Column is what a position check finds at one point and instant at every
// height: the volumes whose shape holds the point and whose zone is active
// then, in the order CheckPosition visits them. At answers the check at any
// height from it, as CheckPosition would, without testing a shape again:
// a question asked at many heights of one point (how high may a flight go
// there) costs one shape test per volume instead of one per height.
//
// A Column is built by Index.Column and is valid as long as its Index; it
// may be built again into the same value to reuse its memory. It is not
// safe for concurrent use while being built.
type Column struct {
	ix   *Index
	q    PositionQuery
	vols []colVol
}

// colVol is a volume of a column and the caveats of its zone's activity,
// with what At reads of it (copied from its gridVol and zone), so that At
// reads the column alone. A column's volumes are in the order of their
// hits (by order key: blocking zones first, then by zone), the volumes of
// one zone in the order CheckPosition visits them.
type colVol struct {
	vi    int32
	tcav  Caveat
	multi bool
	order uint32
	zone  *Zone
	lower Limit
	upper Limit
}

// Column builds into c the column of q's point and instant (q.Alt is not
// used; q.Category is). The query must be valid (see
// PositionQuery.Validate).
func (ix *Index) Column(q PositionQuery, c *Column) {
	c.ix, c.q, c.vols = ix, q, c.vols[:0]
	visit := func(vi int32, gv *gridVol, in bool) {
		var tcav Caveat
		if gv.flags&volPerm == 0 {
			var active bool
			if active, tcav = ix.act[gv.zone].activeAt(q.At); !active {
				return
			}
		}
		if !in && !ix.vols[vi].containsPoint(q.Point) {
			return
		}
		z := ix.zones[gv.zone]
		if q.Category != 0 && !z.Categories.AppliesTo(q.Category) {
			return // as byCategory drops its hits
		}
		c.vols = append(c.vols, colVol{vi: vi, tcav: tcav, multi: gv.flags&volMulti != 0, order: gv.order(),
			zone: z, lower: gv.lower, upper: gv.upper})
	}
	if ix.scanAll {
		for vi := range ix.vols {
			visit(int32(vi), &ix.grid.vols[vi], false)
		}
	} else {
		ix.grid.each(q.Point, visit)
	}
	// In the order of their hits (sortHits: a position's hits all have
	// distance 0, so their order keys alone order them), stable, so that
	// the volumes of one zone keep the order in which they were visited:
	// the first that holds the height is the zone's hit. Columns hold few
	// volumes: an insertion sort.
	v := c.vols
	for i := 1; i < len(v); i++ {
		if v[i].order >= v[i-1].order {
			continue
		}
		x, j := v[i], i-1
		for j > 0 && x.order < v[j-1].order {
			j--
		}
		copy(v[j+1:i+1], v[j:i])
		v[j] = x
	}
}

// At appends to dst the zones that hold the column's point at height alt
// (RefUnknown: at any height) and returns the extended slice: exactly what
// CheckPosition returns for the column's query at that height. It does not
// allocate when dst has room.
func (c *Column) At(alt Altitude, dst []Hit) []Hit {
	start := len(dst)
	when := Instant(c.q.At)
	for i := range c.vols {
		cv := &c.vols[i]
		// The volumes of one zone lie together: when one of them is hit,
		// the last hit is that zone's.
		if cv.multi && len(dst) > start && dst[len(dst)-1].Zone == cv.zone {
			continue // another volume of this zone is already hit
		}
		band, ok, hcav := heightOverlap(alt.Metres, alt.Metres, alt.Ref, cv.lower, cv.upper)
		if !ok {
			continue
		}
		dst = append(dst, Hit{Zone: cv.zone, Band: band, When: when, Caveats: hcav | cv.tcav, order: cv.order})
	}
	return dst
}

// Len is the number of volumes in the column: those whose zone applies to
// its category.
func (c *Column) Len() int { return len(c.vols) }

// Of reports whether c is the column Index.Column builds on ix for q: the
// same point, instant and category (q.Alt is not used). A flight that
// reports the same position again need not have its column built again.
func (c *Column) Of(ix *Index, q PositionQuery) bool {
	return c.ix == ix && c.ix != nil && c.q.Point == q.Point && c.q.At.Equal(q.At) && c.q.Category == q.Category
}

// Same reports whether c and d answer alike at every height: built on one
// index for one category, they hold the same volumes, each with the same
// caveats of its zone's activity. At then returns the same hits from both
// but for their instants (Hit.When), whatever the columns' points: a
// zone's hits depend on which of its volumes hold the point, not on where
// in them it is.
func (c *Column) Same(d *Column) bool {
	return c.ix == d.ix && c.q.Category == d.q.Category &&
		slices.EqualFunc(c.vols, d.vols, func(a, b colVol) bool { return a.vi == b.vi && a.tcav == b.tcav })
}
