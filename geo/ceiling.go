package geo

import "math"

// LowestReach returns the lowest height, in metres above ref, at which a
// flight counts as within a volume whose lower limit is l: the checks count
// it from there (heightOverlap), and a flight just below does not meet the
// volume. An open limit gives -Inf (the volume starts at the ground). When
// ref differs from l's reference, the value assumes the terrain or geoid
// that brings the volume lowest (nofly has no terrain or geoid data), and
// mixed is true.
func (l Limit) LowestReach(ref VerticalRef) (h float64, mixed bool) {
	if l.Open {
		return math.Inf(-1), false
	}
	_, shi := refShift(ref, l.Ref)
	return l.Metres - shi, ref != l.Ref
}
