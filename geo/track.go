package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// Geometry of a flight in progress: where its velocity takes it, and how far
// along its track it meets a zone's boundary (MonitorFlight's APPROACH).

// MaxLookAhead bounds the length of a look-ahead track, in metres. Within
// it the local frame that Ahead uses is exact to a few parts in 10⁴ away
// from the poles (frame.relErr).
const MaxLookAhead = 50_000

// Course is the geodesic distance from p to q in metres and the direction
// of the geodesic at p, in degrees clockwise from true north, [0, 360).
func Course(p, q orb.Point) (bearing, dist float64) {
	d, az := distAz(p, q)
	b := math.Mod(az/rad+360, 360)
	return b, d
}

// Ahead is the point dist metres (at most MaxLookAhead) from p along a
// straight lon/lat track leaving p at bearing degrees clockwise from true
// north, as a route leg runs. It is measured in the local metric frame at
// p, whose lengths err by at most frame.relErr of the track's extent
// (under 0.3% for 50 km at 60° latitude; TestAheadAccuracy). Near the poles
// (beyond 89°), where no such frame serves, it returns p.
func Ahead(p orb.Point, bearing, dist float64) orb.Point {
	if math.Abs(p[1]) >= 89 {
		return p
	}
	f := newFrame(p[0], p[1])
	s, c := math.Sincos(bearing * rad)
	q := f.lonlat(vec{dist * s, dist * c})
	q[1] = max(-90, min(90, q[1]))
	if q[0] > 180 {
		q[0] -= 360
	} else if q[0] < -180 {
		q[0] += 360
	}
	return q
}

// ApproachQuery asks which zones a flight reaches along a straight track
// from From to To (a look-ahead), at a constant height, during Window.
type ApproachQuery struct {
	From, To orb.Point
	Alt      Altitude
	Window   TimeWindow
	Category Category
	Stop     func() error
}

// Approach is a zone the look-ahead track meets: the hit as CheckRoute
// finds it, and Entry, the geodesic distance in metres from the track's
// start to where it first meets the zone's shape (0 when it starts in it).
type Approach struct {
	Hit
	Entry float64
}

// Approaches returns the zones that q's track meets, as CheckRoute finds
// them for the track as a one-leg route without buffer, each with the
// distance along the track to its boundary. Only the zone's volumes whose
// heights hold the flight's count for Entry (all when the height is not
// known). Where the exact entry cannot be found (a hit CheckRoute's outward
// rounding let in, touching the boundary only) Entry is the distance to
// the track's closest approach to the shape, never beyond the track's end.
func (ix *Index) Approaches(q ApproachQuery) ([]Approach, error) { return ix.approaches(q, nil) }

// approaches is Approaches; with vols, only those volumes are looked at
// (a Reach's, which holds every volume whose box q's track meets).
func (ix *Index) approaches(q ApproachQuery, vols []int32) ([]Approach, error) {
	rq := RouteQuery{
		Waypoints: []Waypoint{{Point: q.From, Alt: q.Alt.Metres}, {Point: q.To, Alt: q.Alt.Metres}},
		AltRef:    q.Alt.Ref, Window: q.Window, Category: q.Category, Stop: q.Stop,
	}
	var (
		hits []Hit
		err  error
	)
	if vols == nil {
		hits, err = ix.CheckRoute(rq)
	} else {
		hits, err = ix.legAmong(rq, vols)
	}
	if err != nil || len(hits) == 0 {
		return nil, err
	}
	out := make([]Approach, len(hits))
	min, max := boxKeys(extendBound(orb.Bound{Min: q.From, Max: q.From}, q.To))
	each := func(fn func(vi int32) bool) {
		if vols == nil {
			ix.search(min, max, fn)
			return
		}
		for _, vi := range vols {
			if !fn(vi) {
				return
			}
		}
	}
	for i := range hits {
		t := math.Inf(1)
		each(func(vi int32) bool {
			v := &ix.vols[vi]
			if ix.zones[v.zone] != hits[i].Zone {
				return true
			}
			if _, ok, _ := heightOverlap(q.Alt.Metres, q.Alt.Metres, q.Alt.Ref, v.lower, v.upper); !ok {
				return true
			}
			if vt, ok := v.entryAlong(q.From, q.To); ok && vt < t {
				t = vt
			}
			return true
		})
		if math.IsInf(t, 1) {
			t = 1 // the hit came from rounding: warn at the track's end at the latest
		}
		out[i] = Approach{Hit: hits[i], Entry: Distance(q.From, lerpLL(q.From, q.To, t))}
	}
	return out, nil
}

