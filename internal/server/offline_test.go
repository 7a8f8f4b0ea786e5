package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/authorisation"
	"github.com/nofly-project/nofly/bundle"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/fleet"
)

// offlinePolicy refuses confidential operations to the foreign make, on
// line 5 of its file.
const offlinePolicy = "# test policy\nlevels regular confidential\nceiling 120 m AGL\n\nmanufacturer DJI: only regular # the minister's rule\n"

// offlineFixture is a noflyd with exemptions of unit AMS, a policy file
// (offlinePolicy), a registry in mode (AMS's drones: a DJI and a Parrot
// cleared confidential, one retired, one in maintenance; RTM's: one) and
// the general ceiling, and an Offline answering from a bundle it exported
// for AMS around the test zones.
func offlineFixture(t *testing.T, mode exemptions.RegistryMode) (*auFixture, *Offline) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.txt")
	if err := os.WriteFile(path, []byte(offlinePolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newAuFleetFixture(t, testSigningKey, &FleetConfig{PolicyFile: path, Registry: mode, Ceiling: exemptions.DefaultCeiling})
	ctx := context.Background()
	ds := f.store.(exemptions.DroneStore)
	for _, d := range []fleet.Drone{
		{Serial: "DJI-AMS-1", Manufacturer: "DJI", Model: "Matrice 30T", Class: "C2", Unit: "AMS", Status: fleet.StatusActive, Clearance: "confidential"},
		{Serial: "PARROT-AMS-2", Manufacturer: "Parrot", Model: "Anafi USA", Unit: "AMS", Status: fleet.StatusActive, Clearance: "confidential"},
		{Serial: "OLD-AMS-3", Manufacturer: "Parrot", Model: "Anafi", Unit: "AMS", Status: fleet.StatusActive, Clearance: "regular"},
		{Serial: "MAINT-AMS-4", Manufacturer: "Parrot", Model: "Anafi", Unit: "AMS", Status: fleet.StatusMaintenance, Clearance: "regular"},
		{Serial: "RTM-5", Manufacturer: "Parrot", Model: "Anafi USA", Unit: "RTM", Status: fleet.StatusActive, Clearance: "confidential"},
	} {
		if _, err := ds.AddDrone(ctx, d, "admin-1", clock.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ds.RetireDrone(ctx, "OLD-AMS-3", "crashed", "admin-1", clock.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	f.create(t, record()) // forensic, up to 60 m AGL
	other := record()
	other.Holder.PilotIds = []string{"P9"}
	other.CeilingM = 200
	other.Purposes = nil
	f.create(t, other)
	revoked := f.create(t, record())
	if _, err := f.admin.RevokeExemption(ctx, &noflyv1.RevokeExemptionRequest{Id: revoked.GetId(), Reason: "misuse", RevokedBy: "admin-1"}); err != nil {
		t.Fatal(err)
	}
	resp, err := f.au.ExportBundle(ctx, &noflyv1.ExportBundleRequest{Unit: "AMS",
		Area:         &noflyv1.ExportBundleRequest_Bbox{Bbox: &noflyv1.BoundingBox{MinLatitude: 51.9, MinLongitude: 3.9, MaxLatitude: 52.2, MaxLongitude: 6.2}},
		ValidSeconds: 4 * 3600})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetZones() != 3 || resp.GetExemptions() != 3 {
		t.Fatalf("exported %d zones, %d exemptions; want 3 and 3", resp.GetZones(), resp.GetExemptions())
	}
	keys := &authorisation.KeySet{Keys: []authorisation.Key{authorisation.NewKey(testSigningKey.Public().(ed25519.PublicKey))}}
	l, err := bundle.Load(resp.GetBundle(), keys, clock)
	if err != nil {
		t.Fatal(err)
	}
	if l.Fleet == nil || len(l.Fleet.Drones) != 4 || len(l.Fleet.Others) != 1 || l.Fleet.Policy.Name != path {
		t.Fatalf("bundle fleet %+v; want AMS's 4 drones, 1 other and the policy %s", l.Fleet, path)
	}
	return f, NewOffline(l, "test.bundle")
}

// decision is a response without what differs between a server and a
// bundle by design: when and from what zone set version and sources the
// answer came.
func decision[T proto.Message](m T) T {
	c := proto.CloneOf(m)
	r := c.ProtoReflect()
	for _, name := range []string{"checked_at", "zone_set", "exemptions_as_of", "exemptions_stale"} {
		r.Clear(r.Descriptor().Fields().ByName(protoreflect.Name(name)))
	}
	return c
}

// noOfflineWarning fails t when m carries the warning that the registry and
// the policy were not applied: a version 2 bundle holds them.
func noOfflineWarning[T interface{ GetWarnings() []string }](t *testing.T, m T) T {
	t.Helper()
	if slices.Contains(m.GetWarnings(), exemptions.OfflineWarning) {
		t.Errorf("offline answer from a bundle with the registry says it was not applied: %q", m.GetWarnings())
	}
	return m
}

// TestOfflineSameAsServer runs one table of checks through noflyd and
// through a bundle it exported, and demands the same verdicts, conflicts,
// exemptions, policy refusals, warnings and reasons: the zones and
// exemptions, and the registry and the policy (an unregistered, a retired,
// a grounded and another unit's drone; a confidential operation with the
// foreign make).
func TestOfflineSameAsServer(t *testing.T) {
	f, off := offlineFixture(t, exemptions.RegistryEnforced)
	ctx := context.Background()
	op := func(pilot string) *noflyv1.Operator { return &noflyv1.Operator{Unit: "AMS", PilotId: pilot} }
	pos := func(lat, lon float64, a *noflyv1.Altitude, pilot string, p noflyv1.Purpose) *noflyv1.CheckPositionRequest {
		return &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: lat, Longitude: lon}, Altitude: a,
			At: timestamppb.New(clock.Add(30 * time.Minute)), Operator: op(pilot), Purpose: p}
	}
	flown := func(r *noflyv1.CheckPositionRequest, drone, classification string) *noflyv1.CheckPositionRequest {
		r.Operator.DroneSerial, r.Classification = drone, classification
		return r
	}
	forensic, sar := noflyv1.Purpose_PURPOSE_FORENSIC, noflyv1.Purpose_PURPOSE_SEARCH_AND_RESCUE
	clear, denied, exempted := noflyv1.Verdict_VERDICT_CLEAR, noflyv1.Verdict_VERDICT_DENIED, noflyv1.Verdict_VERDICT_EXEMPTED
	positions := []struct {
		name string
		req  *noflyv1.CheckPositionRequest
		want noflyv1.Verdict
		rule string // where the first policy refusal is, "" for none
	}{
		{"exempted in the zone", pos(52.05, 4.05, alt(50), "P1", forensic), exempted, ""},
		{"above the ceiling", pos(52.05, 4.05, alt(80), "P1", forensic), denied, ""},
		{"wrong purpose", pos(52.05, 4.05, alt(50), "P1", sar), denied, ""},
		{"other pilot's record", pos(52.05, 4.05, alt(100), "P9", sar), exempted, ""},
		{"no height", pos(52.05, 4.05, nil, "P1", forensic), denied, ""},
		{"conditional zone", pos(52.0, 5.0, alt(40), "P1", forensic), clear, ""},
		{"under the high zone", pos(52.05, 6.05, alt(100), "P1", forensic), clear, ""},
		{"in the high zone", pos(52.05, 6.05, alt(350), "P1", forensic), denied, "ceiling"},
		{"nothing near", pos(52.15, 4.5, alt(50), "P1", forensic), clear, ""},
		{"above the general ceiling", pos(52.15, 4.5, alt(150), "P1", forensic), denied, "ceiling"},
		{"the foreign make, regular", flown(pos(52.15, 4.5, alt(50), "P1", forensic), "DJI-AMS-1", "regular"), clear, ""},
		{"the foreign make, confidential", flown(pos(52.15, 4.5, alt(50), "P1", forensic), "DJI-AMS-1", "confidential"), denied, "policy.txt:5"},
		{"the foreign make, confidential, in the zone", flown(pos(52.05, 4.05, alt(50), "P1", forensic), "dji-ams-1", "confidential"), denied, "policy.txt:5"},
		{"the foreign make, exempted in the zone", flown(pos(52.05, 4.05, alt(50), "P1", forensic), "DJI-AMS-1", ""), exempted, ""},
		{"another make, confidential", flown(pos(52.15, 4.5, alt(50), "P1", forensic), "PARROT-AMS-2", "confidential"), clear, ""},
		{"an unregistered drone", flown(pos(52.15, 4.5, alt(50), "P1", forensic), "NOT-REGISTERED-1", ""), denied, "registry"},
		{"a serial no registry holds", flown(pos(52.15, 4.5, alt(50), "P1", forensic), "no serial!", ""), denied, "registry"},
		{"a retired drone", flown(pos(52.15, 4.5, alt(50), "P1", forensic), "OLD-AMS-3", ""), denied, "registry"},
		{"a drone in maintenance", flown(pos(52.15, 4.5, alt(50), "P1", forensic), "MAINT-AMS-4", ""), denied, "registry"},
		{"another unit's drone", flown(pos(52.15, 4.5, alt(50), "P1", forensic), "RTM-5", ""), denied, "registry"},
		{"no drone, confidential", flown(pos(52.15, 4.5, alt(50), "P1", forensic), "", "confidential"), denied, "clearance"},
		{"a classification the policy lacks", flown(pos(52.15, 4.5, alt(50), "P1", forensic), "PARROT-AMS-2", "secret"), denied, "classification"},
	}
	for _, tc := range positions {
		t.Run(tc.name, func(t *testing.T) {
			online, err := f.checks.CheckPosition(ctx, proto.CloneOf(tc.req))
			if err != nil {
				t.Fatal(err)
			}
			offline, err := off.CheckPosition(ctx, proto.CloneOf(tc.req), clock)
			if err != nil {
				t.Fatal(err)
			}
			if online.GetVerdict() != tc.want {
				t.Errorf("noflyd: %v, want %v", online.GetVerdict(), tc.want)
			}
			wantRule(t, online.GetPolicyRefusals(), tc.rule)
			if online.GetHeightLimit() == nil {
				t.Error("noflyd gave no height limit")
			}
			if !proto.Equal(decision(online), decision(noOfflineWarning(t, offline))) {
				t.Errorf("offline differs:\nnoflyd  %v\nbundle  %v", decision(online), decision(offline))
			}
		})
	}
	plan := func(pilot string, p noflyv1.Purpose, buffer float64, wps ...*noflyv1.Waypoint) *noflyv1.CheckFlightPlanRequest {
		return &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{Operator: op(pilot), Purpose: p,
			Start: timestamppb.New(clock), End: timestamppb.New(clock.Add(time.Hour)), BufferM: buffer, Geometry: route(wps...)}}
	}
	area := func(pilot string, p noflyv1.Purpose, top float64) *noflyv1.CheckFlightPlanRequest {
		return &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{Operator: op(pilot), Purpose: p,
			Start: timestamppb.New(clock), End: timestamppb.New(clock.Add(time.Hour)), BufferM: 10,
			Geometry: &noflyv1.FlightPlan_Area{Area: &noflyv1.Area{
				Shape: &noflyv1.Area_Circle{Circle: &noflyv1.Circle{Center: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, RadiusM: 500}},
				Band:  &noflyv1.AltitudeBand{LowerM: 0, UpperM: top, Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}}}}}
	}
	flownPlan := func(r *noflyv1.CheckFlightPlanRequest, drone, classification string) *noflyv1.CheckFlightPlanRequest {
		r.FlightPlan.Operator.DroneSerial, r.FlightPlan.Classification = drone, classification
		return r
	}
	plans := []struct {
		name string
		req  *noflyv1.CheckFlightPlanRequest
		want noflyv1.Verdict
		rule string
	}{
		{"across the zone, exempted", plan("P1", forensic, 25, wp(52.05, 3.95, 40), wp(52.05, 4.15, 40)), exempted, ""},
		{"across the zone, too high", plan("P1", forensic, 25, wp(52.05, 3.95, 90), wp(52.05, 4.15, 90)), denied, ""},
		{"past the zone within the buffer", plan("P1", sar, 300, wp(52.102, 3.95, 40), wp(52.102, 4.15, 40)), denied, ""},
		{"clear", plan("P1", sar, 25, wp(52.15, 4.2, 40), wp(52.15, 4.8, 40)), clear, ""},
		{"an area in the zone, exempted", area("P1", forensic, 50), exempted, ""},
		{"an area in the zone, too high", area("P1", forensic, 100), denied, ""},
		{"across the zone, the foreign make, confidential", flownPlan(plan("P1", forensic, 25, wp(52.05, 3.95, 40), wp(52.05, 4.15, 40)), "DJI-AMS-1", "confidential"), denied, "policy.txt:5"},
		{"across the zone, another make, confidential", flownPlan(plan("P1", forensic, 25, wp(52.05, 3.95, 40), wp(52.05, 4.15, 40)), "PARROT-AMS-2", "confidential"), exempted, ""},
		{"clear, an unregistered drone", flownPlan(plan("P1", sar, 25, wp(52.15, 4.2, 40), wp(52.15, 4.8, 40)), "NOT-REGISTERED-1", ""), denied, "registry"},
		{"clear, a retired drone", flownPlan(plan("P1", sar, 25, wp(52.15, 4.2, 40), wp(52.15, 4.8, 40)), "OLD-AMS-3", ""), denied, "registry"},
		{"an area, the foreign make, confidential", flownPlan(area("P1", forensic, 50), "DJI-AMS-1", "confidential"), denied, "policy.txt:5"},
		{"an area above the general ceiling", area("P1", forensic, 130), denied, "ceiling"},
	}
	for _, tc := range plans {
		t.Run(tc.name, func(t *testing.T) {
			online, err := f.checks.CheckFlightPlan(ctx, proto.CloneOf(tc.req))
			if err != nil {
				t.Fatal(err)
			}
			offline, err := off.CheckFlightPlan(ctx, proto.CloneOf(tc.req), clock)
			if err != nil {
				t.Fatal(err)
			}
			if online.GetVerdict() != tc.want {
				t.Errorf("noflyd: %v, want %v", online.GetVerdict(), tc.want)
			}
			wantRule(t, online.GetPolicyRefusals(), tc.rule)
			if online.GetHeightLimit() == nil {
				t.Error("noflyd gave no height limit")
			}
			if !proto.Equal(decision(online), decision(noOfflineWarning(t, offline))) {
				t.Errorf("offline differs:\nnoflyd  %v\nbundle  %v", decision(online), decision(offline))
			}
		})
	}
}

