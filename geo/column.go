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

// colVol is a volume of a column and the caveats of its zone's activity.
type colVol struct {
	vi   int32
	tcav Caveat
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
		c.vols = append(c.vols, colVol{vi: vi, tcav: tcav})
	}
	if ix.scanAll {
		for vi := range ix.vols {
			visit(int32(vi), &ix.grid.vols[vi], false)
		}
	} else {
		ix.grid.each(q.Point, visit)
	}
}

// At appends to dst the zones that hold the column's point at height alt
// (RefUnknown: at any height) and returns the extended slice: exactly what
// CheckPosition returns for the column's query at that height. It does not
// allocate when dst has room.
func (c *Column) At(alt Altitude, dst []Hit) []Hit {
	ix, start := c.ix, len(dst)
	for _, cv := range c.vols {
		v := &ix.grid.vols[cv.vi]
		if v.flags&volMulti != 0 && hitsZone(dst[start:], ix.zones[v.zone]) {
			continue // another volume of this zone is already hit
		}
		band, ok, hcav := heightOverlap(alt.Metres, alt.Metres, alt.Ref, v.lower, v.upper)
		if !ok {
			continue
		}
		dst = append(dst, Hit{Zone: ix.zones[v.zone], Band: band, When: Instant(c.q.At), Caveats: hcav | cv.tcav,
			order: v.order()})
	}
	dst = dst[:start+len(byCategory(dst[start:], c.q.Category))] // compacts in place
	sortHits(dst[start:])
	return dst
}

// Len is the number of volumes in the column.
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
	return c.ix == d.ix && c.q.Category == d.q.Category && slices.Equal(c.vols, d.vols)
}

func hitsZone(hits []Hit, z *Zone) bool {
	for i := range hits {
		if hits[i].Zone == z {
			return true
		}
	}
	return false
}
