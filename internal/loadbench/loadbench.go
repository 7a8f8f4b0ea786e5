// Package loadbench drives a running noflyd over gRPC and measures what it
// answers: requests per second and the latency distribution, for the
// health check (the floor: the cheapest call gRPC can make), position
// checks and 20-waypoint flight plan checks.
//
// Closed loop (Rate 0): every connection keeps InFlight calls outstanding,
// each sent as soon as the previous one answered; this measures the most
// the server does. Open loop (Rate > 0): calls are due at a fixed total
// rate, each sent when due (or, its sender still waiting for the previous
// answer, as soon as it is free) and timed from when it was due, so that a
// stalled server shows in the latency instead of silently slowing the
// sender (coordinated omission). The client's own lateness is counted too
// (the Go runtime's timers wake an idle process up to a millisecond late,
// and a loaded machine schedules it later still) and reported apart
// (Result.SendLate), so that a reader can tell the client's share from
// the server's.
package loadbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/paulmach/orb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// The modes: which call a run makes.
const (
	ModeHealth   = "health"
	ModePosition = "position"
	ModeRoute    = "route"
	// ModeBasic: CheckPosition with view CHECK_VIEW_BASIC (no zone texts).
	ModeBasic = "basic"
	// ModeBatch: CheckPositions calls of Batch positions each.
	ModeBatch = "batch"
	// ModeStream: Conns × InFlight MonitorFlight streams, each sending
	// positions without waiting for answers (at most Window unanswered,
	// closed loop); the latency is update to the answer covering it
	// (stream.go).
	ModeStream = "stream"
)

// Config is one run.
type Config struct {
	Addr string // host:port of noflyd
	Mode string // ModeHealth, ModePosition or ModeRoute
	// Conns is the number of gRPC connections (each its own HTTP/2
	// connection); InFlight the calls each keeps outstanding.
	Conns, InFlight int
	// Duration of the measured run, after Warmup (unmeasured).
	Duration, Warmup time.Duration
	// Rate is the open-loop arrival rate in calls per second over all
	// connections; 0 runs closed loop.
	Rate float64
	// Points are the positions checked (ModePosition), lon/lat; Routes the
	// flight plans (ModeRoute), each of its waypoints.
	Points []orb.Point
	Routes [][]orb.Point
	// AltM is the height of every position and waypoint, metres AGL;
	// BufferM the routes' lateral buffer, metres.
	AltM, BufferM float64
	// Batch is the positions of each CheckPositions call (ModeBatch);
	// 0 means 1000.
	Batch int
	// Window is the positions each stream may have unanswered in a
	// closed-loop ModeStream run; 0 means DefaultWindow.
	Window int
	// Unit is the operator unit the checks name; a unit holding exemptions
	// makes every check go through the exemption rules.
	Unit string
	// Timeout of each call.
	Timeout time.Duration
	// HUP, when set, is called every HUPEvery during the measured run (to
	// make the server reload its zones under load); it returns an error to
	// stop the run.
	HUP      func() error
	HUPEvery time.Duration
	// ServerCPU, when set, returns the server process's CPU time so far
	// (ProcCPU); the result then says how much the server spent per call.
	ServerCPU func() (time.Duration, error)

	runCtx context.Context // of the run: streams live as long
}

func (c *Config) batch() int {
	if c.Batch <= 0 {
		return 1000
	}
	return c.Batch
}

