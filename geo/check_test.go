package geo

import (
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// A square zone 1.4 km wide around (5.00, 52.00), from 60 m AGL up:
//
//	      +-------+
//	A --> |   Z   | --> B     leg 0: A→B at 100 m crosses Z
//	      +-------+
//	C --------------> D       leg C→D passes 500 m south of Z
func TestCheckRoute(t *testing.T) {
	sq := orb.Ring{{4.99, 51.995}, {5.01, 51.995}, {5.01, 52.005}, {4.99, 52.005}, {4.99, 51.995}}
	z := polyZone("SQ", sq)
	z.Volumes[0].Lower = Limit{Metres: 60, Ref: AGL}
	ix := mustIndex(t, z)
	wp := func(lon, lat, alt float64) Waypoint { return Waypoint{Point: orb.Point{lon, lat}, Alt: alt} }
	win := TimeWindow{t0, t0.Add(time.Hour)}
	tests := []struct {
		name     string
		wps      []Waypoint
		buffer   float64
		want     bool
		legs     []int
		band     Band
		distance float64 // within 1 m; -1: not checked
	}{
		{"crosses at 100 m", []Waypoint{wp(4.97, 52, 100), wp(5.03, 52, 100)}, 0, true, []int{0}, Band{100, 100, AGL}, 0},
		{"crosses below the floor", []Waypoint{wp(4.97, 52, 50), wp(5.03, 52, 50)}, 0, false, nil, Band{}, -1},
		{"second leg enters", []Waypoint{wp(4.95, 51.98, 100), wp(4.97, 52, 100), wp(5.0, 52, 100)}, 0, true, []int{1}, Band{100, 100, AGL}, 0},
		{"climbs through the floor inside", []Waypoint{wp(4.98, 52, 0), wp(5.02, 52, 120)}, 0, true, []int{0}, Band{60, 90, AGL}, 0},
		{"climbs only after leaving", []Waypoint{wp(5.0, 52, 0), wp(5.0, 52.05, 120)}, 0, false, nil, Band{}, -1},
		{"passes 1 km south, no buffer", []Waypoint{wp(4.97, 51.986, 100), wp(5.03, 51.986, 100)}, 0, false, nil, Band{}, -1},
		{"passes 1 km south, 1.1 km buffer", []Waypoint{wp(4.97, 51.986, 100), wp(5.03, 51.986, 100)}, 1100, true, []int{0}, Band{100, 100, AGL}, 1001},
		{"hovers inside", []Waypoint{wp(5, 52, 80), wp(5, 52, 80)}, 0, true, []int{0}, Band{80, 80, AGL}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := ix.CheckRoute(RouteQuery{Waypoints: tc.wps, AltRef: AGL, Buffer: tc.buffer, Window: win})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(hits) == 1; got != tc.want {
				t.Fatalf("hit %v, want %v (%+v)", got, tc.want, hits)
			}
			if !tc.want {
				return
			}
			h := hits[0]
			if !slices.Equal(h.Legs, tc.legs) {
				t.Errorf("legs %v, want %v", h.Legs, tc.legs)
			}
			if h.Band.Ref != tc.band.Ref || h.Band.Lower < tc.band.Lower-1 || h.Band.Lower > tc.band.Lower+1 ||
				h.Band.Upper < tc.band.Upper-1 || h.Band.Upper > tc.band.Upper+1 {
				t.Errorf("band %v, want about %v", h.Band, tc.band)
			}
			if tc.distance >= 0 && (h.Distance < tc.distance-1 || h.Distance > tc.distance+1) {
				t.Errorf("closest approach %.1f m, want %.0f±1 m", h.Distance, tc.distance)
			}
			if !h.When.Start.Equal(win.Start) || !h.When.End.Equal(win.End) {
				t.Errorf("when %v, want the whole window", h.When)
			}
		})
	}
}

