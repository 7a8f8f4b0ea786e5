package geo

import "fmt"

// pointRadius is the radius, in metres, of the circle that stands for a
// position in VolumeHolds: zones must have a radius above 0, and a
// millimetre is far below the checks' 0.5 m accuracy.
const pointRadius = 0.001

// VolumeHolds reports whether position p lies in the 4-D volume that a
// flight plan was checked for: the route q.Route (within its buffer, at the
// heights the route has over the part of a leg within reach of p, heights
// interpolated along each leg as CheckRoute does) or the area q.Area (grown
// by its buffer, within its height band). Exactly one of route and area is
// set. It asks the same geometry as the checks: p becomes a zone, and the
// plan is checked against it. The time window is not looked at.
//
// As for the checks, a position up to boundarySlack (5 cm) beyond the
// buffer's edge counts as in. The caveats say what could not be compared:
// CaveatNoAltitude when p has no height (only the horizontal position was
// tested), CaveatReference when p's height and the plan's use different
// references (then the worst case counted it in): a caller that needs
// certainty treats either as not shown to be inside.
func VolumeHolds(route *RouteQuery, area *AreaQuery, p PositionQuery) (bool, Caveat, error) {
	if (route == nil) == (area == nil) {
		return false, 0, fmt.Errorf("%w: want exactly one of a route and an area", ErrInvalidQuery)
	}
	var pr problems
	pr.point("point", p.Point)
	pr.alt("altitude", p.Alt.Metres, p.Alt.Ref)
	if err := pr.err(); err != nil {
		return false, 0, err
	}
	lim := [2]Limit{OpenLimit, OpenLimit}
	var cav Caveat
	if p.Alt.Ref == RefUnknown {
		cav = CaveatNoAltitude
	} else {
		lim = [2]Limit{{Metres: p.Alt.Metres, Ref: p.Alt.Ref}, {Metres: p.Alt.Metres, Ref: p.Alt.Ref}}
	}
	idx, err := NewIndex([]Zone{{ID: "position", Restriction: Prohibited, Volumes: []Volume{{
		Shape: Shape{Kind: ShapeCircle, Center: p.Point, Radius: pointRadius},
		Lower: lim[0], Upper: lim[1],
	}}}})
	if err != nil {
		return false, 0, fmt.Errorf("%w: position: %v", ErrInvalidQuery, err)
	}
	var hits []Hit
	if route != nil {
		hits, err = idx.CheckRoute(*route)
	} else {
		hits, err = idx.CheckArea(*area)
	}
	if err != nil || len(hits) == 0 {
		return false, cav, err
	}
	return true, cav | hits[0].Caveats, nil
}
