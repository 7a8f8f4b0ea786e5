// Command noflyd serves nofly.v1.GeofenceService: it loads UAS geographical
// zones and answers position and flight plan checks against them, applying
// the exemptions that nofly.v1.ExemptionService manages (kept with their
// audit log in an SQLite file or a PostgreSQL database shared by several
// noflyd, --db).
//
// With no arguments it listens on 127.0.0.1:7600, in plaintext where every
// caller is the local administrator, and serves the sample zone set built
// into it. With --tls-cert, --tls-key, --client-ca and --roles it serves
// mutual TLS and gives each certificate the role the roles file names
// (docs/security.md). SIGHUP reloads the zone files, certificates and roles
// (a failed reload keeps the old ones); SIGTERM and SIGINT stop it
// gracefully.
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nofly-project/nofly/authorisation"
	"github.com/nofly-project/nofly/data"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/asynclog"
	"github.com/nofly-project/nofly/internal/buildinfo"
	"github.com/nofly-project/nofly/internal/logline"
	"github.com/nofly-project/nofly/internal/server"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "noflyd:", err)
		os.Exit(2)
	}
}

const usage = `Usage: noflyd [flags]

Serves nofly.v1.GeofenceService (gRPC, with health checking and server
reflection): checks of positions and flight plans against UAS no-fly zones,
and nofly.v1.ExemptionService: the exemption records the checks apply, with
their append-only audit log, kept in the database --db: an SQLite file
(created when missing), or a PostgreSQL database (postgres://user@host/db)
that several noflyd share (see docs/postgresql.md).

Security: with --tls-cert, --tls-key, --client-ca and --roles, every
connection is TLS 1.3 with a client certificate issued by the client CA,
and the roles file gives each certificate subject its role (pilot, planner,
admin, auditor). Without them noflyd serves plaintext on loopback only,
where every caller is the local administrator; it refuses any other listen
address. See docs/security.md; "nofly dev-certs DIR" makes a trial set.

Without --zones it serves the sample zone set built into it (NOT legal
airspace data). --zones takes zone files (nofly GeoJSON, ED-269, ED-318,
KML, KMZ, optionally gzip-compressed) or directories of them, and may be
repeated. GeoJSON with a source's own property names (a national portal's
layer) is read through a mapping: --zones-mapping FILE, or a file
NAME.mapping beside NAME.geojson (data/mappings/ has shipped ones).

Every flag may also be given by an environment variable, NOFLY_ and the
flag's name in capitals with - as _ (NOFLY_ZONES, NOFLY_METRICS_LISTEN);
the command line wins. NOFLY_ZONES separates paths with ':'.

Health: NOT_SERVING until the exemption store has answered and the zones
are loaded, SERVING after (a failed reload does not change it), NOT_SERVING
again once stopping. --metrics-listen serves Prometheus metrics on
http://ADDR/metrics (typically 127.0.0.1:9600).

Flight authorisations: with --signing-key (an Ed25519 key from "nofly keys
new") noflyd signs an authorisation for every flight plan whose check is
CLEAR or EXEMPTED when asked ("nofly plan authorise"), which ground stations
verify offline; see docs/authorisations.md.

InterUSS: --interuss-listen serves the InterUSS geospatial map automated
testing interface (HTTP/JSON, /geospatial_map/v1) that InterUSS's test
harness queries; beyond loopback only over TLS with access tokens verified
against --interuss-jwks. See docs/interuss.md.

Signals: SIGHUP reloads the zone files, the certificates, the roles
file, the InterUSS key set and the policy; if any has a problem, every problem is logged and the old one stays
in service. SIGTERM or SIGINT stop
accepting calls, let calls in flight finish (up to --grace) and exit.

Example:
  noflyd --listen 127.0.0.1:7600 --zones /etc/nofly/zones --log-format json
  noflyd --listen 0.0.0.0:7600 --tls-cert server.pem --tls-key server-key.pem \
    --client-ca ca.pem --roles roles.txt

Flags:
`

