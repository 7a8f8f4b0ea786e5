package server

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// TestFlightAcrossAntimeridian refuses a route leg or an area edge that
// spans more than 180° of longitude (read the long way round the Earth) as
// InvalidArgument naming the field and how to fix it (issue 11).
func TestFlightAcrossAntimeridian(t *testing.T) {
	f := newFixture(t)
	pos := func(lat, lon float64) *noflyv1.Position { return &noflyv1.Position{Latitude: lat, Longitude: lon} }
	tests := []struct {
		name string
		fp   *noflyv1.FlightPlan
		want string
	}{
		{"route", &noflyv1.FlightPlan{Geometry: &noflyv1.FlightPlan_Route{Route: &noflyv1.Route{Waypoints: []*noflyv1.Waypoint{
			{Latitude: -16.5, Longitude: 179.8}, {Latitude: -16.5, Longitude: -179.8}}}}},
			"flight_plan.route: waypoints[0]: leg from waypoint 0 (179.8, -16.5) to waypoint 1 (-179.8, -16.5) spans 359.6° of longitude"},
		{"area", &noflyv1.FlightPlan{Geometry: &noflyv1.FlightPlan_Area{Area: &noflyv1.Area{Shape: &noflyv1.Area_Polygon{Polygon: &noflyv1.Polygon{
			Rings: []*noflyv1.Ring{{Positions: []*noflyv1.Position{pos(-17, 179.5), pos(-17, -179.5), pos(-16, -179.5), pos(-16, 179.5)}}}}}}}},
			"edge from position 0 (179.5, -17) to position 1 (-179.5, -17) spans 359°"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.client.CheckFlightPlan(context.Background(), &noflyv1.CheckFlightPlanRequest{FlightPlan: tc.fp})
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "RFC 7946 §3.1.9") {
				t.Fatalf("CheckFlightPlan: %v, want InvalidArgument with %q", err, tc.want)
			}
		})
	}
}
