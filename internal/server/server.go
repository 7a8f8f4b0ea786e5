// Package server implements nofly.v1.GeofenceService over a geo.Index.
//
// Each handler validates its request (every problem becomes a
// google.rpc.BadRequest field violation named by its proto field path),
// asks geo which zones the flight meets, has exemptions.Decide decide the
// check against the exemptions in force, and converts the result to its
// response (convert.go): the server itself decides nothing. Errors are
// mapped to gRPC status codes in one place (status.go), from their values
// (field paths, record ids), never from their text.
//
// The zone set is held behind an atomic pointer: handlers load it once per
// request and never see a half-built index; Reload builds a new one and
// swaps it in only when the whole set loaded cleanly.
package server

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// Loader reads the whole zone set. It is called once by New and again on
// every Reload; an error (for instance a *geo.LoadError listing every
// problem) refuses the whole set.
type Loader func(ctx context.Context) ([]geo.Zone, error)

// Config configures a Server.
type Config struct {
	// Load reads the zone set. Required.
	Load Loader
	// Sources names what Load reads (files, directories, "embedded:…"), for
	// logs and ZoneSetInfo.sources.
	Sources []string
	// Log receives the server's logs; slog.Default() when nil.
	Log *slog.Logger
	// Now is the clock that stamps checks without a time; time.Now when nil.
	Now func() time.Time
	// Exemptions keeps the exemption records and the audit log. When set,
	// the server also serves nofly.v1.ExemptionService and the checks apply
	// the exemptions; when nil, no exemption covers anything. The caller
	// closes it after the server has stopped.
	Exemptions exemptions.Store
	// Auth authenticates callers by their client certificates and the roles
	// file, and refuses what their role does not allow (auth.go). When nil,
	// every caller is the local administrator with every role: only for
	// plaintext on loopback.
	Auth *Auth
	// Metrics, when set, count the calls, reloads and store errors, and
	// export the zone set and exemption cache (metrics.go).
	Metrics *Metrics
	// Authorisations configures signed flight authorisations
	// (authorisations.go), served when Exemptions keeps them.
	Authorisations AuthorisationConfig
	// Fleet, when set, applies the force's own rules to every check (the
	// deployment policy, the drone registry kept in Exemptions, the general
	// ceiling) and answers each check's height limit (fleet.go); nil keeps
	// none of them.
	Fleet *FleetConfig
}

// Server serves nofly.v1.GeofenceService and the standard health service.
//
// load, sources, log, now, health, exStore and metrics are read-only after
// Prepare, exCache after Start (before ready is set). zones is swapped
// atomically by Reload; reloadMu only serialises reloads, so that two
// concurrent reloads cannot swap in their results out of order. exCache
// swaps its own snapshots (exemptions.Cache).
type Server struct {
	noflyv1.UnimplementedGeofenceServiceServer

	load    Loader
	sources []string
	log     *slog.Logger
	now     func() time.Time
	health  *health.Server

	reloadMu sync.Mutex
	zones    atomic.Pointer[zoneSet]

	exStore exemptions.Store  // nil: no exemptions
	exCache *exemptions.Cache // nil when exStore is; set by Start, before ready

	auth    *Auth       // nil: every caller is local (no TLS)
	metrics *Metrics    // nil: none
	ready   atomic.Bool // Start succeeded (ready.go)

	authz *authorisationServer // nil unless the exemption store keeps authorisations
	rep   *reportServer        // nil without an exemption store

	refused *refusalCounts // nil unless the exemption store keeps refusal counts (refusals.go)

	fleetCfg   *FleetConfig                     // nil: no fleet rules
	fleetRules atomic.Pointer[exemptions.Fleet] // swapped by ReloadPolicy; nil without fleetCfg
	drones     exemptions.DroneStore            // nil unless the exemption store keeps the registry
}

