package server

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/nofly-project/nofly/exemptions"
)

// Prepare returns a server that has loaded nothing yet: its health service
// reports NOT_SERVING and every other call of a gRPC server made by
// NewGRPCServer fails with UNAVAILABLE, until Start has reached the
// exemption store and loaded the zones. A program can so listen (and
// answer a load balancer's health checks) while a large zone set loads.
// New is Prepare and Start in one.
func Prepare(cfg Config) (*Server, error) {
	if cfg.Load == nil {
		return nil, errors.New("server: Config.Load is required")
	}
	s := newServer(cfg)
	if s.fleetCfg != nil {
		fl, err := s.loadPolicy()
		if err != nil {
			return nil, fmt.Errorf("loading policy: %w", err)
		}
		s.fleetRules.Store(fl)
	}
	// Health says NOT_SERVING until zones are loaded: a load balancer must
	// not send checks to a server that has nothing to check against.
	s.setServing(healthpb.HealthCheckResponse_NOT_SERVING)
	return s, nil
}

// Start reads every exemption record (which proves the store reachable),
// loads the zones and marks the server SERVING. It fails, with every
// problem logged, when either fails; the server then stays NOT_SERVING.
// Later reloads, failed or not, do not change the serving status; Shutdown
// does.
func (s *Server) Start(ctx context.Context) error {
	if s.exStore != nil {
		c, err := exemptions.NewCache(ctx, s.exStore, s.now)
		if err != nil {
			return fmt.Errorf("loading exemptions: %w", err)
		}
		s.exCache = c
	}
	if err := s.Reload(ctx); err != nil {
		return err
	}
	s.ready.Store(true) // after exCache: handlers that see ready see it
	s.setServing(healthpb.HealthCheckResponse_SERVING)
	return nil
}

// Ready reports whether Start has succeeded.
func (s *Server) Ready() bool { return s.ready.Load() }

// errNotReady refuses calls before Start has finished.
var errNotReady = status.Error(codes.Unavailable, "starting: zones or exemptions not loaded yet")

// readyUnary refuses every call but the health and reflection services'
// until the server is ready.
func (s *Server) readyUnary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !s.ready.Load() && !alwaysServed(info.FullMethod) {
			return nil, errNotReady
		}
		return handler(ctx, req)
	}
}

func (s *Server) readyStream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if !s.ready.Load() && !alwaysServed(info.FullMethod) {
			return errNotReady
		}
		return handler(srv, ss)
	}
}

// alwaysServed reports whether method answers before the server is ready:
// the health service (that is how clients learn it is not) and reflection.
func alwaysServed(method string) bool {
	for _, p := range [...]string{"/grpc.health.v1.Health/", "/grpc.reflection."} {
		if len(method) >= len(p) && method[:len(p)] == p {
			return true
		}
	}
	return false
}
