package geo

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

func TestCheckRing(t *testing.T) {
	tests := []struct {
		name string
		ring orb.Ring
		edge int    // want an EdgeError for this edge; -2 for none
		msg  string // part of its message
	}{
		{"square", orb.Ring{{5, 52}, {5.1, 52}, {5.1, 52.1}, {5, 52.1}, {5, 52}}, -2, ""},
		{"across the antimeridian, drawn the long way", orb.Ring{{179.5, -17}, {-179.5, -17}, {-179.5, -16}, {179.5, -16}, {179.5, -17}}, 0, "spans 359° of longitude"},
		{"edge of exactly 180°", orb.Ring{{-90, 0}, {90, 0}, {90, 1}, {-90, 0}}, -2, ""},
		{"edge of 180.5°", orb.Ring{{-90, 0}, {90.5, 0}, {90.5, 1}, {-90, 0}}, 0, "spans 180.5°"},
		{"third edge long", orb.Ring{{170, 0}, {179, 0}, {179, 1}, {-179, 1}, {170, 0}}, 2, "from position 2 (179, 1) to position 3 (-179, 1)"},
		{"round the pole at 85°, one parallel", orb.Ring{{0, 85}, {90, 85}, {180, 85}, {90, 85}, {0, 85}}, -1, "encloses no area"},
		{"round the pole at 85°, wrapping", orb.Ring{{0, 85}, {90, 85}, {180, 85}, {-90, 85}, {0, 85}}, 2, "spans 270°"},
		{"polar cap as RFC 7946 draws it", orb.Ring{{-180, 85}, {-90, 85}, {0, 85}, {90, 85}, {180, 85}, {180, 90}, {-180, 90}, {-180, 85}}, -2, ""},
		{"there and back", orb.Ring{{5, 52}, {5.1, 52.1}, {5, 52}, {5.1, 52.1}, {5, 52}}, -1, "encloses no area"},
		{"one point", orb.Ring{{5, 52}, {5, 52}, {5, 52}, {5, 52}}, -1, "encloses no area"},
		{"thin but not flat: 1 mm wide, 10 km long", orb.Ring{{5, 52}, {5.1, 52}, {5.1, 52.00000001}, {5, 52}}, -2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := CheckRing(tc.ring)
			if tc.edge == -2 {
				if e != nil {
					t.Fatalf("CheckRing = %v, want nil", e)
				}
				return
			}
			if e == nil {
				t.Fatalf("CheckRing = nil, want edge %d", tc.edge)
			}
			if e.Edge != tc.edge || !strings.Contains(e.Msg, tc.msg) {
				t.Fatalf("CheckRing = edge %d %q, want edge %d with %q", e.Edge, e.Msg, tc.edge, tc.msg)
			}
			if e.Edge >= 0 && (e.From != tc.ring[e.Edge] || e.To != tc.ring[e.Edge+1]) {
				t.Fatalf("edge %d from %v to %v, ring %v", e.Edge, e.From, e.To, tc.ring)
			}
			if e.Edge >= 0 && !strings.Contains(e.Msg, "RFC 7946 §3.1.9") {
				t.Fatalf("message %q does not say how to fix the data", e.Msg)
			}
		})
	}
}

// TestReadAntimeridian reads the ring of issue 11 (a zone over Fiji drawn
// across ±180°) and the ring round the pole: both are refused, naming the
// file, feature and edge, where before they loaded and the first answered
// CLEAR inside the zone.
func TestReadAntimeridian(t *testing.T) {
	tests := []struct {
		name, geometry, field, msg string
	}{
		{"Fiji", `{"type":"Polygon","coordinates":[[[179.5,-17],[-179.5,-17],[-179.5,-16],[179.5,-16],[179.5,-17]]]}`,
			"geometry.coordinates[0][0]", "edge from position 0 (179.5, -17) to position 1 (-179.5, -17) spans 359° of longitude"},
		{"pole", `{"type":"MultiPolygon","coordinates":[[[[0,85],[120,85],[-120,85],[0,85]]]]}`,
			"geometry.coordinates[0][0][1]", "spans 240° of longitude"},
		{"flat", `{"type":"Polygon","coordinates":[[[0,85],[90,85],[180,85],[90,85],[0,85]]]}`,
			"geometry.coordinates[0]", "ring encloses no area"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(noflyFeature(`{"id":"FJ-1"}`, tc.geometry)), "fiji.geojson")
			var le *LoadError
			if !errors.As(err, &le) || len(le.Problems) != 1 {
				t.Fatalf("Read: %v, want one problem", err)
			}
			p := le.Problems[0]
			if p.File != "fiji.geojson" || p.Feature != 0 || p.ZoneID != "FJ-1" || p.Field != tc.field || !strings.Contains(p.Msg, tc.msg) {
				t.Fatalf("problem %+v, want field %s with %q", p, tc.field, tc.msg)
			}
		})
	}
	// The same zone cut at the antimeridian, as RFC 7946 §3.1.9 asks, loads
	// and holds a point on either side of it.
	cut := `{"type":"MultiPolygon","coordinates":[[[[179.5,-17],[180,-17],[180,-16],[179.5,-16],[179.5,-17]]],[[[-180,-17],[-179.5,-17],[-179.5,-16],[-180,-16],[-180,-17]]]]}`
	zones, err := Read(bytes.NewReader([]byte(noflyFeature(`{"id":"FJ-1"}`, cut))), "fiji.geojson")
	if err != nil {
		t.Fatal(err)
	}
	ix, err := NewIndex(zones)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		lon  float64
		want int
	}{{179.9, 1}, {-179.9, 1}, {0, 0}} {
		if hits := ix.CheckPosition(PositionQuery{Point: orb.Point{tc.lon, -16.5}, At: at}, nil); len(hits) != tc.want {
			t.Errorf("lon %g: %d hits, want %d", tc.lon, len(hits), tc.want)
		}
	}
}

func TestQueriesAcrossAntimeridian(t *testing.T) {
	w := Instant(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	route := RouteQuery{Waypoints: []Waypoint{{Point: orb.Point{179, -16}}, {Point: orb.Point{179.9, -16}}, {Point: orb.Point{-179.9, -16}}}, Window: w}
	if err := route.Validate(); !errors.Is(err, ErrInvalidQuery) || !strings.Contains(err.Error(), "waypoints[1]: leg from waypoint 1 (179.9, -16) to waypoint 2 (-179.9, -16) spans 359.8°") {
		t.Errorf("route across ±180°: %v", err)
	}
	area := AreaQuery{Area: Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{{{179.5, -17}, {-179.5, -17}, {-179.5, -16}, {179.5, -16}, {179.5, -17}}}}}, Window: w}
	if err := area.Validate(); !errors.Is(err, ErrInvalidQuery) || !strings.Contains(err.Error(), "area[0][0][0]: edge from position 0") {
		t.Errorf("area across ±180°: %v", err)
	}
	route.Waypoints = route.Waypoints[:2]
	if err := route.Validate(); err != nil {
		t.Errorf("route up to 179.9°: %v", err)
	}
}
