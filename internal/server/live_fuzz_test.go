package server

import (
	"context"
	"encoding/binary"
	"io"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// fakeMonitorStream plays a MonitorFlight stream: it receives msgs in
// order, then the end of the stream, and keeps what the server sends.
type fakeMonitorStream struct {
	grpc.ServerStream
	ctx  context.Context
	msgs []*noflyv1.MonitorFlightRequest
	sent []*noflyv1.MonitorFlightResponse
}

func (s *fakeMonitorStream) Context() context.Context { return s.ctx }
func (s *fakeMonitorStream) Send(r *noflyv1.MonitorFlightResponse) error {
	s.sent = append(s.sent, r)
	return nil
}
func (s *fakeMonitorStream) Recv() (*noflyv1.MonitorFlightRequest, error) {
	if len(s.msgs) == 0 {
		return nil, io.EOF
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, nil
}

// FuzzMonitorFlight feeds a stream of arbitrary messages (each
// length-prefixed in the input, as on the wire) through MonitorFlight, as
// each caller, after the stream interceptor's authorisation. Whatever the
// input: no panic, no INTERNAL, INVALID_ARGUMENT names its fields, a pilot
// monitors only its own flights, and every answer has a verdict.
func FuzzMonitorFlight(f *testing.F) {
	frame := func(ms ...*noflyv1.MonitorFlightRequest) []byte {
		var b []byte
		for _, m := range ms {
			mb, err := proto.Marshal(m)
			if err != nil {
				f.Fatal(err)
			}
			b = binary.AppendUvarint(b, uint64(len(mb)))
			b = append(b, mb...)
		}
		return b
	}
	start := func(op *noflyv1.Operator) *noflyv1.MonitorFlightRequest {
		return &noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Start{Start: &noflyv1.MonitorFlightStart{
			Flight: &noflyv1.LiveFlight{Operator: op, AltitudeReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}, LookAheadS: 60}}}
	}
	pos := func(lat, lon, alt float64) *noflyv1.MonitorFlightRequest {
		return &noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Position{Position: &noflyv1.TelemetryPosition{
			At: timestamppb.New(clock), Latitude: lat, Longitude: lon, AltitudeM: proto.Float64(alt), GroundSpeedMps: proto.Float64(10), TrackDeg: proto.Float64(90)}}}
	}
	for i := range fuzzCallers {
		f.Add(frame(start(&noflyv1.Operator{Unit: "AMS"}), pos(52.05, 3.99, 50), pos(52.05, 4.05, 50), pos(52.05, 4.2, 50)), byte(i))
		f.Add(frame(start(&noflyv1.Operator{Unit: "RTM", PilotId: "P9"}), pos(52.05, 4.05, 50)), byte(i))
		f.Add(frame(pos(52.05, 4.05, 50)), byte(i))
		f.Add(frame(start(nil), pos(52.05, 4.05, 1e9), start(nil)), byte(i))
	}
	r := newFuzzRig(f)
	f.Fuzz(func(t *testing.T, b []byte, who byte) {
		caller := fuzzCallers[int(who)%len(fuzzCallers)]
		s, ctx := r.callAs(caller)
		var msgs []*noflyv1.MonitorFlightRequest
		for len(b) > 0 && len(msgs) < 50 {
			n, k := binary.Uvarint(b)
			if k <= 0 || n > uint64(len(b)-k) {
				return // not a framing: nothing a client could send
			}
			m := &noflyv1.MonitorFlightRequest{}
			if proto.Unmarshal(b[k:k+int(n)], m) != nil {
				return // refused by the codec before the handler
			}
			msgs = append(msgs, m)
			b = b[k+int(n):]
		}
		var claimsOther bool
		if len(msgs) > 0 {
			op := msgs[0].GetStart().GetFlight().GetOperator()
			claimsOther = (op.GetUnit() != "" && op.GetUnit() != "AMS") || (op.GetPilotId() != "" && op.GetPilotId() != "P1")
		}
		ctx, err := s.authorize(ctx, noflyv1.GeofenceService_MonitorFlight_FullMethodName, nil)
		if err == nil {
			stream := &fakeMonitorStream{ctx: ctx, msgs: msgs}
			err = s.MonitorFlight(stream)
			for _, resp := range stream.sent {
				if resp.Verdict == noflyv1.Verdict_VERDICT_UNSPECIFIED {
					t.Fatalf("answer without verdict: %v", resp)
				}
			}
		}
		st := status.Convert(err)
		if !allowedCodes[st.Code()] && st.Code() != codes.Unauthenticated {
			t.Fatalf("as %s: %v", caller, err)
		}
		if st.Code() == codes.InvalidArgument {
			var n int
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					n += len(br.GetFieldViolations())
				}
			}
			if n == 0 && st.Message() != "start: only the stream's first message may be start" {
				t.Errorf("INVALID_ARGUMENT without field violations: %v", err)
			}
		}
		if caller == "pilot" && claimsOther && st.Code() != codes.PermissionDenied && st.Code() != codes.InvalidArgument {
			t.Fatalf("pilot P1 of AMS monitored a flight of %v: %v", msgs[0].GetStart().GetFlight().GetOperator(), err)
		}
	})
}
