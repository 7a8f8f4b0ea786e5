package geo

import (
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// eastOf returns the point d metres (geodesic) east of p, along p's
// parallel.
func eastOf(p orb.Point, d float64) orb.Point {
	lo, hi := 0.0, 1.0
	for range 60 {
		mid := (lo + hi) / 2
		if Distance(p, orb.Point{p[0] + mid, p[1]}) < d {
			lo = mid
		} else {
			hi = mid
		}
	}
	return orb.Point{p[0] + (lo+hi)/2, p[1]}
}

func TestVolumeHolds(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	win := TimeWindow{at, at.Add(time.Hour)}
	// A level route north along 4.9° E at 100 m AGL, buffer 50 m:
	//
	//   (4.9, 52.01) 100 m
	//        |  <- 50 m ->|
	//   (4.9, 52.00) 100 m
	route := &RouteQuery{Waypoints: []Waypoint{{orb.Point{4.9, 52.0}, 100}, {orb.Point{4.9, 52.01}, 100}},
		AltRef: AGL, Buffer: 50, Window: win}
	// A circle of 200 m around (5.0, 52.0), 0–120 m AGL, buffer 20 m.
	area := &AreaQuery{Area: Shape{Kind: ShapeCircle, Center: orb.Point{5.0, 52.0}, Radius: 200},
		Band: Band{0, 120, AGL}, Buffer: 20, Window: win}
	mid := orb.Point{4.9, 52.005}
	tests := []struct {
		name   string
		route  *RouteQuery
		area   *AreaQuery
		p      PositionQuery
		want   bool
		caveat Caveat
	}{
		{"on the route", route, nil, PositionQuery{Point: mid, Alt: Altitude{100, AGL}, At: at}, true, 0},
		{"49 m beside the route", route, nil, PositionQuery{Point: eastOf(mid, 49), Alt: Altitude{100, AGL}, At: at}, true, 0},
		{"1 m outside the buffer", route, nil, PositionQuery{Point: eastOf(mid, 51), Alt: Altitude{100, AGL}, At: at}, false, 0},
		{"above the route", route, nil, PositionQuery{Point: mid, Alt: Altitude{101, AGL}, At: at}, false, 0},
		{"no height: only horizontal", route, nil, PositionQuery{Point: mid, Alt: Altitude{}, At: at}, true, CaveatNoAltitude},
		{"beyond the route's end", route, nil, PositionQuery{Point: orb.Point{4.9, 52.0106}, Alt: Altitude{100, AGL}, At: at}, false, 0},
		{"area centre", nil, area, PositionQuery{Point: orb.Point{5.0, 52.0}, Alt: Altitude{60, AGL}, At: at}, true, 0},
		{"area edge plus 19 m", nil, area, PositionQuery{Point: eastOf(orb.Point{5.0, 52.0}, 219), Alt: Altitude{60, AGL}, At: at}, true, 0},
		{"area 1 m outside", nil, area, PositionQuery{Point: eastOf(orb.Point{5.0, 52.0}, 221), Alt: Altitude{60, AGL}, At: at}, false, 0},
		{"area above the band", nil, area, PositionQuery{Point: orb.Point{5.0, 52.0}, Alt: Altitude{121, AGL}, At: at}, false, 0},
		{"area other reference", nil, area, PositionQuery{Point: orb.Point{5.0, 52.0}, Alt: Altitude{60, AMSL}, At: at}, true, CaveatReference},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, cav, err := VolumeHolds(tc.route, tc.area, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || cav != tc.caveat {
				t.Errorf("VolumeHolds = %v, caveats %q; want %v, %q", got, cav, tc.want, tc.caveat)
			}
		})
	}
	if _, _, err := VolumeHolds(nil, nil, PositionQuery{Point: mid, Alt: Altitude{}, At: at}); err == nil {
		t.Error("no volume: want an error")
	}
}
