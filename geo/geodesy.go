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
)

// circleBound is a longitude/latitude box that contains every point within
// r metres of c, rounded outward.
func circleBound(c orb.Point, r float64) orb.Bound {
	// Metres per degree of latitude is at least 110,574 m and of longitude at
	// least 111,320·cos(lat) m at the circle's most poleward latitude; 1%
	// margin on top.
	dLat := r / 110_574 * 1.01
	maxLat := math.Min(90, math.Abs(c[1])+dLat)
	dLon := 360.0
	if cosMax := math.Cos(maxLat * math.Pi / 180); maxLat < 89.9 {
		dLon = math.Min(360, r/(111_320*cosMax)*1.01)
	}
	return orb.Bound{
		Min: orb.Point{math.Max(-180, c[0]-dLon), math.Max(-90, c[1]-dLat)},
		Max: orb.Point{math.Min(180, c[0]+dLon), math.Min(90, c[1]+dLat)},
	}
}
