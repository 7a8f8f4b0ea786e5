package exemptions

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/fleet"
	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/benchdata"
)

// randomLimit is a lower or upper limit: open now and then, else in AGL,
// AMSL or WGS84 at whole, quarter or millimetre-off heights (so that
// breaks meet and fall between whole metres).
func randomLimit(rng *rand.Rand, base float64) geo.Limit {
	if rng.IntN(10) == 0 {
		return geo.OpenLimit
	}
	refs := []geo.VerticalRef{geo.AGL, geo.AGL, geo.AGL, geo.AGL, geo.AGL, geo.AMSL, geo.WGS84}
	m := base + float64(rng.IntN(150))
	switch rng.IntN(4) {
	case 0:
		m += float64(rng.IntN(4)) / 4
	case 1:
		m += 0.001
	}
	return geo.Limit{Metres: m, Ref: refs[rng.IntN(len(refs))]}
}

// matchZones draws n zones around (4.8, 52.3): one to three volumes each,
// not all of them over the points the test checks, of every restriction.
func matchZones(rng *rand.Rand, n int) []geo.Zone {
	restr := []geo.Restriction{geo.Prohibited, geo.ReqAuthorisation, geo.Conditional, geo.NoRestriction}
	zones := make([]geo.Zone, n)
	for i := range zones {
		z := geo.Zone{ID: fmt.Sprintf("Z-%02d", n-i), Country: "NLD", Restriction: restr[rng.IntN(len(restr))]}
		if rng.IntN(6) == 0 {
			z.Categories = geo.Category(1 + rng.IntN(3))
		}
		for range 1 + rng.IntN(3) {
			lower := randomLimit(rng, 0)
			upper := geo.OpenLimit
			if rng.IntN(3) > 0 {
				base := 2.0
				if !lower.Open {
					base += lower.Metres
				}
				upper = randomLimit(rng, base)
				if upper.Open || (!lower.Open && upper.Ref != lower.Ref && rng.IntN(2) == 0) {
					upper = geo.Limit{Metres: base + float64(rng.IntN(200)), Ref: lower.Ref}
					if lower.Open {
						upper.Ref = geo.AGL
					}
				}
			}
			c := orb.Point{4.8 + (rng.Float64()-0.5)/50, 52.3 + (rng.Float64()-0.5)/50}
			z.Volumes = append(z.Volumes, geo.Volume{
				Shape: geo.Shape{Kind: geo.ShapeCircle, Center: c, Radius: 300 + rng.Float64()*1500},
				Lower: lower, Upper: upper,
			})
		}
		zones[i] = z
	}
	return zones
}

// matchRecords draws exemptions of two units naming the zones, with
// ceilings in several references, some not yet valid.
func matchRecords(rng *rand.Rand, zones []geo.Zone, now time.Time) []Exemption {
	var records []Exemption
	for i := range rng.IntN(5) {
		ex := *base()
		ex.ID = fmt.Sprintf("EX-%06d", i+1)
		ex.Holder = Holder{Unit: []string{"AMS-DRONE", "RDM-DRONE"}[rng.IntN(2)]}
		ex.ZoneIDs = []string{zones[rng.IntN(len(zones))].ID}
		if rng.IntN(3) == 0 {
			ex.ZoneIDs = append(ex.ZoneIDs, zones[rng.IntN(len(zones))].ID)
		}
		ex.Area, ex.Purposes = nil, nil
		if rng.IntN(4) == 0 {
			ex.Purposes = []Purpose{PurposeTrafficAccident}
		}
		ex.ValidFrom, ex.ValidUntil = now.Add(-time.Hour), now.Add(time.Hour)
		if rng.IntN(8) == 0 {
			ex.ValidFrom = now.Add(time.Minute)
		}
		ex.Ceiling = Ceiling{Metres: float64(rng.IntN(200)) + float64(rng.IntN(2))/2, Ref: []geo.VerticalRef{geo.AGL, geo.AGL, geo.AMSL}[rng.IntN(3)]}
		records = append(records, ex)
	}
	return records
}

// matchFleet draws fleet rules: none, the general ceiling in AGL or AMSL,
// none kept, a policy of its own, a registry enforced, warned or offline.
func matchFleet(rng *rand.Rand) *Fleet {
	if rng.IntN(6) == 0 {
		return nil
	}
	fl := &Fleet{Registry: RegistryMode(rng.IntN(3))}
	switch rng.IntN(5) {
	case 0, 1:
		fl.Ceiling = DefaultCeiling
	case 2:
		fl.Ceiling = geo.Altitude{Metres: float64(30 + rng.IntN(200)), Ref: geo.AMSL}
	case 3:
		fl.Ceiling = geo.Altitude{Metres: float64(rng.IntN(150)) + 0.5, Ref: geo.AGL}
	}
	if rng.IntN(5) == 0 {
		p := fleet.Default()
		p.Name = "test policy"
		p.Ceiling = fleet.Ceiling{Set: true, Metres: float64(20 + rng.IntN(150)), Ref: []string{"AGL", "AMSL"}[rng.IntN(2)]}
		fl.Policy = p
	}
	return fl
}