// wantRule fails t unless the first refusal is at rule (a suffix), or
// there is none for rule "".
func wantRule(t *testing.T, rs []*noflyv1.PolicyRefusal, rule string) {
	t.Helper()
	switch {
	case rule == "" && len(rs) > 0:
		t.Errorf("refused by %v; want no refusal", rs)
	case rule != "" && (len(rs) == 0 || !strings.HasSuffix(rs[0].GetRuleLocation(), rule)):
		t.Errorf("refusals %v; want the first by %s", rs, rule)
	}
}

// TestOfflineRegistryWarn: a noflyd that does not enforce its registry
// exports that too, and the bundle warns where noflyd warns.
func TestOfflineRegistryWarn(t *testing.T) {
	f, off := offlineFixture(t, exemptions.RegistryWarn)
	ctx := context.Background()
	for _, drone := range []string{"NOT-REGISTERED-1", "OLD-AMS-3", "RTM-5", "PARROT-AMS-2"} {
		req := &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.15, Longitude: 4.5}, Altitude: alt(50),
			At: timestamppb.New(clock.Add(30 * time.Minute)), Operator: &noflyv1.Operator{Unit: "AMS", PilotId: "P1", DroneSerial: drone}}
		online, err := f.checks.CheckPosition(ctx, proto.CloneOf(req))
		if err != nil {
			t.Fatal(err)
		}
		offline, err := off.CheckPosition(ctx, proto.CloneOf(req), clock)
		if err != nil {
			t.Fatal(err)
		}
		if online.GetVerdict() != noflyv1.Verdict_VERDICT_CLEAR || len(online.GetWarnings()) == 0 {
			t.Errorf("%s: noflyd %v, warnings %q; want CLEAR with warnings", drone, online.GetVerdict(), online.GetWarnings())
		}
		if !proto.Equal(decision(online), decision(noOfflineWarning(t, offline))) {
			t.Errorf("%s: offline differs:\nnoflyd  %v\nbundle  %v", drone, decision(online), decision(offline))
		}
	}
}

