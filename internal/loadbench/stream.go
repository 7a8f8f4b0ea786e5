package loadbench

import (
	"context"
	"io"
	"math"
	"strings"
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

// openWindow bounds the positions an open-loop stream may have
// unanswered: beyond it the sender waits (and the latency of what it then
// sends, timed from when it was due, shows the wait).
const openWindow = 1 << 16

func (c *Config) window() int {
	switch {
	case c.Rate > 0:
		return openWindow
	case c.Window <= 0:
		return DefaultWindow
	}
	return c.Window
}

var monitorDesc = &grpc.StreamDesc{StreamName: "MonitorFlight", ServerStreams: true, ClientStreams: true}

// runStream runs worker w's MonitorFlight stream (of n) as a telemetry
// gateway would: a sender sends positions without waiting for answers, a
// receiver reads the answers. Closed loop (Rate 0) the sender keeps at
// most Window positions unanswered; open loop its positions are due at
// start + (k·n + w)/Rate and sent when due. Each position is timed from
// when it was sent (closed loop) or due (open loop) until the answer that
// covers it: an answer answers its newest position and skipped_positions
// before it, in order. Positions due before start (the warm-up) or from
// end are not counted. As in openLoop, a sender that was free waits for
// the due time and times the position from its send.
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

	win := c.window()
	dues := make(chan time.Time, win) // of the positions sent, not yet answered, in order
	slots := make(chan struct{}, win) // closed loop: one per unanswered position
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
			verdict := strings.TrimPrefix(noflyv1.Verdict(a.verdict).String(), "VERDICT_")
			for range 1 + a.skipped {
				var due time.Time
				select {
				case due = <-dues:
				default:
					recvErr <- status.Errorf(codes.Internal, "an answer for %d positions, fewer unanswered", 1+a.skipped)
					return
				}
				if c.Rate == 0 {
					<-slots
				}
				if !due.Before(start) && due.Before(end) {
					wk.record(due, verdict, nil)
				}
			}
		}
	}()

	// A flight as telemetry reports it: from one of the points, east at
	// 15 m/s, ten positions a second of flight time (events are as rare as
	// in flight, not one a position). One request, changed and sent again:
	// SendMsg has marshalled it when it returns.
	origin := c.Points[w%len(c.Points)]
	t0 := time.Now().Truncate(time.Minute)
	pos := &noflyv1.TelemetryPosition{Latitude: origin[1], AltitudeM: proto.Float64(c.AltM),
		GroundSpeedMps: proto.Float64(15), TrackDeg: proto.Float64(90)}
	req := &noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Position{Position: pos}}
	metrePerDeg := 111_320 * math.Cos(origin[1]*math.Pi/180)
	var interval time.Duration
	var first time.Time
	if c.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(n) / c.Rate)
		first = start.Add(-c.Warmup).Add(time.Duration(float64(time.Second) * float64(w) / c.Rate))
	}
	var sendErr error
	for k := 0; ; k++ {
		var due time.Time
		if c.Rate > 0 {
			due = first.Add(time.Duration(k) * interval)
			if !due.Before(end) {
				break
			}
			if d := time.Until(due); d > 0 {
				// Free: as openLoop, the timer's lateness in waking this
				// process is the client's, not the server's; timed from
				// the send. A sender still in its last send at the due
				// time (the server not reading) is timed from it.
				time.Sleep(d)
				due = time.Now()
			}
		} else {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
			}
			due = time.Now()
			if !due.Before(end) || ctx.Err() != nil {
				break
			}
		}
		pos.At = timestamppb.New(t0.Add(time.Duration(k) * 100 * time.Millisecond))
		pos.Longitude = origin[0] + float64(k)*1.5/metrePerDeg
		dues <- due
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
		for range len(dues) {
			if due := <-dues; !due.Before(start) && due.Before(end) {
				fail(err)
			}
		}
	}
}
