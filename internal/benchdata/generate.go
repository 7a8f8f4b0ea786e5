package benchdata

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// Shares of the synthetic zone set; see ZonesFrom.
const (
	circleShare  = 0.20 // circles around airports and heliports
	nlShare      = 0.40 // zones in the Netherlands box (as ../shared/bench/gen)
	nearShare    = 0.50 // polygons centred near an airport or heliport
	nearMetres   = 15_000
	queryNLShare = 0.70 // points and routes in the Netherlands box
)

// metres per degree of latitude, and of longitude at the equator, in the
// local equirectangular frame the generators place shapes with (the same as
// ../shared/bench/gen).
const mPerDeg = 111_320.0

// Zones returns n synthetic zones built from the airports and heliports of
// DefaultAirports; see ZonesFrom. The error wraps ErrNoData when the CSV is
// absent.
func Zones(n int, seed uint64) ([]geo.Zone, error) {
	as, err := DefaultAirports()
	if err != nil {
		return nil, err
	}
	return ZonesFrom(as, n, seed), nil
}

// ZonesFrom returns n synthetic zones, with IDs "Z0".."Z<n-1>", drawn from
// the PCG stream (seed, 1). Each zone independently is
//
//   - with probability 0.2, a circle centred on an airport (radius 3–8 km) or
//     heliport (500–1,500 m), reason AIR_TRAFFIC;
//   - otherwise a star-shaped polygon of 8–48 vertices, 200 m–8 km across
//     (outer radius 100 m–4 km, each vertex at 0.35–1 of it, angles evenly
//     spaced with jitter so the ring is simple and counter-clockwise),
//     centred within 15 km of an airport or heliport (half of them) or
//     anywhere in the region's box.
//
// 40% of the zones lie in the Netherlands box and 60% elsewhere in the Europe
// box: circles and polygons near an airport pick one of the region's
// airports; the other polygons are uniform in the region's box (for the
// Europe share the whole Europe box, 1% of which is the Netherlands box). Restrictions are
// 45% PROHIBITED, 40% REQ_AUTHORISATION, 15% CONDITIONAL; lower limit 0 m
// AGL; upper 120 m AGL (45%), 500 m AGL (35%) or none (20%). One zone in ten
// is active only Monday to Friday 07:00–19:00 (UTC+1) during 2026; the others
// always. Coordinates are rounded to 7 decimals, as a GeoJSON file would
// hold them.
//
// airports must hold at least one airport or heliport in the Netherlands box
// and one elsewhere in the Europe box; ZonesFrom panics otherwise.
func ZonesFrom(airports []Airport, n int, seed uint64) []geo.Zone {
	var nl, eu []Airport
	for _, a := range airports {
		switch {
		case InNL(a.Lon, a.Lat):
			nl = append(nl, a)
		case InEurope(a.Lon, a.Lat):
			eu = append(eu, a)
		}
	}
	if len(nl) == 0 || len(eu) == 0 {
		panic("benchdata: need airports both in the Netherlands box and elsewhere in the Europe box")
	}
	r := rand.New(rand.NewPCG(seed, 1))
	zones := make([]geo.Zone, n)
	for i := range zones {
		zones[i] = zone(r, i, nl, eu)
	}
	return zones
}

var (
	polygonReasons = [][]string{{"SENSITIVE"}, {"PRIVACY"}, {"POPULATION"}, {"NATURE"}, {"NOISE"}, {"EMERGENCY"}, {"SENSITIVE", "PRIVACY"}}
	airReasons     = []string{"AIR_TRAFFIC"}
	workdays       = geo.Weekdays(1<<time.Monday | 1<<time.Tuesday | 1<<time.Wednesday | 1<<time.Thursday | 1<<time.Friday)
	year2026       = geo.Period{
		Start:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		End:      time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		Schedule: []geo.DailyPeriod{{Days: workdays, Start: 7 * 3600, End: 19 * 3600, Offset: 3600}},
	}
)

func uniform(r *rand.Rand, a, b float64) float64 { return a + (b-a)*r.Float64() }

func round7(v float64) float64 { return math.Round(v*1e7) / 1e7 }

// offset moves (lon, lat) by dx metres east and dy metres north.
func offset(lon, lat, dx, dy float64) orb.Point {
	return orb.Point{lon + dx/(mPerDeg*math.Cos(lat*math.Pi/180)), lat + dy/mPerDeg}
}

// pick returns a uniform point in the Netherlands box or the Europe box.
func pick(r *rand.Rand, nl bool) orb.Point {
	if nl {
		return orb.Point{uniform(r, NLLonMin, NLLonMax), uniform(r, NLLatMin, NLLatMax)}
	}
	return orb.Point{uniform(r, EULonMin, EULonMax), uniform(r, EULatMin, EULatMax)}
}

