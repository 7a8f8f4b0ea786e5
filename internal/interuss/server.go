// Package interuss serves InterUSS's geospatial map automated testing
// interface (geospatial_map/v1, the interface uss_qualifier's "geospatial
// feature comprehension" scenario tests a geo-awareness service through)
// over HTTP/JSON, on the zones noflyd serves.
//
// It decides nothing of its own: each filter set asks geo for the zones a
// flight there would meet, with the same conservative checks as the gRPC
// service, and exemptions.Decide splits them into blocking and advisory
// ones. Data sources put through the interface are read in memory by geo's
// readers, with their whole validation, and join the zones the interface
// queries (not the gRPC checks: test data stays with the test interface).
package interuss

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nofly-project/nofly/geo"
)

// BasePath is where the interface is served.
const BasePath = "/geospatial_map/v1"

// The interface this package implements, as /status reports it.
const (
	APIName    = "Geospatial Map Provider Automated Testing Interface"
	APIVersion = "v0.2.3"
)

// Zones is the zone set the interface queries: noflyd's server.Server.
type Zones interface {
	// Ready reports whether the zones are loaded.
	Ready() bool
	// Index is the index in service; nil before the zones are loaded.
	Index() *geo.Index
}

// Config configures a Server.
type Config struct {
	Zones Zones
	// Verifier checks access tokens; nil accepts every request (only for
	// plaintext on loopback).
	Verifier *Verifier
	// DataDir is the directory file:// data sources may be read from; ""
	// allows none.
	DataDir string
	Log     *slog.Logger
	// Now stamps queries; time.Now when nil.
	Now func() time.Time
	// Registerer, when set, gets the interface's metrics.
	Registerer prometheus.Registerer
}

// Server is the HTTP handler of the interface. Its fields are read-only
// after New; sources guards its own.
type Server struct {
	zones    Zones
	verifier *Verifier
	log      *slog.Logger
	now      func() time.Time
	sources  *sources
	mux      *http.ServeMux

	requests *prometheus.CounterVec
	took     *prometheus.HistogramVec
}

// New returns the interface's handler.
func New(cfg Config) (*Server, error) {
	s := &Server{zones: cfg.Zones, verifier: cfg.Verifier, log: cfg.Log, now: cfg.Now,
		sources: &sources{byID: map[string]*source{}}}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.DataDir != "" {
		d, err := filepath.Abs(cfg.DataDir)
		if err == nil {
			d, err = filepath.EvalSymlinks(d)
		}
		if err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		s.sources.dir = d
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nofly_interuss_requests_total",
		Help: "Requests to the InterUSS geospatial map interface, by operation and HTTP status code.",
	}, []string{"operation", "code"})
	s.took = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "nofly_interuss_request_duration_seconds",
		Help:    "Time to answer a request to the InterUSS geospatial map interface, by operation.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
	}, []string{"operation"})
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{s.requests, s.took} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	m := http.NewServeMux()
	m.Handle("GET "+BasePath+"/status", s.op("GetStatus", ScopeTest, s.status))
	m.Handle("POST "+BasePath+"/map/queries", s.op("QueryGeospatialMap", ScopeQuery, s.query))
	m.Handle("GET "+BasePath+"/geospatial_data_sources", s.op("ListGeospatialDataSources", ScopeTest, s.listSources))
	m.Handle("GET "+BasePath+"/geospatial_data_sources/{id}", s.op("GetGeospatialDataSourceStatus", ScopeTest, s.getSource))
	m.Handle("PUT "+BasePath+"/geospatial_data_sources/{id}", s.op("PutGeospatialDataSource", ScopeTest, s.putSource))
	m.Handle("DELETE "+BasePath+"/geospatial_data_sources/{id}", s.op("DeleteGeospatialDataSource", ScopeTest, s.deleteSource))
	// Anything else (another path, another method) is answered, logged
	// and counted too.
	m.Handle("/", s.op("unknown", "", func(r *http.Request, _ []byte) (reply, error) {
		return reply{}, fmt.Errorf("%w: %s %s", errNoOperation, r.Method, r.URL.Path)
	}))
	s.mux = m
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// reply is what a handler answers: a status code and a JSON body, or an
// error.
type reply struct {
	code int
	body any
	// log adds to the request's log line.
	log []any
}

type handler func(r *http.Request, body []byte) (reply, error)

