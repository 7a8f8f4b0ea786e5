package server

import (
	"context"
	"slices"
	"strings"
	"testing"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// TestWarnsOfZonesWithoutExemptions: a record naming a zone whose data
// allows no exemption is stored, with a warning, unless it overrides.
func TestWarnsOfZonesWithoutExemptions(t *testing.T) {
	zones := strings.Replace(testZones, `"reasons":["SENSITIVE"],`, `"reasons":["SENSITIVE"],"exemptions":"NO",`, 1)
	f := newExFixtureZones(t, zones)
	ctx := context.Background()

	resp, err := f.admin.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: record()})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetExemption().GetId()
	want := []string{"zone T-PROHIB allows no exemption (regulationExemption NO): " + id +
		", which does not override, will not cover it; only an exemption that names it and overrides covers it"}
	if !slices.Equal(resp.GetWarnings(), want) {
		t.Errorf("create: warnings %q, want %q", resp.GetWarnings(), want)
	}

	ov := record()
	ov.Override = true
	sup, err := f.admin.SupersedeExemption(ctx, &noflyv1.SupersedeExemptionRequest{Id: id, Exemption: ov})
	if err != nil {
		t.Fatal(err)
	}
	if len(sup.GetWarnings()) != 0 {
		t.Errorf("supersede with override: warnings %q, want none", sup.GetWarnings())
	}
	again, err := f.admin.SupersedeExemption(ctx, &noflyv1.SupersedeExemptionRequest{Id: sup.GetExemption().GetId(), Exemption: record()})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.GetWarnings()) != 1 || !strings.Contains(again.GetWarnings()[0], again.GetExemption().GetId()) {
		t.Errorf("supersede without override: warnings %q, want one naming %s", again.GetWarnings(), again.GetExemption().GetId())
	}

	// A zone that allows exemptions gets no warning.
	plain := newExFixture(t)
	resp, err = plain.admin.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: record()})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetWarnings()) != 0 {
		t.Errorf("zone allowing exemptions: warnings %q, want none", resp.GetWarnings())
	}
}

// TestCheckLogsAltitudeOnlyWhenGiven: a position check without an
// altitude logs none (not 0 m of an unknown reference).
func TestCheckLogsAltitudeOnlyWhenGiven(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		alt  *noflyv1.Altitude
		want string
	}{
		{nil, ""},
		{alt(60), "alt=60 alt_ref=AGL"},
	} {
		before := len(f.log.String())
		if _, err := f.client.CheckPosition(ctx, &noflyv1.CheckPositionRequest{
			Position: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, Altitude: tc.alt}); err != nil {
			t.Fatal(err)
		}
		var line string
		for _, l := range strings.Split(f.log.String()[before:], "\n") {
			if strings.Contains(l, `msg="position checked"`) {
				line = l
			}
		}
		switch {
		case line == "":
			t.Fatalf("no check logged:\n%s", f.log.String())
		case tc.want == "" && (strings.Contains(line, " alt=") || strings.Contains(line, " alt_ref=")):
			t.Errorf("no altitude given, but the log line has one: %s", line)
		case tc.want != "" && !strings.Contains(line, tc.want):
			t.Errorf("log line %s lacks %q", line, tc.want)
		}
	}
}
