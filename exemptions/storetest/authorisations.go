package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nofly-project/nofly/exemptions"
)

// testAuthorisations runs the life of authorisations on a store: issued
// under exemptions, listed, revoked by an administrator, revoked with the
// exemption they relied on, and listed as revoked, each step in the audit
// log with an intact chain.
func testAuthorisations(t *testing.T, s exemptions.Store) {
	ctx := context.Background()
	as, ok := s.(exemptions.AuthorisationStore)
	if !ok {
		t.Fatalf("%T does not keep authorisations", s)
	}
	create := func(ex exemptions.Exemption) exemptions.Exemption {
		t.Helper()
		out, err := s.Create(ctx, exemptions.Request{}, ex)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	exA := create(Record("AMS", "NL-A"))
	exB := create(Record("AMS", "NL-B"))
	t0 := T0
	rec := func(exIDs ...string) exemptions.AuthorisationRecord {
		return exemptions.AuthorisationRecord{KeyID: "k1", IssuedAt: t0, ValidFrom: t0, ValidUntil: t0.Add(2 * time.Hour),
			Unit: "AMS", Pilot: "P1", Drone: "D1", Purpose: exemptions.PurposeForensic, IssuedBy: "planner",
			Verdict: "EXEMPTED", ExemptionIDs: exIDs, ZoneIDs: []string{"NL-A"}}
	}
	issue := func(r exemptions.AuthorisationRecord) exemptions.AuthorisationRecord {
		t.Helper()
		out, err := as.IssueAuthorisation(ctx, r, func(id string) ([]byte, error) { return []byte("signed " + id), nil })
		if err != nil {
			t.Fatalf("IssueAuthorisation: %v", err)
		}
		return out
	}
	a1 := issue(rec(exA.ID))
	a2 := issue(rec(exA.ID, exB.ID))
	a3 := issue(rec(exB.ID))
	if a1.ID != "AU-000001" || a3.ID != "AU-000003" || string(a2.Token) != "signed AU-000002" {
		t.Fatalf("ids %s %s, token %q", a1.ID, a3.ID, a2.Token)
	}
	got, err := as.GetAuthorisation(ctx, a2.ID)
	if err != nil || !bytes.Equal(got.Token, a2.Token) || !slices.Equal(got.ExemptionIDs, []string{exA.ID, exB.ID}) {
		t.Fatalf("GetAuthorisation: %+v, %v", got, err)
	}
	if _, err := as.GetAuthorisation(ctx, "AU-999999"); !errors.Is(err, exemptions.ErrAuthorisationNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	list, _, err := as.ListAuthorisations(ctx, exemptions.AuthorisationFilter{ExemptionID: exA.ID})
	if err != nil || len(list) != 2 || list[0].ID != a1.ID || list[1].ID != a2.ID {
		t.Fatalf("list by exemption: %v, %v", list, err)
	}
	page, next, err := as.ListAuthorisations(ctx, exemptions.AuthorisationFilter{PageSize: 2})
	if err != nil || len(page) != 2 || next == "" {
		t.Fatalf("first page: %d, %q, %v", len(page), next, err)
	}
	if page, next, err = as.ListAuthorisations(ctx, exemptions.AuthorisationFilter{PageSize: 2, PageToken: next}); err != nil || len(page) != 1 || next != "" {
		t.Fatalf("second page: %d, %q, %v", len(page), next, err)
	}

	// An administrator withdraws a3; twice is refused.
	rev := exemptions.AuthorisationRevocation{At: t0.Add(time.Minute), By: "admin", Reason: "withdrawn", Note: "flight cancelled"}
	if r, err := as.RevokeAuthorisation(ctx, a3.ID, rev); err != nil || r.Revocation == nil {
		t.Fatalf("RevokeAuthorisation: %+v, %v", r, err)
	}
	if _, err := as.RevokeAuthorisation(ctx, a3.ID, rev); !errors.Is(err, exemptions.ErrAuthorisationRevoked) {
		t.Errorf("second revocation: %v", err)
	}

	// Revoking exemption A makes a1 and a2 revoked, on the list even before
	// the cascade is recorded on them.
	at := t0.Add(5 * time.Minute)
	if _, err := s.Revoke(ctx, exemptions.Request{}, exA.ID, exemptions.Revocation{At: at, By: "admin", Reason: "court order lifted"}); err != nil {
		t.Fatal(err)
	}
	revoked, err := as.RevokedAuthorisations(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(rs []exemptions.AuthorisationRecord) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	if want := []string{a1.ID, a2.ID, a3.ID}; !slices.Equal(ids(revoked), want) {
		t.Fatalf("revoked before the cascade: %v, want %v", ids(revoked), want)
	}
	if r := revoked[0].Revocation; r == nil || r.Reason != exemptions.AuthorisationExemptionRevoked || !r.At.Equal(at) {
		t.Errorf("derived revocation of %s: %+v", a1.ID, r)
	}
	cascade, err := as.RevokeAuthorisationsRelyingOn(ctx, exA.ID, exemptions.AuthorisationRevocation{At: at, By: "admin",
		Reason: exemptions.AuthorisationExemptionRevoked, Note: "exemption " + exA.ID + " revoked"})
	if err != nil || !slices.Equal(ids(cascade), []string{a1.ID, a2.ID}) {
		t.Fatalf("cascade: %v, %v", ids(cascade), err)
	}
	if again, err := as.RevokeAuthorisationsRelyingOn(ctx, exA.ID, exemptions.AuthorisationRevocation{At: at}); err != nil || len(again) != 0 {
		t.Errorf("second cascade: %v, %v", ids(again), err)
	}
	// Expired authorisations leave the list.
	if later, err := as.RevokedAuthorisations(ctx, t0.Add(3*time.Hour)); err != nil || len(later) != 0 {
		t.Errorf("after they expired: %v, %v", ids(later), err)
	}
	// Nothing is issued on a revoked exemption.
	if _, err := as.IssueAuthorisation(ctx, rec(exA.ID), func(string) ([]byte, error) { return []byte("x"), nil }); !errors.Is(err, exemptions.ErrNotInForce) {
		t.Errorf("issued on a revoked exemption: %v", err)
	}

	events, _, err := s.Audit(ctx, exemptions.AuditFilter{ExemptionID: a2.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []exemptions.Action
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	if want := []exemptions.Action{exemptions.ActionAuthorise, exemptions.ActionRevokeAuthorisation}; !slices.Equal(actions, want) {
		t.Errorf("audit of %s: %v, want %v", a2.ID, actions, want)
	}
	v, err := s.VerifyAudit(ctx)
	if err != nil || !v.OK() {
		t.Errorf("VerifyAudit: %+v, %v", v, err)
	}
}