// op wraps a handler with authentication, the body limit, panics, the log
// line and the metrics every request gets.
func (s *Server) op(name, scope string, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := r.Context()
		caller := "local"
		rep, err := func() (rep reply, err error) {
			defer func() {
				if p := recover(); p != nil {
					s.log.ErrorContext(ctx, "panic in InterUSS handler", "operation", name, "panic", fmt.Sprint(p))
					rep, err = reply{}, errors.New("internal error")
				}
			}()
			if s.verifier != nil && scope != "" {
				sub, err := s.verifier.check(r, scope)
				if sub != "" {
					caller = sub
				}
				if err != nil {
					return reply{}, err
				}
			}
			var body []byte
			if r.Method == http.MethodPost || r.Method == http.MethodPut {
				body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
				if err != nil {
					var mbe *http.MaxBytesError
					if errors.As(err, &mbe) {
						return reply{}, &RequestError{Msg: fmt.Sprintf("request body over %d bytes", MaxBody)}
					}
					return reply{}, &RequestError{Msg: "reading the request body: " + err.Error()}
				}
			}
			return h(r, body)
		}()
		if err != nil {
			rep = s.errorReply(w, err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.code)
		if rep.body != nil {
			_ = json.NewEncoder(w).Encode(rep.body)
		}
		took := time.Since(start)
		s.requests.WithLabelValues(name, strconv.Itoa(rep.code)).Inc()
		s.took.WithLabelValues(name).Observe(took.Seconds())
		args := append([]any{"operation", name, "method", r.Method, "path", r.URL.Path, "code", rep.code,
			"caller", caller, "remote", r.RemoteAddr, "took", took}, rep.log...)
		if err != nil {
			args = append(args, "err", err.Error())
		}
		level := slog.LevelInfo
		if rep.code >= 500 {
			level = slog.LevelError
		}
		s.log.Log(ctx, level, "interuss request", args...)
	})
}

