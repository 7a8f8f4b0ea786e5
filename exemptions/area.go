package exemptions

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

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
// The flight part is a set of segments, straight in longitude/latitude like
// route legs and polygon edges (a circular operating area becomes the
// 64-gon drawn around it). A segment is inside an exemption polygon when
// both its ends are inside and it neither crosses nor touches any ring
// (outer or hole); with a buffer it must also stay more than the buffer away
// from every ring. An area flight must also hold no vertex of the exemption
// polygon, so that a hole of the exemption area cannot sit inside it. A
// segment is inside an exemption circle when every point along it, sampled
// every 50 m, is at least buffer + 1 m inside the circle (geodesic
// distances). Ties count as outside: a flight that runs along the area's
// edge is not covered.
//
// Distances between segments and polygon rings are computed in a local
// equirectangular frame around each segment, with 1% + 1 m added to the
// buffer for the frame's error; segments longer than maxSegment are not
// measured at all: such a flight is not covered.

const (
	metresPerDeg = 111_195.0 // mean metres in a degree of latitude
	maxSegment   = 100_000   // metres
	sampleStep   = 50        // metres
	circleSides  = 64
)

type segment struct{ a, b orb.Point }

// containsFlight says why area does not contain the part of flight f in
// hit's zone, or "" when it does.
func containsFlight(area geo.Shape, hit *geo.Hit, f Flight) string {
	var (
		segs   []segment
		filled orb.Polygon // area flights: the operating area's outline
		what   string
	)
	switch f.Kind {
	case FlightPosition:
		segs, what = []segment{{f.Point, f.Point}}, "the position"
	case FlightRoute:
		what = "the route's legs in the zone"
		legs := hit.Legs
		if len(legs) == 0 { // not told which: all of them
			for i := 0; i+1 < len(f.Route); i++ {
				legs = append(legs, i)
			}
		}
		for _, l := range legs {
			if l >= 0 && l+1 < len(f.Route) {
				segs = append(segs, segment{f.Route[l], f.Route[l+1]})
			}
		}
	case FlightArea:
		what = "the operating area"
		var outlines []orb.Ring
		switch f.Area.Kind {
		case geo.ShapeCircle:
			outlines = []orb.Ring{circleOutline(f.Area.Center, f.Area.Radius)}
		case geo.ShapePolygon:
			for _, p := range f.Area.Polygons {
				if len(p) > 0 {
					outlines = append(outlines, p[0])
				}
			}
		}
		for _, r := range outlines {
			filled = append(filled, r)
			for i := 0; i+1 < len(r); i++ {
				segs = append(segs, segment{r[i], r[i+1]})
			}
		}
	}
	if len(segs) == 0 {
		return "the flight's geometry is not known, so the exemption's area cannot be shown to contain it"
	}
	buffer := f.Buffer
	if f.Kind == FlightPosition {
		buffer = 0
	}
	for _, s := range segs {
		if geo.Distance(s.a, s.b) > maxSegment {
			return fmt.Sprintf("%s has a leg longer than %d km, too long to check against the exemption's area", what, maxSegment/1000)
		}
	}
	inside := true
	switch area.Kind {
	case geo.ShapeCircle:
		for _, s := range segs {
			if !segmentInCircle(s, area.Center, area.Radius, buffer) {
				inside = false
				break
			}
		}
	case geo.ShapePolygon:
		for _, s := range segs {
			if !segmentInPolygons(s, area.Polygons, buffer) {
				inside = false
				break
			}
		}
		if inside {
			for _, r := range filled {
				if polygonsVertexIn(area.Polygons, r) {
					inside = false
				}
			}
		}
	default:
		inside = false
	}
	if inside {
		return ""
	}
	if buffer > 0 {
		return fmt.Sprintf("%s with its %s m buffer is not inside the exemption's area", what, fmtM(buffer))
	}
	return fmt.Sprintf("%s is not inside the exemption's area", what)
}

// circleOutline is a closed ring of circleSides vertices around the circle:
// its sides lie outside the circle (radius enlarged by 1/cos(π/n), and 1% +
// 1 m for the local frame).
func circleOutline(c orb.Point, r float64) orb.Ring {
	rr := (r/math.Cos(math.Pi/circleSides))*1.01 + 1
	ring := make(orb.Ring, 0, circleSides+1)
	for i := range circleSides {
		a := 2 * math.Pi * float64(i) / circleSides
		ring = append(ring, fromLocal(c, rr*math.Cos(a), rr*math.Sin(a)))
	}
	return append(ring, ring[0])
}

