package geo

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// TestRouteColumnMatchesCheckRoute: a route column answers the route's
// check, and each leg's check flown level at any height, exactly as
// CheckRoute does (the same hits, legs, distances, heights, times, caveats
// and order), on random zones and routes, through the tree and by a scan
// of every volume.
func TestRouteColumnMatchesCheckRoute(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 4))
	zones := randomZones(r, 400)
	for i := range zones {
		if r.IntN(3) == 0 {
			zones[i].Categories = Category(1 + r.IntN(int(allCategories)))
		}
	}
	ix := mustIndex(t, zones...)
	brute := *ix
	brute.scanAll = true
	brute.noCarry = true
	hitsSeen := 0
	for i := 0; i < 300; i++ {
		q := randomRoute(r)
		if r.IntN(4) == 0 {
			q.Category = Category(1 << r.IntN(3))
		}
		if r.IntN(5) == 0 {
			q.AltRef = VerticalRef(1 + r.IntN(3))
		}
		idx := ix
		if i%3 == 2 {
			idx = &brute
		}
		c, err := idx.RouteColumn(q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Check()
		if err != nil {
			t.Fatal(err)
		}
		want, err := idx.CheckRoute(q)
		if err != nil {
			t.Fatal(err)
		}
		hitsSeen += len(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("route %d: column %v, CheckRoute %v", i, hitLegs(got), hitLegs(want))
		}
		for leg := range c.Legs() {
			alts := []Altitude{{}, {Metres: -3, Ref: AGL}, {Metres: float64(r.IntN(400)), Ref: VerticalRef(1 + r.IntN(3))}}
			for _, h := range want {
				if !slices.Contains(h.Legs, leg) {
					continue
				}
				for _, v := range h.Zone.Volumes {
					for _, l := range []Limit{v.Lower, v.Upper} {
						if !l.Open {
							for _, d := range []float64{-1e-3, 0, 1e-3} {
								alts = append(alts, Altitude{Metres: l.Metres + d, Ref: l.Ref})
							}
						}
					}
				}
			}
			for _, a := range alts {
				lq := q
				lq.Waypoints = []Waypoint{{q.Waypoints[leg].Point, a.Metres}, {q.Waypoints[leg+1].Point, a.Metres}}
				lq.AltRef = a.Ref
				want, err := idx.CheckRoute(lq)
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.LegAt(leg, a)
				if err != nil {
					t.Fatal(err)
				}
				hitsSeen += len(want)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("route %d leg %d at %+v: column %v, CheckRoute %v", i, leg, a, hitLegs(got), hitLegs(want))
				}
			}
		}
	}
	if hitsSeen < 2000 {
		t.Fatalf("only %d hits compared: the test does not reach the zones", hitsSeen)
	}
}
