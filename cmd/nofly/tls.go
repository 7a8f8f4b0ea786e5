package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// tlsGlobals are the flags of the secure setup: the CA that issued the
// server's certificate, and the caller's own certificate and key.
type tlsGlobals struct {
	ca, cert, key string
	conf          *tls.Config       // as credentials made it, for diagnosis
	leaf          *x509.Certificate // the client certificate, for diagnosis
}

func (t *tlsGlobals) register(fs *flag.FlagSet) {
	fs.StringVar(&t.ca, "ca", t.ca, "CA certificate `file` (PEM) the server's certificate must be issued by; enables TLS; env NOFLY_CA")
	fs.StringVar(&t.cert, "cert", t.cert, "your client certificate `file` (PEM); env NOFLY_CERT")
	fs.StringVar(&t.key, "key", t.key, "your client certificate's private key `file` (PEM); env NOFLY_KEY")
}

func (t *tlsGlobals) fromEnv(getenv func(string) string) {
	t.ca, t.cert, t.key = getenv("NOFLY_CA"), getenv("NOFLY_CERT"), getenv("NOFLY_KEY")
}

// on reports whether the connection is TLS. With TLS the server knows who
// calls from the certificate: the CLI names no issuer or revoker itself.
func (t *tlsGlobals) on() bool { return t.ca != "" || t.cert != "" || t.key != "" }

// credentials are the connection's transport credentials: TLS 1.3 with the
// client certificate when the TLS flags are given, plaintext otherwise
// (for a noflyd on loopback without TLS).
func (t *tlsGlobals) credentials() (credentials.TransportCredentials, error) {
	if !t.on() {
		return insecure.NewCredentials(), nil
	}
	if t.ca == "" {
		return nil, errors.New("--cert and --key need --ca (or NOFLY_CA): the CA that issued the server's certificate")
	}
	if t.cert == "" || t.key == "" {
		return nil, errors.New("--ca needs --cert and --key (or NOFLY_CERT and NOFLY_KEY): noflyd knows its callers by their certificates")
	}
	pem, err := os.ReadFile(t.ca)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca %s: no PEM certificate in it", t.ca)
	}
	c, err := tls.LoadX509KeyPair(t.cert, t.key)
	if err != nil {
		return nil, fmt.Errorf("--cert/--key: %w", err)
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool,
		// Always present the certificate, even when the server's list of
		// acceptable CAs does not name its issuer: the server then says
		// why it refuses it ("unknown certificate authority") rather than
		// that none was given.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil },
	}
	t.conf, t.leaf = conf, c.Leaf
	return credentials.NewTLS(conf), nil
}

// connError explains a failed TLS handshake, or a plaintext call to a TLS
// server, better than gRPC's nested transport message; other errors (as
// rpcError made them) are returned as they are.
func connError(e *env, made, err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable {
		return made
	}
	msg := st.Message()
	if e.tls.conf != nil && !strings.Contains(msg, "tls: ") && !strings.Contains(msg, "x509: ") {
		// In TLS 1.3 the server refuses a client certificate after the
		// client has finished its handshake; gRPC's first write may then
		// fail (broken pipe) before the server's alert is read. Ask again
		// and wait for the alert.
		if alert := tlsAlert(e.server, e.tls.conf); alert != "" {
			msg = "remote error: tls: " + alert
		}
	}
	switch {
	case strings.Contains(msg, "remote error: tls: expired certificate"):
		// TLS has one alert for a certificate before and after its
		// validity: say which, by this machine's clock.
		return fmt.Errorf("the nofly server at %s refused the TLS connection: %s", e.server, validity(e.tls.cert, e.tls.leaf, time.Now()))
	case strings.Contains(msg, "remote error: tls: "):
		return fmt.Errorf("the nofly server at %s refused the TLS connection: %s (is --cert issued by the server's client CA, still valid, and is --key its key?)",
			e.server, strings.TrimRight(msg[strings.Index(msg, "remote error: tls: ")+len("remote error: tls: "):], `"`))
	case strings.Contains(msg, "x509: "):
		return fmt.Errorf("the nofly server at %s is not trusted: %s (is its certificate issued by --ca, and for this address?)",
			e.server, strings.TrimRight(msg[strings.Index(msg, "x509: "):], `"`))
	case !e.tls.on() && (strings.HasSuffix(strings.TrimRight(msg, `"`), "EOF") || strings.Contains(msg, "connection reset")):
		// A TLS server closes a plaintext connection; so does a server
		// that stops. Ask which.
		switch speaksTLS(e.server) {
		case probeUnreachable:
			return fmt.Errorf("the nofly server is not reachable at %s: it closed the connection and no longer accepts any", e.server)
		case probeTLS:
			return fmt.Errorf("%v (the server requires TLS: give --ca, --cert and --key)", made)
		}
		return fmt.Errorf("the nofly server at %s closed the connection (%s)", e.server, lastReason(msg))
	}
	return made
}

// validity says why a server refused a certificate as expired: it is not
// yet valid, or no longer, by this machine's clock; or, valid here, the
// server's clock must disagree.
func validity(file string, leaf *x509.Certificate, now time.Time) string {
	if leaf == nil {
		return "expired certificate, or not yet valid"
	}
	from, until := leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339)
	switch {
	case now.Before(leaf.NotBefore):
		return fmt.Sprintf("certificate not yet valid: --cert %s is valid from %s (is this machine's clock right?)", file, from)
	case now.After(leaf.NotAfter):
		return fmt.Sprintf("expired certificate: --cert %s expired at %s", file, until)
	}
	return fmt.Sprintf("expired certificate, or not yet valid, by the server's clock: --cert %s is valid from %s to %s here (is the server's clock right?)", file, from, until)
}

// What speaksTLS found at an address.
type probe int

const (
	probeUnknown     probe = iota // reachable, not known to speak TLS
	probeUnreachable              // nothing accepts connections
	probeTLS                      // a TLS server
)

// speaksTLS connects to addr and starts a TLS handshake (verifying
// nothing: only whether the answer is TLS, and sending no data), within
// two seconds.
func speaksTLS(addr string) probe {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return probeUnreachable
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	// #nosec G402 -- a probe: no data is sent and the connection is closed.
	c := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2"}})
	// A TLS server answers the handshake, or refuses it with an alert;
	// anything else (EOF, a record that is not TLS) is not a TLS server.
	if err := c.Handshake(); err == nil || alertOf(err) != "" {
		return probeTLS
	}
	return probeUnknown
}

// tlsAlert makes a TLS connection to addr and returns the alert with
// which the server refuses it ("expired certificate"), or "" when it does
// not (within two seconds).
func tlsAlert(addr string, conf *tls.Config) string {
	d := &net.Dialer{Timeout: 2 * time.Second}
	c := conf.Clone()
	c.NextProtos = []string{"h2"}
	if host, _, err := net.SplitHostPort(addr); err == nil && c.ServerName == "" {
		c.ServerName = host
	}
	conn, err := tls.DialWithDialer(d, "tcp", addr, c)
	if err != nil {
		return alertOf(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	return alertOf(err)
}

func alertOf(err error) string {
	if err == nil {
		return ""
	}
	const p = "remote error: tls: "
	if i := strings.Index(err.Error(), p); i >= 0 {
		return err.Error()[i+len(p):]
	}
	return ""
}
