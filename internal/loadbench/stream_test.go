package loadbench

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// TestStream runs the stream mode against a real server on loopback,
// closed loop and open loop: every position sent in the measured time is
// answered (alone or with others) and counted once, none fails, and open
// loop sends at the rate asked.
func TestStream(t *testing.T) {
	addr := serveZones(t, `{"type":"FeatureCollection","features":[
	  {"type":"Feature","properties":{"id":"T-P","restriction":"PROHIBITED","lower_m":0,"lower_ref":"AGL","upper_m":120,"upper_ref":"AGL","radius_m":500},
	   "geometry":{"type":"Point","coordinates":[4.5,52.0]}}]}`)
	ctx := context.Background()

	points := []orb.Point{{4.5, 52.0}, {4.49, 52.0}, {4.6, 52.1}}
	for _, tc := range []struct {
		name string
		rate float64
	}{
		{"closed", 0},
		{"open", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Run(ctx, Config{Addr: addr, Mode: ModeStream, Conns: 2, InFlight: 3, Window: 4,
				Duration: time.Second, Warmup: 200 * time.Millisecond, Rate: tc.rate, Points: points, AltM: 50})
			if err != nil {
				t.Fatal(err)
			}
			if r.Failed != 0 || r.OK == 0 {
				t.Fatalf("%d answered, %d failed (%v)", r.OK, r.Failed, r.Codes)
			}
			if r.ClientCPU <= 0 || r.ClientCPU > 2*time.Second*time.Duration(runtime.NumCPU()) {
				t.Errorf("the tool's own CPU time over 1 s: %v", r.ClientCPU)
			}
			if tc.rate > 0 && (float64(r.OK) < 0.9*tc.rate || float64(r.OK) > 1.01*tc.rate) {
				t.Errorf("open loop at %v/s for 1 s: %d positions counted", tc.rate, r.OK)
			}
			// Open loop, every position counted was also timed as sent
			// (the client's lateness, reported apart); closed loop, none.
			switch {
			case tc.rate > 0 && (r.SendLate == nil || r.SendLate.TotalCount() != r.OK):
				t.Errorf("open loop: %d positions counted, client lateness of %v", r.OK, r.SendLate)
			case tc.rate == 0 && (r.SendLate != nil || r.FromSend != nil):
				t.Errorf("closed loop: client lateness measured")
			case tc.rate > 0 && (r.FromSend == nil || r.FromSend.TotalCount() != r.OK):
				t.Errorf("open loop: %d positions counted, timed from the send %v", r.OK, r.FromSend)
			case tc.rate > 0 && r.FromSend.Max() > r.Latency.Max():
				// Each position is sent at or after it is due.
				t.Errorf("open loop: %d µs from a send, but at most %d µs from a due time", r.FromSend.Max(), r.Latency.Max())
			}
			// Open loop, the flights (from the points, east at 15 m/s,
			// 1.5 m a position) stay near where they start: two of the
			// six in the zone.
			if tc.rate > 0 && (r.Verdicts["DENIED"] == 0 || r.Verdicts["CLEAR"] == 0) {
				t.Errorf("verdicts %v: want both", r.Verdicts)
			}
			var b strings.Builder
			Row(&b, r, nil)
			t.Log(b.String())
		})
	}
}
