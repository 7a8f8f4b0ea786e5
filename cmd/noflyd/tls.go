package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/nofly-project/nofly/internal/server"
)

// tlsFlags are the flags of the secure setup: all four, or none.
type tlsFlags struct {
	cert, key, clientCA, roles string
}

func (t *tlsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.cert, "tls-cert", "", "server certificate `file` (PEM; with its chain); enables TLS")
	fs.StringVar(&t.key, "tls-key", "", "server private key `file` (PEM)")
	fs.StringVar(&t.clientCA, "client-ca", "", "`file` of the CA certificates (PEM) that client certificates must be issued by")
	fs.StringVar(&t.roles, "roles", "", "roles `file`: certificate subject → role, unit and pilot id (see docs/security.md)")
}

func (t *tlsFlags) any() bool {
	return t.cert != "" || t.key != "" || t.clientCA != "" || t.roles != ""
}

// security is how noflyd authenticates its callers: mutual TLS with the
// roles file, or, without any TLS flag, plaintext on loopback where every
// caller is the local administrator.
type security struct {
	flags tlsFlags
	auth  *server.Auth               // nil without TLS
	conf  atomic.Pointer[tls.Config] // swapped by reload; nil without TLS
}

// newSecurity reads the certificates and the roles file, and refuses a
// listen address that the setup may not serve: without TLS and client
// authentication, only loopback addresses.
func newSecurity(t tlsFlags, listen string) (*security, error) {
	s := &security{flags: t}
	if !t.any() {
		if err := checkLoopback(listen); err != nil {
			return nil, err
		}
		return s, nil
	}
	var missing []string
	for _, f := range []struct{ v, name string }{{t.cert, "--tls-cert"}, {t.key, "--tls-key"}, {t.clientCA, "--client-ca"}, {t.roles, "--roles"}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("TLS needs --tls-cert, --tls-key, --client-ca and --roles together; missing %s", strings.Join(missing, ", "))
	}
	conf, err := t.tlsConfig()
	if err != nil {
		return nil, err
	}
	s.conf.Store(conf)
	if s.auth, err = server.NewAuth(t.roles); err != nil {
		return nil, fmt.Errorf("--roles: %w", err)
	}
	return s, nil
}

// checkLoopback refuses a plaintext listen address that is not loopback.
// A host name other than localhost is refused too: resolving it would ask
// a name server, and its answer may change.
func checkLoopback(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %v", listen, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing to serve plaintext without client authentication on %q: without TLS noflyd listens on loopback only (127.0.0.1, ::1); give --tls-cert, --tls-key, --client-ca and --roles to listen elsewhere", listen)
}

// tlsConfig is TLS 1.3 with a verified client certificate required.
func (t tlsFlags) tlsConfig() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.cert, t.key)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	pem, err := os.ReadFile(t.clientCA)
	if err != nil {
		return nil, fmt.Errorf("--client-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--client-ca %s: no PEM certificate in it", t.clientCA)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		// gRPC needs HTTP/2 negotiated by ALPN; a configuration returned
		// by GetConfigForClient is used as it is, so it must say so itself.
		NextProtos: []string{"h2"},
	}, nil
}

// secure reports whether callers are authenticated.
func (s *security) secure() bool { return s.auth != nil }

// serverOptions are the gRPC server's transport credentials. Each new
// connection takes the configuration in force, so a reload applies to new
// connections and leaves established ones alone. Refused handshakes are
// logged to log.
func (s *security) serverOptions(log *slog.Logger) []grpc.ServerOption {
	if !s.secure() {
		return nil
	}
	outer := &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return s.conf.Load(), nil
		},
	}
	return []grpc.ServerOption{grpc.Creds(&loggedCreds{TransportCredentials: credentials.NewTLS(outer), log: log})}
}

// loggedCreds logs every refused TLS handshake (an expired certificate, one
// of another CA, none), which gRPC would otherwise drop silently.
type loggedCreds struct {
	credentials.TransportCredentials
	log *slog.Logger
}

func (c *loggedCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	nc, ai, err := c.TransportCredentials.ServerHandshake(conn)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		// Closed before saying anything: a TCP health check or a port
		// scan, not a refused client; at debug level, so that a load
		// balancer's probes do not fill the log.
		c.log.Debug("connection closed before the TLS handshake", "peer", conn.RemoteAddr().String())
	default:
		c.log.Warn("TLS handshake refused", "peer", conn.RemoteAddr().String(), "err", err.Error())
	}
	return nc, ai, err
}

func (c *loggedCreds) Clone() credentials.TransportCredentials {
	return &loggedCreds{TransportCredentials: c.TransportCredentials.Clone(), log: c.log}
}

// reload reads the certificates and the roles file again (SIGHUP). Each
// that fails to load is logged and the old one stays in force.
func (s *security) reload(ctx context.Context, log *slog.Logger) error {
	if !s.secure() {
		return nil
	}
	var errs []error
	if conf, err := s.flags.tlsConfig(); err != nil {
		log.ErrorContext(ctx, "certificates not reloaded; the previous ones stay in force", "err", err)
		errs = append(errs, err)
	} else {
		s.conf.Store(conf)
		log.InfoContext(ctx, "certificates loaded", "tls_cert", s.flags.cert, "client_ca", s.flags.clientCA)
	}
	if err := s.auth.Reload(ctx, log); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// logMode says how callers are authenticated: loudly when they are not.
func (s *security) logMode(ctx context.Context, log *slog.Logger, addr string) {
	if !s.secure() {
		log.WarnContext(ctx, "NO TLS, NO AUTHENTICATION: serving plaintext on loopback; every local caller is an administrator with every role, and the unit, pilot, issuer and revoker are taken as each request gives them. Give --tls-cert, --tls-key, --client-ca and --roles for the secure setup",
			"addr", addr)
		return
	}
	log.InfoContext(ctx, "mutual TLS: client certificates verified against the client CA, roles from the roles file",
		"addr", addr, "client_ca", s.flags.clientCA, "roles", s.flags.roles, "subjects", s.auth.Roles().Len())
}
