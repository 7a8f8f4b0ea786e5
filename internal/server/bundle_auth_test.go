package server

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// A bundle carries a unit's exemptions: a pilot or planner gets their own
// unit's, an administrator any unit's, an auditor none.
func TestExportBundleRoles(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	req := func(unit string) *noflyv1.ExportBundleRequest {
		return &noflyv1.ExportBundleRequest{Unit: unit,
			Area: &noflyv1.ExportBundleRequest_Bbox{Bbox: &noflyv1.BoundingBox{MinLatitude: 51.9, MinLongitude: 3.9, MaxLatitude: 52.2, MaxLongitude: 6.2}}}
	}
	for _, tc := range []struct {
		caller, unit string
		code         codes.Code
		msg          string
	}{
		{"pilot", "", codes.OK, ""},
		{"pilot", "AMS", codes.OK, ""},
		{"pilot", "RTM", codes.PermissionDenied, `unit "RTM" is not your unit (AMS)`},
		{"planner", "RTM", codes.PermissionDenied, `unit "RTM" is not your unit (AMS)`},
		{"admin", "RTM", codes.OK, ""},
		{"admin", "", codes.InvalidArgument, "unit"},
		{"auditor", "AMS", codes.PermissionDenied, ""},
	} {
		t.Run(tc.caller+"/"+tc.unit, func(t *testing.T) {
			c := noflyv1.NewAuthorisationServiceClient(f.as(t, tc.caller))
			resp, err := c.ExportBundle(ctx, req(tc.unit))
			if status.Code(err) != tc.code || (tc.msg != "" && !strings.Contains(err.Error(), tc.msg)) {
				t.Fatalf("got %v, want %v with %q", err, tc.code, tc.msg)
			}
			if err == nil && (len(resp.GetBundle()) == 0 || resp.GetZones() == 0) {
				t.Errorf("an empty bundle: %v", resp)
			}
		})
	}
}
