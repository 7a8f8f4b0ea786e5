package server

import (
	"math"
	"slices"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// liveHeights finds, position after position of one flight, the zones at
// the position and the highest height the flight may fly there
// (exemptions.HighestCleared, as CheckPosition answers it). Only its
// owner's goroutine uses it.
//
// It asks geo once for the zones at every height of the position (the
// column HighestCleared needs); those at the flight's height, and at each
// height HighestCleared probes, are the column's whose heights hold it
// (geo.Index.AtHeight, exactly what CheckPosition finds there). With no
// blocking zone at any height the limit does not depend on the position,
// the instant or the exemptions: no probe finds a conflict, and
// DecideFleet then judges only the flight itself (its drone, operation
// and height) against the fleet rules. That limit is kept and given again
// while the fleet rules and the flight's ground height are the same.
type liveHeights struct {
	column []geo.Hit

	openFleet  *exemptions.Fleet // the rules openLimit was found under; nil: none found
	openGround float64
	openLimit  exemptions.HeightLimit
	openProto  *noflyv1.HeightLimit

	last      exemptions.HeightLimit // the last limit found where zones are, and its proto
	lastProto *noflyv1.HeightLimit

	// The column last found, when last answers any position with the
	// same column (keepColumn), and what it was found under.
	colOK     bool
	col       []colKey
	colIdx    *geo.Index
	colSnap   *exemptions.Snapshot
	colFleet  *exemptions.Fleet
	colGround float64
}

// at returns the zones at q appended to dst, as idx.CheckPosition(q, dst)
// finds them, and the height limit there for flight f (the zero limit and
// nil without fleet rules). The proto is shared between positions with
// the same limit: it must not be changed.
func (lh *liveHeights) at(idx *geo.Index, q geo.PositionQuery, f exemptions.Flight, snap *exemptions.Snapshot, fl *exemptions.Fleet, dst []geo.Hit) ([]geo.Hit, exemptions.HeightLimit, *noflyv1.HeightLimit) {
	if fl == nil {
		return idx.CheckPosition(q, dst), exemptions.HeightLimit{}, nil
	}
	cq := q
	cq.Alt = geo.Altitude{}
	lh.column = idx.CheckPosition(cq, lh.column[:0])
	probe := func(a geo.Altitude) []geo.Hit {
		pq := q
		pq.Alt = a
		return idx.AtHeight(lh.column, pq, make([]geo.Hit, 0, len(lh.column)))
	}
	hits := idx.AtHeight(lh.column, q, dst)
	ground := 0.0
	if f.Height.Ref != geo.RefUnknown && f.Height.Lower < 0 {
		ground = f.Height.Lower // HighestCleared starts there
	}
	if !slices.ContainsFunc(lh.column, func(h geo.Hit) bool { return h.Blocking() }) {
		// No blocking zone at any height: the limit is the one where no
		// zone is (zones that only inform set no height and decide
		// nothing).
		if lh.openFleet != fl || lh.openGround != ground {
			lh.openLimit = exemptions.HighestCleared(lh.column, probe, f, snap, fl, q.At)
			lh.openProto = heightLimitToProto(lh.openLimit, 0)
			lh.openFleet, lh.openGround = fl, ground
		}
		return hits, lh.openLimit, lh.openProto
	}
	if lh.sameColumn(idx, snap, fl, ground) {
		return hits, lh.last, lh.lastProto
	}
	c := exemptions.HighestCleared(lh.column, probe, f, snap, fl, q.At)
	if lh.lastProto == nil || c != lh.last {
		lh.last, lh.lastProto = c, heightLimitToProto(c, 0)
	}
	lh.keepColumn(idx, snap, fl, ground, f.Unit)
	return hits, c, lh.lastProto
}

// colKey is what a column hit contributes to the height limit when no
// exemption can cover its zone.
type colKey struct {
	zone    *geo.Zone
	band    geo.Band
	caveats geo.Caveat
}

// keepColumn keeps the column the last limit was found for, when the
// limit depends on nothing else that changes between positions: every
// zone of it has one volume (so the zones at each height are the column's
// whose heights hold it, wherever in the zone the aircraft is) and no
// exemption of the flight's unit names or may select a blocking one (so
// neither the instant, through the exemptions' validity, nor the hits'
// times count). The flight itself, but for its position and height, is
// the same at every position of a stream or batch.
func (lh *liveHeights) keepColumn(idx *geo.Index, snap *exemptions.Snapshot, fl *exemptions.Fleet, ground float64, unit string) {
	lh.colOK = false
	lh.col = lh.col[:0]
	for i := range lh.column {
		h := &lh.column[i]
		if len(h.Zone.Volumes) != 1 || snap != nil && h.Blocking() && len(snap.Candidates(unit, h.Zone)) > 0 {
			return
		}
		lh.col = append(lh.col, colKey{h.Zone, h.Band, h.Caveats})
	}
	lh.colOK, lh.colIdx, lh.colSnap, lh.colFleet, lh.colGround = true, idx, snap, fl, ground
}

// sameColumn reports whether the kept column's limit answers the column
// just found.
func (lh *liveHeights) sameColumn(idx *geo.Index, snap *exemptions.Snapshot, fl *exemptions.Fleet, ground float64) bool {
	if !lh.colOK || lh.colIdx != idx || lh.colSnap != snap || lh.colFleet != fl || lh.colGround != ground || len(lh.col) != len(lh.column) {
		return false
	}
	for i := range lh.column {
		h := &lh.column[i]
		if k := lh.col[i]; k.zone != h.Zone || k.band != h.Band || k.caveats != h.Caveats {
			return false
		}
	}
	return true
}

// overLimit returns the limit that height alt (metres above its ref) is
// above, and whether it is above one: c when c limits (neither blocked
// from the ground nor unlimited) and alt is over its whole metres; where
// the flight is blocked from the ground, the general ceiling when alt is
// over it (the zones' ENTER says the rest). A height up to a metre over a
// limit set by a zone's lower boundary may still be outside the zone: the
// event then comes that much early.
func overLimit(c exemptions.HeightLimit, alt geo.Altitude, fl *exemptions.Fleet) (exemptions.HeightLimit, bool) {
	if alt.Ref == geo.RefUnknown {
		return c, false
	}
	switch c.Kind {
	case exemptions.CeilingLimited:
		return c, alt.Ref == c.Ref && alt.Metres > c.Metres
	case exemptions.CeilingBlocked:
		if g, what := fl.GeneralCeiling(); g.Ref == alt.Ref && alt.Metres > g.Metres {
			return exemptions.HeightLimit{Kind: exemptions.CeilingLimited, Metres: math.Floor(g.Metres), Ref: g.Ref, LimitedBy: what}, true
		}
	}
	return c, false
}