// zoneSet is an index with what clients are told about it. It is immutable.
type zoneSet struct {
	idx  *geo.Index
	info *noflyv1.ZoneSetInfo // clone before handing out
	// summaries: *geo.Zone → its *noflyv1.ZoneSummary, shared by the
	// answers that name it (zoneSet.summary).
	summaries sync.Map
	// checks: *positionCheck done on this set, to reuse their memory
	// (zoneSet.positionCheck).
	checks sync.Pool
}

// New loads the zones and returns a server that serves them. It fails, with
// every problem logged, when the zones do not load.
func New(ctx context.Context, cfg Config) (*Server, error) {
	s, err := Prepare(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// newServer builds a server from cfg, loading nothing.
func newServer(cfg Config) *Server {
	s := &Server{
		load:    cfg.Load,
		sources: append([]string(nil), cfg.Sources...),
		log:     cfg.Log,
		now:     cfg.Now,
		health:  health.NewServer(),
		auth:    cfg.Auth,
		metrics: cfg.Metrics,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.Exemptions != nil {
		s.exStore = observeStore(cfg.Exemptions, cfg.Metrics)
		s.rep = newReportServer(s, cfg.Exemptions)
	}
	if as, ok := cfg.Exemptions.(exemptions.AuthorisationStore); ok {
		s.authz = newAuthorisationServer(s, as, cfg.Authorisations)
	}
	if ds, ok := cfg.Exemptions.(exemptions.DroneStore); ok {
		s.drones = ds
	}
	s.fleetCfg = cfg.Fleet
	if s.metrics != nil {
		s.metrics.bind(s)
	}
	return s
}

func (s *Server) setServing(st healthpb.HealthCheckResponse_ServingStatus) {
	s.health.SetServingStatus("", st)
	s.health.SetServingStatus(noflyv1.GeofenceService_ServiceDesc.ServiceName, st)
	if s.exStore != nil {
		s.health.SetServingStatus(noflyv1.ExemptionService_ServiceDesc.ServiceName, st)
	}
	if s.authz != nil {
		s.health.SetServingStatus(noflyv1.AuthorisationService_ServiceDesc.ServiceName, st)
	}
	if s.rep != nil {
		s.health.SetServingStatus(noflyv1.ReportService_ServiceDesc.ServiceName, st)
	}
	if s.drones != nil {
		s.health.SetServingStatus(noflyv1.DroneService_ServiceDesc.ServiceName, st)
	}
}

// stamp is the server's clock, in UTC, to the millisecond (finer is noise
// to a drone pilot).
func (s *Server) stamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// WatchExemptions refreshes the checks' exemptions every interval until ctx
// ends, so that changes made by other servers sharing the store reach this
// one. It returns at once when the server has no exemption store.
func (s *Server) WatchExemptions(ctx context.Context, every time.Duration) {
	if s.exCache != nil {
		s.exCache.Watch(ctx, every, s.log)
	}
}

// Reload reads every source again, builds a new index and swaps it in. On
// any problem it logs each one, keeps serving the zones it had and returns
// the error.
func (s *Server) Reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	start := time.Now()
	zones, err := s.load(ctx)
	var idx *geo.Index
	if err == nil {
		idx, err = geo.NewIndex(zones)
	}
	s.metrics.reloaded(err, time.Since(start))
	if err != nil {
		s.logLoadError(ctx, err)
		// What the refused files took (up to geo.MaxFileSize and the tree
		// read from it) is garbage now: give it back to the system rather
		// than hold it until the next load.
		zones, idx = nil, nil
		debug.FreeOSMemory()
		return fmt.Errorf("loading zones: %w", err)
	}
	set := &zoneSet{idx: idx, info: &noflyv1.ZoneSetInfo{
		Version:   version(idx),
		LoadedAt:  timestamppb.New(s.now()),
		ZoneCount: int32(idx.Len()),
		Sources:   s.sources,
	}}
	s.zones.Store(set)
	s.log.InfoContext(ctx, "zones loaded", "zones", idx.Len(), "sources", s.sources,
		"version", set.info.Version, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// logLoadError logs every problem of every *geo.LoadError in err, or err
// itself when it holds none.
func (s *Server) logLoadError(ctx context.Context, err error) {
	var n int
	walkErrors(err, func(e error) {
		le, ok := e.(*geo.LoadError)
		if !ok {
			return
		}
		for _, p := range le.Problems {
			n++
			s.log.ErrorContext(ctx, "zone data problem", "file", p.File, "feature", p.Feature,
				"zone", p.ZoneID, "field", p.Field, "problem", p.Msg)
		}
	})
	msg := "zones not loaded; still serving the previous zones"
	if s.zones.Load() == nil {
		// At start there are no previous zones: Start fails, and noflyd
		// stops rather than serve without zones.
		msg = "zones not loaded; no zones to serve, not starting"
	}
	s.log.ErrorContext(ctx, msg, "sources", s.sources, "problems", n, "err", err)
}

// walkErrors calls fn for err and everything it wraps, depth first.
func walkErrors(err error, fn func(error)) {
	if err == nil {
		return
	}
	fn(err)
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walkErrors(e, fn)
		}
	case interface{ Unwrap() error }:
		walkErrors(u.Unwrap(), fn)
	}
}

// version is a content hash of the zone set: SHA-256 over the canonical
// encoding of every zone's data (geo.Zone.AppendCanonical), in id order.
// Replicas that load the same zones report the same version, whatever
// files they read them from; a change of the API (a new field in the
// zone's message) leaves the version of unchanged data alone.
func version(idx *geo.Index) string {
	h := sha256.New()
	var b []byte
	for _, z := range idx.Zones() {
		b = z.AppendCanonical(b[:0])
		// Length-prefixed, so that no two different sets hash alike.
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// current returns the zone set in service.
func (s *Server) current() *zoneSet { return s.zones.Load() }

// Register registers the geofence service, the exemption service (when the
// server has an exemption store), the standard health service and
// server reflection (so grpcurl and grpcui need no .proto files) on g.
// Requests that do not decode get INVALID_ARGUMENT when g was made by
// NewGRPCServer (codec.go), INTERNAL otherwise.
func (s *Server) Register(g *grpc.Server) { s.register(g) }

// register is Register, with the methods named in encodeBefore answering
// through preEncode (g's codec must be serverCodec).
func (s *Server) register(g *grpc.Server, encodeBefore ...string) {
	g.RegisterService(decodeChecked(&noflyv1.GeofenceService_ServiceDesc, encodeBefore...), s)
	if s.exStore != nil {
		g.RegisterService(decodeChecked(&noflyv1.ExemptionService_ServiceDesc), &exemptionServer{s: s})
	}
	if s.authz != nil {
		noflyv1.RegisterAuthorisationServiceServer(g, s.authz)
	}
	if s.rep != nil {
		g.RegisterService(decodeChecked(&noflyv1.ReportService_ServiceDesc), s.rep)
	}
	if s.drones != nil {
		g.RegisterService(decodeChecked(&noflyv1.DroneService_ServiceDesc), &droneServer{s: s})
	}
	healthpb.RegisterHealthServer(g, s.health)
	reflection.Register(g)
}

// Shutdown marks the server NOT_SERVING so that health checks steer new
// traffic away while in-flight calls finish.
func (s *Server) Shutdown() { s.health.Shutdown() }

// UnaryInterceptor turns a panic in a handler into an INTERNAL error (and a
// log entry with the stack) instead of a crashed server, and logs every call
// at debug level.
func (s *Server) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				s.log.ErrorContext(ctx, "panic in handler", "method", info.FullMethod, "panic", fmt.Sprint(r),
					"stack", string(debug.Stack()))
				resp, err = nil, status.Error(codes.Internal, "internal error")
			}
			if s.log.Enabled(ctx, slog.LevelDebug) { // the arguments cost allocations
				s.log.DebugContext(ctx, "rpc", "method", info.FullMethod, "code", status.Code(err).String(),
					"took", time.Since(start))
			}
		}()
		return handler(ctx, req)
	}
}

