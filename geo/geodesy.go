package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// WGS84 ellipsoid.
const (
	wgsA  = 6378137.0         // semi-major axis, metres
	wgsF  = 1 / 298.257223563 // flattening
	wgsB  = wgsA * (1 - wgsF) // semi-minor axis, metres
	wgsE2 = wgsF * (2 - wgsF) // first eccentricity squared

	rad = math.Pi / 180

	// minMetresPerDegLat is the fewest metres in a degree of latitude
	// anywhere (at the equator); maxMetresPerDegLon the most in a degree of
	// longitude (also at the equator). Used to turn metres into degrees
	// conservatively.
	minMetresPerDegLat = 110_574.0
	maxMetresPerDegLon = 111_320.0
)

// Distance is the geodesic distance in metres between two points on the
// WGS84 ellipsoid (Vincenty's inverse formula, accurate to well under a
// millimetre for the distances nofly deals with). Points are lon/lat degrees.
func Distance(p, q orb.Point) float64 {
	d, _ := vincenty(p[1]*rad, p[0]*rad, q[1]*rad, q[0]*rad)
	return d
}

// distAz is the geodesic distance from p to q in metres and the azimuth of
// the geodesic at p, in radians clockwise from north.
func distAz(p, q orb.Point) (float64, float64) {
	return vincenty(p[1]*rad, p[0]*rad, q[1]*rad, q[0]*rad)
}

// vincenty solves the inverse geodesic problem on WGS84; latitudes and
// longitudes in radians. It returns the distance in metres and the forward
// azimuth at the first point. Near-antipodal points, where the iteration may not
// converge, are far beyond any distance nofly measures; for them the last
// iterate is returned.
func vincenty(lat1, lon1, lat2, lon2 float64) (float64, float64) {
	if lat1 == lat2 && lon1 == lon2 {
		return 0, 0
	}
	L := lon2 - lon1
	U1 := math.Atan((1 - wgsF) * math.Tan(lat1))
	U2 := math.Atan((1 - wgsF) * math.Tan(lat2))
	sinU1, cosU1 := math.Sincos(U1)
	sinU2, cosU2 := math.Sincos(U2)
	lambda := L
	var sinSigma, cosSigma, sigma, cos2Alpha, cos2SigmaM, sinLambda, cosLambda float64
	for i := 0; i < 200; i++ {
		sinLambda, cosLambda = math.Sincos(lambda)
		t1 := cosU2 * sinLambda
		t2 := cosU1*sinU2 - sinU1*cosU2*cosLambda
		sinSigma = math.Sqrt(t1*t1 + t2*t2)
		if sinSigma == 0 {
			return 0, 0
		}
		cosSigma = sinU1*sinU2 + cosU1*cosU2*cosLambda
		sigma = math.Atan2(sinSigma, cosSigma)
		sinAlpha := cosU1 * cosU2 * sinLambda / sinSigma
		cos2Alpha = 1 - sinAlpha*sinAlpha
		if cos2Alpha != 0 {
			cos2SigmaM = cosSigma - 2*sinU1*sinU2/cos2Alpha
		} else {
			cos2SigmaM = 0 // equatorial line
		}
		C := wgsF / 16 * cos2Alpha * (4 + wgsF*(4-3*cos2Alpha))
		prev := lambda
		lambda = L + (1-C)*wgsF*sinAlpha*(sigma+C*sinSigma*(cos2SigmaM+C*cosSigma*(-1+2*cos2SigmaM*cos2SigmaM)))
		if math.Abs(lambda-prev) < 1e-13 {
			break
		}
	}
	u2 := cos2Alpha * (wgsA*wgsA - wgsB*wgsB) / (wgsB * wgsB)
	A := 1 + u2/16384*(4096+u2*(-768+u2*(320-175*u2)))
	B := u2 / 1024 * (256 + u2*(-128+u2*(74-47*u2)))
	deltaSigma := B * sinSigma * (cos2SigmaM + B/4*(cosSigma*(-1+2*cos2SigmaM*cos2SigmaM)-
		B/6*cos2SigmaM*(-3+4*sinSigma*sinSigma)*(-3+4*cos2SigmaM*cos2SigmaM)))
	az := math.Atan2(cosU2*sinLambda, cosU1*sinU2-sinU1*cosU2*cosLambda)
	return wgsB * A * (sigma - deltaSigma), az
}

// frame is a local metric frame: an equirectangular projection scaled by the
// ellipsoid's radii of curvature at lat0. It is affine in lon/lat, so the
// straight lon/lat edges of GeoJSON stay exactly straight in it, and its
// scale is exact at lat0. Away from lat0 the east-west scale drifts by about
// tan(lat)·Δlat; relErr bounds that.
type frame struct {
	lon0, lat0 float64 // degrees
	kx, ky     float64 // metres per degree of longitude and latitude at lat0
	cos, tan   float64 // of |lat0|, for relErr
}

func newFrame(lon0, lat0 float64) frame {
	s, c := math.Sincos(lat0 * rad)
	w := math.Sqrt(1 - wgsE2*s*s)
	n := wgsA / w                         // prime vertical radius of curvature
	m := wgsA * (1 - wgsE2) / (w * w * w) // meridional radius of curvature
	return frame{lon0: lon0, lat0: lat0, kx: n * c * rad, ky: m * rad, cos: c, tan: math.Abs(s) / c}
}