// TestHighestClearedMatchesReference: HighestCleared answers exactly as
// the reference (highestClearedRef, every field and text) on 20,000
// random columns: zones of one to three volumes in every reference and
// restriction, exemptions of the flight's unit and of another (or none
// kept), fleet rules with ceilings in either reference, policies and
// registry modes, flights at every reference, from below the ground,
// with or without a drone, columns from CheckPosition and from a Column.
func TestHighestClearedMatchesReference(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	n, sets, perSet := 0, 2000, 10
	if testing.Short() {
		sets = 400
	}
	kinds := map[CeilingKind]int{}
	zoneLimited, exLimited := 0, 0
	for seed := range uint64(sets) {
		rng := rand.New(rand.NewPCG(seed, 77))
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
			if rng.IntN(6) == 0 {
				q.Category = geo.Category(1 + rng.IntN(3))
			}
			f := Flight{Unit: []string{"AMS-DRONE", "RDM-DRONE", "UTR-DRONE"}[rng.IntN(3)], Kind: FlightPosition, Point: p, Purpose: PurposeForensic}
			switch rng.IntN(4) {
			case 0:
				f.Caveats = geo.CaveatNoAltitude
			case 1:
				f.Height = geo.Band{Lower: -float64(rng.IntN(20)), Upper: 40, Ref: geo.AGL}
			case 2:
				h := float64(rng.IntN(200))
				f.Height = geo.Band{Lower: h, Upper: h, Ref: geo.AMSL}
			default:
				h := float64(rng.IntN(200))
				f.Height = geo.Band{Lower: h, Upper: h, Ref: geo.AGL}
			}
			if rng.IntN(10) == 0 {
				f.Drone = "X1" // not registered
			}
			var column []geo.Hit
			var probe func(geo.Altitude) []geo.Hit
			if rng.IntN(2) == 0 {
				probe = func(a geo.Altitude) []geo.Hit {
					qa := q
					qa.Alt = a
					return idx.CheckPosition(qa, nil)
				}
				column = probe(geo.Altitude{})
			} else {
				var col geo.Column
				idx.Column(q, &col)
				column = col.At(geo.Altitude{}, nil)
				var buf []geo.Hit
				probe = func(a geo.Altitude) []geo.Hit {
					buf = col.At(a, buf[:0])
					return buf
				}
			}
			got := HighestCleared(column, probe, f, snap, fl, now)
			want := highestClearedRef(column, probe, f, snap, fl, now)
			if got != want {
				t.Fatalf("seed %d case %d: got\n%#v\nwant\n%#v", seed, k, got, want)
			}
			n++
			kinds[got.Kind]++
			if got.Zone != "" {
				zoneLimited++
			}
			if strings.HasPrefix(got.LimitedBy, "the ceiling of exemption") {
				exLimited++
			}
		}
	}
	t.Logf("%d columns: answers by kind %v, %d limited by a zone, %d by an exemption's ceiling", n, kinds, zoneLimited, exLimited)
	if kinds[CeilingBlocked] < n/50 || kinds[CeilingLimited] < n/50 || kinds[CeilingUnlimited] < n/100 || zoneLimited < n/50 || exLimited < n/200 {
		t.Errorf("answers by kind %v, %d limited by a zone, %d by an exemption: too few of some", kinds, zoneLimited, exLimited)
	}
}

// TestHighestClearedMatchesReferenceShared: on the shared 50,000-zone set
// (NOFLY_BENCH_DATA; skipped without it), HighestCleared answers as the
// reference at 4,000 of its points, for flights at several heights and
// references, with exemptions of the unit naming zones of the column and
// without, under the general ceiling and a policy's own.
func TestHighestClearedMatchesReferenceShared(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the shared set")
	}
	dir, err := benchdata.SharedDir()
	if err != nil {
		t.Skip(err)
	}
	set, err := benchdata.SharedSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	zones, err := geo.ReadFile(set.ZonesPath(50_000))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := geo.NewIndex(zones)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(5, 50))
	kinds := map[CeilingKind]int{}
	pts := set.Points[:min(len(set.Points), 4000)]
	var col geo.Column
	var buf []geo.Hit
	for i, p := range pts {
		q := geo.PositionQuery{Point: p, At: now}
		idx.Column(q, &col)
		column := col.At(geo.Altitude{}, nil)
		probe := func(a geo.Altitude) []geo.Hit {
			buf = col.At(a, buf[:0])
			return buf
		}
		var records []Exemption
		for k := range rng.IntN(3) {
			if len(column) == 0 {
				break
			}
			ex := *base()
			ex.ID = fmt.Sprintf("EX-%06d", k+1)
			ex.Holder = Holder{Unit: "U-07"}
			ex.ZoneIDs = []string{column[rng.IntN(len(column))].Zone.ID}
			ex.Area, ex.Purposes = nil, nil
			ex.ValidFrom, ex.ValidUntil = now.Add(-time.Hour), now.Add(time.Hour)
			ex.Ceiling = Ceiling{Metres: float64(rng.IntN(150)), Ref: geo.AGL}
			records = append(records, ex)
		}
		snap := NewSnapshot(records, 1)
		fl := matchFleet(rng)
		f := Flight{Unit: "U-07", Kind: FlightPosition, Point: p, Purpose: PurposeForensic}
		switch rng.IntN(3) {
		case 0:
			f.Height = geo.Band{Lower: 60, Upper: 60, Ref: geo.AGL}
		case 1:
			f.Height = geo.Band{Lower: 60, Upper: 60, Ref: geo.AMSL}
		default:
			f.Caveats = geo.CaveatNoAltitude
		}
		got := HighestCleared(column, probe, f, snap, fl, now)
		want := highestClearedRef(column, probe, f, snap, fl, now)
		if got != want {
			t.Fatalf("point %d %v: got\n%#v\nwant\n%#v", i, p, got, want)
		}
		kinds[got.Kind]++
	}
	t.Logf("%d points: answers by kind %v", len(pts), kinds)
}