// Result is what a run measured.
type Result struct {
	Mode string
	// PerCall is the positions each call carries (ModeBatch's Batch, else
	// 1): throughput and CPU are reported per position.
	PerCall int
	// Window: a closed-loop ModeStream run's Window, else 0.
	Window   int
	Conns    int
	InFlight int
	Rate     float64
	Elapsed  time.Duration
	// Calls answered OK and failed, the failures by code.
	OK, Failed int64
	Codes      map[codes.Code]int64
	// Verdicts of the checks answered, by name (CLEAR, DENIED, EXEMPTED).
	Verdicts map[string]int64
	// Latency of the calls, failed or not, in microseconds.
	Latency *hdrhistogram.Histogram
	// SendLate (open loop) is how late the client itself sent each
	// measured call after its due time, in microseconds: part of Latency,
	// the client's share (its timer's and its scheduling's lateness on a
	// shared machine) rather than the server's.
	SendLate *hdrhistogram.Histogram
	// FromSend (open-loop ModeStream) is Latency timed from when each
	// position was sent rather than due, in microseconds: without the
	// client's lateness in sending.
	FromSend *hdrhistogram.Histogram
	// HUPs sent during the run.
	HUPs int
	// ServerCPU is the server's CPU time during the measured run; zero
	// when not measured.
	ServerCPU time.Duration
	// ClientCPU is this process's own CPU time (user and system) during
	// the measured run: what the load tool took of the machine it shares
	// with the server; zero when not measured.
	ClientCPU time.Duration
}

// RPS is the calls answered OK per second.
func (r *Result) RPS() float64 { return float64(r.OK) / r.Elapsed.Seconds() }

// PositionsPerSecond is RPS times the positions each call carries.
func (r *Result) PositionsPerSecond() float64 { return r.RPS() * float64(max(1, r.PerCall)) }

// Quantile is the latency at q (0.99 for p99).
func (r *Result) Quantile(q float64) time.Duration {
	return time.Duration(r.Latency.ValueAtQuantile(q*100)) * time.Microsecond
}

// Histogram range: 1 µs to 60 s, 3 significant digits.
const (
	minLatencyUS = 1
	maxLatencyUS = 60_000_000
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(minLatencyUS, maxLatencyUS, 3) }

// validate reports the first problem of c, naming the field.
func (c *Config) validate() error {
	switch {
	case c.Addr == "":
		return errors.New("addr: required")
	case !slices.Contains([]string{ModeHealth, ModePosition, ModeBasic, ModeRoute, ModeBatch, ModeStream}, c.Mode):
		return fmt.Errorf("mode %q: want %s, %s, %s, %s, %s or %s", c.Mode, ModeHealth, ModePosition, ModeBasic, ModeRoute, ModeBatch, ModeStream)
	case c.Conns < 1:
		return fmt.Errorf("conns %d: want at least 1", c.Conns)
	case c.InFlight < 1:
		return fmt.Errorf("inflight %d: want at least 1", c.InFlight)
	case c.Duration <= 0:
		return fmt.Errorf("duration %v: want more than 0", c.Duration)
	case c.Rate < 0 || math.IsNaN(c.Rate):
		return fmt.Errorf("rate %v: want 0 (closed loop) or more", c.Rate)
	case (c.Mode == ModePosition || c.Mode == ModeBasic || c.Mode == ModeBatch || c.Mode == ModeStream) && len(c.Points) == 0:
		return errors.New("points: none to check")
	case c.Mode == ModeRoute && len(c.Routes) == 0:
		return errors.New("routes: none to check")
	case c.HUP != nil && c.HUPEvery <= 0:
		return fmt.Errorf("hup every %v: want more than 0", c.HUPEvery)
	}
	return nil
}

// caller makes one call; it returns the verdict (an int32 field's
// number), noVerdict for health and batch calls.
type caller func(ctx context.Context, i int) (int64, error)

// noVerdict is a call whose answer has no verdict to count: no int32, so
// that no number a server sends is taken for it.
const noVerdict = math.MinInt64

// fast makes a call read only the response's first field (codec.go).
var fast = grpc.ForceCodecV2(codec{})

// maxRequests bounds the requests built up front: calls cycle through them.
const maxRequests = 20_000

// requests is what a run's calls send: the requests marshalled once before
// the run (not once per sender: 32 senders marshalling 20,000 requests
// each took a third of a second of CPU, part of it past the warm-up on a
// loaded machine), shared read only by every sender.
type requests struct {
	method string
	reqs   []any // of *request
	// verdict: the answer's field 1 is a verdict (checks), else the
	// health check's status (health) or the answers' list (batch).
	verdict, health bool
}

