package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nofly-project/nofly/internal/devcert"
)

// runCheck runs `nofly check` against addr in plaintext and returns its
// stderr.
func runCheck(t *testing.T, addr string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if k == "NOFLY_SERVER" {
			return addr
		}
		return ""
	}
	err := run(context.Background(), []string{"check", "--lat", "52", "--lon", "4", "--timeout", "5s"}, strings.NewReader(""), &stdout, &stderr, getenv)
	if code := exit(err, &stderr); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	return stderr.String()
}

// TestPlaintextConnectionClosed: a server that closes the connection is
// told apart by what it then does: one that no longer accepts connections
// (it stopped) is not reachable; one that answers TLS requires TLS; one
// that closes every connection closed it.
func TestPlaintextConnectionClosed(t *testing.T) {
	t.Run("server died", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { // the first connection, then it dies
			if c, err := lis.Accept(); err == nil {
				lis.Close()
				time.Sleep(50 * time.Millisecond)
				c.Close()
			}
		}()
		got := runCheck(t, lis.Addr().String())
		want := "nofly: the nofly server is not reachable at " + lis.Addr().String()
		if !strings.HasPrefix(got, want) || strings.Contains(got, "TLS") {
			t.Errorf("got %q, want %q… and no word of TLS", got, want)
		}
	})
	t.Run("TLS server", func(t *testing.T) {
		ca, err := devcert.NewCA("test CA", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		is, err := ca.Issue(devcert.Request{CommonName: "localhost", NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		cert, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		lis, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13,
			ClientAuth: tls.RequireAnyClientCert})
		if err != nil {
			t.Fatal(err)
		}
		defer lis.Close()
		go func() {
			for {
				c, err := lis.Accept()
				if err != nil {
					return
				}
				go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
			}
		}()
		if got := runCheck(t, lis.Addr().String()); !strings.Contains(got, "(the server requires TLS: give --ca, --cert and --key)") {
			t.Errorf("got %q, want the TLS hint", got)
		}
	})
	t.Run("server closes every connection", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer lis.Close()
		go func() {
			for {
				c, err := lis.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		got := runCheck(t, lis.Addr().String())
		// "closed the connection (EOF)", or "cannot reach … broken pipe"
		// when the close comes first.
		if !strings.Contains(got, "the nofly server at "+lis.Addr().String()) || strings.Contains(got, "TLS") {
			t.Errorf("got %q", got)
		}
	})
}

func TestValidity(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	leaf := &x509.Certificate{NotBefore: now.Add(24 * time.Hour), NotAfter: now.Add(48 * time.Hour)}
	for _, tc := range []struct {
		name string
		at   time.Time
		want string
	}{
		{"not yet valid", now, "certificate not yet valid: --cert p.pem is valid from 2026-05-02T12:00:00Z (is this machine's clock right?)"},
		{"expired", now.Add(72 * time.Hour), "expired certificate: --cert p.pem expired at 2026-05-03T12:00:00Z"},
		{"valid here", now.Add(36 * time.Hour), "expired certificate, or not yet valid, by the server's clock: --cert p.pem is valid from 2026-05-02T12:00:00Z to 2026-05-03T12:00:00Z here (is the server's clock right?)"},
	} {
		if got := validity("p.pem", leaf, tc.at); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
