package e2e

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// bigRingFile is a zone file of one prohibited zone whose ring has n
// vertices on a circle of r metres around (lon, lat).
func bigRingFile(lon, lat, r float64, n int) string {
	var b strings.Builder
	b.WriteString(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"BIG","name":"many vertices","restriction":"PROHIBITED","lower_m":0,"lower_ref":"AGL","upper_m":120,"upper_ref":"AGL"},"geometry":{"type":"Polygon","coordinates":[[`)
	for i := 0; i <= n; i++ {
		a := 2 * math.Pi * float64(i%n) / float64(n)
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%.7f,%.7f]", lon+r*math.Cos(a)/(111_320*math.Cos(lat*math.Pi/180)), lat+r*math.Sin(a)/111_320)
	}
	b.WriteString(`]]}}]}`)
	return b.String()
}

// TestSIGTERMDuringExpensiveCheck: a valid flight plan that takes seconds
// (10,000 legs along the boundary of a ring of 300,000 vertices) is running
// when noflyd gets SIGTERM; noflyd exits, status 0, within its grace
// period.
func TestSIGTERMDuringExpensiveCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a zone of 300,000 vertices")
	}
	zones := filepath.Join(t.TempDir(), "big.geojson")
	write(t, zones, bigRingFile(5, 52, 50_000, 300_000))
	const grace = 2 * time.Second
	d := startDaemon(t, "--zones", zones, "--grace", grace.String())
	c := dial(t, d.addr)

	west := 5 - 50_000/(111_320*math.Cos(52*math.Pi/180))
	wps := make([]*noflyv1.Waypoint, 10_000)
	for i := range wps {
		lon := west - 0.025
		if i%2 == 1 {
			lon = west + 0.025
		}
		wps[i] = &noflyv1.Waypoint{Latitude: 51.8 + float64(i)*0.00004, Longitude: lon, AltitudeM: proto.Float64(50)}
	}
	req := &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{BufferM: 2000, Geometry: &noflyv1.FlightPlan_Route{
		Route: &noflyv1.Route{Waypoints: wps, AltitudeReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	called := make(chan error, 1)
	go func() {
		_, err := c.checks.CheckFlightPlan(ctx, req)
		called <- err
	}()
	time.Sleep(500 * time.Millisecond)
	select {
	case err := <-called:
		t.Fatalf("the check ended within 0.5 s (%v): not expensive enough to test a stop during it", err)
	default:
	}
	start := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(grace + 10*time.Second):
		t.Fatalf("noflyd still running %v after SIGTERM with --grace %v", time.Since(start), grace)
	}
	took := time.Since(start)
	t.Logf("noflyd exited %v after SIGTERM (grace %v)", took, grace)
	// A little over grace for the process to exit and the test to see it.
	if took > grace+200*time.Millisecond {
		t.Errorf("noflyd exited %v after SIGTERM, more than the grace period of %v", took, grace)
	}
	if d.err != nil {
		t.Errorf("noflyd exited with %v, want status 0", d.err)
	}
	if m, _ := d.log.find("calls still in flight near the end of the grace period; cancelling them", 0); m == nil {
		t.Errorf("no cancellation in the log:\n%s", d.log)
	}
	if m, _ := d.log.find("stopped", 0); m == nil {
		t.Errorf("the call did not end once cancelled:\n%s", d.log)
	}
	if err := <-called; err == nil {
		t.Error("the check in flight succeeded; want it ended by the stop")
	}
}

// TestOutOfRangeTimes: times outside 1970..2200 are refused with the range
// named, text and JSON alike, instead of "time required" or a JSON error.
func TestOutOfRangeTimes(t *testing.T) {
	d := startDaemon(t)
	route := filepath.Join(t.TempDir(), "route.geojson")
	write(t, route, `{"type":"LineString","coordinates":[[3.0,53.8,60],[3.2,53.9,80]]}`)
	const outside = "is outside the times nofly checks, 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--lat", "52", "--lon", "4", "--at", "0001-01-01T00:00:00Z"}, "at: 0001-01-01T00:00:00Z " + outside},
		{[]string{"plan", "check", route, "--start", "9999-12-31T23:59:59Z"}, "flight_plan.start: 9999-12-31T23:59:59Z " + outside},
		{[]string{"plan", "check", route, "--start", "9999-12-31T23:59:59Z", "--json"}, "flight_plan.start: 9999-12-31T23:59:59Z " + outside},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := nofly(t, d.addr, tc.args...)
			wantExit(t, r, 2)
			if !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
				t.Errorf("want %q in stderr and nothing on stdout: %s", tc.want, r)
			}
		})
	}
}
