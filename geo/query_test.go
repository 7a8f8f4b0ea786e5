package geo

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// Query validation names each field in the error's value, not only in its
// text, so that a caller can point at the field without reading the text.
func TestQueryErrors(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	win := TimeWindow{Start: at, End: at.Add(time.Hour)}
	wps := func(pts ...orb.Point) []Waypoint {
		out := make([]Waypoint, len(pts))
		for i, p := range pts {
			out[i] = Waypoint{Point: p, Alt: 50}
		}
		return out
	}
	tests := []struct {
		name string
		q    interface{ Validate() error }
		want []FieldError
	}{
		{"valid position", PositionQuery{Point: orb.Point{4.7, 52.3}, At: at}, nil},
		{"position", PositionQuery{Point: orb.Point{181, 91}, Alt: Altitude{Metres: 1e6, Ref: AGL}}, []FieldError{
			{"point", "latitude 91 outside -90..90"}, {"point", "longitude 181 outside -180..180"},
			{"altitude", "height 1e+06 m outside -1000..100000"}, {"at", "0001-01-01T00:00:00Z is outside the times nofly checks, 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z"}}},
		{"valid route", RouteQuery{Waypoints: wps(orb.Point{4.7, 52.3}, orb.Point{4.8, 52.3}), AltRef: AGL, Window: win}, nil},
		{"route", RouteQuery{Waypoints: wps(orb.Point{4.7, 52.3}, orb.Point{4.8, math.NaN()}), AltRef: VerticalRef(9),
			Buffer: -1, Window: TimeWindow{Start: at, End: at.Add(-time.Second)}}, []FieldError{
			{"waypoints[0].alt", "unknown vertical reference 9"},
			{"waypoints[1]", "latitude NaN outside -90..90"}, {"waypoints[1].alt", "unknown vertical reference 9"},
			{"buffer", "-1 m outside 0..100000"}, {"window", "end 2026-05-01T09:59:59Z before start 2026-05-01T10:00:00Z"}}},
		{"short route", RouteQuery{Waypoints: wps(orb.Point{4.7, 52.3}), Window: win}, []FieldError{
			{"waypoints", "a route needs at least 2 waypoints, got 1"}}},
		{"area", AreaQuery{Area: Shape{Kind: ShapeCircle, Center: orb.Point{4.7, 52.3}, Radius: 0},
			Band: Band{Lower: 100, Upper: 50, Ref: AMSL}, Window: TimeWindow{End: at}}, []FieldError{
			{"area.radius", "0 m outside (0, 100000]"}, {"window.start", "0001-01-01T00:00:00Z is outside the times nofly checks, 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z"},
			{"band", "lower 100 m above upper 50 m"}}},
		{"area polygon", AreaQuery{Area: Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{{{5, 52}, {5.1, 52}, {5, 52}}}}},
			Window: win}, []FieldError{
			{"area[0][0]", "ring has 3 positions: want at least 4, the last repeating the first"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.q.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var qe *QueryError
			if !errors.As(err, &qe) || !errors.Is(err, ErrInvalidQuery) {
				t.Fatalf("error %v (%T), want a *QueryError wrapping ErrInvalidQuery", err, err)
			}
			if !slices.Equal(qe.Problems, tc.want) {
				t.Errorf("problems\n%q\nwant\n%q", qe.Problems, tc.want)
			}
			if want := qe.Detail(); err.Error() != want {
				t.Errorf("text %q, want %q", err.Error(), want)
			}
		})
	}
}
