package geo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
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
