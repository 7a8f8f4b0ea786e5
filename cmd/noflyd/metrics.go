package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/nofly-project/nofly/internal/server"
)

// metricsServer serves /metrics (and, with --pprof, /debug/pprof/) on the
// --metrics-listen address.
type metricsServer struct {
	http *http.Server
	addr net.Addr
}

// startMetrics listens on addr and serves m in the background. Like the
// gRPC listener, it warns when the address is not loopback: the metrics
// and profiles are served without authentication.
func startMetrics(ctx context.Context, log *slog.Logger, addr string, m *server.Metrics, withPprof bool) (*metricsServer, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	ms := &metricsServer{
		http: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		addr: lis.Addr(),
	}
	go func() {
		if err := ms.http.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.ErrorContext(ctx, "metrics listener stopped", "err", err)
		}
	}()
	tcp := lis.Addr().(*net.TCPAddr)
	log.InfoContext(ctx, "serving metrics", "addr", tcp.String(), "pprof", withPprof)
	if !tcp.IP.IsLoopback() {
		log.WarnContext(ctx, "serving metrics without authentication on a non-loopback address", "addr", tcp.String())
	}
	return ms, nil
}

// close stops the listener; a scrape in progress gets up to a second.
func (ms *metricsServer) close() {
	if ms == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = ms.http.Shutdown(ctx)
}
