package server

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
)

// TestOfflineClockBehindRevocation: a bundle holds a record revoked before
// its issue. A laptop whose clock runs behind (the bundle is accepted up to
// 5 minutes before its issue) must not take the record as in force: the
// bundle exists, so it is at least its issue time, when the revocation
// was known.
func TestOfflineClockBehindRevocation(t *testing.T) {
	_, off := offlineFixture(t, exemptions.RegistryEnforced)
	l := *off.b
	bu := *l.Bundle
	l.Bundle = &bu
	l.Exemptions = nil
	for _, ex := range off.b.Exemptions {
		if ex.Revoked(l.IssuedAt) {
			l.Exemptions = append(l.Exemptions, ex)
		}
	}
	if len(l.Exemptions) != 1 {
		t.Fatalf("%d revoked records in the bundle; want 1", len(l.Exemptions))
	}
	l.Snapshot = exemptions.NewSnapshot(l.Exemptions, l.ExemptionsVersion)
	only := NewOffline(&l, "revoked.bundle")
	for _, behind := range []time.Duration{0, 2 * time.Minute, 4 * time.Minute} {
		now := l.IssuedAt.Add(-behind)
		req := &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05},
			Altitude: &noflyv1.Altitude{Metres: 50, Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL},
			At:       timestamppb.New(l.IssuedAt.Add(30 * time.Minute)), Operator: &noflyv1.Operator{Unit: "AMS", PilotId: "P1"},
			Purpose: noflyv1.Purpose_PURPOSE_FORENSIC}
		resp, err := only.CheckPosition(context.Background(), req, now)
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetVerdict() != noflyv1.Verdict_VERDICT_DENIED {
			t.Errorf("clock %s behind the issue: %v, want DENIED (the only record was revoked before the issue)", behind, resp.GetVerdict())
		}
	}
}
