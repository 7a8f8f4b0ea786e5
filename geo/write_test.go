package geo

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// richZones is randomZones with everything the writers carry: names,
// countries, reasons, messages of several lines, authorities, regulation
// exemptions, limits in every reference, and schedules in UTC offsets and,
// when tz, IANA time zones.
func richZones(r *rand.Rand, n int, tz bool) []Zone {
	zones := randomZones(r, n)
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err)
	}
	for i := range zones {
		z := &zones[i]
		z.Name = fmt.Sprintf("Zone «%d» \"quoted\" <b>", i)
		z.Country = "NLD"
		z.Reasons = []string{"AIR_TRAFFIC", "OTHER"}[:1+r.IntN(2)]
		z.Message = fmt.Sprintf("Line one of %d.\nLine two\twith a tab.", i)
		z.Exemptions = Exemptions(r.IntN(3))
		if r.IntN(3) == 0 {
			z.Authorities = []Authority{{Name: "ILT", Email: "drones@example.nl", SiteURL: "https://example.nl/?a=1&b=2"}}
		}
		for j := range z.Volumes {
			v := &z.Volumes[j]
			if !v.Upper.Open && r.IntN(3) == 0 {
				v.Upper.Metres += 0.3048 * float64(r.IntN(1000)) // not whole metres
				v.Upper.Ref = WGS84
			}
		}
		for j := range z.Applicability.Periods {
			for k := range z.Applicability.Periods[j].Schedule {
				d := &z.Applicability.Periods[j].Schedule[k]
				switch {
				case tz && r.IntN(2) == 0:
					d.Loc = ams
				case r.IntN(2) == 0:
					d.Offset = int32(r.IntN(28)-14) * 1800
				}
			}
		}
	}
	return zones
}

// sameChecks compares the answers of two zone sets to random positions
// and routes over them.
func sameChecks(t *testing.T, r *rand.Rand, a, b []Zone, n int) {
	t.Helper()
	ia, ib := mustIndex(t, a...), mustIndex(t, b...)
	describe := func(h []Hit) []string {
		var out []string
		for _, x := range h {
			out = append(out, fmt.Sprintf("%s%v %.6f %v %v–%v %v", x.Zone.ID, x.Legs, x.Distance, x.Band, x.When.Start, x.When.End, x.Caveats))
		}
		slices.Sort(out)
		return out
	}
	hits := 0
	defer func() {
		if hits < n/10 {
			t.Errorf("only %d of %d positions hit a zone: the comparison says little", hits, n)
		}
	}()
	for i := 0; i < n; i++ {
		q := PositionQuery{Point: randomPoint(r), At: t0.Add(time.Duration(r.IntN(6000)-3000) * time.Minute)}
		if r.IntN(2) == 0 {
			q.Alt = Altitude{Metres: float64(r.IntN(400)), Ref: VerticalRef(1 + r.IntN(3))}
		}
		got, want := describe(ib.CheckPosition(q, nil)), describe(ia.CheckPosition(q, nil))
		if len(want) > 0 {
			hits++
		}
		if !slices.Equal(got, want) {
			t.Fatalf("position %+v: read back %v, original %v", q, got, want)
		}
	}
	for i := 0; i < n/10; i++ {
		q := randomRoute(r)
		ha, err := ia.CheckRoute(q)
		if err != nil {
			t.Fatal(err)
		}
		hb, err := ib.CheckRoute(q)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := describe(hb), describe(ha); !slices.Equal(got, want) {
			t.Fatalf("route %d: read back %v, original %v", i, got, want)
		}
	}
}

// TestConvertChecksProperty: a zone set written in nofly's schema (as
// nofly zones convert --to nofly writes it) or as ED-318 and read back
// answers every check as the original does, and reads as the same zones.
func TestConvertChecksProperty(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer, []Zone) error
		tz    bool
	}{
		{"nofly", func(b *bytes.Buffer, z []Zone) error { return WriteNofly(b, z) }, true},
		{"ed318", func(b *bytes.Buffer, z []Zone) error { return WriteED318(b, z) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(len(tc.name))))
			zones := richZones(r, 300, tc.tz)
			var b bytes.Buffer
			if err := tc.write(&b, zones); err != nil {
				t.Fatal(err)
			}
			back, err := Read(bytes.NewReader(b.Bytes()), "out.json")
			if err != nil {
				t.Fatal(err)
			}
			if len(back) != len(zones) {
				t.Fatalf("read back %d zones, wrote %d", len(back), len(zones))
			}
			for i := range zones {
				if got, want := mappedSummary(&back[i]), mappedSummary(&zones[i]); !strings.HasPrefix(got, strings.TrimSuffix(want, `format=""`)) {
					t.Fatalf("zone %d:\nread back %s\noriginal  %s", i, got, want)
				}
				if !slices.Equal(back[i].Authorities, zones[i].Authorities) || back[i].Exemptions != zones[i].Exemptions {
					t.Fatalf("zone %d: authorities or exemptions differ", i)
				}
			}
			sameChecks(t, r, zones, back, 3000)
		})
	}
}

