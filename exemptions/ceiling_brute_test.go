package exemptions

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// TestHighestClearedSafeByBruteForce: wherever HighestCleared says a
// flight may climb to (limited at M metres, or unlimited), DecideFleet
// decides the flight may fly at every height sampled from the ground to M
// (every quarter metre, and a millimetre either side of every zone limit
// and exemption ceiling in the flight's reference); where it says blocked,
// DecideFleet refuses the flight at the ground. A brute-force check of the
// answer's safety, independent of the reference implementation.
func TestHighestClearedSafeByBruteForce(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	sets := 400
	if testing.Short() {
		sets = 80
	}
	checked := 0
	for seed := range uint64(sets) {
		rng := rand.New(rand.NewPCG(seed, 4242))
		zones := matchZones(rng, 1+rng.IntN(8))
		idx, err := geo.NewIndex(zones)
		if err != nil {
			t.Fatal(err)
		}
		records := adversarialRecords(rng, zones, now)
		records = append(records, matchRecords(rng, zones, now)...)
		for i := range records {
			records[i].ID = records[i].ID + string(rune('a'+i))
		}
		for k := range 5 {
			var snap *Snapshot
			if rng.IntN(6) > 0 {
				snap = NewSnapshot(records, 1)
			}
			fl := matchFleet(rng)
			p := orb.Point{4.8 + (rng.Float64()-0.5)/50, 52.3 + (rng.Float64()-0.5)/50}
			q := geo.PositionQuery{Point: p, At: now}
			f := Flight{Unit: []string{"AMS-DRONE", "RDM-DRONE"}[rng.IntN(2)], Kind: FlightPosition, Point: p,
				Purpose: PurposeForensic, Pilot: []string{"", "P1"}[rng.IntN(2)]}
			ref := []geo.VerticalRef{geo.AGL, geo.AMSL, geo.WGS84}[rng.IntN(3)]
			ground := 0.0
			if rng.IntN(4) == 0 {
				ground = -float64(rng.IntN(20))
			}
			f.Height = geo.Band{Lower: ground, Upper: ground, Ref: ref}
			if rng.IntN(4) == 0 { // no altitude: answered in AGL from 0
				f.Height, f.Caveats, ref, ground = geo.Band{}, geo.CaveatNoAltitude, geo.AGL, 0
			}
			var col geo.Column
			idx.Column(q, &col)
			column := col.At(geo.Altitude{}, nil)
			var buf []geo.Hit
			probe := func(a geo.Altitude) []geo.Hit {
				buf = col.At(a, buf[:0])
				return buf
			}
			got := HighestCleared(column, probe, f, snap, fl, now)
			if got.Ref != ref {
				t.Fatalf("seed %d case %d: answer in %v, flight in %v", seed, k, got.Ref, ref)
			}
			mayFly := func(h float64) bool {
				ff := f
				ff.Height = geo.Band{Lower: h, Upper: h, Ref: ref}
				ff.Caveats = 0
				hits := col.At(geo.Altitude{Metres: h, Ref: ref}, nil)
				return DecideFleet(hits, ff, snap, fl, now).Verdict.MayFly()
			}
			var hi float64
			switch got.Kind {
			case CeilingBlocked:
				if mayFly(ground) {
					t.Fatalf("seed %d case %d: blocked (%s), but DecideFleet clears the ground %v m %v", seed, k, got.LimitedBy, ground, ref)
				}
				continue
			case CeilingLimited:
				hi = got.Metres
			default:
				hi = 600
			}
			heights := []float64{}
			for h := ground; h <= hi; h += 0.25 {
				heights = append(heights, h)
			}
			for _, z := range zones {
				for _, v := range z.Volumes {
					for _, l := range []geo.Limit{v.Lower, v.Upper} {
						if !l.Open {
							heights = append(heights, l.Metres-1e-3, l.Metres, l.Metres+1e-3)
						}
					}
				}
			}
			for _, r := range records {
				heights = append(heights, r.Ceiling.Metres-1e-3, r.Ceiling.Metres, r.Ceiling.Metres+1e-3)
			}
			for _, h := range heights {
				if h < ground || h > hi || math.IsNaN(h) {
					continue
				}
				if !mayFly(h) {
					t.Fatalf("seed %d case %d: HighestCleared %+v, but DecideFleet refuses the flight at %v m %v", seed, k, got, h, ref)
				}
				checked++
			}
		}
	}
	t.Logf("%d heights decided", checked)
}