func (c *Config) requests() *requests {
	op := &noflyv1.Operator{Unit: c.Unit, PilotId: "P-BENCH"}
	if c.Unit == "" {
		op = nil
	}
	purpose := noflyv1.Purpose_PURPOSE_FORENSIC
	switch c.Mode {
	case ModePosition, ModeBasic:
		reqs := make([]any, min(len(c.Points), maxRequests))
		for i := range reqs {
			p := c.Points[i]
			req := &noflyv1.CheckPositionRequest{
				Position: &noflyv1.Position{Latitude: p[1], Longitude: p[0]},
				Altitude: &noflyv1.Altitude{Metres: c.AltM, Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL},
				Operator: op, Purpose: purpose,
			}
			if c.Mode == ModeBasic {
				req.View = noflyv1.CheckView_CHECK_VIEW_BASIC
			}
			reqs[i] = encode(req)
		}
		return &requests{method: noflyv1.GeofenceService_CheckPosition_FullMethodName, reqs: reqs, verdict: true}
	case ModeRoute:
		reqs := make([]any, min(len(c.Routes), maxRequests))
		start := time.Now().Add(time.Hour).Truncate(time.Minute)
		for i := range reqs {
			wps := make([]*noflyv1.Waypoint, len(c.Routes[i]))
			for j, p := range c.Routes[i] {
				wps[j] = &noflyv1.Waypoint{Latitude: p[1], Longitude: p[0], AltitudeM: proto.Float64(c.AltM)}
			}
			reqs[i] = encode(&noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{
				Geometry: &noflyv1.FlightPlan_Route{Route: &noflyv1.Route{Waypoints: wps,
					AltitudeReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}},
				Start: timestamppb.New(start), End: timestamppb.New(start.Add(30 * time.Minute)),
				BufferM: c.BufferM, Operator: op, Purpose: purpose,
			}})
		}
		return &requests{method: noflyv1.GeofenceService_CheckFlightPlan_FullMethodName, reqs: reqs, verdict: true}
	case ModeBatch:
		size := c.batch()
		flight := &noflyv1.LiveFlight{Operator: op, Purpose: purpose, AltitudeReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}
		at := timestamppb.New(time.Now().Truncate(time.Minute))
		nreq := max(1, min(len(c.Points)/size, maxRequests/size))
		reqs := make([]any, nreq)
		for i := range reqs {
			ps := make([]*noflyv1.TelemetryPosition, size)
			for j := range ps {
				p := c.Points[(i*size+j)%len(c.Points)]
				ps[j] = &noflyv1.TelemetryPosition{At: at, Latitude: p[1], Longitude: p[0], AltitudeM: proto.Float64(c.AltM)}
			}
			reqs[i] = encode(&noflyv1.CheckPositionsRequest{Flight: flight, Positions: ps})
		}
		// Field 1 of the answer is the answers: its size only.
		return &requests{method: noflyv1.GeofenceService_CheckPositions_FullMethodName, reqs: reqs}
	default:
		req := encode(&healthpb.HealthCheckRequest{Service: noflyv1.GeofenceService_ServiceDesc.ServiceName})
		return &requests{method: healthpb.Health_Check_FullMethodName, reqs: []any{req}, health: true}
	}
}

// caller returns a sender's calls on conn. The answer is read into one
// firstEnum of the sender's own (its calls are one at a time), and the
// connection's default codec is the tool's (Run), so a call allocates
// nothing of the tool's making.
func (rs *requests) caller(conn *grpc.ClientConn) caller {
	resp := new(firstEnum)
	return func(ctx context.Context, i int) (int64, error) {
		err := conn.Invoke(ctx, rs.method, rs.reqs[i%len(rs.reqs)], resp)
		switch {
		case rs.verdict:
			return int64(resp.value), err
		case rs.health:
			if st := healthpb.HealthCheckResponse_ServingStatus(resp.value); err == nil && st != healthpb.HealthCheckResponse_SERVING {
				err = status.Errorf(codes.Unavailable, "health: %v", st)
			}
		}
		return noVerdict, err
	}
}