// TestConvertMappedFiles: the shipped mapping's test file and the KML test
// files, written in either format and read back, answer as read.
func TestConvertMappedFiles(t *testing.T) {
	m, err := ReadMappingFile("../data/mappings/de-dipul.mapping")
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []struct {
		path string
		opts ReadOptions
	}{{"../examples/de-dipul-layer.geojson", ReadOptions{Mapping: m}}, {"testdata/mapped/zones.kml", ReadOptions{}}, {"testdata/mapped/schema.kml", ReadOptions{}}} {
		zones, err := ReadPathsWith(src.opts, src.path)
		if err != nil {
			t.Fatal(err)
		}
		for _, write := range []func(*bytes.Buffer, []Zone) error{
			func(b *bytes.Buffer, z []Zone) error { return WriteNofly(b, z) },
			func(b *bytes.Buffer, z []Zone) error { return WriteED318(b, z) },
		} {
			var b bytes.Buffer
			if err := write(&b, zones); err != nil {
				t.Fatal(err)
			}
			back, err := Read(bytes.NewReader(b.Bytes()), "out.json")
			if err != nil {
				t.Fatalf("%s: %v\n%s", src.path, err, b.String())
			}
			sameChecksAround(t, rand.New(rand.NewPCG(3, 4)), zones, back)
		}
	}
}

// sameChecksAround compares checks at random positions within a random
// zone's bounds (grown by a tenth), at heights in every reference.
func sameChecksAround(t *testing.T, r *rand.Rand, a, b []Zone) {
	t.Helper()
	ia, ib := mustIndex(t, a...), mustIndex(t, b...)
	hits := 0
	for i := 0; i < 2000; i++ {
		bound := a[r.IntN(len(a))].Bound()
		bound = bound.Pad(0.1 * (bound.Max[0] - bound.Min[0]))
		q := PositionQuery{
			Point: [2]float64{bound.Min[0] + r.Float64()*(bound.Max[0]-bound.Min[0]), bound.Min[1] + r.Float64()*(bound.Max[1]-bound.Min[1])},
			At:    time.Date(2026, 1+time.Month(r.IntN(12)), 1+r.IntN(28), r.IntN(24), 0, 0, 0, time.UTC),
			Alt:   Altitude{Metres: float64(r.IntN(4000)), Ref: VerticalRef(1 + r.IntN(3))},
		}
		got, want := ib.CheckPosition(q, nil), ia.CheckPosition(q, nil)
		if len(want) > 0 {
			hits++
		}
		if !slices.Equal(hitLegs(got), hitLegs(want)) {
			t.Fatalf("position %+v: read back %v, original %v", q, hitLegs(got), hitLegs(want))
		}
	}
	if hits < 100 {
		t.Errorf("only %d of 2000 positions hit a zone: the comparison says little", hits)
	}
}

// TestWriteRefuses: a writer refuses what its format cannot hold, naming
// the zone, and writes nothing.
func TestWriteRefuses(t *testing.T) {
	gantrisch, err := ReadFile("testdata/zones/gantrisch-ed269.json")
	if err != nil {
		t.Fatal(err)
	}
	example, err := ReadFile("testdata/zones/nofly-example.geojson")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteNofly(&b, gantrisch); err == nil || !strings.Contains(err.Error(), "class: U-space class") || b.Len() > 0 {
		t.Errorf("nofly, variants: %v", err)
	}
	if err := WriteED318(&b, example); err == nil || !strings.Contains(err.Error(), "feature 0 (NL-TEST-PARK): applicability.periods[0].schedule[0]: times in time zone Europe/Amsterdam") || b.Len() > 0 {
		t.Errorf("ed318, time zone: %v", err)
	}
	daylight := []Zone{{ID: "D", Restriction: Prohibited, Volumes: example[0].Volumes,
		Applicability: Applicability{Periods: []Period{{Schedule: []DailyPeriod{{Days: AllDays, StartEvent: "SR", End: daySeconds}}}}}}}
	if err := WriteNofly(&b, daylight); err == nil || !strings.Contains(err.Error(), "daylight event") {
		t.Errorf("nofly, daylight: %v", err)
	}
	if err := WriteED318(&b, daylight); err != nil {
		t.Errorf("ed318, daylight: %v", err)
	}
}
