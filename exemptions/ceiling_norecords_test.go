package exemptions

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/fleet"
	"github.com/nofly-project/nofly/geo"
)

// TestHighestClearedNoRecordsMatchesReference: for a flight whose unit
// holds no record (no exemptions kept, none at all, or only other units'),
// HighestCleared answers exactly as the reference (highestClearedRef, every
// field and text) on 20,000 random columns, with the fleet rules refusing
// now and then for one to three reasons at once (a drone not registered, a
// classification the drone is not known for, a rule that refuses the unit,
// a flight from below the ground under a ceiling that starts above it), so
// that the answer names the first of them.
func TestHighestClearedNoRecordsMatchesReference(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	sets, perSet := 2000, 10
	if testing.Short() {
		sets = 400
	}
	var n, blockedByRule, blockedByZone, limited, multiRefusal int
	for seed := range uint64(sets) {
		rng := rand.New(rand.NewPCG(seed, 78))
		zones := matchZones(rng, 1+rng.IntN(10))
		idx, err := geo.NewIndex(zones)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		records := matchRecords(rng, zones, now) // of AMS-DRONE and RDM-DRONE
		for k := range perSet {
			var snap *Snapshot
			switch rng.IntN(3) {
			case 0: // no exemptions kept
			case 1:
				snap = NewSnapshot(nil, 1)
			default:
				snap = NewSnapshot(records, 1)
			}
			fl := matchFleet(rng)
			if fl != nil && rng.IntN(3) == 0 {
				p := fleet.Default()
				p.Name = "refusing policy"
				p.Rules = []fleet.Rule{{Line: 3, Text: "unit utr-drone never",
					Cond: []fleet.Condition{{Attr: fleet.AttrUnit, Value: "utr-drone"}}, Act: fleet.Action{Verb: fleet.VerbNever}}}
				if rng.IntN(2) == 0 {
					p.Ceiling = fleet.Ceiling{Set: true, Metres: float64(rng.IntN(60)) - 20, Ref: "AGL"}
				}
				fl.Policy = p
			}
			p := orb.Point{4.8 + (rng.Float64()-0.5)/50, 52.3 + (rng.Float64()-0.5)/50}
			q := geo.PositionQuery{Point: p, At: now}
			f := Flight{Unit: "UTR-DRONE", Kind: FlightPosition, Point: p, Purpose: PurposeForensic}
			if rng.IntN(2) == 0 {
				f.Unit = "ZWL-DRONE" // refused by no rule
			}
			switch rng.IntN(4) {
			case 0:
				f.Caveats = geo.CaveatNoAltitude
			case 1:
				f.Height = geo.Band{Lower: -float64(rng.IntN(30)), Upper: 40, Ref: geo.AGL}
			case 2:
				h := float64(rng.IntN(200))
				f.Height = geo.Band{Lower: h, Upper: h, Ref: geo.AMSL}
			default:
				h := float64(rng.IntN(200))
				f.Height = geo.Band{Lower: h, Upper: h, Ref: geo.AGL}
			}
			if rng.IntN(6) == 0 {
				f.Drone = "X1" // not registered
			}
			if rng.IntN(6) == 0 {
				f.Classification = "confidential" // the drone is not known to be cleared for it
			}
			var buf []geo.Hit
			var col geo.Column
			idx.Column(q, &col)
			column := col.At(geo.Altitude{}, nil)
			probe := func(a geo.Altitude) []geo.Hit {
				buf = col.At(a, buf[:0])
				return buf
			}
			got := HighestCleared(column, probe, f, snap, fl, now)
			want := highestClearedRef(column, probe, f, snap, fl, now)
			if got != want {
				t.Fatalf("seed %d case %d: got\n%#v\nwant\n%#v", seed, k, got, want)
			}
			n++
			switch {
			case got.Kind == CeilingBlocked && strings.HasSuffix(got.LimitedBy, " from the ground"):
				blockedByZone++
			case got.Kind == CeilingBlocked:
				blockedByRule++
				ff := f
				ff.Height = geo.Band{Ref: geo.AGL}
				if f.Height.Ref != geo.RefUnknown {
					ff.Height = geo.Band{Lower: min(0, f.Height.Lower), Upper: min(0, f.Height.Lower), Ref: f.Height.Ref}
				}
				if rs, _ := fl.judge(&ff); len(rs) > 1 {
					multiRefusal++
				}
			case got.Kind == CeilingLimited:
				limited++
			}
		}
	}
	t.Logf("%d columns: blocked by a zone %d, by the fleet rules %d (%d for several reasons), limited %d", n, blockedByZone, blockedByRule, multiRefusal, limited)
	if blockedByZone < n/20 || blockedByRule < n/20 || multiRefusal < n/200 || limited < n/20 {
		t.Errorf("blocked by a zone %d, by the fleet rules %d (%d for several reasons), limited %d of %d: too few of some", blockedByZone, blockedByRule, multiRefusal, limited, n)
	}
}