// worker is one sender's tally; merged after the run.
type worker struct {
	hist     *hdrhistogram.Histogram
	late     *hdrhistogram.Histogram // open loop: how late the client sent, in µs
	fromSend *hdrhistogram.Histogram // open-loop stream: latency from the send rather than the due time, in µs
	ok, fail int64
	codes    map[codes.Code]int64
	verdicts verdictCount
}

// verdictCount counts answers by verdict number: the known verdicts in an
// array, any other number (a newer server's) in a map; named when merged.
type verdictCount struct {
	known [4]int64
	other map[int32]int64
}

func (vc *verdictCount) add(v int32) {
	if v >= 0 && int(v) < len(vc.known) {
		vc.known[v]++
		return
	}
	if vc.other == nil {
		vc.other = map[int32]int64{}
	}
	vc.other[v]++
}

// addTo adds the counts to m by name (CLEAR, DENIED, EXEMPTED, …).
func (vc *verdictCount) addTo(m map[string]int64) {
	for v, n := range vc.known {
		if n > 0 {
			m[verdictName(int32(v))] += n
		}
	}
	for v, n := range vc.other {
		m[verdictName(v)] += n
	}
}

func verdictName(v int32) string {
	return strings.TrimPrefix(noflyv1.Verdict(v).String(), "VERDICT_")
}

// Run runs c against the server and returns what it measured. It fails
// only when it cannot run (bad config, no connection); failed calls are
// counted in the Result.
func Run(ctx context.Context, c Config) (*Result, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	c.runCtx = runCtx
	conns := make([]*grpc.ClientConn, c.Conns)
	for i := range conns {
		// The tool's codec for every call: passed per call, the option
		// would cost each call an allocation.
		conn, err := grpc.NewClient(c.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(fast))
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		conn.Connect()
		conns[i] = conn
	}
	// Every connection answers once before the clock starts.
	for _, conn := range conns {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := healthpb.NewHealthClient(conn).Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Addr, err)
		}
	}

	n := c.Conns * c.InFlight
	var rs *requests
	if c.Mode != ModeStream {
		rs = c.requests()
	}
	workers := make([]*worker, n)
	start := time.Now().Add(c.Warmup)
	end := start.Add(c.Duration)
	var wg sync.WaitGroup
	for w := range n {
		wk := &worker{hist: newHist(), codes: map[codes.Code]int64{}}
		if c.Rate > 0 {
			wk.late = newHist()
			if c.Mode == ModeStream {
				wk.fromSend = newHist()
			}
		}
		workers[w] = wk
		var call caller
		if c.Mode != ModeStream {
			call = rs.caller(conns[w%c.Conns])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.Mode == ModeStream {
				c.runStream(wk, conns[w%c.Conns], w, n, start, end)
				return
			}
			if c.Rate > 0 {
				c.openLoop(ctx, wk, call, w, n, end)
			} else {
				c.closedLoop(ctx, wk, call, w, n, start, end)
			}
		}()
	}
	var hups int
	cpuDone := make(chan [2]time.Duration, 1)
	go func() { cpuDone <- c.measureCPU(ctx, start, end) }()
	hupErr := make(chan error, 1)
	if c.HUP != nil {
		hupCtx, stop := context.WithCancel(ctx)
		defer stop()
		var hwg sync.WaitGroup
		hwg.Add(1)
		go func() {
			defer hwg.Done()
			hupErr <- c.hupLoop(hupCtx, start, end, &hups)
		}()
		defer hwg.Wait()
	}
	wg.Wait()
	if c.HUP != nil {
		if err := <-hupErr; err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	perCall := 1
	if c.Mode == ModeBatch {
		perCall = c.batch()
	}
	win := 0
	if c.Mode == ModeStream && c.Rate == 0 {
		win = c.window()
	}
	cpu := <-cpuDone
	r := &Result{Mode: c.Mode, PerCall: perCall, Window: win, Conns: c.Conns, InFlight: c.InFlight, Rate: c.Rate, Elapsed: c.Duration,
		Codes: map[codes.Code]int64{}, Verdicts: map[string]int64{}, Latency: newHist(), HUPs: hups,
		ServerCPU: cpu[0], ClientCPU: cpu[1]}
	if c.Rate > 0 {
		r.SendLate = newHist()
		if c.Mode == ModeStream {
			r.FromSend = newHist()
		}
	}
	for _, wk := range workers {
		r.OK += wk.ok
		r.Failed += wk.fail
		r.Latency.Merge(wk.hist)
		if wk.late != nil {
			r.SendLate.Merge(wk.late)
		}
		if wk.fromSend != nil {
			r.FromSend.Merge(wk.fromSend)
		}
		for k, v := range wk.codes {
			r.Codes[k] += v
		}
		wk.verdicts.addTo(r.Verdicts)
	}
	return r, nil
}