// legAmong is CheckRoute for a route of one leg, looking only at vols,
// which must hold every volume whose box the leg's box (as CheckRoute
// searches it) meets: it measures the same volumes CheckRoute would, the
// others' boxes being apart from the leg's.
func (ix *Index) legAmong(q RouteQuery, vols []int32) ([]Hit, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	h := ix.newHitSet(q.Window, q.Stop)
	a, b := q.Waypoints[0], q.Waypoints[1]
	s := newSegment(a.Point, b.Point, a.Alt, b.Alt, 0, q.Buffer)
	for _, vi := range vols {
		v := &ix.vols[vi]
		if h.work--; (h.work <= 0 || (v.pts == nil && v.poly != nil)) && !h.checkpoint() {
			break
		}
		if boundsMeet(s.q, v.bound) {
			h.measure(&s, v, q.AltRef, nil, sideUnknown)
		}
	}
	hits, err := h.result()
	if err != nil {
		return nil, err
	}
	return byCategory(hits, q.Category), nil
}

// Reach holds the zone volumes whose boxes meet a box around a flight's
// look-ahead track and some way beyond: while later look-ahead tracks stay
// in that box, their zones are among these volumes, and Approaches finds
// them without searching the index. Its answers are Index.Approaches',
// exactly (TestReach).
type Reach struct {
	ix   *Index
	box  orb.Bound
	vols []int32
}

// Reach returns the corridor of the track from p along bearing
// (degrees clockwise from true north) for length metres (at most
// MaxLookAhead), widened by margin metres on every side.
func (ix *Index) Reach(p orb.Point, bearing, length, margin float64) *Reach {
	to := Ahead(p, bearing, min(length, MaxLookAhead))
	c := &Reach{ix: ix, box: expandBound(extendBound(orb.Bound{Min: p, Max: p}, to), margin)}
	min, max := boxKeys(c.box)
	ix.search(min, max, func(vi int32) bool {
		c.vols = append(c.vols, vi)
		return true
	})
	return c
}

// Holds reports whether c answers q on index ix: c was made on ix, and
// q's track, with the metre CheckRoute adds around it, lies in c's box.
func (c *Reach) Holds(ix *Index, q ApproachQuery) bool {
	if c == nil || c.ix != ix {
		return false
	}
	s := newSegment(q.From, q.To, 0, 0, 0, 0)
	return c.box.Contains(s.q.Min) && c.box.Contains(s.q.Max)
}

// Approaches answers as Index.Approaches, for a q that c Holds.
func (c *Reach) Approaches(q ApproachQuery) ([]Approach, error) {
	if len(c.vols) == 0 {
		// No zone near: what the index would answer, without building
		// the answer.
		rq := RouteQuery{Waypoints: []Waypoint{{Point: q.From, Alt: q.Alt.Metres}, {Point: q.To, Alt: q.Alt.Metres}},
			AltRef: q.Alt.Ref, Window: q.Window, Category: q.Category}
		return nil, rq.Validate()
	}
	return c.ix.approaches(q, c.vols)
}

// entryAlong is the first parameter t in [0, 1] at which the lon/lat
// segment a→b meets the volume's horizontal shape (boundary included).
func (v *cvol) entryAlong(a, b orb.Point) (float64, bool) {
	if v.containsPoint(a) {
		return 0, true
	}
	switch v.kind {
	case ShapePolygon:
		// Straight lon/lat edges and track: the crossing's parameter is
		// the same in any affine frame, so it is found in degrees, with
		// longitudes unwrapped around a.
		f := frame{lon0: a[0], lat0: a[1], kx: 1, ky: 1}
		pa, pb := f.xy(a), f.xy(b)
		best, ok := math.Inf(1), false
		for _, pg := range v.poly.polys {
			for _, r := range pg {
				for j := 0; j+1 < len(r.pts); j++ {
					if t, _, hit := segIntersect(pa, pb, f.xy(r.pts[j]), f.xy(r.pts[j+1])); hit && t < best {
						best, ok = t, true
					}
				}
			}
		}
		return best, ok
	case ShapeCircle:
		// The circle is geodesic: the frame at its centre finds the
		// closest approach; bisection on the geodesic distance then finds
		// the crossing before it, to a millimetre.
		pa, pb := v.cf.xy(a), v.cf.xy(b)
		tc := clamp01(paramOnSeg(vec{}, pa, pb))
		if Distance(v.center, lerpLL(a, b, tc)) > v.radius {
			return 0, false
		}
		lo, hi := 0.0, tc // outside at lo, inside at hi
		for range 60 {
			mid := (lo + hi) / 2
			if Distance(v.center, lerpLL(a, b, mid)) <= v.radius {
				hi = mid
			} else {
				lo = mid
			}
			if Distance(lerpLL(a, b, lo), lerpLL(a, b, hi)) < 1e-3 {
				break
			}
		}
		return hi, true
	}
	return 0, false
}
