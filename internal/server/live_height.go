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
// It builds the position's geo.Column once (the zones at every height,
// each shape tested once, as CheckPosition's height limit does); the
// zones at the flight's height, and at each height HighestCleared probes,
// are the column's answers there (exactly what CheckPosition finds). A
// position equal to the one before (point, instant) has the same column.
// With no blocking zone at any height the limit does not depend on the
// position, the instant or the exemptions: no probe finds a conflict, and
// DecideFleet then judges only the flight itself (its drone, operation
// and height) against the fleet rules. That limit is kept and given again
// while the fleet rules and the flight's ground height are the same.
type liveHeights struct {
	// cols holds the column of the last position, cols[cur], and the one
	// the kept limit was found for, cols[kept] (the same one when it is
	// both): a new column is built into the other.
	cols      [2]geo.Column
	cur, kept int
	column    []geo.Hit // cols[cur] at every height
	probeBuf  []geo.Hit // HighestCleared reads one probe's hits at a time

	openFleet  *exemptions.Fleet // the rules openLimit was found under; nil: none found
	openGround float64
	openLimit  exemptions.HeightLimit
	openProto  *noflyv1.HeightLimit

	last      exemptions.HeightLimit // the last limit found where zones are, and its proto
	lastProto *noflyv1.HeightLimit

	// Whether last answers any position with a column the Same as
	// cols[kept] (keepColumn), and what it was found under.
	keptOK     bool
	keptSnap   *exemptions.Snapshot
	keptFleet  *exemptions.Fleet
	keptGround float64
}

// at returns the zones at q appended to dst, as idx.CheckPosition(q, dst)
// finds them, and the height limit there for flight f (the zero limit and
// nil without fleet rules). The proto is shared between positions with
// the same limit: it must not be changed.
func (lh *liveHeights) at(idx *geo.Index, q geo.PositionQuery, f exemptions.Flight, snap *exemptions.Snapshot, fl *exemptions.Fleet, dst []geo.Hit) ([]geo.Hit, exemptions.HeightLimit, *noflyv1.HeightLimit) {
	if fl == nil {
		return idx.CheckPosition(q, dst), exemptions.HeightLimit{}, nil
	}
	col := &lh.cols[lh.cur]
	if !col.Of(idx, q) {
		if lh.cur == lh.kept {
			lh.cur = 1 - lh.kept
		}
		col = &lh.cols[lh.cur]
		idx.Column(q, col)
		lh.column = col.At(geo.Altitude{}, lh.column[:0])
	}
	hits := col.At(q.Alt, dst)
	ground := 0.0
	if f.Height.Ref != geo.RefUnknown && f.Height.Lower < 0 {
		ground = f.Height.Lower // HighestCleared starts there
	}
	probe := func(a geo.Altitude) []geo.Hit {
		lh.probeBuf = col.At(a, lh.probeBuf[:0])
		return lh.probeBuf
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
	if lh.keptOK && lh.keptSnap == snap && lh.keptFleet == fl && lh.keptGround == ground && col.Same(&lh.cols[lh.kept]) {
		return hits, lh.last, lh.lastProto
	}
	c := exemptions.HighestCleared(lh.column, probe, f, snap, fl, q.At)
	if lh.lastProto == nil || c != lh.last {
		lh.last, lh.lastProto = c, heightLimitToProto(c, 0)
	}
	lh.keepColumn(snap, fl, ground, f.Unit)
	return hits, c, lh.lastProto
}

// keepColumn keeps the column the last limit was found for, when the
// limit depends on nothing else that changes between positions: no
// exemption of the flight's unit names or may select a blocking zone of
// it (so neither the instant, through the exemptions' validity, nor the
// hits' times count). A column the Same holds the same volumes, so its
// zones at every height are these, wherever in them the aircraft is. The
// flight itself, but for its position and height, is the same at every
// position of a stream or batch.
func (lh *liveHeights) keepColumn(snap *exemptions.Snapshot, fl *exemptions.Fleet, ground float64, unit string) {
	lh.keptOK = false
	if snap != nil {
		for i := range lh.column {
			if h := &lh.column[i]; h.Blocking() && len(snap.Candidates(unit, h.Zone)) > 0 {
				return
			}
		}
	}
	lh.keptOK, lh.kept, lh.keptSnap, lh.keptFleet, lh.keptGround = true, lh.cur, snap, fl, ground
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