func TestCheckRouteRejectsBadQueries(t *testing.T) {
	ix := mustIndex(t, circleZone("C", orb.Point{5, 52}, 100))
	win := TimeWindow{t0, t0.Add(time.Hour)}
	tests := []struct {
		name string
		q    RouteQuery
	}{
		{"one waypoint", RouteQuery{Waypoints: []Waypoint{{Point: orb.Point{5, 52}}}, Window: win}},
		{"latitude out of range", RouteQuery{Waypoints: []Waypoint{{Point: orb.Point{5, 91}}, {Point: orb.Point{5, 52}}}, Window: win}},
		{"negative buffer", RouteQuery{Waypoints: []Waypoint{{Point: orb.Point{5, 52}}, {Point: orb.Point{5, 52}}}, Buffer: -1, Window: win}},
		{"end before start", RouteQuery{Waypoints: []Waypoint{{Point: orb.Point{5, 52}}, {Point: orb.Point{5, 52}}}, Window: TimeWindow{t0, t0.Add(-time.Second)}}},
		{"too many waypoints", RouteQuery{Waypoints: make([]Waypoint, MaxWaypoints+1), Window: win}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ix.CheckRoute(tc.q); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestCheckArea(t *testing.T) {
	small := circleZone("SMALL", orb.Point{5, 52}, 200)
	big := polyZone("BIG", orb.Ring{{4.8, 51.9}, {5.2, 51.9}, {5.2, 52.1}, {4.8, 52.1}, {4.8, 51.9}})
	big.Volumes[0].Upper = Limit{Metres: 50, Ref: AGL}
	far := circleZone("FAR", orb.Point{6, 53}, 500)
	ix := mustIndex(t, small, big, far)
	win := TimeWindow{t0, t0.Add(time.Hour)}
	square := func(c orb.Point, d float64) Shape {
		return Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{{{c[0] - d, c[1] - d}, {c[0] + d, c[1] - d}, {c[0] + d, c[1] + d}, {c[0] - d, c[1] + d}, {c[0] - d, c[1] - d}}}}}
	}
	tests := []struct {
		name string
		q    AreaQuery
		want []string
	}{
		{"square around the small zone, inside the big one", AreaQuery{Area: square(orb.Point{5, 52}, 0.01), Band: Band{0, 120, AGL}, Window: win}, []string{"BIG", "SMALL"}},
		{"same, flying above the big zone's ceiling", AreaQuery{Area: square(orb.Point{5, 52}, 0.01), Band: Band{60, 120, AGL}, Window: win}, []string{"SMALL"}},
		{"circle holding the small zone", AreaQuery{Area: Shape{Kind: ShapeCircle, Center: orb.Point{5.001, 52}, Radius: 1000}, Band: Band{60, 120, AGL}, Window: win}, []string{"SMALL"}},
		{"circle reaching the far zone only with the buffer", AreaQuery{Area: Shape{Kind: ShapeCircle, Center: orb.Point{6, 53.02}, Radius: 1000}, Buffer: 1000, Window: win}, []string{"FAR"}},
		{"circle short of the far zone", AreaQuery{Area: Shape{Kind: ShapeCircle, Center: orb.Point{6, 53.02}, Radius: 1000}, Window: win}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := ix.CheckArea(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := hitIDs(hits); !slices.Equal(got, tc.want) {
				t.Errorf("hits %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHitsOrder(t *testing.T) {
	mk := func(id string, r Restriction, c orb.Point) Zone {
		z := circleZone(id, c, 5000)
		z.Restriction = r
		return z
	}
	p := orb.Point{5, 52}
	ix := mustIndex(t, mk("A-INFO", Conditional, p), mk("B-BLOCK", Prohibited, p), mk("C-BLOCK", ReqAuthorisation, p), mk("D-INFO", NoRestriction, p))
	hits := ix.CheckPosition(PositionQuery{Point: p, At: t0}, nil)
	var got []string
	for _, h := range hits {
		got = append(got, h.Zone.ID)
	}
	if want := []string{"B-BLOCK", "C-BLOCK", "A-INFO", "D-INFO"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	far := orb.Point{5.03, 52} // 2 km east: inside all, nearer for none
	routeHits, err := ix.CheckRoute(route(0, far, orb.Point{5.2, 52}))
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, h := range routeHits {
		got = append(got, h.Zone.ID)
	}
	if want := []string{"B-BLOCK", "C-BLOCK", "A-INFO", "D-INFO"}; !slices.Equal(got, want) {
		t.Errorf("route order %v, want %v", got, want)
	}
}