// record tallies one call that was due at due (open loop) or sent then.
func (wk *worker) record(due time.Time, verdict int64, err error) {
	wk.tally(time.Since(due), verdict, err)
}

// recordAt tallies one call answered OK at now that was due (or sent) at
// from.
func (wk *worker) recordAt(now, from time.Time, verdict int64) {
	wk.tally(now.Sub(from), verdict, nil)
}

func (wk *worker) tally(took time.Duration, verdict int64, err error) {
	_ = wk.hist.RecordValue(max(minLatencyUS, min(took.Microseconds(), maxLatencyUS)))
	if err != nil {
		wk.fail++
		wk.codes[status.Code(err)]++
		return
	}
	wk.ok++
	if verdict != noVerdict {
		wk.verdicts.add(int32(verdict))
	}
}

func (c *Config) do(ctx context.Context, call caller, i int) (int64, error) {
	cctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	return call(cctx, i)
}

// senderContext is the parent of one sender's calls: each call's deadline
// is registered with it and removed when the call ends, under its lock;
// the run's context, parent of every sender's calls, would have all
// senders take its one lock twice a call.
func senderContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithCancel(ctx)
}

// closedLoop sends the next call when the last answered; calls sent before
// start (the warm-up) are not counted, and none is sent after end.
func (c *Config) closedLoop(ctx context.Context, wk *worker, call caller, w, n int, start, end time.Time) {
	ctx, cancel := senderContext(ctx)
	defer cancel()
	for i := w; ctx.Err() == nil; i += n {
		sent := time.Now()
		if !sent.Before(end) {
			return
		}
		v, err := c.do(ctx, call, i)
		if sent.Before(start) {
			continue
		}
		wk.record(sent, v, err)
	}
}

// openLoop sends worker w's share of the calls: call k is due at
// start + (k·n + w)/Rate, sent when due or, when the sender is still in its
// previous call, as soon as that answers; either way it is timed from its
// due time, so that neither a slow server nor the client's own lateness
// (recorded apart, worker.late) is left out.
func (c *Config) openLoop(ctx context.Context, wk *worker, call caller, w, n int, end time.Time) {
	interval := time.Duration(float64(time.Second) * float64(n) / c.Rate)
	first := end.Add(-c.Duration).Add(time.Duration(float64(time.Second) * float64(w) / c.Rate))
	// The warm-up runs at the same rate, unmeasured.
	warm := first.Add(-c.Warmup)
	ctx, cancel := senderContext(ctx)
	defer cancel()
	for k := 0; ctx.Err() == nil; k++ {
		due := warm.Add(time.Duration(k) * interval)
		if !due.Before(end) {
			return
		}
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if !due.Before(first) {
			_ = wk.late.RecordValue(max(minLatencyUS, min(time.Since(due).Microseconds(), maxLatencyUS)))
		}
		v, err := c.do(ctx, call, k*n+w)
		if due.Before(first) {
			continue
		}
		wk.record(due, v, err)
	}
}

