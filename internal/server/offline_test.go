package server

import (
	"context"
	"crypto/ed25519"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/authorisation"
	"github.com/nofly-project/nofly/bundle"
	"github.com/nofly-project/nofly/exemptions"
)

// offlineFixture is a noflyd with exemptions of unit AMS, the default
// policy, an enforced registry and the general ceiling that offline
// answers apply, and an Offline answering from a bundle it exported for AMS
// around the test zones.
func offlineFixture(t *testing.T) (*auFixture, *Offline) {
	t.Helper()
	f := newAuFleetFixture(t, testSigningKey, &FleetConfig{Registry: exemptions.RegistryEnforced, Ceiling: exemptions.DefaultCeiling})
	ctx := context.Background()
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

// withoutOfflineWarning is an offline answer without the warning that the
// registry and the policy were not applied, which it must carry (the one
// difference from noflyd's answer to a check naming no drone).
func withoutOfflineWarning[T interface {
	proto.Message
	GetWarnings() []string
}](t *testing.T, m T) T {
	t.Helper()
	c := proto.CloneOf(m)
	r := c.ProtoReflect()
	fd := r.Descriptor().Fields().ByName("warnings")
	var kept []string
	found := false
	for _, w := range m.GetWarnings() {
		if w == exemptions.OfflineWarning && !found {
			found = true
			continue
		}
		kept = append(kept, w)
	}
	if !found {
		t.Errorf("offline answer without the warning %q: %v", exemptions.OfflineWarning, m.GetWarnings())
	}
	l := r.NewField(fd).List()
	for _, w := range kept {
		l.Append(protoreflect.ValueOfString(w))
	}
	r.Clear(fd)
	if len(kept) > 0 {
		r.Set(fd, protoreflect.ValueOfList(l))
	}
	return c
}

// TestOfflineSameAsServer runs one table of checks through noflyd and
// through a bundle it exported, and demands the same verdicts, conflicts,
// exemptions and reasons.
func TestOfflineSameAsServer(t *testing.T) {
	f, off := offlineFixture(t)
	ctx := context.Background()
	op := func(pilot string) *noflyv1.Operator { return &noflyv1.Operator{Unit: "AMS", PilotId: pilot} }
	pos := func(lat, lon float64, a *noflyv1.Altitude, pilot string, p noflyv1.Purpose) *noflyv1.CheckPositionRequest {
		return &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: lat, Longitude: lon}, Altitude: a,
			At: timestamppb.New(clock.Add(30 * time.Minute)), Operator: op(pilot), Purpose: p}
	}
	forensic, sar := noflyv1.Purpose_PURPOSE_FORENSIC, noflyv1.Purpose_PURPOSE_SEARCH_AND_RESCUE
	positions := []struct {
		name string
		req  *noflyv1.CheckPositionRequest
		want noflyv1.Verdict
	}{
		{"exempted in the zone", pos(52.05, 4.05, alt(50), "P1", forensic), noflyv1.Verdict_VERDICT_EXEMPTED},
		{"above the ceiling", pos(52.05, 4.05, alt(80), "P1", forensic), noflyv1.Verdict_VERDICT_DENIED},
		{"wrong purpose", pos(52.05, 4.05, alt(50), "P1", sar), noflyv1.Verdict_VERDICT_DENIED},
		{"other pilot's record", pos(52.05, 4.05, alt(100), "P9", sar), noflyv1.Verdict_VERDICT_EXEMPTED},
		{"no height", pos(52.05, 4.05, nil, "P1", forensic), noflyv1.Verdict_VERDICT_DENIED},
		{"conditional zone", pos(52.0, 5.0, alt(40), "P1", forensic), noflyv1.Verdict_VERDICT_CLEAR},
		{"under the high zone", pos(52.05, 6.05, alt(100), "P1", forensic), noflyv1.Verdict_VERDICT_CLEAR},
		{"in the high zone", pos(52.05, 6.05, alt(350), "P1", forensic), noflyv1.Verdict_VERDICT_DENIED},
		{"nothing near", pos(52.15, 4.5, alt(50), "P1", forensic), noflyv1.Verdict_VERDICT_CLEAR},
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
			if online.GetHeightLimit() == nil {
				t.Error("noflyd gave no height limit")
			}
			if !proto.Equal(decision(online), decision(withoutOfflineWarning(t, offline))) {
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
	plans := []struct {
		name string
		req  *noflyv1.CheckFlightPlanRequest
		want noflyv1.Verdict
	}{
		{"across the zone, exempted", plan("P1", forensic, 25, wp(52.05, 3.95, 40), wp(52.05, 4.15, 40)), noflyv1.Verdict_VERDICT_EXEMPTED},
		{"across the zone, too high", plan("P1", forensic, 25, wp(52.05, 3.95, 90), wp(52.05, 4.15, 90)), noflyv1.Verdict_VERDICT_DENIED},
		{"past the zone within the buffer", plan("P1", sar, 300, wp(52.102, 3.95, 40), wp(52.102, 4.15, 40)), noflyv1.Verdict_VERDICT_DENIED},
		{"clear", plan("P1", sar, 25, wp(52.15, 4.2, 40), wp(52.15, 4.8, 40)), noflyv1.Verdict_VERDICT_CLEAR},
		{"an area in the zone, exempted", area("P1", forensic, 50), noflyv1.Verdict_VERDICT_EXEMPTED},
		{"an area in the zone, too high", area("P1", forensic, 100), noflyv1.Verdict_VERDICT_DENIED},
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
			if online.GetHeightLimit() == nil {
				t.Error("noflyd gave no height limit")
			}
			if !proto.Equal(decision(online), decision(withoutOfflineWarning(t, offline))) {
				t.Errorf("offline differs:\nnoflyd  %v\nbundle  %v", decision(online), decision(offline))
			}
		})
	}
}

