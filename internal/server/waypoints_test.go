package server

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/geo"
)

// TestRouteQueryWaypointChecks: routeQuery finds in a waypoint what the
// position checks find, under the waypoint's field paths, at the limits of
// latitude, longitude and height, just beyond them, NaN and infinities,
// with and without an altitude and a reference.
func TestRouteQueryWaypointChecks(t *testing.T) {
	degs := func(limit float64) []float64 {
		return []float64{0, 12.5, limit, -limit, math.Nextafter(limit, math.Inf(1)), math.Nextafter(-limit, math.Inf(-1)), math.NaN(), math.Inf(1), math.Inf(-1)}
	}
	heights := []*float64{nil, proto.Float64(60), proto.Float64(minHeight), proto.Float64(maxHeight),
		proto.Float64(math.Nextafter(minHeight, math.Inf(-1))), proto.Float64(math.Nextafter(maxHeight, math.Inf(1))), proto.Float64(math.NaN())}
	n := 0
	for _, lat := range degs(90) {
		for _, lon := range degs(180) {
			for _, alt := range heights {
				for _, ref := range []noflyv1.VerticalReference{noflyv1.VerticalReference_VERTICAL_REFERENCE_UNSPECIFIED, noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL} {
					w := &noflyv1.Waypoint{Latitude: lat, Longitude: lon, AltitudeM: alt}
					var b badRequest
					q := routeQuery(&b, "flight_plan.route", &noflyv1.Route{Waypoints: []*noflyv1.Waypoint{w, {Latitude: 52, Longitude: 4, AltitudeM: alt}}, AltitudeReference: ref})
					var want badRequest
					wf := "flight_plan.route.waypoints[0]"
					checkLatLon(&want, wf+".", lat, lon)
					switch {
					case alt == nil && q.AltRef != geo.RefUnknown:
						want.add(wf+".altitude_m", "required when altitude_reference is set")
					case alt != nil && q.AltRef == geo.RefUnknown:
						want.add(wf+".altitude_m", "given but altitude_reference is not set: say what the heights are measured from")
					case alt != nil:
						checkHeight(&want, wf+".altitude_m", *alt)
					}
					var got []string
					for _, v := range b.violations {
						if strings.HasPrefix(v.Field, wf) {
							got = append(got, v.Field+": "+v.Description)
						}
					}
					var wantS []string
					for _, v := range want.violations {
						wantS = append(wantS, v.Field+": "+v.Description)
					}
					if !slices.Equal(got, wantS) {
						t.Fatalf("waypoint %v, reference %v: routeQuery says %q, want %q", w, ref, got, wantS)
					}
					if len(want.violations) == 0 {
						n++
						if p := q.Waypoints[0]; p.Point != (orb.Point{lon, lat}) || (alt != nil && p.Alt != *alt) {
							t.Fatalf("waypoint %v: query has %v", w, p)
						}
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no waypoint passed: the table tests only refusals")
	}
}