// zone draws zone i. The number of draws per zone varies, but only with
// earlier draws of the same stream, so the sequence does not depend on n.
func zone(r *rand.Rand, i int, nl, eu []Airport) geo.Zone {
	pool := eu
	inNL := r.Float64() < nlShare
	if inNL {
		pool = nl
	}
	z := geo.Zone{
		ID:      "Z" + strconv.Itoa(i),
		Source:  geo.Source{File: "benchdata (synthetic)", Feature: i},
		Volumes: make([]geo.Volume, 1),
	}
	v := &z.Volumes[0]
	if r.Float64() < circleShare {
		a := pool[r.IntN(len(pool))]
		radius := uniform(r, 3000, 8000)
		if a.Heliport {
			radius = uniform(r, 500, 1500)
		}
		z.Name = a.Name
		z.Reasons = airReasons
		v.Shape = geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{round7(a.Lon), round7(a.Lat)}, Radius: math.Round(radius)}
	} else {
		var c orb.Point
		if r.Float64() < nearShare {
			a := pool[r.IntN(len(pool))]
			d, ang := nearMetres*math.Sqrt(r.Float64()), 2*math.Pi*r.Float64()
			c = offset(a.Lon, a.Lat, d*math.Cos(ang), d*math.Sin(ang))
		} else {
			c = pick(r, inNL)
		}
		z.Name = "synthetic zone " + strconv.Itoa(i)
		z.Reasons = polygonReasons[r.IntN(len(polygonReasons))]
		v.Shape = geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{{star(r, c)}}}
	}
	switch u := r.Float64(); {
	case u < 0.45:
		z.Restriction = geo.Prohibited
	case u < 0.85:
		z.Restriction = geo.ReqAuthorisation
	default:
		z.Restriction = geo.Conditional
	}
	z.Message = fmt.Sprintf("Synthetic %s zone for benchmarks.", z.Restriction)
	v.Lower = geo.Limit{Metres: 0, Ref: geo.AGL}
	switch u := r.Float64(); {
	case u < 0.45:
		v.Upper = geo.Limit{Metres: 120, Ref: geo.AGL}
	case u < 0.80:
		v.Upper = geo.Limit{Metres: 500, Ref: geo.AGL}
	default:
		v.Upper = geo.OpenLimit
	}
	if r.Float64() < 0.1 {
		z.Applicability.Periods = []geo.Period{year2026}
	}
	return z
}

// star draws a closed, counter-clockwise star-shaped ring of 8–48 distinct
// vertices around c, at most 8 km across.
func star(r *rand.Rand, c orb.Point) orb.Ring {
	nv := 8 + r.IntN(41)
	outer := uniform(r, 100, 4000)
	step := 2 * math.Pi / float64(nv)
	a0 := 2 * math.Pi * r.Float64()
	ring := make(orb.Ring, nv+1)
	for k := range nv {
		// Jitter of at most ±0.4 step keeps the angles strictly increasing,
		// so the ring is simple and winds counter-clockwise.
		ang := a0 + step*(float64(k)+uniform(r, -0.4, 0.4))
		d := outer * uniform(r, 0.35, 1)
		p := offset(c[0], c[1], d*math.Cos(ang), d*math.Sin(ang))
		ring[k] = orb.Point{round7(p[0]), round7(p[1])}
	}
	ring[nv] = ring[0]
	return ring
}

// Points returns n query points drawn from the PCG stream (seed, 2): each
// with probability 0.7 uniform in the Netherlands box, else uniform in the
// Europe box.
func Points(n int, seed uint64) []orb.Point {
	r := rand.New(rand.NewPCG(seed, 2))
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = pick(r, r.Float64() < queryNLShare)
	}
	return pts
}

// Routes returns n routes of the given number of waypoints drawn from the
// PCG stream (seed, 3). Each starts like a point of Points (70% in the
// Netherlands box) and walks on: legs of legMetres ±25%, the heading turning
// by a normal angle of standard deviation 0.5 rad at each waypoint.
func Routes(n, waypoints int, legMetres float64, seed uint64) []orb.LineString {
	r := rand.New(rand.NewPCG(seed, 3))
	return walks(r, n, waypoints, legMetres, func() orb.Point { return pick(r, r.Float64() < queryNLShare) })
}

// PointsIn returns n points uniform in b, drawn from the PCG stream (seed, 4).
func PointsIn(b orb.Bound, n int, seed uint64) []orb.Point {
	r := rand.New(rand.NewPCG(seed, 4))
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{uniform(r, b.Min[0], b.Max[0]), uniform(r, b.Min[1], b.Max[1])}
	}
	return pts
}

// RoutesIn returns routes as Routes does, drawn from the PCG stream
// (seed, 5), each starting at a uniform point of b (the walk may leave b).
func RoutesIn(b orb.Bound, n, waypoints int, legMetres float64, seed uint64) []orb.LineString {
	r := rand.New(rand.NewPCG(seed, 5))
	return walks(r, n, waypoints, legMetres, func() orb.Point {
		return orb.Point{uniform(r, b.Min[0], b.Max[0]), uniform(r, b.Min[1], b.Max[1])}
	})
}

// walks draws n random walks from start().
func walks(r *rand.Rand, n, waypoints int, legMetres float64, start func() orb.Point) []orb.LineString {
	routes := make([]orb.LineString, n)
	for i := range routes {
		ls := make(orb.LineString, waypoints)
		p := start()
		hdg := 2 * math.Pi * r.Float64()
		for k := range ls {
			if k > 0 {
				hdg += 0.5 * r.NormFloat64()
				d := legMetres * uniform(r, 0.75, 1.25)
				p = offset(p[0], p[1], d*math.Cos(hdg), d*math.Sin(hdg))
			}
			ls[k] = p
		}
		routes[i] = ls
	}
	return routes
}
