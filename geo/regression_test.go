package geo

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// Cases that once answered clear while the flight met a zone.

func TestRegressionWaypointOnEdgeDoesNotHideLaterLegs(t *testing.T) {
	z := polyZone("T", orb.Ring{{5.765311897405667, 52.98713029309976}, {5.778551487401297, 52.99701302818697}, {5.760311897405667, 53.00713029309976}, {5.765311897405667, 52.98713029309976}})
	z.Volumes[0].Upper = Limit{Metres: 100, Ref: AGL}
	ix := mustIndex(t, z)
	q := RouteQuery{AltRef: AGL, Window: TimeWindow{t0, t0.Add(time.Hour)}, Waypoints: []Waypoint{
		{Point: orb.Point{5.772501929998228, 52.98253693106351}, Alt: 50},
		{Point: orb.Point{5.768595767939876, 52.98958154895897}, Alt: 150}, // on an edge
		{Point: orb.Point{5.768100798768207, 52.990058616160916}, Alt: 50},
		{Point: orb.Point{5.768090798768207, 52.99006861616092}, Alt: 50},
	}}
	hits, err := ix.CheckRoute(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || !slices.Contains(hits[0].Legs, 2) {
		t.Fatalf("hits %+v, want zone T with leg 2 (inside, at 50 m)", hits)
	}
}

func TestRegressionFarBufferMeasuredGeodesically(t *testing.T) {
	c, d := orb.Point{8.128185455050179, 61.636129261847536}, orb.Point{8.070730355554527, 62.96912421870311}
	ix := mustIndex(t, polyZone("F", orb.Ring{c, d, {7.9, 62.3}, c}))
	a, b := orb.Point{10, 62.92182664958486}, orb.Point{10.0001, 62.92182664958486}
	gap := oracleDist(a, c, d)
	for _, tc := range []struct {
		buffer float64
		want   int
	}{{gap - 2, 0}, {gap + 2, 1}} {
		hits, err := ix.CheckRoute(route(tc.buffer, a, b))
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != tc.want {
			t.Fatalf("gap %.3f m, buffer %.3f m: %d hits, want %d", gap, tc.buffer, len(hits), tc.want)
		}
		if tc.want == 1 && math.Abs(hits[0].Distance-gap) > 0.5 {
			t.Errorf("closest approach %.3f m, true %.3f m", hits[0].Distance, gap)
		}
	}
}

func TestRegressionAntimeridian(t *testing.T) {
	ix := mustIndex(t, circleZone("C", orb.Point{179.99, 0}, 5000),
		polyZone("P", orb.Ring{{-179.999, 10 - 0.01}, {-179.99, 10 - 0.01}, {-179.99, 10.01}, {-179.999, 10.01}, {-179.999, 10 - 0.01}}))
	if hits := ix.CheckPosition(PositionQuery{Point: orb.Point{-179.99, 0}, At: t0}, nil); len(hits) != 1 {
		t.Errorf("2.2 km from the centre across the antimeridian: %d hits, want 1", len(hits))
	}
	hits, _ := ix.CheckRoute(route(0, orb.Point{-179.99, 0}, orb.Point{-179.98, 0}))
	if len(hits) != 1 {
		t.Errorf("route across from the circle: %d hits, want 1", len(hits))
	}
	// 223 m across the antimeridian from the polygon, 1 km buffer.
	hits, _ = ix.CheckRoute(route(1000, orb.Point{179.999, 10 - 0.005}, orb.Point{179.999, 10.005}))
	if len(hits) != 1 || hits[0].Zone.ID != "P" {
		t.Errorf("route beside the polygon across the antimeridian: %v, want P", hitIDs(hits))
	}
}

func TestRegressionNearThePole(t *testing.T) {
	ix := mustIndex(t, circleZone("N", orb.Point{0, 89.95}, 3000), circleZone("P", orb.Point{0, 89.99}, 5000))
	if hits := ix.CheckPosition(PositionQuery{Point: orb.Point{25, 89.96}, At: t0}, nil); !slices.Contains(hitIDs(hits), "N") {
		t.Errorf("2.4 km from a circle's centre near the pole: %v, want N", hitIDs(hits))
	}
	if hits := ix.CheckPosition(PositionQuery{Point: orb.Point{180, 89.995}, At: t0}, nil); !slices.Contains(hitIDs(hits), "P") {
		t.Errorf("inside a circle round the pole: %v, want P", hitIDs(hits))
	}
}

func TestRegressionAreaHoldsSecondPolygonOfZone(t *testing.T) {
	far := orb.Polygon{{{10, 10}, {10.01, 10}, {10.01, 10.01}, {10, 10.01}, {10, 10}}}
	in := orb.Polygon{{{5.001, 52.001}, {5.002, 52.001}, {5.002, 52.002}, {5.001, 52.002}, {5.001, 52.001}}}
	ix := mustIndex(t, Zone{ID: "M", Restriction: Prohibited, Volumes: []Volume{{
		Shape: Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{far, in}}, Lower: OpenLimit, Upper: OpenLimit}}})
	area := Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{{{5, 52}, {5.01, 52}, {5.01, 52.01}, {5, 52.01}, {5, 52}}}}}
	hits, err := ix.CheckArea(AreaQuery{Area: area, Window: TimeWindow{t0, t0}})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 {
		t.Errorf("zone's second polygon wholly inside the area: %d hits, want 1", len(hits))
	}
}

func TestRegressionScheduleOnDaylightSavingDays(t *testing.T) {
	ber, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		start, end int32
		at         time.Time // inside the schedule by the wall clock
	}{
		{"spring: 02:30 is skipped, 03:00 CEST is inside 02:30–04:00", 2*3600 + 1800, 4 * 3600, time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		{"autumn: 02:20 CEST, the first 02:20, is inside 02:10–02:50", 2*3600 + 600, 2*3600 + 3000, time.Date(2026, 10, 25, 0, 20, 0, 0, time.UTC)},
		{"autumn: 02:20 CET, the second 02:20, is inside 02:10–02:50", 2*3600 + 600, 2*3600 + 3000, time.Date(2026, 10, 25, 1, 20, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z := circleZone("T", orb.Point{5, 52}, 1000)
			z.Applicability = Applicability{Periods: []Period{{Schedule: []DailyPeriod{{Days: AllDays, Start: tc.start, End: tc.end, Loc: ber}}}}}
			ix := mustIndex(t, z)
			if hits := ix.CheckPosition(PositionQuery{Point: orb.Point{5, 52}, At: tc.at}, nil); len(hits) != 1 {
				t.Errorf("position: %d hits, want 1", len(hits))
			}
			hits, _ := ix.CheckRoute(RouteQuery{Waypoints: []Waypoint{{Point: orb.Point{5, 52}}, {Point: orb.Point{5.001, 52}}},
				Window: TimeWindow{tc.at, tc.at.Add(5 * time.Minute)}})
			if len(hits) != 1 {
				t.Errorf("route: %d hits, want 1", len(hits))
			}
		})
	}
}
