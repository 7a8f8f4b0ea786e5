package exemptions

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// randomZones draws n circles around (4.8, 52.3) with random heights,
// references and restrictions; every volume is at least 2 m thick.
func randomZones(rng *rand.Rand, n int) []geo.Zone {
	restr := []geo.Restriction{geo.Prohibited, geo.ReqAuthorisation, geo.Conditional}
	zones := make([]geo.Zone, n)
	for i := range zones {
		lower := geo.OpenLimit
		if rng.IntN(5) > 0 {
			ref := geo.AGL
			if rng.IntN(4) == 0 {
				ref = geo.AMSL
			}
			lower = geo.Limit{Metres: float64(rng.IntN(300)) + float64(rng.IntN(4))/4, Ref: ref}
		}
		upper := geo.OpenLimit
		if rng.IntN(3) > 0 {
			ref := lower.Ref
			base := lower.Metres
			if lower.Open {
				ref, base = geo.AGL, 0
			}
			upper = geo.Limit{Metres: base + 2 + float64(rng.IntN(300)), Ref: ref}
		}
		zones[i] = geo.Zone{
			ID: fmt.Sprintf("Z-%02d", i), Country: "NLD", Restriction: restr[rng.IntN(len(restr))],
			Volumes: []geo.Volume{{
				Shape: geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.8 + (rng.Float64()-0.5)/50, 52.3 + (rng.Float64()-0.5)/50}, Radius: 200 + rng.Float64()*2000},
				Lower: lower, Upper: upper,
			}},
		}
	}
	return zones
}

// TestHighestClearedProperty: for random zone sets, exemptions and points,
// a check at the reported ceiling is cleared and a check a metre above is
// not (unless unlimited); a blocked flight is refused at the ground; every
// whole metre below the ceiling is cleared.
func TestHighestClearedProperty(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	kinds := map[CeilingKind]int{}
	defer func() {
		// Each kind of answer must have been put to the test.
		if kinds[CeilingBlocked] < 10 || kinds[CeilingLimited] < 10 || kinds[CeilingUnlimited] < 10 {
			t.Errorf("answers by kind %v: too few of some", kinds)
		}
	}()
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 14))
		zones := randomZones(rng, 1+rng.IntN(8))
		idx, err := geo.NewIndex(zones)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		var records []Exemption
		for i := range rng.IntN(3) {
			ex := *base()
			ex.ID = fmt.Sprintf("EX-%06d", i+1)
			ex.Holder = Holder{Unit: "AMS-DRONE"}
			ex.ZoneIDs = []string{zones[rng.IntN(len(zones))].ID}
			ex.Area, ex.Purposes = nil, nil
			ex.ValidFrom, ex.ValidUntil = now.Add(-time.Hour), now.Add(time.Hour)
			ex.Ceiling = Ceiling{Metres: float64(rng.IntN(200)), Ref: geo.AGL}
			records = append(records, ex)
		}
		snap := NewSnapshot(records, 1)
		var fl *Fleet
		if rng.IntN(2) == 0 {
			fl = &Fleet{Ceiling: DefaultCeiling}
		}
		p := orb.Point{4.8 + (rng.Float64()-0.5)/50, 52.3 + (rng.Float64()-0.5)/50}
		probe := func(a geo.Altitude) []geo.Hit {
			return idx.CheckPosition(geo.PositionQuery{Point: p, Alt: a, At: now}, nil)
		}
		f := Flight{Unit: "AMS-DRONE", Kind: FlightPosition, Point: p}
		c := HighestCleared(probe(geo.Altitude{}), probe, f, snap, fl, now)
		at := func(h float64) Result {
			g := f
			g.Height = geo.Band{Lower: h, Upper: h, Ref: geo.AGL}
			return DecideFleet(probe(geo.Altitude{Metres: h, Ref: geo.AGL}), g, snap, fl, now)
		}
		name := fmt.Sprintf("seed %d: %v", seed, c)
		kinds[c.Kind]++
		switch c.Kind {
		case CeilingBlocked:
			if r := at(0); r.Verdict.MayFly() {
				t.Errorf("%s: but the ground is %v", name, r.Verdict)
			}
		case CeilingLimited:
			for h := 0.0; h <= c.Metres; h++ {
				if r := at(h); !r.Verdict.MayFly() {
					t.Errorf("%s: but %v m is %v (%v)", name, h, r.Verdict, r.ConflictZones())
					break
				}
			}
			if r := at(c.Metres + 1); r.Verdict.MayFly() {
				t.Errorf("%s: but %v m is %v", name, c.Metres+1, r.Verdict)
			}
			if c.LimitedBy == "" {
				t.Errorf("%s: says nothing of what limits", name)
			}
		case CeilingUnlimited:
			if fl != nil {
				t.Errorf("%s: unlimited under a general ceiling", name)
			}
		default:
			t.Errorf("%s: kind %d", name, c.Kind)
		}
	}
}

