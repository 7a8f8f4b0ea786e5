package geo

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestColumnMatchesCheckPosition: a column answers at every height exactly
// what CheckPosition answers there (the same hits, heights, caveats and
// order), on random zones of one and two volumes, mixed references,
// schedules and categories, and at heights around each zone's limits.
func TestColumnMatchesCheckPosition(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 1))
	zones := randomZones(r, 400)
	for i := range zones {
		if r.IntN(3) == 0 {
			zones[i].Categories = Category(1 + r.IntN(int(allCategories)))
		}
	}
	ix := mustIndex(t, zones...)
	brute := *ix
	brute.scanAll = true
	var c Column
	var buf []Hit
	hitsSeen := 0
	for i := 0; i < 3000; i++ {
		q := PositionQuery{Point: randomPoint(r), At: t0.Add(time.Duration(r.IntN(100)-50) * time.Hour)}
		if r.IntN(4) == 0 {
			q.Category = Category(1 << r.IntN(3))
		}
		idx := ix
		if i%2 == 1 {
			idx = &brute
		}
		idx.Column(q, &c)
		// Heights: none, random ones, and those at, just below and just
		// above the limits of every zone in the column.
		alts := []Altitude{{}, {Metres: float64(r.IntN(400)), Ref: VerticalRef(1 + r.IntN(3))}, {Metres: -5, Ref: AGL}}
		for _, h := range idx.CheckPosition(PositionQuery{Point: q.Point, At: q.At}, nil) {
			for _, v := range h.Zone.Volumes {
				for _, l := range []Limit{v.Lower, v.Upper} {
					if !l.Open {
						for _, d := range []float64{-1e-3, 0, 1e-3} {
							alts = append(alts, Altitude{Metres: l.Metres + d, Ref: l.Ref}, Altitude{Metres: l.Metres + d, Ref: VerticalRef(1 + r.IntN(3))})
						}
					}
				}
			}
		}
		for _, a := range alts {
			qa := q
			qa.Alt = a
			want := idx.CheckPosition(qa, nil)
			buf = c.At(a, buf[:0])
			if len(want) == 0 && len(buf) == 0 {
				continue
			}
			hitsSeen += len(want)
			if !reflect.DeepEqual(buf, want) {
				t.Fatalf("point %v at %v, height %+v, category %v: column %v, CheckPosition %v", q.Point, q.At, a, q.Category, hitIDs(buf), hitIDs(want))
			}
		}
	}
	if hitsSeen < 1000 {
		t.Fatalf("only %d hits compared: the test does not reach the zones", hitsSeen)
	}
}

// TestColumnAtAllocs: At into a slice with room allocates nothing.
func TestColumnAtAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 2))
	ix := mustIndex(t, randomZones(r, 200)...)
	var c Column
	ix.Column(PositionQuery{Point: randomPoint(r), At: t0}, &c)
	buf := make([]Hit, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = c.At(Altitude{Metres: 60, Ref: AGL}, buf[:0]) }); n != 0 {
		t.Fatalf("At: %v allocations", n)
	}
}
