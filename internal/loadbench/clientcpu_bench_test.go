package loadbench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/internal/benchdata"
)

// v1Codec is the tool's codec before it became a CodecV2 (the reference
// for BenchmarkClientCPU): gRPC wraps it, boxing what it marshals and
// copying every answer into one new slice before Unmarshal.
type v1Codec struct{}

func (v1Codec) Name() string { return "proto" }

// v1Encoded is a request marshalled once, as the tool kept it before: a
// byte slice, boxed into an interface by every call.
type v1Encoded []byte

func (v1Codec) Marshal(v any) ([]byte, error) {
	if e, ok := v.(v1Encoded); ok {
		return e, nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("v1 codec: cannot marshal %T", v)
	}
	return proto.Marshal(m)
}

func (v1Codec) Unmarshal(data []byte, v any) error { return v1Unmarshal(data, v) }

// BenchmarkClientCPU is the load tool's own CPU time per call (this
// process: every thread, gRPC's included) against a real noflyd running in
// another process, as noflybench drives it: 4 connections × 8 senders, a
// 5 s deadline a call, health checks and BASIC position checks of the
// shared set. "old" is a call as the tool made it before (the codec above,
// a request boxed and an answer allocated a call, the verdict named and
// counted by name); "new" is the tool's caller and tally. The server's CPU
// is not in the figure. Needs NOFLY_BENCH_ADDR (host:port of a noflyd
// serving the shared set) and NOFLY_BENCH_DATA (its points.txt).
//
//	NOFLY_BENCH_ADDR=127.0.0.1:7600 NOFLY_BENCH_DATA=/tmp/decide-bench \
//	  go test ./internal/loadbench/ -run '^$' -bench ClientCPU -count 6
func BenchmarkClientCPU(b *testing.B) {
	addr, dir := os.Getenv("NOFLY_BENCH_ADDR"), os.Getenv("NOFLY_BENCH_DATA")
	if addr == "" || dir == "" {
		b.Skip("NOFLY_BENCH_ADDR (a running noflyd) and NOFLY_BENCH_DATA (the shared set) not set")
	}
	points, err := benchdata.ReadPoints(dir + "/points.txt")
	if err != nil {
		b.Fatal(err)
	}
	const nconn, senders = 4, 8
	conns := make([]*grpc.ClientConn, nconn)
	for i := range conns {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(fast))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		conns[i] = conn
	}
	ctx := context.Background()
	const timeout = 5 * time.Second
	for _, mode := range []string{ModeHealth, ModeBasic} {
		c := &Config{Mode: mode, Points: points, AltM: 60}
		rs := c.requests()
		// The old requests: the same bytes, kept as byte slices.
		oldReqs := make([]v1Encoded, len(rs.reqs))
		for i, r := range rs.reqs {
			oldReqs[i] = v1Encoded(r.(*request).data.Materialize())
		}
		b.Run(mode+"/old", func(b *testing.B) {
			oldCodec := grpc.ForceCodec(v1Codec{})
			clientCPU(b, conns, senders, func(conn *grpc.ClientConn) func(i int) error {
				counts := map[string]int64{}
				return func(i int) error {
					cctx, cancel := context.WithTimeout(ctx, timeout)
					defer cancel()
					var resp firstEnum
					err := conn.Invoke(cctx, rs.method, oldReqs[i%len(oldReqs)], &resp, oldCodec)
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
			})
		})
		b.Run(mode+"/new", func(b *testing.B) {
			clientCPU(b, conns, senders, func(conn *grpc.ClientConn) func(i int) error {
				call := rs.caller(conn)
				wk := &worker{hist: newHist(), codes: map[codes.Code]int64{}}
				cfg := Config{Timeout: timeout}
				return func(i int) error {
					sent := time.Now()
					v, err := cfg.do(ctx, call, i)
					wk.record(sent, v, err)
					return err
				}
			})
		})
	}
}

// clientCPU runs b.N calls over len(conns) × senders goroutines and
// reports this process's CPU time per call.
func clientCPU(b *testing.B, conns []*grpc.ClientConn, senders int, sender func(*grpc.ClientConn) func(i int) error) {
	n := len(conns) * senders
	calls := make([]func(int) error, n)
	for w := range calls {
		calls[w] = sender(conns[w%len(conns)])
	}
	// Every connection answers once before the clock starts.
	for _, call := range calls[:len(conns)] {
		if err := call(0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, err := SelfCPU()
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += n {
				if err := calls[w](i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	cpu1, _ := SelfCPU()
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "client-cpu-ns/op")
}
