package server

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// The authorisation service's RPCs go through the same fuzz targets as the
// others (fuzz_test.go): arbitrary requests, as every caller.
func init() {
	plan := func() *noflyv1.FlightPlan {
		return &noflyv1.FlightPlan{
			Operator: &noflyv1.Operator{Unit: "AMS", DroneSerial: "D1"}, Purpose: noflyv1.Purpose_PURPOSE_FORENSIC,
			Start: timestamppb.New(clock), End: timestamppb.New(clock.Add(time.Hour)), BufferM: 20,
			Geometry: route(wp(52.05, 4.04, 40), wp(52.05, 4.06, 40)),
		}
	}
	area := plan()
	area.Geometry = &noflyv1.FlightPlan_Area{Area: &noflyv1.Area{Shape: &noflyv1.Area_Circle{Circle: &noflyv1.Circle{
		Center: &noflyv1.Position{Latitude: 52.5, Longitude: 4.5}, RadiusM: 300}},
		Band: &noflyv1.AltitudeBand{LowerM: 0, UpperM: 100, Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}}}
	seeds := map[string][]proto.Message{
		noflyv1.AuthorisationService_IssueAuthorisation_FullMethodName: {
			&noflyv1.IssueAuthorisationRequest{FlightPlan: plan()}, &noflyv1.IssueAuthorisationRequest{FlightPlan: area},
			&noflyv1.IssueAuthorisationRequest{},
		},
		noflyv1.AuthorisationService_GetAuthorisation_FullMethodName: {&noflyv1.GetAuthorisationRequest{Id: "AU-000001"}},
		noflyv1.AuthorisationService_ListAuthorisations_FullMethodName: {
			&noflyv1.ListAuthorisationsRequest{Unit: "AMS", ExemptionId: "EX-000001", PageSize: 2},
		},
		noflyv1.AuthorisationService_RevokeAuthorisation_FullMethodName: {
			&noflyv1.RevokeAuthorisationRequest{Id: "AU-000001", RevokedBy: "admin", Note: "cancelled",
				Reason: noflyv1.AuthorisationRevocationReason_AUTHORISATION_REVOCATION_REASON_WITHDRAWN},
		},
		noflyv1.AuthorisationService_GetRevocationList_FullMethodName: {&noflyv1.GetRevocationListRequest{}},
		noflyv1.AuthorisationService_GetKeySet_FullMethodName:         {&noflyv1.GetKeySetRequest{}},
	}
	for full, s := range seeds {
		fuzzSeeds[full] = s
		fuzzTargets = append(fuzzTargets, full)
	}
}

func FuzzIssueAuthorisation(f *testing.F) {
	fuzzMethod(f, noflyv1.AuthorisationService_IssueAuthorisation_FullMethodName)
}
func FuzzGetAuthorisation(f *testing.F) {
	fuzzMethod(f, noflyv1.AuthorisationService_GetAuthorisation_FullMethodName)
}
func FuzzListAuthorisations(f *testing.F) {
	fuzzMethod(f, noflyv1.AuthorisationService_ListAuthorisations_FullMethodName)
}
func FuzzRevokeAuthorisation(f *testing.F) {
	fuzzMethod(f, noflyv1.AuthorisationService_RevokeAuthorisation_FullMethodName)
}
func FuzzGetRevocationList(f *testing.F) {
	fuzzMethod(f, noflyv1.AuthorisationService_GetRevocationList_FullMethodName)
}
func FuzzGetKeySet(f *testing.F) {
	fuzzMethod(f, noflyv1.AuthorisationService_GetKeySet_FullMethodName)
}
