package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nofly-project/nofly/internal/server"
)

// TestDevCerts: the set verifies against its CA, each certificate for
// its use, and the roles file gives each client certificate its role.
func TestDevCerts(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	now := time.Now()
	if err := writeDevCerts(&env{stdout: &out}, dir, "AMS-DRONE", "P-0412", time.Hour, false, now); err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(read("ca.pem")) {
		t.Fatal("ca.pem holds no certificate")
	}
	leaf := func(name string) *x509.Certificate {
		kp, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(kp.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	srv := leaf("server")
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := srv.Verify(x509.VerifyOptions{Roots: pool, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("server certificate for %s: %v", host, err)
		}
	}
	if _, err := srv.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("the server certificate is also a client certificate")
	}
	roles, err := server.ParseRoles(bytes.NewReader(read("roles.txt")), "roles.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]server.Identity{
		"pilot":   {Role: server.RolePilot, Unit: "AMS-DRONE", Pilot: "P-0412"},
		"planner": {Role: server.RolePlanner, Unit: "AMS-DRONE"},
		"admin":   {Role: server.RoleAdmin},
		"auditor": {Role: server.RoleAuditor},
	}
	for name, w := range want {
		c := leaf(name)
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if c.PublicKeyAlgorithm != x509.ECDSA {
			t.Errorf("%s: key %v, want ECDSA", name, c.PublicKeyAlgorithm)
		}
		id, ok := roles.Lookup(c.Subject.String())
		w.Subject = c.Subject.String()
		if !ok || id != w {
			t.Errorf("%s: roles file gives %+v, want %+v", name, id, w)
		}
	}
	if roles.Len() != len(want) {
		t.Errorf("%d subjects in the roles file", roles.Len())
	}
	if !strings.Contains(out.String(), "noflyd --tls-cert "+dir+"/server.pem") {
		t.Errorf("output:\n%s", out.String())
	}
	// A second run keeps the set.
	if err := writeDevCerts(&env{stdout: &out}, dir, "AMS-DRONE", "P-0412", time.Hour, false, now); err == nil ||
		!strings.Contains(err.Error(), "not overwriting") {
		t.Errorf("second run: %v", err)
	}
	// --force over a set whose keys someone made readable to all: the new
	// keys are the owner's only.
	keys := []string{"ca-key.pem", "server-key.pem", "pilot-key.pem", "planner-key.pem", "admin-key.pem", "auditor-key.pem"}
	for _, k := range keys {
		if err := os.Chmod(filepath.Join(dir, k), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeDevCerts(&env{stdout: &out}, dir, "RTM", "P-1", time.Hour, true, now); err != nil {
		t.Errorf("--force: %v", err)
	}
	for _, k := range keys {
		fi, err := os.Stat(filepath.Join(dir, k))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want -rw-------", k, fi.Mode().Perm())
		}
	}
}

func TestTLSFlags(t *testing.T) {
	env := map[string]string{"NOFLY_CA": "env-ca.pem", "NOFLY_CERT": "env.pem", "NOFLY_KEY": "env-key.pem"}
	var g tlsGlobals
	g.fromEnv(func(k string) string { return env[k] })
	if g.ca != "env-ca.pem" || g.cert != "env.pem" || g.key != "env-key.pem" || !g.on() {
		t.Errorf("from the environment: %+v", g)
	}
	tests := []struct {
		name string
		g    tlsGlobals
		err  string
	}{
		{"plaintext", tlsGlobals{}, ""},
		{"certificate without CA", tlsGlobals{cert: "c", key: "k"}, "--cert and --key need --ca"},
		{"CA without certificate", tlsGlobals{ca: "ca"}, "--ca needs --cert and --key"},
		{"key missing", tlsGlobals{ca: "ca", cert: "c"}, "--ca needs --cert and --key"},
		{"CA unreadable", tlsGlobals{ca: "/nonexistent/ca.pem", cert: "c", key: "k"}, "--ca: open /nonexistent/ca.pem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.g.credentials()
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
		})
	}
}