// chainUnary is grpc.ChainUnaryInterceptor's chain of ics, first to last,
// without its allocations: gRPC's makes a function for each interceptor
// but the last on every call, binding the call's handler and info. Here
// those functions belong to a chainCall, made once with it and used call
// after call (a pool): only the call's info and handler are set. An
// interceptor uses the handler it is given only until it returns.
func chainUnary(ics ...grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	switch len(ics) {
	case 0:
		return nil
	case 1:
		return ics[0]
	}
	calls := &sync.Pool{New: func() any { return newChainCall(ics) }}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		c := calls.Get().(*chainCall)
		c.info, c.final = info, handler
		resp, err := ics[0](ctx, req, info, c.handler(0))
		c.info, c.final = nil, nil
		calls.Put(c)
		return resp, err
	}
}

// chainCall is one call through chainUnary's interceptors.
type chainCall struct {
	ics   []grpc.UnaryServerInterceptor
	next  []grpc.UnaryHandler // next[i] calls interceptor i+1
	info  *grpc.UnaryServerInfo
	final grpc.UnaryHandler // the method's own
}

func newChainCall(ics []grpc.UnaryServerInterceptor) *chainCall {
	c := &chainCall{ics: ics, next: make([]grpc.UnaryHandler, len(ics)-1)}
	for i := range c.next {
		c.next[i] = func(ctx context.Context, req any) (any, error) {
			return c.ics[i+1](ctx, req, c.info, c.handler(i+1))
		}
	}
	return c
}

