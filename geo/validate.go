package geo

import "github.com/paulmach/orb"

// validatePolygons reports each problem of mp through add.
func validatePolygons(add func(field, msg string), field string, mp orb.MultiPolygon) {
}
