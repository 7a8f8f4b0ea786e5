package main

import (
	"strings"
	"testing"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		listen string
		ok     bool
	}{
		{"127.0.0.1:7600", true},
		{"127.0.0.2:0", true},
		{"[::1]:7600", true},
		{"localhost:7600", true},
		{"0.0.0.0:7600", false},
		{":7600", false},
		{"[::]:7600", false},
		{"10.1.2.3:7600", false},
		{"nofly.internal:7600", false},
		{"127.0.0.1", false}, // no port
	}
	for _, tc := range tests {
		t.Run(tc.listen, func(t *testing.T) {
			err := checkLoopback(tc.listen)
			if (err == nil) != tc.ok {
				t.Fatalf("checkLoopback(%q) = %v, want ok %v", tc.listen, err, tc.ok)
			}
		})
	}
}

func TestNewSecurity(t *testing.T) {
	tests := []struct {
		name   string
		flags  tlsFlags
		listen string
		err    string
	}{
		{name: "plaintext on loopback", listen: "127.0.0.1:0"},
		{name: "plaintext elsewhere", listen: "0.0.0.0:0", err: "refusing to serve plaintext without client authentication"},
		{name: "certificate alone", flags: tlsFlags{cert: "s.pem"}, listen: "127.0.0.1:0",
			err: "missing --tls-key, --client-ca, --roles"},
		{name: "no roles", flags: tlsFlags{cert: "s.pem", key: "k.pem", clientCA: "ca.pem"}, listen: "0.0.0.0:0", err: "missing --roles"},
		{name: "files missing", flags: tlsFlags{cert: "/nonexistent/s.pem", key: "/nonexistent/k.pem", clientCA: "ca.pem", roles: "r"},
			listen: "0.0.0.0:0", err: "--tls-cert/--tls-key: open /nonexistent/s.pem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newSecurity(tc.flags, tc.listen)
			if tc.err == "" {
				if err != nil || s.secure() {
					t.Fatalf("got %v, secure %v", err, s != nil && s.secure())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
		})
	}
}
