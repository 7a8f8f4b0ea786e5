package geo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// bigRingZone is a zone whose one ring has n vertices on a circle of r
// metres around c (a polygon, not a circle shape: every edge is measured).
func bigRingZone(id string, c orb.Point, r float64, n int) Zone {
	ring := make(orb.Ring, n+1)
	f := newFrame(c[0], c[1])
	for i := range n {
		a := 2 * math.Pi * float64(i) / float64(n)
		ring[i] = f.lonlat(vec{r * math.Cos(a), r * math.Sin(a)})
	}
	ring[n] = ring[0]
	return polyZone(id, ring)
}

// zigzag is a route of n legs back and forth across lon0..lon1 along lat,
// creeping north by dLat a leg.
func zigzag(n int, lon0, lon1, lat, dLat float64) []Waypoint {
	wps := make([]Waypoint, n+1)
	for i := range wps {
		lon := lon0
		if i%2 == 1 {
			lon = lon1
		}
		wps[i] = Waypoint{Point: orb.Point{lon, lat + float64(i)*dLat}}
	}
	return wps
}

// TestCheckStops: a valid check of many legs along the boundary of a ring
// of 200,000 vertices, far more work than its deadline allows, ends with
// the deadline's error soon after it passes.
func TestCheckStops(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a ring of 200,000 vertices")
	}
	c := orb.Point{5, 52}
	ix := mustIndex(t, bigRingZone("BIG", c, 50_000, 200_000))
	// Legs of 3.4 km across the ring's western edge, 2 km buffer: every
	// leg measures thousands of edges.
	west := c[0] - 50_000/(111_320*math.Cos(52*math.Pi/180))
	q := RouteQuery{Waypoints: zigzag(MaxWaypoints-1, west-0.025, west+0.025, 51.8, 0.00004), Buffer: 2000,
		Window: Instant(t0)}
	if err := q.Validate(); err != nil {
		t.Fatalf("the query must be valid: %v", err)
	}
	for _, deadline := range []time.Duration{50 * time.Millisecond, 300 * time.Millisecond} {
		t.Run(fmt.Sprint(deadline), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			gap := stopGaps(t, ctx.Err)
			q.Stop = gap.stop
			start := time.Now()
			_, err := ix.CheckRoute(q)
			late := time.Since(start) - deadline
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want the deadline's error (the check took %v)", err, time.Since(start))
			}
			t.Logf("stopped %v after the deadline; at most %v of CPU between two asks of Stop", late, gap.worst)
			gap.check(t, late)
		})
	}
	t.Run("area", func(t *testing.T) {
		var poly orb.Ring
		for _, w := range zigzag(MaxWaypoints-2, west-0.025, west+0.025, 51.8, 0.00004) {
			poly = append(poly, w.Point)
		}
		poly = append(poly, orb.Point{west - 0.03, 52.3}, poly[0])
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		gap := stopGaps(t, ctx.Err)
		start := time.Now()
		_, err := ix.CheckArea(AreaQuery{Area: Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{poly}}},
			Buffer: 2000, Window: Instant(t0), Stop: gap.stop})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v after %v, want the deadline's error", err, time.Since(start))
		}
		late := time.Since(start) - 50*time.Millisecond
		t.Logf("stopped %v after the deadline; at most %v of CPU between two asks of Stop", late, gap.worst)
		gap.check(t, late)
	})
}

// TestCheckStopsWhenAsked: Stop's error ends a check, and Stop is asked
// at a bounded interval of work.
func TestCheckStopsWhenAsked(t *testing.T) {
	// 1,600 circles 0.025° apart; 160 legs across their rows: thousands
	// of segment-and-zone pairs whose boxes meet.
	zones := make([]Zone, 0, 1600)
	for i := range 1600 {
		zones = append(zones, circleZone(fmt.Sprintf("C%04d", i), orb.Point{4.5 + float64(i%40)*0.025, 51.5 + float64(i/40)*0.025}, 100))
	}
	ix := mustIndex(t, zones...)
	q := RouteQuery{Waypoints: zigzag(160, 4.5, 5.5, 51.5, 0.00625), Buffer: 200, Window: Instant(t0)}
	all, err := ix.CheckRoute(q)
	if err != nil || len(all) == 0 {
		t.Fatalf("without Stop: %d hits, %v", len(all), err)
	}
	var calls int
	stop := errors.New("stop")
	q.Stop = func() error {
		if calls++; calls == 3 {
			return stop
		}
		return nil
	}
	if _, err := ix.CheckRoute(q); err != stop || calls != 3 {
		t.Errorf("got %v after %d calls, want Stop's error at the third", err, calls)
	}
	calls = 0
	q.Stop = func() error { calls++; return nil }
	again, err := ix.CheckRoute(q)
	if err != nil || len(again) != len(all) {
		t.Errorf("a Stop that says go on: %d hits, %v; want %d", len(again), err, len(all))
	}
	// One call per stopEvery units of work (a candidate zone times the
	// segments of a chunk): 12 here.
	if calls < 8 {
		t.Errorf("Stop asked %d times, want one per %d units of work", calls, stopEvery)
	}
}

