package exemptions

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/nofly-project/nofly/fleet"
	"github.com/nofly-project/nofly/geo"
)

func TestDecideFleet(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	pol, err := fleet.Parse("policy.txt", strings.NewReader("levels regular confidential\nmanufacturer DJI: only regular\n"))
	if err != nil {
		t.Fatal(err)
	}
	dji := &fleet.Drone{Serial: "DJI1", Manufacturer: "DJI", Model: "M30T", Unit: "AMS-DRONE", Status: fleet.StatusActive, Clearance: "confidential"}
	parrot := &fleet.Drone{Serial: "PA1", Manufacturer: "Parrot", Model: "Anafi USA", Unit: "AMS-DRONE", Status: fleet.StatusActive, Clearance: "confidential"}
	with := func(d *fleet.Drone, change func(*fleet.Drone)) *fleet.Drone { c := *d; change(&c); return &c }
	hit := hitIn("NL-EHAM-CTR", geo.ReqAuthorisation, 0)
	ex := *base()
	ex.ID, ex.Holder, ex.ZoneIDs, ex.Area, ex.Purposes = "EX-000001", Holder{Unit: "AMS-DRONE"}, []string{"NL-EHAM-CTR"}, nil, nil
	tests := []struct {
		name     string
		hits     []geo.Hit
		drone    string
		aircraft *fleet.Drone
		cls      string
		mode     RegistryMode
		height   geo.Band
		verdict  Verdict
		refusals []string // Where of each
		warn     string
	}{
		{name: "dji regular", drone: "DJI1", aircraft: dji, verdict: Clear},
		{name: "dji confidential", drone: "DJI1", aircraft: dji, cls: "confidential", verdict: Denied, refusals: []string{"policy.txt:2"}},
		{name: "exemption never overrides the policy", hits: []geo.Hit{hit}, drone: "DJI1", aircraft: dji, cls: "confidential", verdict: Denied, refusals: []string{"policy.txt:2"}},
		{name: "exempted", hits: []geo.Hit{hit}, drone: "DJI1", aircraft: dji, verdict: Exempted},
		{name: "cleared drone confidential", drone: "PA1", aircraft: parrot, cls: "confidential", verdict: Clear},
		{name: "not registered", drone: "X9", verdict: Denied, refusals: []string{"registry"}},
		{name: "not registered, warn", drone: "X9", mode: RegistryWarn, verdict: Clear, warn: "drone X9 is not registered"},
		{name: "retired", drone: "PA1", aircraft: with(parrot, func(d *fleet.Drone) { d.Status = fleet.StatusRetired }), verdict: Denied, refusals: []string{"registry"}},
		{name: "maintenance", drone: "PA1", aircraft: with(parrot, func(d *fleet.Drone) { d.Status = fleet.StatusMaintenance }), verdict: Denied, refusals: []string{"registry"}},
		{name: "other unit", drone: "PA1", aircraft: with(parrot, func(d *fleet.Drone) { d.Unit = "RTM-DRONE" }), verdict: Denied, refusals: []string{"registry"}},
		{name: "above the general ceiling", drone: "PA1", aircraft: parrot, height: geo.Band{Lower: 121, Upper: 121, Ref: geo.AGL}, verdict: Denied, refusals: []string{"ceiling"}},
		{name: "at the general ceiling", drone: "PA1", aircraft: parrot, height: geo.Band{Lower: 120, Upper: 120, Ref: geo.AGL}, verdict: Clear},
		{name: "ceiling in another reference", drone: "PA1", aircraft: parrot, height: geo.Band{Lower: 500, Upper: 500, Ref: geo.AMSL}, verdict: Clear, warn: "cannot be compared"},
		{name: "no drone, confidential", cls: "confidential", verdict: Denied, refusals: []string{"clearance", "policy.txt:2"}},
		// Offline: no registry to hold the drone against, and every answer says so.
		{name: "offline, not registered", drone: "X9", mode: RegistryOffline, verdict: Clear, warn: OfflineWarning},
		{name: "offline, no drone", mode: RegistryOffline, verdict: Clear, warn: OfflineWarning},
		{name: "offline, exempted", hits: []geo.Hit{hit}, drone: "X9", mode: RegistryOffline, verdict: Exempted, warn: OfflineWarning},
		{name: "offline, above the general ceiling", drone: "X9", mode: RegistryOffline, height: geo.Band{Lower: 121, Upper: 121, Ref: geo.AGL}, verdict: Denied, refusals: []string{"ceiling"}, warn: OfflineWarning},
		{name: "offline, confidential: no drone shown cleared", drone: "X9", mode: RegistryOffline, cls: "confidential", verdict: Denied, refusals: []string{"clearance", "policy.txt:2"}, warn: OfflineWarning},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Flight{Unit: "AMS-DRONE", Drone: tc.drone, Aircraft: tc.aircraft, Classification: tc.cls, Kind: FlightPosition, Height: tc.height}
			fl := &Fleet{Policy: pol, Registry: tc.mode, Ceiling: DefaultCeiling}
			r := DecideFleet(tc.hits, f, NewSnapshot([]Exemption{ex}, 1), fl, now)
			if r.Verdict != tc.verdict {
				t.Errorf("verdict %v; want %v (refusals %v)", r.Verdict, tc.verdict, r.Refusals)
			}
			var where []string
			for _, x := range r.Refusals {
				where = append(where, x.Where)
			}
			if strings.Join(where, " ") != strings.Join(tc.refusals, " ") {
				t.Errorf("refusals %v; want %v", r.Refusals, tc.refusals)
			}
			if len(tc.hits) > 0 && len(r.Conflicts) != 1 {
				t.Errorf("conflicts %v: the airspace's answer is kept apart", r.Conflicts)
			}
			if r.Verdict == Denied && len(r.Applied) > 0 {
				t.Errorf("a denied check applies %v", r.AppliedIDs())
			}
			if tc.warn != "" && !strings.Contains(strings.Join(r.Warnings, "\n"), tc.warn) {
				t.Errorf("warnings %q; want %q", r.Warnings, tc.warn)
			}
		})
	}
	// Without a Fleet, Decide keeps none of these rules.
	if r := Decide(nil, Flight{Unit: "AMS-DRONE", Drone: "X9", Classification: "confidential"}, nil, now); r.Verdict != Clear || len(r.Refusals) > 0 {
		t.Errorf("Decide without a fleet: %v %v", r.Verdict, r.Refusals)
	}
}

