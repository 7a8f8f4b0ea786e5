package loadbench

import (
	"context"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// DefaultWindow is the positions a stream may have unanswered in a closed
// loop run when Config.Window is 0.
const DefaultWindow = 32

func (c *Config) window() int {
	if c.Window <= 0 {
		return DefaultWindow
	}
	return c.Window
}

var monitorDesc = &grpc.StreamDesc{StreamName: "MonitorFlight", ServerStreams: true, ClientStreams: true}

// runStream runs worker w's MonitorFlight stream (of n) as a telemetry
// gateway would: a sender sends positions without waiting for answers, a
// receiver reads the answers. Closed loop (Rate 0) the sender keeps at
// most Window positions unanswered, and each is timed from its send. Open
// loop position k is due at start - Warmup + (k·n + w)/Rate, sent when
// due (or as soon as the sender is free, should the server hold it back),
// and timed from when it was due: the client's own lateness in sending
// counts against the answer, and is reported apart (worker.late). Each
// position is timed until the answer that covers it: an answer answers
// its newest position and skipped_positions before it, in order. Positions
// due (or sent) before start, the warm-up, or from end are not counted.
//
// The open loop's due times follow from the positions' numbers, so that
// the receiver needs nothing from the sender but the count of answers; the
// closed loop's send times are kept, in order, as offsets from the run's
// start: no per-position memory for the garbage collector to scan.
func (c *Config) runStream(wk *worker, conn *grpc.ClientConn, w, n int, start, end time.Time) {
	ctx, cancel := context.WithCancel(c.runCtx)
	defer cancel()
	fail := func(err error) {
		wk.fail++
		wk.codes[status.Code(err)]++
	}
	cs, err := conn.NewStream(ctx, monitorDesc, noflyv1.GeofenceService_MonitorFlight_FullMethodName, fast)
	if err == nil {
		var op *noflyv1.Operator
		if c.Unit != "" {
			op = &noflyv1.Operator{Unit: c.Unit, PilotId: "P-BENCH"}
		}
		err = cs.SendMsg(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Start{Start: &noflyv1.MonitorFlightStart{
			Flight: &noflyv1.LiveFlight{Operator: op, Purpose: noflyv1.Purpose_PURPOSE_FORENSIC,
				AltitudeReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}}}})
	}
	if err != nil {
		fail(err)
		return
	}

	open := c.Rate > 0
	var interval time.Duration
	first := start.Add(-c.Warmup) // position 0's due time (open loop)
	if open {
		interval = time.Duration(float64(time.Second) * float64(n) / c.Rate)
		first = first.Add(time.Duration(float64(time.Second) * float64(w) / c.Rate))
	}
	due := func(k int64) time.Time { return first.Add(time.Duration(k) * interval) }
	// Closed loop: a slot per unanswered position, and their send times,
	// since start, in order.
	var slots chan struct{}
	var sent chan time.Duration
	if !open {
		slots, sent = make(chan struct{}, c.window()), make(chan time.Duration, c.window())
	}
	var answered atomic.Int64 // positions answered, in order
	var lates lateQueue       // open loop: how late each position unanswered was sent
	recvErr := make(chan error, 1)
	go func() {
		var a streamAnswer
		for {
			if err := cs.RecvMsg(&a); err != nil {
				recvErr <- err
				return
			}
			if a.reason != int32(noflyv1.MonitorReason_MONITOR_REASON_POSITION) {
				continue // a reload's or an exemption change's answer
			}
			now := time.Now()
			verdict := int64(a.verdict)
			k := answered.Load()
			for range 1 + a.skipped {
				var from time.Time
				var late time.Duration
				if open {
					from, late = due(k), lates.pop()
				} else {
					select {
					case d := <-sent:
						from = start.Add(d)
						<-slots
					default:
						recvErr <- status.Errorf(codes.Internal, "an answer for %d positions, fewer unanswered", 1+a.skipped)
						return
					}
				}
				k++
				if !from.Before(start) && from.Before(end) {
					wk.recordAt(now, from, verdict)
					if open {
						_ = wk.fromSend.RecordValue(max(minLatencyUS, min(now.Sub(from.Add(late)).Microseconds(), maxLatencyUS)))
					}
				}
			}
			answered.Store(k)
		}
	}()

	// A flight as telemetry reports it: from one of the points, east at
	// 15 m/s, ten positions a second of flight time (events are as rare as
	// in flight, not one a position). One request, changed and sent again:
	// SendMsg has marshalled it when it returns.
	origin := c.Points[w%len(c.Points)]
	t0 := time.Now().Truncate(time.Minute)
	at := timestamppb.New(t0)
	pos := &noflyv1.TelemetryPosition{At: at, Latitude: origin[1], AltitudeM: proto.Float64(c.AltM),
		GroundSpeedMps: proto.Float64(15), TrackDeg: proto.Float64(90)}
	req := &noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Position{Position: pos}}
	metrePerDeg := 111_320 * math.Cos(origin[1]*math.Pi/180)
	var sendErr error
	var k int64
	for ; ; k++ {
		if open {
			d := due(k)
			if !d.Before(end) {
				break
			}
			if wait := time.Until(d); wait > 0 {
				time.Sleep(wait)
			}
			late := max(0, time.Since(d))
			if !d.Before(start) {
				_ = wk.late.RecordValue(max(minLatencyUS, min(late.Microseconds(), maxLatencyUS)))
			}
			lates.push(late)
		} else {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
			}
			d := time.Since(start)
			if ctx.Err() != nil || d >= end.Sub(start) {
				break
			}
			sent <- d
		}
		ts := t0.Add(time.Duration(k) * 100 * time.Millisecond)
		at.Seconds, at.Nanos = ts.Unix(), int32(ts.Nanosecond())
		pos.Longitude = origin[0] + float64(k)*1.5/metrePerDeg
		if sendErr = cs.SendMsg(req); sendErr != nil {
			break
		}
	}
	if sendErr == nil {
		sendErr = cs.CloseSend()
	}
	err = <-recvErr
	if err == io.EOF {
		err = nil
	}
	if err == nil && sendErr != nil && sendErr != io.EOF {
		err = sendErr
	}
	if err != nil {
		fail(err)
		// Positions never answered fail too.
		for j := answered.Load(); j < k; j++ {
			from := due(j)
			if !open {
				select {
				case d := <-sent:
					from = start.Add(d)
				default:
					return
				}
			}
			if !from.Before(start) && from.Before(end) {
				fail(err)
			}
		}
	}
}

// lateQueue holds how late an open-loop stream's sender sent each position
// not yet answered, in order, for the receiver to time the position from
// its send as well as from its due time: numbers only, nothing for the
// garbage collector to scan.
type lateQueue struct {
	mu   sync.Mutex
	q    []time.Duration
	head int
}

func (l *lateQueue) push(d time.Duration) {
	l.mu.Lock()
	if l.head > 0 && l.head == len(l.q) {
		l.q, l.head = l.q[:0], 0
	}
	l.q = append(l.q, d)
	l.mu.Unlock()
}

// pop returns the oldest, or 0 when there is none (an answer for a
// position whose send the sender has not yet noted: sent on time).
func (l *lateQueue) pop() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.head == len(l.q) {
		return 0
	}
	d := l.q[l.head]
	l.head++
	return d
}
