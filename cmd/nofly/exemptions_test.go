package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

func TestPrintResultExemptions(t *testing.T) {
	agl := noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL
	applied := &noflyv1.AppliedExemption{Id: "EX-000001", LegalBasis: "ILT/2026/0042", Conditions: "call the tower",
		CeilingM: 60, CeilingReference: agl}
	var b strings.Builder
	printResult(&b, checkResult{
		verdict: noflyv1.Verdict_VERDICT_DENIED,
		conflicts: []*noflyv1.ZoneHit{
			{Zone: &noflyv1.ZoneSummary{Id: "Z1", Restriction: noflyv1.Restriction_RESTRICTION_PROHIBITED}, Inside: true,
				HeightBand: &noflyv1.HeightBand{LowerM: proto.Float64(0), UpperM: proto.Float64(50), Reference: agl},
				Exemption:  applied},
			{Zone: &noflyv1.ZoneSummary{Id: "Z2", Restriction: noflyv1.Restriction_RESTRICTION_PROHIBITED}, Inside: true,
				HeightBand: &noflyv1.HeightBand{LowerM: proto.Float64(0), UpperM: proto.Float64(50), Reference: agl},
				NotCovered: []*noflyv1.ExemptionRefusal{{ExemptionId: "EX-000002", Reason: "ceiling 40 m AGL, planned 50 m AGL"}, {Reason: "no exemption of unit U names this zone"}}},
		},
		exemptions: []*noflyv1.AppliedExemption{applied},
	}, "Position X")
	want := `DENIED — 2 blocking zones
Position X

Blocking zones:
  ID  NAME  RESTRICTION  HEIGHTS     DISTANCE  MESSAGE
  Z1  -     PROHIBITED   0–50 m AGL  inside    -
  Z2  -     PROHIBITED   0–50 m AGL  inside    -

Exemptions per blocking zone:
  Z1: covered by EX-000001 (ILT/2026/0042)
  Z2: NOT covered
    - EX-000002: ceiling 40 m AGL, planned 50 m AGL
    - no exemption of unit U names this zone

Exemptions applied:
  EX-000001  legal basis ILT/2026/0042; valid until -; ceiling 60 m AGL
    Conditions: call the tower
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// chain builds a valid audit chain of n entries.
func chain(n int) []*noflyv1.AuditEvent {
	var out []*noflyv1.AuditEvent
	prev := ""
	for i := 1; i <= n; i++ {
		entry := fmt.Sprintf(`{"seq":%d,"actor":"a","prev_hash":%q}`, i, prev)
		sum := sha256.Sum256([]byte(prev + entry))
		h := hex.EncodeToString(sum[:])
		out = append(out, &noflyv1.AuditEvent{Seq: int64(i), Actor: "a", PrevHash: prev, Hash: h, EntryJson: entry})
		prev = h
	}
	return out
}

func TestVerifyChain(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(evs []*noflyv1.AuditEvent) []*noflyv1.AuditEvent
		want   string
	}{
		{"intact", func(evs []*noflyv1.AuditEvent) []*noflyv1.AuditEvent { return evs }, ""},
		{"entry changed", func(evs []*noflyv1.AuditEvent) []*noflyv1.AuditEvent {
			evs[1].EntryJson = strings.Replace(evs[1].EntryJson, `"a"`, `"b"`, 1)
			return evs
		}, "entry 2: fields differ"},
		{"entry removed", func(evs []*noflyv1.AuditEvent) []*noflyv1.AuditEvent { return append(evs[:1], evs[2:]...) }, "entries missing"},
		{"hash replaced", func(evs []*noflyv1.AuditEvent) []*noflyv1.AuditEvent { evs[2].Hash = "00"; return evs }, "entry 3: changed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(verifyChain(tc.tamper(chain(4))), "\n")
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("problems %q, want %q", got, tc.want)
			}
		})
	}
}
