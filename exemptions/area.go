package exemptions

import (
	"fmt"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// Area containment. An exemption's area must contain the part of the flight
// in the zone, widened by the flight's buffer:
//   - a position: the point;
//   - a route: every leg that meets the zone (geo.Hit.Legs), whole;
//   - an operating area: the whole area (nofly does not cut the area to the
//     zone: that could only shrink what must be contained, so requiring the
//     whole area is the conservative choice).
//
// The geometry is geo's (geo.ContainsPath, geo.ContainsArea): geodesic
// metres on WGS84 with a derived error bound, conservative: a flight whose
// clearance from the area's edge is not shown to exceed its buffer by more
// than geo.ErrorAllowance is not covered.

// containsFlight says why area does not contain the part of flight f in
// hit's zone, or "" when it does.
func containsFlight(area geo.Shape, hit *geo.Hit, f Flight) string {
	c := geo.Containment{Failure: geo.ContainUnmeasured, Leg: -1}
	what := "the flight"
	switch f.Kind {
	case FlightPosition:
		what = "the position"
		c = geo.ContainsPath(area, []orb.Point{f.Point}, nil, 0)
	case FlightRoute:
		what = "the route's legs in the zone"
		if len(f.Route) > 0 {
			c = geo.ContainsPath(area, f.Route, hit.Legs, f.Buffer)
		}
	case FlightArea:
		what = "the operating area"
		c = geo.ContainsArea(area, f.Area, f.Buffer)
	}
	if c.Contained() {
		return ""
	}
	if c.Leg >= 0 {
		if f.Kind == FlightRoute {
			what += fmt.Sprintf(": leg %d", c.Leg)
		} else {
			what += fmt.Sprintf(": edge %d", c.Leg)
		}
	}
	switch c.Failure {
	case geo.ContainOutside:
		return fmt.Sprintf("%s is not inside the exemption's area", what)
	case geo.ContainNear:
		if c.Buffer == 0 {
			return fmt.Sprintf("%s comes within %.2f m of the edge of the exemption's area, too near to count as inside (nofly allows %s m for error)",
				what, c.Distance, fmtM(geo.ErrorAllowance))
		}
		if c.Distance < c.Buffer {
			return fmt.Sprintf("%s comes within %s m of the edge of the exemption's area, so its %s m buffer leaves the area",
				what, fmtM(c.Distance), fmtM(c.Buffer))
		}
		return fmt.Sprintf("%s comes within %s m of the edge of the exemption's area, so its %s m buffer cannot be shown inside (nofly allows %s m for error)",
			what, fmtM(c.Distance), fmtM(c.Buffer), fmtM(geo.ErrorAllowance))
	case geo.ContainHole:
		return fmt.Sprintf("%s holds part of the edge of the exemption's area (a hole in it)", what)
	}
	return fmt.Sprintf("%s cannot be measured against the exemption's area (no geometry, or within 1° of a pole)", what)
}
