package exemptions

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// TestDecideFleetIntoMatchesDecideFleet: DecideFleetInto, with one room
// kept from decision to decision as a position check keeps it (grown when
// a decision needs more), decides every field as DecideFleet (or
// DecideFleetIDs) on 20,000 random positions: zones of every restriction,
// exemptions of the flight's unit and of others, fleet rules, flights at
// every reference. The rooms in use hold the previous decision's
// conflicts.
func TestDecideFleetIntoMatchesDecideFleet(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	sets, perSet := 2000, 10
	if testing.Short() {
		sets = 400
	}
	var room []Conflict
	n, inRoom, exempted := 0, 0, 0
	for seed := range uint64(sets) {
		rng := rand.New(rand.NewPCG(seed, 79))
		zones := matchZones(rng, 1+rng.IntN(10))
		idx, err := geo.NewIndex(zones)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		records := matchRecords(rng, zones, now)
		for k := range perSet {
			var snap *Snapshot
			if rng.IntN(6) > 0 {
				snap = NewSnapshot(records, 1)
			}
			fl := matchFleet(rng)
			p := orb.Point{4.8 + (rng.Float64()-0.5)/50, 52.3 + (rng.Float64()-0.5)/50}
			q := geo.PositionQuery{Point: p, At: now}
			f := Flight{Unit: []string{"AMS-DRONE", "RDM-DRONE", "UTR-DRONE"}[rng.IntN(3)], Kind: FlightPosition, Point: p, Purpose: PurposeForensic}
			if rng.IntN(4) == 0 {
				f.Caveats = geo.CaveatNoAltitude
			} else {
				q.Alt = geo.Altitude{Metres: float64(rng.IntN(200)), Ref: []geo.VerticalRef{geo.AGL, geo.AMSL}[rng.IntN(2)]}
				f.Height = geo.Band{Lower: q.Alt.Metres, Upper: q.Alt.Metres, Ref: q.Alt.Ref}
			}
			hits := idx.CheckPosition(q, nil)
			ids := rng.IntN(2) == 0
			want := DecideFleet(hits, f, snap, fl, now)
			if ids {
				want = DecideFleetIDs(hits, f, snap, fl, now)
			}
			got := DecideFleetInto(room, ids, hits, f, snap, fl, now)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d case %d (ids %v): got\n%+v\nwant\n%+v", seed, k, ids, got, want)
			}
			if len(got.Conflicts) > 0 && cap(room) >= len(got.Conflicts) {
				if &got.Conflicts[0] != &room[:1][0] {
					t.Fatalf("seed %d case %d: %d conflicts not built in a room for %d", seed, k, len(got.Conflicts), cap(room))
				}
				inRoom++
			}
			if cap(got.Conflicts) >= cap(room) {
				room = got.Conflicts
			}
			if got.Verdict == Exempted {
				exempted++
			}
			n++
		}
	}
	t.Logf("%d decisions, %d built in the room, %d exempted", n, inRoom, exempted)
	if inRoom < n/4 || exempted < n/200 {
		t.Errorf("%d of %d decisions built in the room, %d exempted: too few", inRoom, n, exempted)
	}
}