type errorBody struct {
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// errorReply maps an error to its status code, in one place.
func (s *Server) errorReply(w http.ResponseWriter, err error) reply {
	var re *RequestError
	var ae *authError
	switch {
	case errors.As(err, &re):
		return reply{code: http.StatusBadRequest, body: errorBody{Message: re.Error(), Field: re.Field}}
	case errors.As(err, &ae):
		kind := "invalid_token"
		if ae.code == http.StatusForbidden {
			kind = "insufficient_scope"
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer error=%q", kind))
		return reply{code: ae.code, body: errorBody{Message: ae.msg}}
	case errors.Is(err, errConflict):
		return reply{code: http.StatusConflict, body: errorBody{Message: err.Error()}}
	case errors.Is(err, errNotFound), errors.Is(err, errNoOperation):
		return reply{code: http.StatusNotFound, body: errorBody{Message: err.Error()}}
	case errors.Is(err, errStarting):
		return reply{code: http.StatusServiceUnavailable, body: errorBody{Message: err.Error()}}
	}
	return reply{code: http.StatusInternalServerError, body: errorBody{Message: "internal error"}}
}

var (
	errNotFound    = errors.New("no such data source (never put, or deleted)")
	errNoOperation = errors.New("no such operation in geospatial_map/v1")
	errStarting    = errors.New("starting: zones not loaded yet")
)

func (s *Server) status(*http.Request, []byte) (reply, error) {
	st := "Starting"
	if s.zones.Ready() && s.zones.Index() != nil {
		st = "Ready"
	}
	return reply{code: http.StatusOK, body: statusResponse{Status: st, APIName: APIName, APIVersion: APIVersion}}, nil
}

// decodeQuery reads a query request as the harness sends it, strictly:
// every problem is a *RequestError naming the field.
func decodeQuery(body []byte) ([][]selection, error) {
	var req queryRequest
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	return readChecks(&req)
}

func (s *Server) query(r *http.Request, body []byte) (reply, error) {
	checks, err := decodeQuery(body)
	if err != nil {
		return reply{}, err
	}
	idx := s.zones.Index()
	if !s.zones.Ready() || idx == nil {
		return reply{}, errStarting
	}
	layers := append([]layer{{idx: idx}}, s.sources.layers()...)
	now := s.now().UTC()
	ctx := r.Context()
	out := queryReply{Results: make([]checkResult, len(checks))}
	var present, absent, other int
	for i, sets := range checks {
		out.Results[i] = evaluate(sets, layers, now, ctx.Err)
		switch out.Results[i].Outcome {
		case Present:
			present++
		case Absent:
			absent++
		default:
			other++
		}
	}
	if err := ctx.Err(); err != nil {
		return reply{}, err
	}
	return reply{code: http.StatusOK, body: out,
		log: []any{"checks", len(checks), "present", present, "absent", absent, "unsupported_or_error", other}}, nil
}

func sourceID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !sourceIDPattern.MatchString(id) {
		return "", &RequestError{Field: "geospatial_data_source_id", Msg: fmt.Sprintf("%q: want a UUID (letters, digits, '.', '_', '-'; at most 100)", id)}
	}
	return id, nil
}

func (s *Server) putSource(r *http.Request, body []byte) (reply, error) {
	id, err := sourceID(r)
	if err != nil {
		return reply{}, err
	}
	var req createSourceRequest
	if err := decodeStrict(body, &req); err != nil {
		return reply{}, err
	}
	st, err := s.sources.put(id, &req)
	if err != nil {
		return reply{}, err
	}
	return reply{code: http.StatusOK, body: sourceResponse{DataSource: st},
		log: []any{"source", id, "url", *req.HTTPSSource.URL, "status", st.Status, "message", st.Message}}, nil
}

func (s *Server) getSource(r *http.Request, _ []byte) (reply, error) {
	id, err := sourceID(r)
	if err != nil {
		return reply{}, err
	}
	st, ok := s.sources.get(id)
	if !ok {
		return reply{}, errNotFound
	}
	return reply{code: http.StatusOK, body: sourceResponse{DataSource: st}}, nil
}

func (s *Server) listSources(*http.Request, []byte) (reply, error) {
	return reply{code: http.StatusOK, body: listSourcesResponse{DataSources: s.sources.list()}}, nil
}

func (s *Server) deleteSource(r *http.Request, _ []byte) (reply, error) {
	id, err := sourceID(r)
	if err != nil {
		return reply{}, err
	}
	if !s.sources.remove(id) {
		return reply{}, errNotFound
	}
	return reply{code: http.StatusOK, body: sourceResponse{DataSource: sourceStatus{ID: id, Status: SourceDeactivated}},
		log: []any{"source", id}}, nil
}

// Listener is the interface served on a listener.
type Listener struct {
	srv  *http.Server
	Addr net.Addr
}

// ListenConfig is how the interface is served.
type ListenConfig struct {
	Addr string
	// TLS, when set, serves HTTPS. Without it the address must be
	// loopback; beyond loopback Handler must also verify access tokens.
	TLS *tls.Config
	// Authenticated says that the handler verifies access tokens.
	Authenticated bool
}

// Listen serves h at lc.Addr: plaintext on loopback only, beyond loopback
// TLS with access tokens only.
func Listen(lc ListenConfig, h http.Handler, log *slog.Logger) (*Listener, error) {
	lis, err := net.Listen("tcp", lc.Addr)
	if err != nil {
		return nil, fmt.Errorf("--interuss-listen: %w", err)
	}
	addr := lis.Addr().(*net.TCPAddr)
	if !addr.IP.IsLoopback() && (lc.TLS == nil || !lc.Authenticated) {
		lis.Close()
		return nil, fmt.Errorf("--interuss-listen %s is not loopback: beyond loopback the interface needs TLS (--tls-cert, --tls-key) and access tokens (--interuss-jwks)", lc.Addr)
	}
	l := &Listener{Addr: addr, srv: &http.Server{
		Handler:           http.MaxBytesHandler(h, MaxBody+1),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
	if lc.TLS != nil {
		l.srv.TLSConfig = lc.TLS
		lis = tls.NewListener(lis, lc.TLS)
	}
	go func() {
		if err := l.srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			log.Error("InterUSS interface stopped serving", "err", err)
		}
	}()
	scheme := "http"
	if lc.TLS != nil {
		scheme = "https"
	}
	log.Info("InterUSS geospatial map interface listening", "url", scheme+"://"+addr.String()+BasePath,
		"access_tokens", lc.Authenticated)
	return l, nil
}

// Close stops the listener, letting requests in flight finish until ctx
// ends.
func (l *Listener) Close(ctx context.Context) error {
	err := l.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = l.srv.Close()
	}
	return err
}
