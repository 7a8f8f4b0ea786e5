package server

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nofly-project/nofly/exemptions"
)

// Metrics are a server's Prometheus metrics, on a registry of their own
// (with the Go runtime and process collectors), so that nothing else in
// the process adds series to what noflyd exports. Give one to
// Config.Metrics; Handler serves them.
//
// Every name starts with nofly_; docs/operations.md lists them with their
// labels.
//
// reg and the vectors are read-only after NewMetrics. methods is written
// once, by instrument (under mu), before the gRPC server serves, and read
// without a lock afterwards.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec   // method, code
	latency  *prometheus.HistogramVec // method, code, seconds

	reloads        prometheus.Counter
	reloadFailures prometheus.Counter
	reloadSeconds  prometheus.Gauge
	storeErrors    *prometheus.CounterVec // operation

	mu      sync.Mutex
	methods atomic.Pointer[map[string]*methodMetrics]
	// unknown collects the calls of methods the server does not serve.
	unknown *methodMetrics
}

// methodMetrics are one method's series, resolved once per code: a call
// costs a map lookup, an atomic load and two atomic adds, no allocation.
type methodMetrics struct {
	name  string
	codes [numCodes]atomic.Pointer[codeMetrics]
}

type codeMetrics struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

// numCodes is the number of gRPC status codes (OK … Unauthenticated).
const numCodes = int(codes.Unauthenticated) + 1

// latencyBuckets are the RPC latency histogram's upper bounds in seconds:
// from 25 µs (a position check) to 2.5 s (an audit verification of a large
// log).
var latencyBuckets = []float64{
	25e-6, 50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5,
}

// NewMetrics returns the metrics of one server, not yet bound to it.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), unknown: &methodMetrics{name: "unknown"}}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nofly_rpc_requests_total",
		Help: "gRPC calls handled, by full method and status code.",
	}, []string{"method", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "nofly_rpc_duration_seconds",
		Help:    "Time from a gRPC call's arrival at the handler chain to its answer, in seconds, by full method and status code.",
		Buckets: latencyBuckets,
	}, []string{"method", "code"})
	m.reloads = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "nofly_zone_reloads_total",
		Help: "Zone set loads attempted (the first load at start included).",
	})
	m.reloadFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "nofly_zone_reload_failures_total",
		Help: "Zone set loads that failed; the previous zones stayed in service.",
	})
	m.reloadSeconds = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "nofly_zone_load_duration_seconds",
		Help: "How long the last successful zone set load took (read, validate, index), in seconds.",
	})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nofly_exemption_store_errors_total",
		Help: "Errors of the exemption store, by operation (not-found, revoked and superseded answers are not errors).",
	}, []string{"operation"})
	for _, op := range storeOps {
		m.storeErrors.WithLabelValues(op) // every operation exported from zero
	}
	m.reg.MustRegister(m.requests, m.latency, m.reloads, m.reloadFailures, m.reloadSeconds, m.storeErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	empty := map[string]*methodMetrics{}
	m.methods.Store(&empty)
	return m
}

// Registry is where the metrics are registered, for tests and for
// collectors of the embedding program.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// bind registers the metrics that read s at scrape time: the zone set in
// service, the exemption cache, readiness.
func (m *Metrics) bind(s *Server) {
	m.reg.MustRegister(&zoneSetCollector{s: s})
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nofly_ready",
		Help: "1 when the server reports SERVING (zones loaded, store reachable), else 0.",
	}, func() float64 {
		if s.ready.Load() {
			return 1
		}
		return 0
	}))
	if s.exStore == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nofly_exemption_cache_age_seconds",
		Help: "Seconds since the checks' exemption cache last matched the store (NaN before the first match).",
	}, func() float64 {
		t := s.ExemptionsAsOf()
		if t.IsZero() {
			return math.NaN()
		}
		return s.now().Sub(t).Seconds() // the clock that stamped t
	}))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nofly_exemptions_cached",
		Help: "Exemption records in the checks' cache (every state: active, expired, revoked, superseded).",
	}, func() float64 {
		if c := s.exCache; c != nil && s.ready.Load() {
			return float64(c.Snapshot().Len)
		}
		return 0
	}))
}

