package geo

import "github.com/paulmach/orb"

// ExpandBound grows b by m metres on every side, rounded outward (wider,
// never narrower): a box that holds b's points holds every point within m
// metres of them. Near a pole or the antimeridian it spans every longitude.
func ExpandBound(b orb.Bound, m float64) orb.Bound { return expandBound(b, m) }
