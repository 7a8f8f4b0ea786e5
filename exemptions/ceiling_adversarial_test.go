package exemptions

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// adversarialRecords draws records the other generators leave out: of
// the flight's unit by selector only, limited to an area, to pilots, to
// drones, expired, not yet valid, with ceilings in WGS84, overriding.
func adversarialRecords(rng *rand.Rand, zones []geo.Zone, now time.Time) []Exemption {
	var records []Exemption
	for i := range rng.IntN(7) {
		ex := *base()
		ex.ID = fmt.Sprintf("EX-%06d", i+1)
		ex.Holder = Holder{Unit: []string{"AMS-DRONE", "RDM-DRONE"}[rng.IntN(2)]}
		ex.ZoneIDs = []string{zones[rng.IntN(len(zones))].ID}
		ex.Area, ex.Purposes = nil, nil
		switch rng.IntN(5) {
		case 0:
			ex.ZoneIDs = nil
			ex.Selector = Selector{Country: "NLD"}
		case 1:
			ex.Selector = Selector{Restrictions: []geo.Restriction{geo.ReqAuthorisation}}
		}
		if rng.IntN(4) == 0 {
			ex.Area = &geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.8, 52.3}, Radius: 200 + rng.Float64()*1500}
		}
		if rng.IntN(5) == 0 {
			ex.Holder.Pilots = []string{[]string{"P1", "P2"}[rng.IntN(2)]}
		}
		if rng.IntN(6) == 0 {
			ex.Holder.Drones = []string{"D1"}
		}
		ex.Override = rng.IntN(4) == 0
		ex.ValidFrom, ex.ValidUntil = now.Add(-time.Hour), now.Add(time.Hour)
		switch rng.IntN(8) {
		case 0:
			ex.ValidFrom = now.Add(time.Minute)
		case 1:
			ex.ValidUntil = now.Add(-time.Minute)
		case 2:
			ex.ValidUntil = now // inclusive
		}
		ex.Ceiling = Ceiling{Metres: float64(rng.IntN(200)) + float64(rng.IntN(4))/4,
			Ref: []geo.VerticalRef{geo.AGL, geo.AMSL, geo.WGS84}[rng.IntN(3)]}
		records = append(records, ex)
	}
	return records
}

// TestHighestClearedAdversarial: HighestCleared answers as the reference
// for columns of areas and of route legs (not only positions), zones
// active part of the time, richer records (selectors, areas, pilots,
// drones, expired) and flights in WGS84.
func TestHighestClearedAdversarial(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	sets := 1500
	if testing.Short() {
		sets = 300
	}
	n, exLimited := 0, 0
	kinds := map[CeilingKind]int{}
	for seed := range uint64(sets) {
		rng := rand.New(rand.NewPCG(seed, 991))
		zones := matchZones(rng, 1+rng.IntN(10))
		for i := range zones {
			switch rng.IntN(5) {
			case 0: // active now, for a while
				zones[i].Applicability.Periods = []geo.Period{{Start: now.Add(-time.Hour), End: now.Add(time.Hour)}}
			case 1: // not active now
				zones[i].Applicability.Periods = []geo.Period{{Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)}}
			}
		}
		idx, err := geo.NewIndex(zones)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		records := adversarialRecords(rng, zones, now)
		for k := range 10 {
			var snap *Snapshot
			if rng.IntN(6) > 0 {
				snap = NewSnapshot(records, 1)
			}
			fl := matchFleet(rng)
			p := orb.Point{4.8 + (rng.Float64()-0.5)/50, 52.3 + (rng.Float64()-0.5)/50}
			f := Flight{Unit: []string{"AMS-DRONE", "RDM-DRONE", "UTR-DRONE"}[rng.IntN(3)], Kind: FlightPosition, Point: p,
				Purpose: PurposeForensic, Pilot: []string{"", "P1", "P2"}[rng.IntN(3)]}
			refs := []geo.VerticalRef{geo.AGL, geo.AMSL, geo.WGS84}
			switch rng.IntN(4) {
			case 0:
				f.Caveats = geo.CaveatNoAltitude
			case 1:
				f.Height = geo.Band{Lower: -float64(rng.IntN(20)), Upper: 40, Ref: refs[rng.IntN(3)]}
			default:
				h := float64(rng.IntN(200))
				f.Height = geo.Band{Lower: h, Upper: h, Ref: refs[rng.IntN(3)]}
			}
			if rng.IntN(4) == 0 {
				f.Drone = "D1"
			}
			cat := geo.Category(0)
			if rng.IntN(6) == 0 {
				cat = []geo.Category{1, 2, 4}[rng.IntN(3)]
			}
			var probe func(geo.Altitude) []geo.Hit
			switch rng.IntN(2) {
			case 0:
				area := geo.Shape{Kind: geo.ShapeCircle, Center: p, Radius: 50 + rng.Float64()*500}
				f.Kind, f.Area = FlightArea, area
				probe = func(a geo.Altitude) []geo.Hit {
					hits, err := idx.CheckArea(geo.AreaQuery{Area: area, Band: geo.Band{Lower: a.Metres, Upper: a.Metres, Ref: a.Ref},
						Window: geo.TimeWindow{Start: now, End: now.Add(30 * time.Minute)}, Category: cat})
					if err != nil {
						t.Fatal(err)
					}
					return hits
				}
			default:
				p2 := orb.Point{p[0] + (rng.Float64()-0.5)/100, p[1] + (rng.Float64()-0.5)/100}
				rq := geo.RouteQuery{Waypoints: []geo.Waypoint{{Point: p}, {Point: p2}}, Buffer: rng.Float64() * 100,
					Window: geo.TimeWindow{Start: now, End: now.Add(30 * time.Minute)}, Category: cat}
				col, err := idx.RouteColumn(rq)
				if err != nil {
					t.Fatal(err)
				}
				f.Kind, f.Route = FlightRoute, []orb.Point{p, p2}
				var buf []geo.Hit
				probe = func(a geo.Altitude) []geo.Hit {
					hits, err := col.AppendLeg(buf, 0, a)
					if err != nil {
						t.Fatal(err)
					}
					buf = hits
					return hits
				}
			}
			column := append([]geo.Hit(nil), probe(geo.Altitude{})...)
			got := HighestCleared(column, probe, f, snap, fl, now)
			want := highestClearedRef(column, probe, f, snap, fl, now)
			if got != want {
				t.Fatalf("seed %d case %d: got\n%#v\nwant\n%#v", seed, k, got, want)
			}
			n++
			kinds[got.Kind]++
			if strings.HasPrefix(got.LimitedBy, "the ceiling of exemption") {
				exLimited++
			}
		}
	}
	t.Logf("%d columns: answers by kind %v, %d limited by an exemption's ceiling", n, kinds, exLimited)
	if kinds[CeilingBlocked] < n/50 || kinds[CeilingLimited] < n/50 || kinds[CeilingUnlimited] < n/100 || exLimited < n/200 {
		t.Errorf("answers by kind %v, %d limited by an exemption: too few of some", kinds, exLimited)
	}
}
