package server

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// gantrisch is the zone the InterUSS CHE-1 file (ED-269) publishes in two
// variants: NO_RESTRICTION for the open category, REQ_AUTHORISATION for the
// specific and certified categories.
const gantrisch = "Gantrisch Nature Park"

func gantrischZones(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../geo/testdata/zones/gantrisch-ed269.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func categoriesOf(h *noflyv1.ZoneHit) []noflyv1.OperationCategory {
	return h.GetZone().GetOperationCategories()
}

var (
	catOpen      = noflyv1.OperationCategory_OPERATION_CATEGORY_OPEN
	catSpecific  = noflyv1.OperationCategory_OPERATION_CATEGORY_SPECIFIC
	catCertified = noflyv1.OperationCategory_OPERATION_CATEGORY_CERTIFIED
)

// TestCategoryVariants checks a flight in Gantrisch Nature Park in each
// category of operation, and without one, through the server.
func TestCategoryVariants(t *testing.T) {
	f := newExFixtureZones(t, gantrischZones(t))
	ctx := context.Background()
	pos := func(c noflyv1.OperationCategory) *noflyv1.CheckPositionRequest {
		return &noflyv1.CheckPositionRequest{
			Position: &noflyv1.Position{Latitude: 46.73, Longitude: 7.42}, Altitude: alt(50),
			At: timestamppb.New(clock), Operator: &noflyv1.Operator{Unit: "BE", PilotId: "P1"},
			Purpose: noflyv1.Purpose_PURPOSE_SEARCH_AND_RESCUE, OperationCategory: c,
		}
	}
	plan := func(c noflyv1.OperationCategory) *noflyv1.CheckFlightPlanRequest {
		return &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{
			Operator: &noflyv1.Operator{Unit: "BE", PilotId: "P1"}, Purpose: noflyv1.Purpose_PURPOSE_SEARCH_AND_RESCUE,
			Start: timestamppb.New(clock), OperationCategory: c,
			Geometry: &noflyv1.FlightPlan_Route{Route: &noflyv1.Route{Waypoints: []*noflyv1.Waypoint{
				{Latitude: 46.73, Longitude: 7.30}, {Latitude: 46.73, Longitude: 7.42}}}},
		}}
	}
	tests := []struct {
		name       string
		cat        noflyv1.OperationCategory
		verdict    noflyv1.Verdict
		conflicts  [][]noflyv1.OperationCategory // categories of each conflict's variant
		advisories [][]noflyv1.OperationCategory
	}{
		{"no category: every variant counts", 0, noflyv1.Verdict_VERDICT_DENIED,
			[][]noflyv1.OperationCategory{{catSpecific, catCertified}}, [][]noflyv1.OperationCategory{{catOpen}}},
		{"open", catOpen, noflyv1.Verdict_VERDICT_CLEAR, nil, [][]noflyv1.OperationCategory{{catOpen}}},
		{"specific", catSpecific, noflyv1.Verdict_VERDICT_DENIED, [][]noflyv1.OperationCategory{{catSpecific, catCertified}}, nil},
		{"certified", catCertified, noflyv1.Verdict_VERDICT_DENIED, [][]noflyv1.OperationCategory{{catSpecific, catCertified}}, nil},
	}
	hitCats := func(t *testing.T, hits []*noflyv1.ZoneHit) [][]noflyv1.OperationCategory {
		var out [][]noflyv1.OperationCategory
		for _, h := range hits {
			if h.GetZone().GetId() != gantrisch {
				t.Fatalf("hit %q", h.GetZone().GetId())
			}
			out = append(out, categoriesOf(h))
		}
		return out
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := f.checks.CheckPosition(ctx, pos(tc.cat))
			if err != nil {
				t.Fatal(err)
			}
			if p.GetVerdict() != tc.verdict || !slices.EqualFunc(hitCats(t, p.GetConflicts()), tc.conflicts, slices.Equal) ||
				!slices.EqualFunc(hitCats(t, p.GetAdvisories()), tc.advisories, slices.Equal) {
				t.Errorf("position: %v, conflicts %v, advisories %v", p.GetVerdict(), hitCats(t, p.GetConflicts()), hitCats(t, p.GetAdvisories()))
			}
			r, err := f.checks.CheckFlightPlan(ctx, plan(tc.cat))
			if err != nil {
				t.Fatal(err)
			}
			if r.GetVerdict() != tc.verdict || len(r.GetConflicts()) != len(tc.conflicts) || len(r.GetAdvisories()) != len(tc.advisories) {
				t.Errorf("plan: %v, %d conflicts, %d advisories", r.GetVerdict(), len(r.GetConflicts()), len(r.GetAdvisories()))
			}
		})
	}

	// Both variants, each with its class, under one id.
	z, err := f.checks.GetZone(ctx, &noflyv1.GetZoneRequest{Id: gantrisch})
	if err != nil {
		t.Fatal(err)
	}
	if len(z.GetVariants()) != 1 || z.GetZone().GetRestriction() != noflyv1.Restriction_RESTRICTION_REQ_AUTHORISATION ||
		!slices.Equal(z.GetZone().GetUspaceClass(), []string{"SPECIFIC", "CERTIFIED"}) ||
		z.GetVariants()[0].GetRestriction() != noflyv1.Restriction_RESTRICTION_NO_RESTRICTION ||
		!slices.Equal(z.GetVariants()[0].GetOperationCategories(), []noflyv1.OperationCategory{catOpen}) {
		t.Errorf("GetZone: %v", z)
	}
	// The variants of a zone stay on one page.
	l, err := f.checks.ListZones(ctx, &noflyv1.ListZonesRequest{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.GetZones()) != 2 || l.GetNextPageToken() != "" {
		t.Errorf("ListZones page of 1: %d zones, next %q", len(l.GetZones()), l.GetNextPageToken())
	}

	// A category the API does not define is refused.
	if _, err := f.checks.CheckPosition(ctx, pos(9)); err == nil {
		t.Error("unknown category accepted")
	}
}

// TestExemptionCoversEveryVariant: an exemption names a zone by id, and so
// covers every variant of it.
func TestExemptionCoversEveryVariant(t *testing.T) {
	f := newExFixtureZones(t, gantrischZones(t))
	ctx := context.Background()
	ex := record()
	ex.Holder.Unit, ex.ZoneIds, ex.Purposes = "BE", []string{gantrisch}, nil
	f.create(t, ex)
	for _, c := range []noflyv1.OperationCategory{0, catSpecific} {
		resp, err := f.checks.CheckPosition(ctx, &noflyv1.CheckPositionRequest{
			Position: &noflyv1.Position{Latitude: 46.73, Longitude: 7.42}, Altitude: alt(50),
			At: timestamppb.New(clock.Add(time.Minute)), Operator: &noflyv1.Operator{Unit: "BE", PilotId: "P1"},
			Purpose: noflyv1.Purpose_PURPOSE_FORENSIC, OperationCategory: c,
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetVerdict() != noflyv1.Verdict_VERDICT_EXEMPTED || resp.GetConflicts()[0].GetExemption() == nil {
			t.Errorf("category %v: %v, conflicts %v", c, resp.GetVerdict(), resp.GetConflicts())
		}
	}
}