// reloaded counts a zone set load and its outcome.
func (m *Metrics) reloaded(err error, took time.Duration) {
	if m == nil {
		return
	}
	m.reloads.Inc()
	if err != nil {
		m.reloadFailures.Inc()
		return
	}
	m.reloadSeconds.Set(took.Seconds())
}

// instrument resolves the series of every method registered on g with code
// OK, so that they are exported from zero and a call finds them without
// the vectors' hashing.
func (m *Metrics) instrument(g *grpc.Server) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := map[string]*methodMetrics{}
	for k, v := range *m.methods.Load() {
		next[k] = v
	}
	for svc, info := range g.GetServiceInfo() {
		for _, meth := range info.Methods {
			name := "/" + svc + "/" + meth.Name
			if next[name] == nil {
				mm := &methodMetrics{name: name}
				m.series(mm, codes.OK)
				next[name] = mm
			}
		}
	}
	m.methods.Store(&next)
}

// series returns the series of mm for code c, creating them on first use.
func (m *Metrics) series(mm *methodMetrics, c codes.Code) *codeMetrics {
	if int(c) >= numCodes {
		c = codes.Unknown
	}
	if cm := mm.codes[c].Load(); cm != nil {
		return cm
	}
	code := c.String()
	cm := &codeMetrics{
		requests: m.requests.WithLabelValues(mm.name, code),
		latency:  m.latency.WithLabelValues(mm.name, code),
	}
	// Two first calls may race here: both resolve the same children
	// (the vectors return one child per label set), so either may win.
	mm.codes[c].Store(cm)
	return cm
}

// observe records one call of method that ended with err after took.
func (m *Metrics) observe(method string, err error, took time.Duration) {
	mm := (*m.methods.Load())[method]
	if mm == nil {
		// A method not registered (unknown service): one series per name
		// the client sent would let any client grow the registry.
		mm = m.unknown
	}
	cm := m.series(mm, status.Code(err))
	cm.requests.Inc()
	cm.latency.Observe(took.Seconds())
}

// UnaryInterceptor counts and times every unary call. It must be the
// outermost interceptor, so that calls refused by the others are counted
// with their code; a panic below it is counted as INTERNAL.
func (m *Metrics) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				m.observe(info.FullMethod, status.Error(codes.Internal, ""), time.Since(start))
				panic(r)
			}
			m.observe(info.FullMethod, err, time.Since(start))
		}()
		return handler(ctx, req)
	}
}

// StreamInterceptor counts and times every streaming call (the health
// service's Watch, reflection), from start to end of the stream.
func (m *Metrics) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				m.observe(info.FullMethod, status.Error(codes.Internal, ""), time.Since(start))
				panic(r)
			}
			m.observe(info.FullMethod, err, time.Since(start))
		}()
		return handler(srv, ss)
	}
}

// zoneSetCollector exports the zone set in service, read at scrape time.
type zoneSetCollector struct{ s *Server }

var (
	zonesLoadedDesc = prometheus.NewDesc("nofly_zones_loaded",
		"Zones in the zone set in service.", nil, nil)
	zoneSetInfoDesc = prometheus.NewDesc("nofly_zone_set_info",
		"The zone set in service: 1, labelled with its version (a content hash; replicas with the same zones show the same).",
		[]string{"version"}, nil)
	zoneSetLoadedDesc = prometheus.NewDesc("nofly_zone_set_loaded_timestamp_seconds",
		"When the zone set in service was loaded (the last successful reload), Unix seconds.", nil, nil)
)

func (c *zoneSetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- zonesLoadedDesc
	ch <- zoneSetInfoDesc
	ch <- zoneSetLoadedDesc
}

