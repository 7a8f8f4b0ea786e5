package main

import (
	"testing"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// TestCheckTexts: a request holding text that is not UTF-8 is refused
// before it is sent, naming the field, nested and in lists; valid text
// passes.
func TestCheckTexts(t *testing.T) {
	const bad = "A\xffB"
	for _, tc := range []struct {
		name string
		m    any
		want string // "" when the request passes
	}{
		{"plain", &noflyv1.CheckPositionRequest{Operator: &noflyv1.Operator{Unit: "AMS-DRONE", PilotId: "P-1"}, ClientReference: "MK-2026-118 ✈"}, ""},
		{"nested", &noflyv1.CheckPositionRequest{Operator: &noflyv1.Operator{Unit: bad}}, "invalid request: operator.unit: not UTF-8 text"},
		{"top", &noflyv1.CheckPositionRequest{ClientReference: bad}, "invalid request: client_reference: not UTF-8 text"},
		{"list", &noflyv1.CreateExemptionRequest{Exemption: &noflyv1.Exemption{Holder: &noflyv1.ExemptionHolder{Unit: "AMS", PilotIds: []string{"P-1", bad}}}},
			"invalid request: exemption.holder.pilot_ids[1]: not UTF-8 text"},
		{"not a message", "text", ""},
	} {
		err := checkTexts(tc.m)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