// xy projects p into the frame, in metres east and north of the origin.
// Longitudes are taken the short way round, so that the frame also works
// beside the antimeridian (RFC 7946 edges never cross it).
func (f *frame) xy(p orb.Point) vec {
	dLon := p[0] - f.lon0
	if dLon > 180 {
		dLon -= 360
	} else if dLon < -180 {
		dLon += 360
	}
	return vec{dLon * f.kx, (p[1] - f.lat0) * f.ky}
}

// lonlat is the inverse of xy.
func (f *frame) lonlat(v vec) orb.Point {
	return orb.Point{f.lon0 + v.x/f.kx, f.lat0 + v.y/f.ky}
}

// relErr bounds the relative error of lengths measured in the frame between
// points within dLat degrees of latitude and dLon degrees of longitude of
// the origin.
func (f *frame) relErr(dLat, dLon float64) float64 {
	maxLat := math.Abs(f.lat0) + dLat
	if maxLat >= 89 {
		return math.Inf(1)
	}
	d := dLat * rad
	// tan(maxLat) by the addition formula from tan|lat0| and an upper bound
	// of tan d (d + d³/3 + d⁵/6: the series' next terms, 2d⁵/15 + 17d⁷/315
	// + ..., stay below d⁵/6 up to 0.2 rad), rather than a call of math.Tan.
	// Its rounding is far below the 1e-9 added at the end.
	var tan float64
	if d <= 0.2 {
		d2 := d * d
		td := d * (1 + d2/3 + d2*d2/6)
		den := 1 - f.tan*td
		if !(den > 0) {
			return math.Inf(1)
		}
		tan = (f.tan + td) / den
	} else {
		tan = math.Tan(maxLat * rad)
	}
	// Angular extent of the region, and how much longer a line in the frame
	// (a straight lon/lat line) is than the geodesic: (e²/24)(1+tan²φ).
	e := max(d, dLon*rad*f.cos)
	// East-west scale drift (first order tan φ·Δφ, second order Δφ²), the
	// change of the meridional radius (below 1% of Δφ), the path length
	// term, and floating point.
	return tan*d + d*d + 0.01*d + e*e*(1+tan*tan)/6 + 1e-9
}

// metresToDegLat converts a length to degrees of latitude, rounded up.
func metresToDegLat(m float64) float64 { return m / minMetresPerDegLat * 1.001 }

// metresToDegLon converts a length to degrees of longitude at latitudes up
// to |lat|, rounded up.
func metresToDegLon(m, lat float64) float64 {
	c := math.Cos(min(89.9, math.Abs(lat)) * rad)
	return min(360, m/(maxMetresPerDegLon*c)*1.001+1e-12)
}

// expandBound grows b by m metres on every side, rounded outward.
//
// Near a pole, or where the grown box would pass the antimeridian, it spans
// every longitude: a longitude range cannot hold it there, and a wider box
// only costs time.
func expandBound(b orb.Bound, m float64) orb.Bound {
	if m <= 0 {
		return b
	}
	dLat := metresToDegLat(m)
	maxLat := max(math.Abs(b.Min[1]), math.Abs(b.Max[1])) + dLat
	out := orb.Bound{
		Min: orb.Point{-180, max(-90, b.Min[1]-dLat)},
		Max: orb.Point{180, min(90, b.Max[1]+dLat)},
	}
	if maxLat >= 89 {
		return out
	}
	dLon := metresToDegLon(m, maxLat)
	if b.Min[0]-dLon < -180 || b.Max[0]+dLon > 180 {
		return out
	}
	out.Min[0], out.Max[0] = b.Min[0]-dLon, b.Max[0]+dLon
	return out
}

// circleBound is a longitude/latitude box that contains every point within
// r metres of c, rounded outward.
func circleBound(c orb.Point, r float64) orb.Bound {
	return expandBound(orb.Bound{Min: c, Max: c}, r)
}

// extendBound is orb's b.Extend(p): the least box holding b and p. Written
// with the builtin min and max, it is inlined where orb's calls
// math.Min and math.Max.
func extendBound(b orb.Bound, p orb.Point) orb.Bound {
	if b.IsEmpty() {
		return orb.Bound{Min: p, Max: p}
	}
	if b.Contains(p) {
		return b
	}
	return orb.Bound{Min: orb.Point{min(b.Min[0], p[0]), min(b.Min[1], p[1])},
		Max: orb.Point{max(b.Max[0], p[0]), max(b.Max[1], p[1])}}
}

// unionBound is orb's a.Union(b): the least box holding both (an empty box
// adds nothing).
func unionBound(a, b orb.Bound) orb.Bound {
	if b.IsEmpty() {
		return a
	}
	return extendBound(extendBound(a, b.Min), b.Max)
}

// boundsMeet is orb's a.Intersects(b) for boxes that are not empty, as no
// volume's or segment's is (boxes that touch meet), small enough to be
// inlined.
func boundsMeet(a, b orb.Bound) bool {
	return a.Max[0] >= b.Min[0] && a.Min[0] <= b.Max[0] && a.Max[1] >= b.Min[1] && a.Min[1] <= b.Max[1]
}