func TestCheckLimits(t *testing.T) {
	// 1,200 small zones in a 30 x 40 grid 1 km apart.
	var zones []Zone
	for i := range 1200 {
		zones = append(zones, circleZone(fmt.Sprintf("Z%04d", i), orb.Point{5 + float64(i%30)*0.015, 52 + float64(i/30)*0.009}, 50))
	}
	ix := mustIndex(t, zones...)
	_, err := ix.CheckArea(AreaQuery{Area: Shape{Kind: ShapeCircle, Center: orb.Point{5.2, 52.2}, Radius: 50_000}, Window: Instant(t0)})
	if !errors.Is(err, ErrTooManyHits) || err.Error() != "too many zones: the flight meets more than 1000 zones; check it in parts" {
		t.Errorf("1,200 zones met: %v", err)
	}
	hits, err := ix.CheckArea(AreaQuery{Area: Shape{Kind: ShapeCircle, Center: orb.Point{5, 52}, Radius: 5000}, Window: Instant(t0)})
	if err != nil || len(hits) == 0 || len(hits) > MaxHits {
		t.Errorf("a few zones met: %d, %v", len(hits), err)
	}

	tests := []struct {
		name string
		err  error
		want string
	}{
		{"100 legs of 260 km with a 100 km buffer", RouteQuery{Waypoints: zigzag(100, 2, 5.8, 52, 0), Buffer: 100_000, Window: Instant(t0)}.Validate(),
			"waypoints: the check would search 21"},
		{"a zigzag of 10,000 short legs with a 100 km buffer", RouteQuery{Waypoints: zigzag(9999, 5, 5.001, 52, 0), Buffer: 100_000, Window: Instant(t0)}.Validate(),
			"waypoints: the check would search 400"},
		{"one leg of 100 km with a 100 km buffer", RouteQuery{Waypoints: zigzag(1, 4, 5.46, 52, 0), Buffer: 100_000, Window: Instant(t0)}.Validate(), ""},
		{"largest circle", AreaQuery{Area: Shape{Kind: ShapeCircle, Center: orb.Point{5, 52}, Radius: MaxBuffer}, Buffer: MaxBuffer, Window: Instant(t0)}.Validate(), ""},
		{"an area with long edges and a wide buffer", AreaQuery{Area: Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{zigzagRing(40, 2, 6)}}}, Buffer: 100_000, Window: Instant(t0)}.Validate(),
			"area: the check would search"},
		{"the zero time", PositionQuery{Point: orb.Point{5, 52}, At: time.Time{}}.Validate(),
			"at: 0001-01-01T00:00:00Z is outside the times nofly checks, 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z"},
		{"year 9999", RouteQuery{Waypoints: zigzag(1, 5, 5.1, 52, 0), Window: TimeWindow{time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(10000, 1, 1, 0, 59, 59, 0, time.UTC)}}.Validate(),
			"window.start: 9999-12-31T23:59:59Z is outside the times nofly checks"},
		{"nested problems keep no prefix", RouteQuery{Waypoints: []Waypoint{{Point: orb.Point{5, 91}}, {Point: orb.Point{181, 52}}}, Window: Instant(t0)}.Validate(),
			"waypoints[0]: latitude 91 outside -90..90; waypoints[1]: longitude 181 outside -180..180"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			switch {
			case tc.want == "" && tc.err != nil:
				t.Errorf("refused: %v", tc.err)
			case tc.want != "" && (tc.err == nil || !strings.HasPrefix(tc.err.Error(), tc.want) || !errors.Is(tc.err, ErrInvalidQuery)):
				t.Errorf("got %v, want %q…", tc.err, tc.want)
			case tc.err != nil && strings.Contains(tc.err.Error(), "invalid query"):
				t.Errorf("internal prefix in %q", tc.err)
			}
		})
	}
}

// zigzagRing is a closed ring of n spikes between lon0 and lon1.
func zigzagRing(n int, lon0, lon1 float64) orb.Ring {
	var r orb.Ring
	for i := range n {
		r = append(r, orb.Point{lon0, 50 + float64(i)*0.05}, orb.Point{lon1, 50 + float64(i)*0.05 + 0.025})
	}
	r = append(r, orb.Point{lon0 - 1, 52}, r[0])
	return r
}

// stopGap measures, in CPU time of the checking thread, the longest stretch
// of work between two asks of a check's Stop: the most a check can run on
// after its deadline has passed. CPU time, not the wall clock, so that a
// machine busy with other work does not fail the test: the wall-clock
// delay is bounded loosely (the check alone would run for minutes).
type stopGap struct {
	next  func() error
	last  time.Duration
	worst time.Duration
	ok    bool
}

func stopGaps(t *testing.T, next func() error) *stopGap {
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	g := &stopGap{next: next}
	g.last, g.ok = threadCPU()
	return g
}

func (g *stopGap) stop() error {
	if now, ok := threadCPU(); ok {
		g.worst = max(g.worst, now-g.last)
		g.last = now
	}
	return g.next()
}

// Within 100 ms of CPU after the deadline, the bound; where the
// thread's CPU time cannot be read, by the wall clock.
func (g *stopGap) check(t *testing.T, late time.Duration) {
	t.Helper()
	const bound = 100 * time.Millisecond
	switch {
	case g.ok && g.worst > bound:
		t.Errorf("%v of CPU between two asks of Stop, want at most %v", g.worst, bound)
	case !g.ok && late > bound:
		t.Errorf("stopped %v after the deadline, want within %v", late, bound)
	case late > 2*time.Second:
		t.Errorf("stopped %v after the deadline: Stop's answer was not heeded", late)
	}
}
