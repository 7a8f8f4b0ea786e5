package main

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// TestPrintStaleExemptions: a result answered from old exemptions says so,
// with their age, right under the subject; a current one says nothing.
func TestPrintStaleExemptions(t *testing.T) {
	checked := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	asOf := checked.Add(-42 * time.Second)
	for _, tc := range []struct {
		name  string
		stale bool
		want  string
	}{
		{"stale", true, "CLEAR — no blocking zones\nPosition X\n\nWARNING: exemptions as of 2026-05-01T11:59:18Z (42s old): " +
			"the server cannot reach its exemption database;\nexemptions issued or revoked since then are not taken into account.\n"},
		{"current", false, "CLEAR — no blocking zones\nPosition X\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			printResult(&b, checkResult{verdict: noflyv1.Verdict_VERDICT_CLEAR, stale: tc.stale,
				exemptionsAsOf: timestamppb.New(asOf), checkedAt: timestamppb.New(checked)}, "Position X")
			if b.String() != tc.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tc.want)
			}
		})
	}
}
