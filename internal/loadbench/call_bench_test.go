package loadbench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// oldCall is how a sender made and counted a call before: the answer read
// into a new firstEnum a call, the codec passed as a call option, the
// verdict named and counted by name. The reference for BenchmarkCall.
func oldCall(conn *grpc.ClientConn, rs *requests, counts map[string]int64) func(ctx context.Context, i int) error {
	return func(ctx context.Context, i int) error {
		var resp firstEnum
		err := conn.Invoke(ctx, rs.method, rs.reqs[i%len(rs.reqs)], &resp, fast)
		verdict := ""
		if rs.verdict {
			verdict = noflyv1.Verdict(resp.value).String()
		} else if st := healthpb.HealthCheckResponse_ServingStatus(resp.value); err == nil && st != healthpb.HealthCheckResponse_SERVING {
			err = status.Errorf(codes.Unavailable, "health: %v", st)
		}
		if err == nil && verdict != "" {
			counts[strings.TrimPrefix(verdict, "VERDICT_")]++
		}
		return err
	}
}

// BenchmarkCall is one sender's calls, one at a time, to a server in the
// same process on loopback, the old way and the new: the difference is
// the client's. proc-cpu-ns/op is the process's CPU time (client and
// server, every thread) per call; allocs/op counts both sides too.
func BenchmarkCall(b *testing.B) {
	addr := serveZones(b, `{"type":"FeatureCollection","features":[
	  {"type":"Feature","properties":{"id":"T-P","restriction":"PROHIBITED","lower_m":0,"lower_ref":"AGL","upper_m":120,"upper_ref":"AGL","radius_m":500},
	   "geometry":{"type":"Point","coordinates":[4.5,52.0]}}]}`)
	ctx := context.Background()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(fast))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	points := []orb.Point{{4.5, 52.0}, {4.49, 52.0}, {4.6, 52.1}}
	c := Config{Timeout: 5 * time.Second}
	for _, mode := range []string{ModeHealth, ModeBasic} {
		rs := (&Config{Mode: mode, Points: points, AltM: 50}).requests()
		b.Run(mode+"/old", func(b *testing.B) {
			call := oldCall(conn, rs, map[string]int64{})
			benchCalls(b, func(i int) error {
				cctx, cancel := context.WithTimeout(ctx, c.Timeout)
				defer cancel()
				return call(cctx, i)
			})
		})
		b.Run(mode+"/new", func(b *testing.B) {
			call := rs.caller(conn)
			wk := &worker{hist: newHist(), codes: map[codes.Code]int64{}}
			benchCalls(b, func(i int) error {
				v, err := c.do(ctx, call, i)
				wk.tally(time.Millisecond, v, err)
				return err
			})
		})
	}
}

func benchCalls(b *testing.B, call func(i int) error) {
	b.ReportAllocs()
	cpu0, _ := SelfCPU()
	i := 0
	for b.Loop() {
		if err := call(i); err != nil {
			b.Fatal(err)
		}
		i++
	}
	cpu1, _ := SelfCPU()
	b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "proc-cpu-ns/op")
}
