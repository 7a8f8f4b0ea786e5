package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFleetPolicy runs the cases against the real binaries with the
// sample policy: a registered foreign-made drone is CLEAR on a regular
// operation and DENIED, with the rule's text, on a confidential one, even
// where an exemption covers the zone; a registered cleared drone is CLEAR;
// unregistered, maintenance and other-unit drones are DENIED by the
// registry; the height limit is on every answer; a bad policy on SIGHUP
// keeps the old one.
func TestFleetPolicy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.txt")
	sample, err := os.ReadFile("../../examples/policy.txt")
	if err != nil {
		t.Fatal(err)
	}
	write(t, policy, string(sample))
	zones := filepath.Join(dir, "zones.geojson")
	// A zone from 45 m AGL over the test point, and one from the ground.
	write(t, zones, `{"type":"FeatureCollection","features":[
	  {"type":"Feature","properties":{"id":"NL-TEST-CTR","name":"test CTR from 45 m","restriction":"REQ_AUTHORISATION",
	   "lower_m":45,"lower_ref":"AGL","upper_m":900,"upper_ref":"AMSL","radius_m":3000},"geometry":{"type":"Point","coordinates":[4.76,52.31]}},
	  {"type":"Feature","properties":{"id":"NL-TEST-GROUND","name":"test zone from the ground","restriction":"PROHIBITED",
	   "lower_m":0,"lower_ref":"AGL","upper_m":120,"upper_ref":"AGL","radius_m":500},"geometry":{"type":"Point","coordinates":[5.5,52.0]}}]}`)
	d := startDaemon(t, "--zones", zones, "--policy", policy)

	add := func(serial, man, model, unit, clearance string) {
		t.Helper()
		wantExit(t, nofly(t, d.addr, "drones", "add", "--serial", serial, "--manufacturer", man, "--model", model,
			"--unit", unit, "--clearance", clearance, "--class", "C2"), 0)
	}
	add("1581F5FHC23610000A0B", "DJI", "Matrice 30T", "AMS-DRONE", "confidential")
	add("PA-ANAFI-0007", "Parrot", "Anafi USA", "AMS-DRONE", "confidential")
	add("PA-ANAFI-0008", "Parrot", "Anafi USA", "RTM-DRONE", "confidential")
	add("PA-ANAFI-0009", "Parrot", "Anafi USA", "AMS-DRONE", "confidential")
	wantExit(t, nofly(t, d.addr, "drones", "update", "PA-ANAFI-0009", "--status", "maintenance"), 0)
	check := func(drone, classification, alt string) result {
		args := []string{"check", "--lat", "52.31", "--lon", "4.76", "--alt", alt, "--unit", "AMS-DRONE", "--drone", drone}
		if classification != "" {
			args = append(args, "--classification", classification)
		}
		return nofly(t, d.addr, args...)
	}
	// How high near the zone from 45 m, without an exemption.
	r := check("1581F5FHC23610000A0B", "", "30")
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "CLEAR — no blocking zones\nYou may fly here up to 44 m AGL (limited by NL-TEST-CTR from 45 m AGL)\n") {
		t.Errorf("height limit under a zone from 45 m:\n%s", r)
	}
	wantExit(t, check("1581F5FHC23610000A0B", "", "45"), 1)
	wantExit(t, nofly(t, d.addr, "exemptions", "create", "--unit", "AMS-DRONE", "--zone", "NL-TEST-CTR", "--from", "now", "--until", "+8h",
		"--max-alt", "60", "--legal-basis", "ILT/2026/1", "--by", "admin"), 0)
	const rule = `examples/policy.txt`
	for _, tc := range []struct {
		name, drone, classification, alt string
		code                             int
		want                             []string
	}{
		{"foreign drone, regular operation", "1581F5FHC23610000A0B", "", "30", 0,
			[]string{"CLEAR", "You may fly here up to 60 m AGL (limited by the ceiling of exemption EX-000001, 60 m AGL)"}},
		{"foreign drone, regular operation, in the zone under the exemption", "1581F5FHC23610000A0B", "regular", "50", 0,
			[]string{"EXEMPTED", "You may fly here up to 60 m AGL (limited by the ceiling of exemption EX-000001, 60 m AGL)"}},
		{"foreign drone, confidential operation", "1581F5FHC23610000A0B", "confidential", "30", 1,
			[]string{"DENIED — refused by 1 rule", `:12  "manufacturer DJI: only regular": drone 1581F5FHC23610000A0B (DJI Matrice 30T) may fly regular operations only, not confidential`}},
		{"foreign drone, confidential, an exemption covers the zone: still refused", "1581F5FHC23610000A0B", "confidential", "50", 1,
			[]string{"DENIED", "manufacturer DJI: only regular", "NL-TEST-CTR: covered by EX-000001"}},
		{"cleared drone, confidential operation", "PA-ANAFI-0007", "confidential", "30", 0, []string{"CLEAR"}},
		{"unregistered drone", "NOT-REGISTERED-1", "", "30", 1, []string{"registry: drone NOT-REGISTERED-1 is not registered"}},
		{"another unit's drone", "PA-ANAFI-0008", "", "30", 1, []string{"registry: drone PA-ANAFI-0008 is registered to unit RTM-DRONE, not AMS-DRONE"}},
		{"drone in maintenance", "PA-ANAFI-0009", "", "30", 1, []string{"registry: drone PA-ANAFI-0009 is in maintenance"}},
		{"above the general ceiling", "PA-ANAFI-0007", "", "130", 1, []string{"ceiling: the flight reaches 130 m AGL, above the general ceiling of"}},
		{"unknown classification", "PA-ANAFI-0007", "secret", "30", 1, []string{`classification: "secret" is no level`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := check(tc.drone, tc.classification, tc.alt)
			wantExit(t, r, tc.code)
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("want %q in\n%s", w, r)
				}
			}
			if tc.code == 1 && strings.Contains(tc.want[0], "rule") && !strings.Contains(r.stdout, policy) && !strings.Contains(r.stdout, rule) {
				t.Errorf("the refusal names no policy file:\n%s", r)
			}
		})
	}
	// The registry's changes are in the audit log, whose chain holds.
	r = nofly(t, d.addr, "audit", "list")
	wantExit(t, r, 0)
	for _, w := range []string{"drone-add", "drone-update"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("audit list without %s:\n%s", w, r)
		}
	}
	wantExit(t, nofly(t, d.addr, "audit", "verify"), 0)

	// A bad policy on SIGHUP is refused whole, by line, and the old one
	// kept: the DJI drone stays refused on a confidential operation.
	write(t, policy, "levels regular confidential\nmanufacturer DJI: only secret\nfly high\n")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitLog(t, "policy not loaded; keeping the previous one", 0)
	r = check("1581F5FHC23610000A0B", "confidential", "30")
	wantExit(t, r, 1)
	if !strings.Contains(r.stdout, "manufacturer DJI: only regular") {
		t.Errorf("the old policy is not in service after a bad reload:\n%s", r)
	}
	// A good one is taken.
	write(t, policy, "levels regular confidential\n")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitLog(t, "policy loaded", 0)
	wantExit(t, check("1581F5FHC23610000A0B", "confidential", "30"), 0)
}