// measureCPU returns the server's CPU time from start to end (zero when
// not measured or it cannot be read) and this process's own. On a loaded
// machine the reads can come late: the times are scaled to the measured
// duration from the span between the reads, and a span short of half the
// duration (a read a second and more late) measures nothing.
func (c *Config) measureCPU(ctx context.Context, start, end time.Time) [2]time.Duration {
	sleepUntil := func(t time.Time) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Until(t)):
			return true
		}
	}
	var out [2]time.Duration
	if !sleepUntil(start) {
		return out
	}
	server := func() (time.Duration, error) {
		if c.ServerCPU == nil {
			return 0, errors.New("not measured")
		}
		return c.ServerCPU()
	}
	t0 := time.Now()
	a, errA := server()
	ca, errCA := SelfCPU()
	if !sleepUntil(end) {
		return out
	}
	b, errB := server()
	cb, errCB := SelfCPU()
	span := time.Since(t0)
	if span < (end.Sub(start))/2 {
		return out
	}
	scale := func(d time.Duration) time.Duration {
		return time.Duration(float64(d) * float64(end.Sub(start)) / float64(span))
	}
	if errA == nil && errB == nil {
		out[0] = scale(b - a)
	}
	if errCA == nil && errCB == nil {
		out[1] = scale(cb - ca)
	}
	return out
}

// SelfCPU is this process's CPU time so far, user and system, all threads
// (getrusage; microseconds).
func SelfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// ProcCPU returns a function that reads the CPU time (user and system) of
// process pid from /proc (Linux; clock ticks of 10 ms).
func ProcCPU(pid int) func() (time.Duration, error) {
	path := fmt.Sprintf("/proc/%d/stat", pid)
	return func() (time.Duration, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, err
		}
		// The command name, field 2, is in parentheses and may hold
		// spaces: count fields after its closing one.
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if i < 0 || len(f) < 13 {
			return 0, fmt.Errorf("%s: unexpected format", path)
		}
		var utime, stime int64
		if _, err := fmt.Sscan(f[11]+" "+f[12], &utime, &stime); err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
		return time.Duration(utime+stime) * tick, nil
	}
}

// CPUPerCall is the server's CPU time per call answered, zero when not
// measured.
func (r *Result) CPUPerCall() time.Duration {
	if r.ServerCPU <= 0 || r.OK+r.Failed == 0 {
		return 0
	}
	return r.ServerCPU / time.Duration((r.OK+r.Failed)*int64(max(1, r.PerCall)))
}

// ClientCPUPerCall is the tool's own CPU time per call answered (or
// failed), per position for a batch; zero when not measured.
func (r *Result) ClientCPUPerCall() time.Duration {
	if r.ClientCPU <= 0 || r.OK+r.Failed == 0 {
		return 0
	}
	return r.ClientCPU / time.Duration((r.OK+r.Failed)*int64(max(1, r.PerCall)))
}

// hupLoop calls HUP every HUPEvery from start until end.
func (c *Config) hupLoop(ctx context.Context, start, end time.Time, n *int) error {
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(time.Until(start)):
	}
	t := time.NewTicker(c.HUPEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			if !now.Before(end) {
				return nil
			}
			if err := c.HUP(); err != nil {
				return fmt.Errorf("hup: %w", err)
			}
			*n++
		}
	}
}

// WaitServing polls addr's health service until it says SERVING, or ctx
// ends.
func WaitServing(ctx context.Context, addr string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := hc.Check(cctx, &healthpb.HealthCheckRequest{Service: noflyv1.GeofenceService_ServiceDesc.ServiceName})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not SERVING (%v, %v): %w", addr, resp.GetStatus(), err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// SignalHUP returns a HUP function that sends SIGHUP to process pid.
func SignalHUP(pid int) func() error {
	return func() error { return syscall.Kill(pid, syscall.SIGHUP) }
}

// PidFromFile reads a process id written to path.
func PidFromFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: want a process id, got %q", path, strings.TrimSpace(string(b)))
	}
	return pid, nil
}

// Row is one line of the table: a result, and the health run it is
// compared with (nil for none).
func Row(w io.Writer, r, health *Result) {
	ratio := "—" // open loop: both run at the rate asked, a ratio says nothing
	if health != nil && health != r && health.RPS() > 0 && r.Rate == 0 {
		ratio = fmt.Sprintf("%.0f%%", 100*r.PositionsPerSecond()/health.RPS())
	}
	row(w, r, ratio, "")
}