// multiFlag is a flag that may be given several times.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type config struct {
	listen    string
	zones     multiFlag
	mapping   string // --zones-mapping; "" reads each file by its format (or a NAME.mapping beside it)
	logFormat string
	logLevel  slog.Level
	grace     time.Duration
	db        string
	tls       tlsFlags
	metrics   string // --metrics-listen; "" serves none
	pprof     bool
	version   bool // --version: print it and exit
	signing   signingFlags
	interuss  interussFlags
	policy    string  // --policy: the deployment policy file
	registry  string  // --registry: enforced or warn
	ceiling   float64 // --general-ceiling, metres AGL; 0: none
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fset := flag.NewFlagSet("noflyd", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.StringVar(&c.listen, "listen", "127.0.0.1:7600", "`address` to listen on (host:port; port 0 picks a free one)")
	fset.Var(&c.zones, "zones", "zone file or directory (`PATH`; repeatable); default: the built-in sample zones")
	fset.StringVar(&c.mapping, "zones-mapping", "", "read the --zones GeoJSON and KML files through this mapping `FILE` (docs/zones.md, Mappings); a NAME.mapping beside a file NAME.geojson is read without it")
	fset.StringVar(&c.logFormat, "log-format", "text", "log `format`: text or json")
	fset.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log `level`: debug, info, warn or error")
	fset.StringVar(&c.db, "db", "nofly.db", "exemption `database`: an SQLite file (created when missing), or a postgres:// URL shared by several noflyd")
	fset.DurationVar(&c.grace, "grace", 10*time.Second, "on SIGTERM, how long calls in flight may take to finish")
	c.tls.register(fset)
	c.signing.register(fset)
	c.interuss.register(fset)
	fset.StringVar(&c.metrics, "metrics-listen", "", "`address` to serve Prometheus metrics on, at /metrics (host:port, e.g. 127.0.0.1:9600); default: none")
	fset.BoolVar(&c.pprof, "pprof", false, "also serve Go profiles at /debug/pprof/ on --metrics-listen")
	fset.StringVar(&c.policy, "policy", "", "deployment policy `file` (docs/policy.md), reloaded on SIGHUP; default: levels regular and confidential, no rules")
	fset.StringVar(&c.registry, "registry", "enforced", "drone registry `mode`: enforced (a check naming an unregistered, inactive or other unit's drone is DENIED) or warn")
	fset.Float64Var(&c.ceiling, "general-ceiling", 120, "general ceiling in `metres` AGL when the policy sets none (EU open category: 120); 0: none")
	fset.BoolVar(&c.version, "version", false, "print noflyd's version (module version, VCS revision) and exit")
	fset.Usage = func() {
		fmt.Fprint(fset.Output(), usage)
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return nil, err
	}
	if err := applyEnv(fset); err != nil {
		return nil, err
	}
	if fset.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (zone files go after --zones)", fset.Arg(0))
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return nil, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
	}
	if c.mapping != "" && len(c.zones) == 0 {
		return nil, errors.New("--zones-mapping needs --zones")
	}
	if c.registry != "enforced" && c.registry != "warn" {
		return nil, fmt.Errorf("--registry %q: want enforced or warn", c.registry)
	}
	if !(c.ceiling >= 0 && c.ceiling <= 10000) {
		return nil, fmt.Errorf("--general-ceiling %v: want 0 to 10000 metres", c.ceiling)
	}
	if c.pprof && c.metrics == "" {
		return nil, errors.New("--pprof needs --metrics-listen")
	}
	return c, nil
}

// newLogger is slog's JSON or text handler, through which the checks
// write their lines straight (logline): the same text, at less cost.
func newLogger(c *config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.logLevel}
	if c.logFormat == "json" {
		return slog.New(logline.NewJSON(w, opts))
	}
	return slog.New(logline.NewText(w, opts))
}

// loader reads the zones named by --zones, or the embedded sample set.
func loader(paths []string, mapping string) (server.Loader, []string) {
	if len(paths) == 0 {
		names, _ := fs.Glob(data.FS, "*")
		sources := make([]string, len(names))
		for i, n := range names {
			sources[i] = "embedded:" + n
		}
		return func(context.Context) ([]geo.Zone, error) { return geo.ReadFS(data.FS) }, sources
	}
	if mapping != "" {
		// Read again on every load, so that a reload picks up its changes.
		return func(context.Context) ([]geo.Zone, error) {
			m, err := geo.ReadMappingFile(mapping)
			if err != nil {
				return nil, err
			}
			return geo.ReadPathsWith(geo.ReadOptions{Mapping: m}, paths...)
		}, paths
	}
	return func(context.Context) ([]geo.Zone, error) { return geo.ReadPaths(paths...) }, paths
}