// TestOfflineRefuses: what the bundle cannot know is refused, never CLEAR.
func TestOfflineRefuses(t *testing.T) {
	_, off := offlineFixture(t, exemptions.RegistryEnforced)
	ctx := context.Background()
	at := func(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(clock.Add(d)) }
	for _, tc := range []struct {
		name string
		req  *noflyv1.CheckPositionRequest
		msg  string
	}{
		{"outside the area", &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.3, Longitude: 4.76}, At: at(0)}, "outside the bundle's area"},
		{"another unit", &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, At: at(0),
			Operator: &noflyv1.Operator{Unit: "RTM"}}, "unit AMS's, the check unit RTM's"},
		{"after the expiry", &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.15, Longitude: 4.5}, At: at(5 * time.Hour)}, "after the bundle's expiry"},
		{"a bad request", &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 95, Longitude: 4.5}}, "position.latitude"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := off.CheckPosition(ctx, tc.req, clock)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, %v; want an error with %q", resp.GetVerdict(), err, tc.msg)
			}
		})
	}
	buffered := &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{Start: at(0), BufferM: 20_000,
		Geometry: route(wp(52.15, 4.2, 40), wp(52.15, 4.8, 40))}}
	if resp, err := off.CheckFlightPlan(ctx, buffered, clock); err == nil || !strings.Contains(err.Error(), "outside the bundle's area") {
		t.Errorf("a route whose buffer leaves the area: %v, %v", resp.GetVerdict(), err)
	}
}