func row(w io.Writer, r *Result, ratio, note string) {
	load := fmt.Sprintf("closed, %d×%d", r.Conns, r.InFlight)
	if r.PerCall > 1 {
		note = fmt.Sprintf(", %d positions a call (rps and CPU per position)", r.PerCall) + note
	}
	if d := r.ClientCPUPerCall(); d > 0 {
		note += fmt.Sprintf(", client CPU %.1f µs", float64(d.Nanoseconds())/1000)
	}
	if r.SendLate != nil && r.SendLate.TotalCount() > 0 {
		// The client's own share of the latency, timed from the due time.
		note += fmt.Sprintf(", sent p99 %s late", fmtDur(time.Duration(r.SendLate.ValueAtQuantile(99))*time.Microsecond))
		if r.FromSend != nil && r.FromSend.TotalCount() > 0 {
			note += fmt.Sprintf(", p99 %s from the send", fmtDur(time.Duration(r.FromSend.ValueAtQuantile(99))*time.Microsecond))
		}
	}
	if r.Mode == ModeStream {
		load = fmt.Sprintf("closed, %d streams × %d unanswered", r.Conns*r.InFlight, r.Window)
		if r.Rate > 0 {
			load = fmt.Sprintf("open, %.0f/s over %d streams", r.Rate, r.Conns*r.InFlight)
		}
	} else if r.Rate > 0 {
		load = fmt.Sprintf("open, %.0f/s", r.Rate)
	}
	cpu := "—"
	if d := r.CPUPerCall(); d > 0 {
		cpu = fmt.Sprintf("%.1f µs", float64(d.Nanoseconds())/1000)
	}
	fmt.Fprintf(w, "| %s | %s%s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n", r.Mode, load, note, r.PositionsPerSecond(), cpu,
		fmtDur(r.Quantile(0.50)), fmtDur(r.Quantile(0.99)), fmtDur(r.Quantile(0.999)), ratio,
		r.failures(), r.verdicts())
}

// Paired is a result and the health run before it on the same server (nil
// for none, or for a health run itself).
type Paired struct {
	Result, Health *Result
}

// MedianRow prints the row of the run with the median throughput among
// runs, with the median of the runs' ratios to their health runs, and the
// sum of their failures.
func MedianRow(w io.Writer, runs []Paired) {
	if len(runs) == 0 {
		return
	}
	byRPS := slices.Clone(runs)
	slices.SortFunc(byRPS, func(a, b Paired) int { return cmpFloat(a.Result.PositionsPerSecond(), b.Result.PositionsPerSecond()) })
	med := *byRPS[len(byRPS)/2].Result
	var ratios []float64
	var failed int64
	codes := map[codes.Code]int64{}
	for _, p := range runs {
		failed += p.Result.Failed
		for k, v := range p.Result.Codes {
			codes[k] += v
		}
		if p.Health != nil && p.Health != p.Result && p.Health.RPS() > 0 && p.Result.Rate == 0 {
			ratios = append(ratios, p.Result.PositionsPerSecond()/p.Health.RPS())
		}
	}
	med.Failed, med.Codes = failed, codes
	ratio := "—"
	if len(ratios) > 0 {
		slices.Sort(ratios)
		ratio = fmt.Sprintf("%.0f%%", 100*ratios[len(ratios)/2])
	}
	row(w, &med, ratio, fmt.Sprintf(" (median of %d)", len(runs)))
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Header is the table's heading.
func Header(w io.Writer) {
	fmt.Fprintln(w, "| call | load | rps | server CPU/call | p50 | p99 | p99.9 | vs health | failed | verdicts |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
}

func (r *Result) failures() string {
	if r.Failed == 0 {
		return "0"
	}
	var parts []string
	for c, n := range r.Codes {
		parts = append(parts, fmt.Sprintf("%s %d", c, n))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d (%s)", r.Failed, strings.Join(parts, ", "))
}

func (r *Result) verdicts() string {
	if len(r.Verdicts) == 0 {
		return "—"
	}
	names := make([]string, 0, len(r.Verdicts))
	for k := range r.Verdicts {
		names = append(names, k)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %.0f%%", k, 100*float64(r.Verdicts[k])/float64(r.OK))
	}
	return strings.Join(parts, ", ")
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}