func TestHighestCleared(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	circle := geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.76, 52.31}, Radius: 5000}
	zone := func(id string, r geo.Restriction, lower geo.Limit) geo.Zone {
		return geo.Zone{ID: id, Country: "NLD", Restriction: r, Volumes: []geo.Volume{{Shape: circle, Lower: lower, Upper: geo.OpenLimit}}}
	}
	ctr := zone("NL-EHAM-CTR", geo.ReqAuthorisation, geo.Limit{Metres: 45, Ref: geo.AGL})
	ex := *base()
	ex.ID, ex.Holder, ex.ZoneIDs, ex.Area, ex.Purposes = "EX-000001", Holder{Unit: "AMS-DRONE"}, []string{"NL-EHAM-CTR"}, nil, nil
	ex.ValidFrom, ex.ValidUntil, ex.Ceiling = now.Add(-time.Hour), now.Add(time.Hour), Ceiling{Metres: 60, Ref: geo.AGL}
	tests := []struct {
		name  string
		zones []geo.Zone
		ex    []Exemption
		fl    *Fleet
		ref   geo.VerticalRef
		want  string
	}{
		{name: "zone from 45 m", zones: []geo.Zone{ctr}, fl: &Fleet{Ceiling: DefaultCeiling},
			want: "You may fly here up to 44 m AGL (limited by NL-EHAM-CTR from 45 m AGL)"},
		{name: "exemption to 60 m", zones: []geo.Zone{ctr}, ex: []Exemption{ex}, fl: &Fleet{Ceiling: DefaultCeiling},
			want: "You may fly here up to 60 m AGL (limited by the ceiling of exemption EX-000001, 60 m AGL)"},
		{name: "general ceiling", zones: []geo.Zone{zone("HIGH", geo.Prohibited, geo.Limit{Metres: 300, Ref: geo.AGL})}, fl: &Fleet{Ceiling: DefaultCeiling},
			want: "You may fly here up to 120 m AGL (limited by the general ceiling, 120 m AGL)"},
		{name: "from the ground", zones: []geo.Zone{zone("NL-PROHIBITED", geo.Prohibited, geo.OpenLimit)}, fl: &Fleet{Ceiling: DefaultCeiling},
			want: "Blocked from the ground (NL-PROHIBITED from the ground)"},
		{name: "conditional zone informs", zones: []geo.Zone{zone("COND", geo.Conditional, geo.OpenLimit)},
			want: "No ceiling known"},
		{name: "AMSL zone, AGL flight: at its lowest", zones: []geo.Zone{zone("AMSL", geo.Prohibited, geo.Limit{Metres: 9000, Ref: geo.AMSL})},
			want: "You may fly here up to 149 m AGL (limited by AMSL from 9000 m AMSL)"},
		{name: "policy refuses", zones: []geo.Zone{ctr}, fl: &Fleet{Ceiling: DefaultCeiling, Registry: RegistryEnforced},
			ref: geo.AGL, want: "Blocked from the ground (registry: drone X1 is not registered)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			idx, err := geo.NewIndex(tc.zones)
			if err != nil {
				t.Fatal(err)
			}
			p := orb.Point{4.76, 52.31}
			probe := func(a geo.Altitude) []geo.Hit {
				return idx.CheckPosition(geo.PositionQuery{Point: p, Alt: a, At: now}, nil)
			}
			f := Flight{Unit: "AMS-DRONE", Kind: FlightPosition, Point: p}
			if tc.ref != 0 {
				f.Drone = "X1"
			}
			c := HighestCleared(probe(geo.Altitude{}), probe, f, NewSnapshot(tc.ex, 1), tc.fl, now)
			if got := c.String(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if strings.Contains(tc.name, "AMSL") && c.Why == "" {
				t.Error("no word on the references")
			}
			if c.Kind == CeilingLimited && math.Mod(c.Metres, 1) != 0 {
				t.Errorf("ceiling %v not in whole metres", c.Metres)
			}
		})
	}
}
