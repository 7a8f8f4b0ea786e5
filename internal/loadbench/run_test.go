package loadbench

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// TestRunUnary runs every unary mode against a real server on loopback,
// 2 connections × 4 senders sharing one set of requests: none fails, every
// call answered OK is counted once under a verdict (the checks) or under
// none (health, batch), and the verdicts are those the positions have,
// counted alone: a point inside the prohibited zone is DENIED, one far
// from it CLEAR.
func TestRunUnary(t *testing.T) {
	addr := serveZones(t, `{"type":"FeatureCollection","features":[
	  {"type":"Feature","properties":{"id":"T-P","restriction":"PROHIBITED","lower_m":0,"lower_ref":"AGL","upper_m":120,"upper_ref":"AGL","radius_m":500},
	   "geometry":{"type":"Point","coordinates":[4.5,52.0]}}]}`)
	ctx := context.Background()

	for _, tc := range []struct {
		name   string
		mode   string
		points []orb.Point
		want   []string // the verdicts counted; none for health and batch
	}{
		{"health", ModeHealth, nil, nil},
		{"inside: position", ModePosition, []orb.Point{{4.5, 52.0}, {4.501, 52.001}}, []string{"DENIED"}},
		{"inside: basic", ModeBasic, []orb.Point{{4.5, 52.0}, {4.501, 52.001}}, []string{"DENIED"}},
		{"far: basic", ModeBasic, []orb.Point{{4.8, 52.3}, {4.9, 52.4}}, []string{"CLEAR"}},
		{"both: basic", ModeBasic, []orb.Point{{4.5, 52.0}, {4.8, 52.3}}, []string{"CLEAR", "DENIED"}},
		{"route", ModeRoute, nil, []string{"DENIED"}},
		{"batch", ModeBatch, []orb.Point{{4.5, 52.0}, {4.8, 52.3}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Addr: addr, Mode: tc.mode, Conns: 2, InFlight: 4,
				Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond, Points: tc.points, AltM: 50, Batch: 10}
			if tc.mode == ModeRoute {
				c.Routes = [][]orb.Point{{{4.49, 52.0}, {4.51, 52.0}}, {{4.5, 51.99}, {4.5, 52.01}}}
			}
			r, err := Run(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if r.Failed != 0 || r.OK == 0 {
				t.Fatalf("%d answered, %d failed (%v)", r.OK, r.Failed, r.Codes)
			}
			if r.Latency.TotalCount() != r.OK {
				t.Errorf("%d latencies recorded for %d calls", r.Latency.TotalCount(), r.OK)
			}
			var counted int64
			for _, n := range r.Verdicts {
				counted += n
			}
			if tc.want == nil {
				if len(r.Verdicts) != 0 {
					t.Fatalf("verdicts %v counted for calls that have none", r.Verdicts)
				}
				return
			}
			if counted != r.OK {
				t.Errorf("%d verdicts counted for %d calls answered", counted, r.OK)
			}
			if got := slices.Sorted(maps.Keys(r.Verdicts)); !slices.Equal(got, tc.want) {
				t.Errorf("verdicts %v, want %v", r.Verdicts, tc.want)
			}
		})
	}
}
