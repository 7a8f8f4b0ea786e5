package geo

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// TestColumnMatchesCheckPosition: a column answers at every height exactly
// what CheckPosition answers there (the same hits, heights, caveats and
// order), appending to what dst holds, on random zones of one and two
// volumes, mixed references (limits in WGS84 not in whole metres),
// schedules in UTC, UTC offsets and IANA time zones, some ending at a
// daylight event (whose caveat joins the height's, CaveatNoAltitude or
// CaveatReference), and categories, at heights around each zone's limits
// and at unknown heights given in metres.
func TestColumnMatchesCheckPosition(t *testing.T) {
	for _, tc := range []struct {
		name  string
		zones func(r *rand.Rand) []Zone
	}{
		{"random", func(r *rand.Rand) []Zone { return randomZones(r, 400) }},
		{"rich", func(r *rand.Rand) []Zone { return richZones(r, 400, true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(15, 1))
			zones := tc.zones(r)
			for i := range zones {
				if r.IntN(3) == 0 {
					zones[i].Categories = Category(1 + r.IntN(int(allCategories)))
				}
				for j := range zones[i].Applicability.Periods {
					for k := range zones[i].Applicability.Periods[j].Schedule {
						if r.IntN(2) == 0 {
							zones[i].Applicability.Periods[j].Schedule[k].EndEvent = "SS"
						}
					}
				}
			}
			compareColumns(t, r, mustIndex(t, zones...))
		})
	}
}

func compareColumns(t *testing.T, r *rand.Rand, ix *Index) {
	t.Helper()
	brute := *ix
	brute.scanAll = true
	var c Column
	var buf []Hit
	refs := []VerticalRef{RefUnknown, AGL, AMSL, WGS84}
	hitsSeen, daylight, both := 0, 0, 0
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
		if !c.Of(idx, q) {
			t.Fatalf("the column of %+v is not of it", q)
		}
		// Heights: none, unknown ones given in metres, random ones, and
		// those at, just below and just above the limits of every zone
		// in the column.
		alts := []Altitude{{}, {Metres: float64(r.IntN(700) - 50)}, {Metres: float64(r.IntN(400)), Ref: refs[1+r.IntN(3)]}, {Metres: -5, Ref: AGL}}
		for _, h := range idx.CheckPosition(PositionQuery{Point: q.Point, At: q.At}, nil) {
			for _, v := range h.Zone.Volumes {
				for _, l := range []Limit{v.Lower, v.Upper} {
					if !l.Open {
						for _, d := range []float64{-1e-3, 0, 1e-3} {
							alts = append(alts, Altitude{Metres: l.Metres + d, Ref: l.Ref}, Altitude{Metres: l.Metres + d, Ref: refs[1+r.IntN(3)]})
						}
					}
				}
			}
		}
		for _, a := range alts {
			qa := q
			qa.Alt = a
			// What dst holds stays, before the hits.
			want := idx.CheckPosition(qa, []Hit{{}})
			buf = c.At(a, append(buf[:0], Hit{}))
			if len(want) == 1 && len(buf) == 1 {
				continue
			}
			hitsSeen += len(want) - 1
			for _, h := range want[1:] {
				if h.Caveats&CaveatDaylight != 0 {
					daylight++
					if h.Caveats&(CaveatNoAltitude|CaveatReference) != 0 {
						both++
					}
				}
			}
			if !reflect.DeepEqual(buf, want) {
				t.Fatalf("point %v at %v, height %+v, category %v: column %v, CheckPosition %v", q.Point, q.At, a, q.Category, hitIDs(buf[1:]), hitIDs(want[1:]))
			}
		}
	}
	t.Logf("%d hits compared, %d with the daylight caveat, %d of them with a height's too", hitsSeen, daylight, both)
	if hitsSeen < 1000 || both < 100 {
		t.Fatalf("only %d hits compared, %d with both caveats: the test does not reach the zones", hitsSeen, both)
	}
}

// TestColumnSame: columns that are the Same answer alike at every height
// (but for the hits' instants), wherever their points are; on random
// zones of several volumes with schedules, along tracks through them at
// changing instants, at heights around every limit.
func TestColumnSame(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 3))
	ix := mustIndex(t, richZones(r, 400, true)...)
	var prev, c Column
	var a, b []Hit
	same, sameHits := 0, 0
	for i := 0; i < 4000; i++ {
		p := randomPoint(r)
		if i%8 != 0 {
			p = orb.Point{prev.q.Point[0] + (r.Float64()-0.5)*2e-3, prev.q.Point[1] + (r.Float64()-0.5)*2e-3}
		}
		q := PositionQuery{Point: p, At: prev.q.At.Add(time.Duration(r.IntN(600)) * time.Second)}
		if i%8 == 0 {
			q.At = t0.Add(time.Duration(r.IntN(100)-50) * time.Hour)
		}
		ix.Column(q, &c)
		if c.Of(ix, PositionQuery{Point: p, At: q.At.Add(time.Second)}) || c.Of(ix, PositionQuery{Point: orb.Point{p[0] + 1e-9, p[1]}, At: q.At}) {
			t.Fatal("a column is of another instant or point")
		}
		if c.Same(&prev) {
			same++
			alts := []Altitude{{}, {Metres: 50, Ref: AGL}, {Metres: 300, Ref: AMSL}}
			for _, cv := range c.vols {
				for _, l := range []Limit{ix.vols[cv.vi].lower, ix.vols[cv.vi].upper} {
					if !l.Open {
						alts = append(alts, Altitude{Metres: l.Metres - 1e-3, Ref: l.Ref}, Altitude{Metres: l.Metres + 1e-3, Ref: l.Ref})
					}
				}
			}
			for _, alt := range alts {
				a, b = c.At(alt, a[:0]), prev.At(alt, b[:0])
				sameHits += len(a)
				for k := range b {
					b[k].When = Instant(q.At)
				}
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("position %d at %+v: %v, the same column before answered %v", i, alt, hitIDs(a), hitIDs(b))
				}
			}
		}
		prev, c = c, prev
	}
	t.Logf("%d columns the same as the one before, %d hits compared", same, sameHits)
	if same < 1000 || sameHits < 1000 {
		t.Errorf("the test exercises too little")
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