// handler is what interceptor i calls: the next one, or the method's
// handler after the last.
func (c *chainCall) handler(i int) grpc.UnaryHandler {
	if i == len(c.next) {
		return c.final
	}
	return c.next[i]
}

// streamWorkers are the goroutines that run calls: long-lived, so that a
// call runs on a stack that has already grown, instead of a new goroutine
// per call growing its stack again (a tenth of a position check's CPU time
// under load). Calls beyond them get a goroutine of their own as before.
const streamWorkers = 64

// NewGRPCServer returns a gRPC server with s registered, its interceptors
// (metrics, panics, deadlines, authorisation, readiness) and limits
// installed, plus any further options (such as TLS credentials). The
// metrics' interceptors (when Config.Metrics is set) come first, so that
// every call is counted with the code it got, refusals included.
//
// A position check's answer is encoded before gRPC is handed it, and its
// memory used again (codec.go, preEncode). So opts must not replace the
// server's codec (a position check would then fail with INTERNAL), and an
// interceptor or stats handler added through opts must not keep a position
// check's answer after the call (a stats handler sees it as encoded bytes).
func (s *Server) NewGRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	var unary []grpc.UnaryServerInterceptor
	var stream []grpc.StreamServerInterceptor
	if s.metrics != nil {
		unary = append(unary, s.metrics.UnaryInterceptor())
		stream = append(stream, s.metrics.StreamInterceptor())
	}
	unary = append(unary, s.UnaryInterceptor(), deadlineUnary(DefaultDeadline, MaxDeadline), s.textUnary(), s.authUnary(), s.readyUnary())
	stream = append(stream, s.authStream(), s.readyStream())
	base := append(limitOptions(),
		grpc.UnaryInterceptor(chainUnary(unary...)),
		grpc.ChainStreamInterceptor(stream...),
		grpc.NumStreamWorkers(streamWorkers),
		grpc.ForceServerCodecV2(newServerCodec()))
	g := grpc.NewServer(append(base, opts...)...)
	// A position check's answer is encoded before it is handed to gRPC,
	// and its messages used again (preEncode), but for gRPC's binary log,
	// which would log it as bytes it cannot read.
	var encodeBefore []string
	if os.Getenv("GRPC_BINARY_LOG_FILTER") == "" {
		encodeBefore = []string{"CheckPosition"}
	}
	s.register(g, encodeBefore...)
	if s.metrics != nil {
		s.metrics.instrument(g)
	}
	return g
}
