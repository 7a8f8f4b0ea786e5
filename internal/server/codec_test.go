package server

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	encproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/geo"
)

// rawCodec sends a *[]byte as it is, so that a test can send what no
// protobuf library would encode.
type rawCodec struct{ encoding.CodecV2 }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if b, ok := v.(*[]byte); ok {
		return mem.BufferSlice{mem.SliceBuffer(*b)}, nil
	}
	return c.CodecV2.Marshal(v)
}

// invalidUTF8 is m encoded, with each "\x01MARK" replaced by bytes that are
// not UTF-8.
func invalidUTF8(t *testing.T, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(b, []byte("MARK"), []byte("\xffab\xfe"))
}

// TestInvalidUTF8 sends requests with invalid UTF-8 over TCP: each gets
// INVALID_ARGUMENT naming the field, never INTERNAL.
func TestInvalidUTF8(t *testing.T) {
	zones := readZones(t, testZones)
	store, err := sqlitestore.Open(context.Background(), t.TempDir()+"/nofly.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	metrics := NewMetrics()
	srv, err := New(context.Background(), Config{
		Load:    func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log:     slog.New(slog.DiscardHandler),
		Now:     func() time.Time { return clock },
		Metrics: metrics, Exemptions: store,
	})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := srv.NewGRPCServer()
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{encoding.GetCodecV2(encproto.Name)})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	pos := positionIn(50, clock)
	pos.ClientReference = "MARK"
	ex := record()
	ex.Holder.PilotIds = []string{"P1", "MARK"}
	tests := []struct {
		name, method string
		req          []byte
		out          proto.Message
		code         codes.Code
		field, msg   string
	}{
		{name: "check reference", method: noflyv1.GeofenceService_CheckPosition_FullMethodName, req: invalidUTF8(t, pos),
			out: &noflyv1.CheckPositionResponse{}, code: codes.InvalidArgument, field: "client_reference", msg: "client_reference: not valid UTF-8"},
		{name: "flight plan operator", method: noflyv1.GeofenceService_CheckFlightPlan_FullMethodName,
			req: invalidUTF8(t, &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{Operator: &noflyv1.Operator{Unit: "MARK"}}}),
			out: &noflyv1.CheckFlightPlanResponse{}, code: codes.InvalidArgument, field: "flight_plan.operator.unit", msg: "flight_plan.operator.unit: not valid UTF-8"},
		{name: "second pilot of a record", method: noflyv1.ExemptionService_CreateExemption_FullMethodName,
			req: invalidUTF8(t, &noflyv1.CreateExemptionRequest{Exemption: ex}),
			out: &noflyv1.CreateExemptionResponse{}, code: codes.InvalidArgument, field: "exemption.holder.pilot_ids[1]", msg: "exemption.holder.pilot_ids[1]: not valid UTF-8"},
		{name: "zone id", method: noflyv1.GeofenceService_GetZone_FullMethodName, req: invalidUTF8(t, &noflyv1.GetZoneRequest{Id: "MARK"}),
			out: &noflyv1.GetZoneResponse{}, code: codes.InvalidArgument, field: "id", msg: "id: not valid UTF-8"},
		{name: "not protobuf at all", method: noflyv1.GeofenceService_GetZone_FullMethodName, req: []byte{0x0a, 0x7f, 'x'},
			out: &noflyv1.GetZoneResponse{}, code: codes.InvalidArgument, msg: "the request is not a valid nofly.v1.GetZoneRequest message: "},
		{name: "valid UTF-8 still served", method: noflyv1.GeofenceService_GetZone_FullMethodName,
			req: func() []byte { b, _ := proto.Marshal(&noflyv1.GetZoneRequest{Id: "T-PROHIB"}); return b }(),
			out: &noflyv1.GetZoneResponse{}, code: codes.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := conn.Invoke(context.Background(), tc.method, &tc.req, tc.out)
			st := status.Convert(err)
			if st.Code() != tc.code || !bytes.HasPrefix([]byte(st.Message()), []byte(tc.msg)) {
				t.Fatalf("got %v, want %v %q", err, tc.code, tc.msg)
			}
			if tc.field != "" && violationAt(err, tc.field) != "not valid UTF-8" {
				t.Errorf("no field violation at %s: %v", tc.field, st.Details())
			}
		})
	}
	// The refusals went through the interceptors: counted as what they got.
	series := `nofly_rpc_requests_total{code="InvalidArgument",method="/nofly.v1.GeofenceService/GetZone"}`
	if n := sample(t, scrape(t, metrics), series); n != 2 {
		t.Errorf("GetZone INVALID_ARGUMENT counted %v times, want 2", n)
	}
}
