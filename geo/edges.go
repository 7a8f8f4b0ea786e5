package geo

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
)

// Edges are straight lines in longitude/latitude (RFC 7946 §3.1.1), so an
// edge from 179.5° to -179.5° runs 359° the long way round the Earth, not 1°
// across the antimeridian, and a ring drawn round a pole along one parallel
// encloses nothing. Read as drawn, such a ring answers CLEAR inside the zone
// its author meant and DENIED half a world away. RFC 7946 §3.1.9 asks
// writers to cut shapes at the antimeridian instead; the readers refuse
// what was not cut, since no reading of it can be trusted.

// MaxEdgeLongitude is the widest span of longitude, in degrees, that one
// edge of a ring or one leg of a route may cover.
const MaxEdgeLongitude = 180

// antimeridianFix says how to repair data that crosses ±180°.
const antimeridianFix = "cut the shape at the antimeridian into parts that each stay within -180..180 without crossing it (RFC 7946 §3.1.9)"

// EdgeError is an edge of a ring, or a leg of a path, that cannot be read as
// its author meant.
type EdgeError struct {
	// Edge is the 0-based index of the edge, which runs from position Edge
	// to Edge+1; -1 when the problem is the whole ring.
	Edge     int
	From, To orb.Point
	Msg      string
}

func (e *EdgeError) Error() string { return e.Msg }

// CheckRing reports the first edge of ring that spans more than
// MaxEdgeLongitude degrees of longitude, or, failing that, that the ring
// encloses no area (every position on one line, as a ring drawn round a
// pole along one parallel is). It returns nil for a good ring, and for rings
// too short or not closed, which Validate reports on its own.
func CheckRing(ring orb.Ring) *EdgeError {
	if e := checkEdges(ring, "edge", "position"); e != nil {
		return e
	}
	if len(ring) >= 4 && ring[0] == ring[len(ring)-1] && collinear(ring) {
		return &EdgeError{Edge: -1, Msg: "ring encloses no area: its positions all lie on one line (a ring round a pole along one parallel reads so, since edges are straight in longitude/latitude); " +
			"draw the area it should enclose, e.g. a polar cap as a ring through ±180° longitude and the pole's latitude, or " + antimeridianFix}
	}
	return nil
}

// CheckPath reports the first leg of a path (a route's waypoints, as
// longitude/latitude) that spans more than MaxEdgeLongitude degrees of
// longitude; nil when there is none.
func CheckPath(pts []orb.Point) *EdgeError {
	return checkEdges(pts, "leg", "waypoint")
}

func checkEdges(pts []orb.Point, edge, pos string) *EdgeError {
	for i := 1; i < len(pts); i++ {
		if a, b := pts[i-1], pts[i]; longEdge(a, b) {
			return edgeError(i-1, a, b, edge, pos)
		}
	}
	return nil
}

// longEdge reports whether the edge from a to b spans more than
// MaxEdgeLongitude degrees of longitude. An edge along a pole (both ends at
// latitude 90, or both at -90) has no length, whatever its longitudes: a
// polar cap drawn as RFC 7946 asks runs along the pole from 180 to -180.
func longEdge(a, b orb.Point) bool {
	return math.Abs(b[0]-a[0]) > MaxEdgeLongitude && !(a[1] == b[1] && math.Abs(a[1]) == 90)
}

// edgeError says that edge i, from a to b, spans too much longitude.
func edgeError(i int, a, b orb.Point, edge, pos string) *EdgeError {
	return &EdgeError{Edge: i, From: a, To: b, Msg: fmt.Sprintf(
		"%s from %s %d (%g, %g) to %s %d (%g, %g) spans %.6g° of longitude: it runs the long way round the Earth, not across the antimeridian, "+
			"since edges are straight in longitude/latitude; %s", edge, pos, i, a[0], a[1], pos, i+1, b[0], b[1], math.Abs(b[0]-a[0]), antimeridianFix)}
}

// collinear reports whether every position of ring lies on the line
// through its first position and the position farthest from it (to within
// rounding: 1e-12 of the product of the lengths, about 0.1 mm at 100 km).
func collinear(ring orb.Ring) bool {
	o := ring[0]
	far, far2 := o, 0.0
	for _, p := range ring {
		if d := (p[0]-o[0])*(p[0]-o[0]) + (p[1]-o[1])*(p[1]-o[1]); d > far2 {
			far, far2 = p, d
		}
	}
	if far2 == 0 {
		return true // every position the same
	}
	ux, uy := far[0]-o[0], far[1]-o[1]
	for _, p := range ring {
		vx, vy := p[0]-o[0], p[1]-o[1]
		if math.Abs(ux*vy-uy*vx) > 1e-12*math.Sqrt(far2*(vx*vx+vy*vy)) {
			return false
		}
	}
	return true
}