// TestOfflineVersion1: a version 1 bundle (made before the registry and
// the policy were carried) is still answered, by the default policy's
// levels and the general ceiling, with a drone the bundle cannot look up
// not refused for it, and every answer saying that the registry and the
// policy were not applied.
func TestOfflineVersion1(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "bundle", "testdata", "sample-v1.bundle.hex"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	// The golden's fixed key and time (bundle_test.go).
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	keys := &authorisation.KeySet{Keys: []authorisation.Key{authorisation.NewKey(key.Public().(ed25519.PublicKey))}}
	l, err := bundle.Load(b, keys, at)
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 1 || l.Fleet != nil {
		t.Fatalf("version %d, fleet %+v: want a version 1 bundle without one", l.Version, l.Fleet)
	}
	off := NewOffline(l, "v1.bundle")
	ctx := context.Background()
	req := func(drone, classification string, metres float64) *noflyv1.CheckPositionRequest {
		return &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 51.0, Longitude: 7.0}, Altitude: alt(metres),
			At: timestamppb.New(at), Operator: &noflyv1.Operator{PilotId: "P1", DroneSerial: drone}, Classification: classification}
	}
	for _, tc := range []struct {
		name string
		req  *noflyv1.CheckPositionRequest
		want noflyv1.Verdict
		rule string
	}{
		{"an unregistered drone", req("NOT-REGISTERED-1", "", 50), noflyv1.Verdict_VERDICT_CLEAR, ""},
		{"above the general ceiling", req("", "", 150), noflyv1.Verdict_VERDICT_DENIED, "ceiling"},
		{"confidential", req("NOT-REGISTERED-1", "confidential", 50), noflyv1.Verdict_VERDICT_DENIED, "clearance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := off.CheckPosition(ctx, tc.req, at)
			if err != nil {
				t.Fatal(err)
			}
			if r.GetVerdict() != tc.want || !slices.Contains(r.GetWarnings(), exemptions.OfflineWarning) {
				t.Errorf("%v, warnings %q; want %v with the offline warning", r.GetVerdict(), r.GetWarnings(), tc.want)
			}
			wantRule(t, r.GetPolicyRefusals(), tc.rule)
		})
	}
}

