package server

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// nopGeofence answers every position check with one answer, doing nothing.
type nopGeofence struct {
	noflyv1.UnimplementedGeofenceServiceServer
	resp *noflyv1.CheckPositionResponse
}

func (n *nopGeofence) CheckPosition(context.Context, *noflyv1.CheckPositionRequest) (*noflyv1.CheckPositionResponse, error) {
	return n.resp, nil
}

// BenchmarkDecodeChecked is what a position check costs the server from its
// bytes to its handler, outside gRPC's transport: the method's handler as
// registered (decodeChecked), the server's codec decoding the request, and
// an interceptor that passes it on.
func BenchmarkDecodeChecked(b *testing.B) {
	req := positionReq(52.31, 4.76)
	req.View = noflyv1.CheckView_CHECK_VIEW_BASIC
	req.ClientReference = "ticket 7"
	data, err := proto.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	sd := decodeChecked(&noflyv1.GeofenceService_ServiceDesc)
	var h grpc.MethodHandler
	for _, m := range sd.Methods {
		if m.MethodName == "CheckPosition" {
			h = m.Handler
		}
	}
	srv := &nopGeofence{resp: &noflyv1.CheckPositionResponse{}}
	codec := newServerCodec()
	dec := func(v any) error { return codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(data)}, v) }
	ic := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return handler(ctx, req)
	}
	ctx := context.Background()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := h(srv, ctx, dec, ic); err != nil {
			b.Fatal(err)
		}
	}
}