func (c *zoneSetCollector) Collect(ch chan<- prometheus.Metric) {
	set := c.s.current()
	if set == nil {
		ch <- prometheus.MustNewConstMetric(zonesLoadedDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(zonesLoadedDesc, prometheus.GaugeValue, float64(set.info.GetZoneCount()))
	ch <- prometheus.MustNewConstMetric(zoneSetInfoDesc, prometheus.GaugeValue, 1, set.info.GetVersion())
	loaded := set.info.GetLoadedAt().AsTime()
	ch <- prometheus.MustNewConstMetric(zoneSetLoadedDesc, prometheus.GaugeValue,
		float64(loaded.UnixNano())/1e9)
}

// storeOps are the operations of exemptions.Store, as metric labels.
var storeOps = []string{"create", "supersede", "revoke", "get", "list", "all", "changed", "version",
	"record_check", "audit", "verify_audit"}

// observedStore is an exemptions.Store that counts its errors (when m is
// not nil).
type observedStore struct {
	exemptions.Store
	m *Metrics
}

func observeStore(st exemptions.Store, m *Metrics) *observedStore {
	return &observedStore{Store: st, m: m}
}

// fail counts err against op unless it is an answer rather than a fault.
func (o *observedStore) fail(ctx context.Context, op string, err error) {
	if err == nil || o.m == nil || ctx.Err() != nil ||
		errors.Is(err, exemptions.ErrNotFound) || exemptions.IsFailedPrecondition(err) || errors.Is(err, exemptions.ErrRequestReused) ||
		errors.Is(err, exemptions.ErrNotInForce) { // a check racing a change: judged again, not a fault
		return
	}
	o.m.storeErrors.WithLabelValues(op).Inc()
}

func (o *observedStore) Create(ctx context.Context, req exemptions.Request, ex exemptions.Exemption) (exemptions.Exemption, error) {
	out, err := o.Store.Create(ctx, req, ex)
	o.fail(ctx, "create", err)
	return out, err
}

func (o *observedStore) Supersede(ctx context.Context, req exemptions.Request, oldID string, ex exemptions.Exemption) (exemptions.Exemption, error) {
	out, err := o.Store.Supersede(ctx, req, oldID, ex)
	o.fail(ctx, "supersede", err)
	return out, err
}

func (o *observedStore) Revoke(ctx context.Context, req exemptions.Request, id string, rev exemptions.Revocation) (exemptions.Exemption, error) {
	out, err := o.Store.Revoke(ctx, req, id, rev)
	o.fail(ctx, "revoke", err)
	return out, err
}

func (o *observedStore) Get(ctx context.Context, id string) (exemptions.Exemption, error) {
	out, err := o.Store.Get(ctx, id)
	o.fail(ctx, "get", err)
	return out, err
}

func (o *observedStore) List(ctx context.Context, f exemptions.ListFilter) ([]exemptions.Exemption, string, error) {
	out, next, err := o.Store.List(ctx, f)
	o.fail(ctx, "list", err)
	return out, next, err
}

func (o *observedStore) All(ctx context.Context) ([]exemptions.Exemption, int64, error) {
	out, v, err := o.Store.All(ctx)
	o.fail(ctx, "all", err)
	return out, v, err
}

func (o *observedStore) Changed(ctx context.Context, since int64) ([]exemptions.Exemption, int64, error) {
	out, v, err := o.Store.Changed(ctx, since)
	o.fail(ctx, "changed", err)
	return out, v, err
}

func (o *observedStore) Version(ctx context.Context) (int64, error) {
	v, err := o.Store.Version(ctx)
	o.fail(ctx, "version", err)
	return v, err
}

func (o *observedStore) RecordCheck(ctx context.Context, c exemptions.CheckRecord) (exemptions.AuditEvent, error) {
	out, err := o.Store.RecordCheck(ctx, c)
	o.fail(ctx, "record_check", err)
	return out, err
}

func (o *observedStore) Audit(ctx context.Context, f exemptions.AuditFilter) ([]exemptions.AuditEvent, string, error) {
	out, next, err := o.Store.Audit(ctx, f)
	o.fail(ctx, "audit", err)
	return out, next, err
}

func (o *observedStore) VerifyAudit(ctx context.Context) (exemptions.Verification, error) {
	out, err := o.Store.VerifyAudit(ctx)
	o.fail(ctx, "verify_audit", err)
	return out, err
}

// Unwrap returns the store observed, for code that looks for optional
// interfaces of the implementation.
func (o *observedStore) Unwrap() exemptions.Store { return o.Store }