// TestOfflineMap: a map of an offline check gets its zones (FULL view,
// with geometry) and exemption records from the bundle.
func TestOfflineMap(t *testing.T) {
	f, off := offlineFixture(t, exemptions.RegistryEnforced)
	ctx := context.Background()
	zones := off.MapZones(orb.Bound{Min: orb.Point{4.0, 52.0}, Max: orb.Point{4.1, 52.1}}, []string{"T-HIGH"})
	var ids []string
	for _, z := range zones {
		ids = append(ids, z.GetId())
		if len(z.GetVolumes()) == 0 {
			t.Errorf("zone %s without its volumes", z.GetId())
		}
	}
	if !slices.Contains(ids, "T-PROHIB") || !slices.Contains(ids, "T-HIGH") {
		t.Errorf("zones %v: want T-PROHIB (in the box) and T-HIGH (asked for)", ids)
	}
	online, err := f.admin.ListExemptions(ctx, &noflyv1.ListExemptionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range online.GetExemptions() {
		if got := off.Exemption(ex.GetId()); !proto.Equal(got, ex) {
			t.Errorf("exemption %s offline:\n%v\nnoflyd:\n%v", ex.GetId(), got, ex)
		}
	}
	if off.Exemption("EX-999999") != nil {
		t.Error("an exemption the bundle does not hold")
	}
}