// run serves until ctx is done or SIGTERM or SIGINT arrives.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if c.version {
		_, err := fmt.Fprintln(stdout, "noflyd", buildinfo.String())
		return err
	}
	// Log lines (one a check) are gathered and written by a goroutine of
	// their own, many per write under load; all are written out before
	// noflyd exits.
	logOut := asynclog.New(stderr)
	defer logOut.Close()
	log := newLogger(c, logOut)
	sec, err := newSecurity(c.tls, c.listen)
	if err != nil {
		return err
	}

	// Subscribe before loading, so that a signal sent while the zones load
	// is not lost (or fatal).
	// Reloads and stops have channels of their own: SIGHUPs sent faster
	// than the zones load coalesce into one more reload (which reads the
	// files as they are then), and never crowd out a SIGTERM.
	hups := make(chan os.Signal, 1)
	signal.Notify(hups, syscall.SIGHUP)
	defer signal.Stop(hups)
	stops := make(chan os.Signal, 1)
	signal.Notify(stops, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(stops)

	store, dbName, err := openStore(ctx, c.db)
	if err != nil {
		return err
	}
	defer store.Close() // after the server has stopped: deferred first, runs last
	log.InfoContext(ctx, "exemption database open", "db", dbName)

	authz, err := c.signing.load()
	if err != nil {
		return err
	}
	if authz.Key != nil {
		log.InfoContext(ctx, "signing flight authorisations", "key_id", authorisation.KeyIDString(authorisation.Thumbprint(authz.Key.Public().(ed25519.PublicKey))),
			"issuer", authz.Issuer, "previous_keys", len(authz.Previous), "max_validity", authz.MaxValidity)
	}
	load, sources := loader(c.zones, c.mapping)
	metrics := server.NewMetrics()
	srv, err := server.Prepare(server.Config{Load: load, Sources: sources, Log: log, Exemptions: store,
		Auth: sec.auth, Metrics: metrics, Authorisations: authz, Fleet: fleetConfig(c)})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	addr := lis.Addr().(*net.TCPAddr)
	if !sec.secure() && !addr.IP.IsLoopback() { // "localhost" that is not
		lis.Close()
		return checkLoopback(addr.String())
	}
	g := srv.NewGRPCServer(sec.serverOptions(log)...)
	served := make(chan error, 1)
	go func() { served <- g.Serve(lis) }()

	log.InfoContext(ctx, "listening", "addr", addr.String())
	sec.logMode(ctx, log, addr.String())
	if c.metrics != "" {
		ms, err := startMetrics(ctx, log, c.metrics, metrics, c.pprof)
		if err != nil {
			g.Stop()
			return err
		}
		defer ms.close()
	}
	iu, err := startInterUSS(ctx, c.interuss, c.tls, srv, metrics, log)
	if err != nil {
		g.Stop()
		return err
	}
	defer iu.stop()
	// Health answers NOT_SERVING, and checks UNAVAILABLE, until the store
	// has answered and the zones are loaded.
	if err := srv.Start(ctx); err != nil {
		g.Stop()
		return fmt.Errorf("stopping: %w", err)
	}
	// Changes written by another process sharing the database reach the
	// checks within a second (PostgreSQL: at once, by notification; the
	// poll confirms every second that the checks' exemptions are current);
	// this process's own changes at once.
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go srv.WatchExemptions(watchCtx, time.Second)
	// Refused checks are counted in memory and added to the store every
	// few seconds; the last ones when noflyd stops, after the calls
	// (deferred after store.Close, so run before it).
	flushCtx, stopFlush := context.WithCancel(context.WithoutCancel(ctx))
	flushed := make(chan struct{})
	go func() { srv.FlushRefusals(flushCtx, refusalFlushEvery); close(flushed) }()
	defer func() { stopFlush(); <-flushed }()

	for {
		select {
		case err := <-served:
			return fmt.Errorf("serving: %w", err)
		case <-ctx.Done():
			stop(ctx, log, srv, g, c.grace, "context done")
			return nil
		case sig := <-hups:
			log.InfoContext(ctx, "reloading zones", "signal", sig.String())
			if err := srv.Reload(ctx); err != nil {
				log.ErrorContext(ctx, "reload failed; serving the previous zones", "err", err)
			}
			_ = sec.reload(ctx, log) // logs its own problems
			iu.reload(ctx)
			_ = srv.ReloadPolicy(ctx) // logs its own problems, keeps the old policy
		case sig := <-stops:
			stop(ctx, log, srv, g, c.grace, sig.String())
			return nil
		}
	}
}

// refusalFlushEvery is how often the refused checks counted in memory are
// added to the store: at most this much of them is lost should noflyd
// crash (docs/oversight.md).
const refusalFlushEvery = 5 * time.Second

// grpcServer is what stop needs of *grpc.Server.
type grpcServer interface {
	GracefulStop()
	Stop()
}

// stop lets calls in flight finish, then cancels those still running so
// that the process exits within grace: the calls get grace less a tenth
// (at most a second) to finish on their own; then their contexts end,
// which the checks' geometry and the store honour within milliseconds, and
// they get the rest of grace to return. stop returns by the end of grace
// whatever still runs.
func stop(ctx context.Context, log *slog.Logger, srv *server.Server, g grpcServer, grace time.Duration, why string) {
	log.InfoContext(ctx, "stopping", "reason", why, "grace", grace)
	end := time.Now().Add(grace)
	srv.Shutdown()
	done := make(chan struct{})
	go func() {
		g.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		log.InfoContext(ctx, "stopped")
		return
	case <-time.After(grace - min(grace/10, time.Second)):
	}
	log.WarnContext(ctx, "calls still in flight near the end of the grace period; cancelling them", "grace", grace)
	g.Stop()
	select {
	case <-done:
		log.InfoContext(ctx, "stopped")
	case <-time.After(time.Until(end)):
		log.ErrorContext(ctx, "calls still running at the end of the grace period; exiting without them", "grace", grace)
	}
}

// fleetConfig is the force's own rules as the flags set them.
func fleetConfig(c *config) *server.FleetConfig {
	fc := &server.FleetConfig{PolicyFile: c.policy}
	if c.registry == "warn" {
		fc.Registry = exemptions.RegistryWarn
	}
	if c.ceiling > 0 {
		fc.Ceiling = geo.Altitude{Metres: c.ceiling, Ref: geo.AGL}
	}
	return fc
}
