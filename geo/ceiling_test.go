package geo

import (
	"math"
	"testing"
)

func TestLowestReach(t *testing.T) {
	for _, tc := range []struct {
		l     Limit
		ref   VerticalRef
		want  float64
		mixed bool
	}{
		{Limit{Metres: 45, Ref: AGL}, AGL, 45, false},
		{Limit{Metres: 300, Ref: AMSL}, AGL, 300 - 8850, true}, // the ground may lie 8,850 m above sea level
		{Limit{Metres: 300, Ref: AGL}, AMSL, 300 - 430, true},  // or 430 m below
		{OpenLimit, AGL, math.Inf(-1), false},
	} {
		got, mixed := tc.l.LowestReach(tc.ref)
		if got != tc.want || mixed != tc.mixed {
			t.Errorf("%v.LowestReach(%v) = %v, %v; want %v, %v", tc.l, tc.ref, got, mixed, tc.want, tc.mixed)
		}
		if tc.l.Open {
			continue
		}
		// A flight at the reach meets the volume, one 1 cm below does not.
		for _, d := range []struct {
			h  float64
			in bool
		}{{got, true}, {got - 0.01, false}} {
			_, ok, _ := heightOverlap(d.h, d.h, tc.ref, tc.l, OpenLimit)
			if ok != d.in {
				t.Errorf("%v from %v: at %v m in = %v, want %v", tc.l, tc.ref, d.h, ok, d.in)
			}
		}
	}
}
