package geo

import (
	"fmt"
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
				if len(got) > c.MaxLegHits() {
					t.Fatalf("route %d leg %d at %+v: %d hits, more than MaxLegHits %d", i, leg, a, len(got), c.MaxLegHits())
				}
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

// TestSortHitsKeyed: the keyed sort, and sortHits, put hits in hitLess's order, each hit
// whole (zone, legs, band, times with it), at every length around the
// insertion sort's limit and the key buffer's, with ties of distance
// broken by the order key.
func TestSortHitsKeyed(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	zones := make([]Zone, 80)
	for n := 0; n <= 70; n++ {
		for range 20 {
			h := make([]Hit, n)
			for i := range h {
				h[i] = Hit{Zone: &zones[i], Legs: []int{i}, Distance: float64(r.IntN(4)) * 10, Band: Band{Lower: float64(i)}}
			}
			// Distinct order keys, as a set's are; some non-blocking.
			for i, p := range r.Perm(n) {
				h[i].order = uint32(p)
				if r.IntN(3) == 0 {
					h[i].order += nonBlocking
				}
			}
			byLess := func(a, b Hit) int {
				switch {
				case hitLess(&a, &b):
					return -1
				case hitLess(&b, &a):
					return 1
				}
				return 0
			}
			want := slices.Clone(h)
			slices.SortStableFunc(want, byLess)
			// Unsorted, sorted, and sorted but for the last two or
			// reversed.
			nearly := slices.Clone(want)
			if n >= 2 {
				nearly[n-1], nearly[n-2] = nearly[n-2], nearly[n-1]
			}
			for _, in := range [][]Hit{h, slices.Clone(want), nearly, reversed(want)} {
				in2 := slices.Clone(in)
				sortHitsKeyed(in)
				if !reflect.DeepEqual(in, want) {
					t.Fatalf("%d hits: got %v, want %v", n, in, want)
				}
				sortHits(in2) // in place below its insertion sort's limit, keyed above
				if !reflect.DeepEqual(in2, want) {
					t.Fatalf("sortHits, %d hits: got %v, want %v", n, in2, want)
				}
			}
		}
	}
}

// reversed is a reversed copy of h.
func reversed(h []Hit) []Hit {
	r := slices.Clone(h)
	slices.Reverse(r)
	return r
}

// TestRouteColumnConcurrent: route columns measured at once on several
// goroutines (which share the scratch space kept between routes) answer
// as each does alone, and a column's answers do not change when other
// routes are measured after it.
func TestRouteColumnConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 7))
	ix := mustIndex(t, randomZones(r, 300)...)
	qs := make([]RouteQuery, 64)
	want := make([][]Hit, len(qs))
	cols := make([]*RouteColumn, len(qs))
	for i := range qs {
		qs[i] = randomRoute(r)
		c, err := ix.RouteColumn(qs[i])
		if err != nil {
			t.Fatal(err)
		}
		cols[i] = c
		if want[i], err = c.Check(); err != nil {
			t.Fatal(err)
		}
	}
	met := 0
	for _, w := range want {
		met += len(w)
	}
	if met == 0 {
		t.Fatal("no route met a zone: the test compares nothing")
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for k := range 3 * len(qs) {
				i := (k*7 + g) % len(qs)
				c, err := ix.RouteColumn(qs[i])
				if err == nil {
					var got []Hit
					if got, err = c.Check(); err == nil && !reflect.DeepEqual(got, want[i]) {
						err = fmt.Errorf("route %d measured on goroutine %d: %v, alone %v", i, g, hitLegs(got), hitLegs(want[i]))
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cols { // measured before all the others
		got, err := c.Check()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Fatalf("route %d: its column answers %v after other routes, %v before", i, hitLegs(got), hitLegs(want[i]))
		}
	}
}