// TestOfflineRefuses: what the bundle cannot know is refused, never CLEAR.
func TestOfflineRefuses(t *testing.T) {
	_, off := offlineFixture(t)
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

// TestOfflineFleet: a bundle holds no registry and no policy. A drone the
// bundle cannot look up is not refused for it, but the answer says the
// registry was not applied; the general ceiling holds offline as on noflyd.
func TestOfflineFleet(t *testing.T) {
	f, off := offlineFixture(t)
	ctx := context.Background()
	req := func(drone string, metres float64) *noflyv1.CheckPositionRequest {
		return &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.15, Longitude: 4.5}, Altitude: alt(metres),
			At: timestamppb.New(clock.Add(30 * time.Minute)), Operator: &noflyv1.Operator{Unit: "AMS", PilotId: "P1", DroneSerial: drone},
			Purpose: noflyv1.Purpose_PURPOSE_FORENSIC}
	}
	online, err := f.checks.CheckPosition(ctx, req("NOT-REGISTERED-1", 50))
	if err != nil {
		t.Fatal(err)
	}
	if online.GetVerdict() != noflyv1.Verdict_VERDICT_DENIED || len(online.GetPolicyRefusals()) != 1 {
		t.Errorf("noflyd, unregistered drone: %v, refusals %v; want DENIED by the registry", online.GetVerdict(), online.GetPolicyRefusals())
	}
	offline, err := off.CheckPosition(ctx, req("NOT-REGISTERED-1", 50), clock)
	if err != nil {
		t.Fatal(err)
	}
	if offline.GetVerdict() != noflyv1.Verdict_VERDICT_CLEAR || len(offline.GetPolicyRefusals()) != 0 ||
		!slices.Contains(offline.GetWarnings(), exemptions.OfflineWarning) {
		t.Errorf("offline, unregistered drone: %v, refusals %v, warnings %q; want CLEAR with the offline warning",
			offline.GetVerdict(), offline.GetPolicyRefusals(), offline.GetWarnings())
	}
	high, err := off.CheckPosition(ctx, req("", 150), clock)
	if err != nil {
		t.Fatal(err)
	}
	if high.GetVerdict() != noflyv1.Verdict_VERDICT_DENIED || len(high.GetPolicyRefusals()) != 1 ||
		high.GetPolicyRefusals()[0].GetRuleLocation() != "ceiling" || high.GetHeightLimit().GetMetres() != 120 {
		t.Errorf("offline at 150 m AGL: %v, refusals %v, limit %v; want DENIED by the 120 m general ceiling",
			high.GetVerdict(), high.GetPolicyRefusals(), high.GetHeightLimit())
	}
}
