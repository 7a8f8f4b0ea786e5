package geo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// TestAtHeight: the zones at a height, from the column, are exactly what
// CheckPosition finds at that height (order, bands, caveats), for random
// zones in every reference with schedules and several volumes, at random
// positions, heights and instants.
func TestAtHeight(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 15))
	ix := mustIndex(t, richZones(r, 400, true)...)
	describe := func(h []Hit) string {
		var out []string
		for _, x := range h {
			if x.Zone == nil {
				out = append(out, "(kept)")
				continue
			}
			out = append(out, fmt.Sprintf("%s %v %v %v", x.Zone.ID, x.Band, x.When, x.Caveats))
		}
		return fmt.Sprint(out)
	}
	refs := []VerticalRef{RefUnknown, AGL, AMSL, WGS84}
	var column, dst []Hit
	fromColumn, searched := 0, 0
	for i := range 20_000 {
		q := PositionQuery{Point: randomPoint(r), At: t0.Add(time.Duration(r.IntN(96)-48) * time.Hour),
			Alt: Altitude{Metres: float64(r.IntN(700) - 50), Ref: refs[r.IntN(len(refs))]}, Category: Category(r.IntN(3))}
		cq := q
		cq.Alt = Altitude{}
		column = ix.CheckPosition(cq, column[:0])
		dst = append(dst[:0], Hit{}) // what dst held stays
		got := ix.AtHeight(column, q, dst)
		want := ix.CheckPosition(q, []Hit{{}})
		if describe(got) != describe(want) {
			t.Fatalf("query %d %+v:\n got %s\nwant %s", i, q, describe(got), describe(want))
		}
		switch {
		case slices.ContainsFunc(column, func(h Hit) bool { return len(h.Zone.Volumes) > 1 }):
			searched++
		case len(want) > 1:
			fromColumn++
		}
	}
	t.Logf("%d positions in a zone at their height answered from the column, %d searched again", fromColumn, searched)
	if fromColumn < 2000 || searched == 0 {
		t.Errorf("the test exercises too little")
	}
}

// TestReach: a corridor's answers to the look-ahead tracks it holds
// are Index.Approaches' to the same tracks, hit for hit (band, times,
// caveats, entry distance), over random zones of every kind, and it holds
// no track that leaves its box.
func TestReach(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	ix := mustIndex(t, richZones(r, 600, true)...)
	describe := func(as []Approach) string {
		var out []string
		for _, a := range as {
			out = append(out, fmt.Sprintf("%s%v %.9f %v %v %v %.9f", a.Zone.ID, a.Legs, a.Distance, a.Band, a.When, a.Caveats, a.Entry))
		}
		return fmt.Sprint(out)
	}
	refs := []VerticalRef{RefUnknown, AGL, AMSL, WGS84}
	held, met := 0, 0
	for i := range 300 {
		p := randomPoint(r)
		bearing := r.Float64() * 360
		length := 100 + r.Float64()*3000
		c := ix.Reach(p, bearing, 2*length, length/4)
		alt := Altitude{Metres: float64(r.IntN(400)), Ref: refs[r.IntN(len(refs))]}
		if alt.Ref == RefUnknown {
			alt.Metres = 0
		}
		for k := range 12 {
			// Along the track, turning and drifting a little, sometimes
			// out of the box.
			from := Ahead(p, bearing+90, (r.Float64()-0.5)*length*0.6)
			from = Ahead(from, bearing, float64(k)*length/6)
			q := ApproachQuery{From: from, To: Ahead(from, bearing+(r.Float64()-0.5)*40, length), Alt: alt,
				Window: TimeWindow{Start: t0.Add(time.Duration(r.IntN(48)-24) * time.Hour)}, Category: Category(r.IntN(3))}
			q.Window.End = q.Window.Start.Add(time.Duration(r.IntN(600)) * time.Second)
			want, werr := ix.Approaches(q)
			if !c.Holds(ix, q) {
				s := newSegment(q.From, q.To, 0, 0, 0, 0)
				if c.box.Contains(s.q.Min) && c.box.Contains(s.q.Max) {
					t.Fatalf("track %d.%d lies in the box but is not held", i, k)
				}
				continue
			}
			held++
			got, gerr := c.Approaches(q)
			if (gerr == nil) != (werr == nil) || describe(got) != describe(want) {
				t.Fatalf("track %d.%d %+v:\n got %s %v\nwant %s %v", i, k, q, describe(got), gerr, describe(want), werr)
			}
			if len(want) > 0 {
				met++
			}
		}
	}
	t.Logf("%d tracks held by their corridor, %d meeting zones", held, met)
	if held < 1000 || met < 200 {
		t.Errorf("the test exercises too little")
	}
	if c := ix.Reach(orb.Point{4.5, 52}, 90, 1000, 100); c.Holds(mustIndex(t, richZones(r, 3, false)...), ApproachQuery{From: orb.Point{4.5, 52}, To: orb.Point{4.501, 52}}) {
		t.Error("a corridor holds tracks on another index")
	}
}
