package server

import (
	"testing"

	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// ExportBundle goes through the same fuzz target as the other RPCs
// (fuzz_test.go): arbitrary requests, as every caller.
func init() {
	full := noflyv1.AuthorisationService_ExportBundle_FullMethodName
	fuzzSeeds[full] = []proto.Message{
		&noflyv1.ExportBundleRequest{Unit: "AMS", ValidSeconds: 3600,
			Area: &noflyv1.ExportBundleRequest_Bbox{Bbox: &noflyv1.BoundingBox{MinLatitude: 52, MinLongitude: 4, MaxLatitude: 52.1, MaxLongitude: 4.1}}},
		&noflyv1.ExportBundleRequest{Unit: "AMS",
			Area: &noflyv1.ExportBundleRequest_Around{Around: &noflyv1.Circle{Center: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, RadiusM: 5000}}},
		&noflyv1.ExportBundleRequest{},
	}
	fuzzTargets = append(fuzzTargets, full)
}

func FuzzExportBundle(f *testing.F) {
	fuzzMethod(f, noflyv1.AuthorisationService_ExportBundle_FullMethodName)
}
