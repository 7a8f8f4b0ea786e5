package server

import (
	"context"
	"log/slog"
	"testing"

	"google.golang.org/grpc"
)

// BenchmarkInterceptors is the per-call cost of the interceptors a check
// passes through, without and with metrics, around a handler that does
// nothing.
func BenchmarkInterceptors(b *testing.B) {
	m := NewMetrics()
	srv := newServer(Config{Log: slog.New(slog.DiscardHandler)})
	srv.ready.Store(true)
	g := grpc.NewServer()
	srv.Register(g)
	m.instrument(g)
	info := &grpc.UnaryServerInfo{FullMethod: "/nofly.v1.GeofenceService/CheckPosition"}
	nop := func(context.Context, any) (any, error) { return nil, nil }
	chain := func(ics ...grpc.UnaryServerInterceptor) grpc.UnaryHandler {
		h := nop
		for i := len(ics) - 1; i >= 0; i-- {
			ic, next := ics[i], h
			h = func(ctx context.Context, req any) (any, error) { return ic(ctx, req, info, next) }
		}
		return h
	}
	for _, bc := range []struct {
		name string
		h    grpc.UnaryHandler
	}{
		{"without-metrics", chain(srv.UnaryInterceptor(), srv.readyUnary())},
		{"with-metrics", chain(m.UnaryInterceptor(), srv.UnaryInterceptor(), srv.readyUnary())},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, _ = bc.h(ctx, nil)
			}
		})
	}
}
