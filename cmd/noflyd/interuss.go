package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nofly-project/nofly/internal/interuss"
	"github.com/nofly-project/nofly/internal/server"
)

// interussFlags configure the InterUSS geospatial map interface
// (docs/interuss.md); it is served only with --interuss-listen.
type interussFlags struct {
	listen, jwks, audience, dataDir string
}

func (f *interussFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.listen, "interuss-listen", "", "`address` to serve the InterUSS geospatial map interface on, at /geospatial_map/v1 (HTTP; HTTPS with --tls-cert); default: none")
	fs.StringVar(&f.jwks, "interuss-jwks", "", "`file` of the public keys (JWKS, or PEM) that InterUSS access tokens are verified with; required beyond loopback")
	fs.StringVar(&f.audience, "interuss-audience", "", "the `host` name InterUSS access tokens must name as aud; default: this machine's host name")
	fs.StringVar(&f.dataDir, "interuss-data-dir", "", "`directory` that InterUSS data sources may load file:// URLs from; default: none")
}

// interussService is the interface being served: stop ends it, reload
// reads --interuss-jwks again (SIGHUP; a bad file is logged and the old
// keys kept).
type interussService struct {
	stop   func()
	reload func(context.Context)
}

// startInterUSS serves the interface when --interuss-listen is given.
func startInterUSS(ctx context.Context, f interussFlags, t tlsFlags, srv *server.Server, metrics *server.Metrics, log *slog.Logger) (interussService, error) {
	none := interussService{stop: func() {}, reload: func(context.Context) {}}
	if f.listen == "" {
		if f.jwks != "" || f.audience != "" || f.dataDir != "" {
			return none, fmt.Errorf("--interuss-jwks, --interuss-audience and --interuss-data-dir need --interuss-listen")
		}
		return none, nil
	}
	cfg := interuss.Config{Zones: srv, DataDir: f.dataDir, Log: log, Registerer: metrics.Registry()}
	if f.jwks != "" {
		keys, err := interuss.ReadKeySet(f.jwks)
		if err != nil {
			return none, fmt.Errorf("--interuss-jwks: %w", err)
		}
		aud := f.audience
		if aud == "" {
			if aud, err = os.Hostname(); err != nil {
				return none, fmt.Errorf("--interuss-audience: %w", err)
			}
		}
		cfg.Verifier = &interuss.Verifier{Keys: keys, Audience: aud, Now: time.Now, Leeway: 30 * time.Second}
		log.InfoContext(ctx, "InterUSS access tokens verified", "keys", len(keys), "audience", aud)
	}
	h, err := interuss.New(cfg)
	if err != nil {
		return none, fmt.Errorf("--interuss-data-dir: %w", err)
	}
	lc := interuss.ListenConfig{Addr: f.listen, Authenticated: cfg.Verifier != nil}
	if t.cert != "" {
		cert, err := tls.LoadX509KeyPair(t.cert, t.key)
		if err != nil {
			return none, fmt.Errorf("--tls-cert, --tls-key: %w", err)
		}
		lc.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	l, err := interuss.Listen(lc, h, log)
	if err != nil {
		return none, err
	}
	svc := interussService{reload: none.reload, stop: func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = l.Close(c)
	}}
	if v := cfg.Verifier; v != nil {
		svc.reload = func(ctx context.Context) {
			keys, err := interuss.ReadKeySet(f.jwks)
			if err != nil {
				log.ErrorContext(ctx, "InterUSS key set not reloaded; keeping the previous keys", "err", err)
				return
			}
			v.SetKeys(keys)
			log.InfoContext(ctx, "InterUSS key set reloaded", "keys", len(keys))
		}
	}
	return svc, nil
}
