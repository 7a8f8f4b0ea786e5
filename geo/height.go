package geo

import "math"

// refShift bounds, in metres, what must be added to a height measured from
// reference from to express it in reference to, when nofly has no terrain
// or geoid model: terrain lies between -430 m (Dead Sea shore) and 8,850 m
// above mean sea level, and the geoid between -107 m and +86 m above the
// WGS84 ellipsoid.
func refShift(from, to VerticalRef) (lo, hi float64) {
	const (
		terrainLo, terrainHi = -430.0, 8850.0
		geoidLo, geoidHi     = -107.0, 86.0
	)
	// Express "to - from" via AMSL: h_AMSL = h_AGL + terrain; h_WGS84 = h_AMSL + geoid.
	toAMSL := func(r VerticalRef) (float64, float64) {
		switch r {
		case AGL:
			return terrainLo, terrainHi
		case WGS84:
			return -geoidHi, -geoidLo
		}
		return 0, 0
	}
	if from == to {
		return 0, 0
	}
	alo, ahi := toAMSL(from) // from -> AMSL
	blo, bhi := toAMSL(to)   // to -> AMSL; AMSL -> to is its negation
	return alo - bhi, ahi - blo
}

// heightOverlap intersects a flight's height band [lo, hi] in reference ref
// (RefUnknown: heights unknown) with a volume's limits. It returns the
// overlap and caveats, and ok false when the flight is certainly above or
// below the volume.
func heightOverlap(lo, hi float64, ref VerticalRef, lower, upper Limit) (Band, bool, Caveat) {
	if ref == RefUnknown {
		b := Band{Lower: math.Inf(-1), Upper: math.Inf(1), Ref: lower.Ref}
		if !lower.Open {
			b.Lower = lower.Metres
		}
		if !upper.Open {
			b.Upper = upper.Metres
			if lower.Open {
				b.Ref = upper.Ref
			}
		}
		return b, true, CaveatNoAltitude
	}
	band := Band{Lower: lo, Upper: hi, Ref: ref}
	var cav Caveat
	if !lower.Open {
		slo, shi := refShift(ref, lower.Ref)
		if hi+shi < lower.Metres {
			return Band{}, false, 0 // wholly below
		}
		if slo == 0 && shi == 0 {
			band.Lower = max(lo, lower.Metres)
		} else if hi+slo < lower.Metres {
			cav |= CaveatReference // only the worst case reaches the volume; counted
		}
	}
	if !upper.Open {
		slo, shi := refShift(ref, upper.Ref)
		if lo+slo > upper.Metres {
			return Band{}, false, 0 // wholly above
		}
		if slo == 0 && shi == 0 {
			band.Upper = min(hi, upper.Metres)
		} else if lo+shi > upper.Metres {
			cav |= CaveatReference
		}
	}
	return band, true, cav
}
