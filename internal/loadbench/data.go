package loadbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// Routes returns up to n routes of exactly waypoints waypoints: the first
// waypoints of each given route that has that many, in order.
func Routes(all []orb.LineString, waypoints, n int) [][]orb.Point {
	var out [][]orb.Point
	for _, r := range all {
		if len(out) == n {
			break
		}
		if len(r) >= waypoints {
			out = append(out, append([]orb.Point(nil), r[:waypoints]...))
		}
	}
	return out
}

// SeedUnit is the unit whose name Seed gives the i-th unit.
func SeedUnit(i int) string { return fmt.Sprintf("U-%02d", i) }

// Seed issues n exemption records into store, deterministically from seed:
// units U-00 … U-(units-1) hold n/units each (the last the rest), each
// record naming one to three zones of zoneIDs, valid from a day before now
// for a year, up to 120 m AGL, for forensic flights. It returns the number
// issued.
func Seed(ctx context.Context, store exemptions.Store, zoneIDs []string, n, units int, seed uint64, now time.Time) (int, error) {
	if len(zoneIDs) == 0 {
		return 0, fmt.Errorf("seed: no zone ids")
	}
	if units < 1 {
		return 0, fmt.Errorf("seed: units %d: want at least 1", units)
	}
	r := rand.New(rand.NewPCG(seed, seed^0x6e6f666c79))
	from := now.Add(-24 * time.Hour).UTC().Truncate(time.Second)
	for i := range n {
		unit := SeedUnit(min(i/max(1, n/units), units-1))
		zones := make([]string, 1+r.IntN(3))
		for j := range zones {
			zones[j] = zoneIDs[r.IntN(len(zoneIDs))]
		}
		ex := exemptions.Exemption{
			Holder:     exemptions.Holder{Unit: unit},
			ZoneIDs:    dedupe(zones),
			ValidFrom:  from,
			ValidUntil: from.Add(365 * 24 * time.Hour),
			Ceiling:    exemptions.Ceiling{Metres: 120, Ref: geo.AGL},
			Purposes:   []exemptions.Purpose{exemptions.PurposeForensic},
			Conditions: "benchmark record",
			LegalBasis: fmt.Sprintf("BENCH/%05d", i),
			IssuedBy:   "noflybench",
			IssuedAt:   from,
		}
		if err := ex.Validate(func(string) bool { return true }); err != nil {
			return i, fmt.Errorf("seed: record %d: %w", i, err)
		}
		if _, err := store.Create(ctx, exemptions.Request{}, ex); err != nil {
			return i, fmt.Errorf("seed: record %d: %w", i, err)
		}
	}
	return n, nil
}

func dedupe(ids []string) []string {
	out := ids[:0]
	for _, id := range ids {
		seen := false
		for _, o := range out {
			seen = seen || o == id
		}
		if !seen {
			out = append(out, id)
		}
	}
	return out
}