// toLocal and fromLocal map between lon/lat and metres east and north of
// origin, equirectangular.
func toLocal(origin, p orb.Point) [2]float64 {
	k := math.Cos(origin[1] * math.Pi / 180)
	return [2]float64{(p[0] - origin[0]) * k * metresPerDeg, (p[1] - origin[1]) * metresPerDeg}
}

func fromLocal(origin orb.Point, x, y float64) orb.Point {
	k := math.Cos(origin[1] * math.Pi / 180)
	return orb.Point{origin[0] + x/(k*metresPerDeg), origin[1] + y/metresPerDeg}
}

func segmentInCircle(s segment, c orb.Point, r, buffer float64) bool {
	n := int(math.Ceil(geo.Distance(s.a, s.b) / sampleStep))
	for i := 0; i <= n; i++ {
		t := 0.0
		if n > 0 {
			t = float64(i) / float64(n)
		}
		p := orb.Point{s.a[0] + t*(s.b[0]-s.a[0]), s.a[1] + t*(s.b[1]-s.a[1])}
		if geo.Distance(c, p)+buffer+1 > r {
			return false
		}
	}
	return true
}

func segmentInPolygons(s segment, mp orb.MultiPolygon, buffer float64) bool {
	if !planar.MultiPolygonContains(mp, s.a) || !planar.MultiPolygonContains(mp, s.b) {
		return false
	}
	mid := orb.Point{(s.a[0] + s.b[0]) / 2, (s.a[1] + s.b[1]) / 2}
	a, b := toLocal(mid, s.a), toLocal(mid, s.b)
	need := buffer*1.01 + 1
	for _, poly := range mp {
		for _, ring := range poly {
			for i := 0; i+1 < len(ring); i++ {
				if segmentsMeet(s.a, s.b, ring[i], ring[i+1]) {
					return false
				}
				if buffer > 0 && segDist(a, b, toLocal(mid, ring[i]), toLocal(mid, ring[i+1])) <= need {
					return false
				}
			}
		}
	}
	return true
}

// polygonsVertexIn reports whether any vertex of mp lies inside or on ring.
func polygonsVertexIn(mp orb.MultiPolygon, ring orb.Ring) bool {
	for _, poly := range mp {
		for _, r := range poly {
			for _, p := range r {
				if planar.RingContains(ring, p) {
					return true
				}
			}
		}
	}
	return false
}

func cross(o, a, b [2]float64) float64 {
	return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0])
}

// segmentsMeet reports whether segments pq and rs share any point,
// touching included.
func segmentsMeet(p, q, r, s orb.Point) bool {
	P, Q, R, S := [2]float64(p), [2]float64(q), [2]float64(r), [2]float64(s)
	d1, d2 := cross(R, S, P), cross(R, S, Q)
	d3, d4 := cross(P, Q, R), cross(P, Q, S)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	on := func(a, b, c [2]float64, d float64) bool { // c on segment ab, given collinear (d == 0)
		return d == 0 && min(a[0], b[0]) <= c[0] && c[0] <= max(a[0], b[0]) &&
			min(a[1], b[1]) <= c[1] && c[1] <= max(a[1], b[1])
	}
	return on(R, S, P, d1) || on(R, S, Q, d2) || on(P, Q, R, d3) || on(P, Q, S, d4)
}

// segDist is the distance between segments ab and cd in a metric frame.
func segDist(a, b, c, d [2]float64) float64 {
	if segmentsMeet(orb.Point(a), orb.Point(b), orb.Point(c), orb.Point(d)) {
		return 0
	}
	return min(pointSegDist(a, c, d), pointSegDist(b, c, d), pointSegDist(c, a, b), pointSegDist(d, a, b))
}

func pointSegDist(p, a, b [2]float64) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = max(0, min(1, ((p[0]-a[0])*dx+(p[1]-a[1])*dy)/l2))
	}
	return math.Hypot(p[0]-(a[0]+t*dx), p[1]-(a[1]+t*dy))
}