// GeneralCeiling says what sets the ceiling in force whichever fleet asked
// last: the text kept from the last ceiling is never another's.
func TestGeneralCeilingTextOfItsOwn(t *testing.T) {
	policy := &fleet.Policy{Name: "force.yaml", Ceiling: fleet.Ceiling{Set: true, Metres: 90, Ref: "AGL"}}
	other := &fleet.Policy{Name: "other.yaml", Ceiling: fleet.Ceiling{Set: true, Metres: 90, Ref: "AGL"}}
	fleets := []struct {
		fl   *Fleet
		want string
	}{
		{&Fleet{Ceiling: DefaultCeiling}, "the general ceiling, 120 m AGL"},
		{&Fleet{Ceiling: geo.Altitude{Metres: 120, Ref: geo.AMSL}}, "the general ceiling, 120 m AMSL"},
		{&Fleet{Ceiling: geo.Altitude{Metres: 120.04, Ref: geo.AGL}}, "the general ceiling, 120 m AGL"},
		{&Fleet{Ceiling: geo.Altitude{Metres: 150, Ref: geo.AGL}}, "the general ceiling, 150 m AGL"},
		{&Fleet{Ceiling: geo.Altitude{Metres: math.Copysign(0, -1), Ref: geo.AGL}}, "the general ceiling, -0 m AGL"},
		{&Fleet{Ceiling: geo.Altitude{Metres: 0, Ref: geo.AGL}}, "the general ceiling, 0 m AGL"},
		{&Fleet{Policy: policy, Ceiling: DefaultCeiling}, "the general ceiling of force.yaml, 90 m AGL"},
		{&Fleet{Policy: other, Ceiling: DefaultCeiling}, "the general ceiling of other.yaml, 90 m AGL"},
		{&Fleet{}, ""},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		tc := fleets[rng.IntN(len(fleets))]
		if _, got := tc.fl.GeneralCeiling(); got != tc.want {
			t.Fatalf("%+v: %q, want %q", tc.fl, got, tc.want)
		}
	}
}
