package devcert

import (
	"crypto/x509"
	"testing"
	"time"
)

func TestIssueAndLoad(t *testing.T) {
	now := time.Now()
	ca, err := NewCA("test CA", now.Add(-time.Minute), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ca.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadCA(ca.PEM, key)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Cert.Equal(ca.Cert) || !loaded.Key.Equal(ca.Key) {
		t.Fatal("LoadCA does not give back the CA")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	tests := []struct {
		name  string
		req   Request
		usage x509.ExtKeyUsage
		host  string
		ok    bool
	}{
		{"client", Request{CommonName: "pilot", NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour)}, x509.ExtKeyUsageClientAuth, "", true},
		{"client is no server", Request{CommonName: "pilot", NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour)}, x509.ExtKeyUsageServerAuth, "", false},
		{"server by IP", Request{CommonName: "s", Server: true, Hosts: []string{"127.0.0.1"}, NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour)}, x509.ExtKeyUsageServerAuth, "127.0.0.1", true},
		{"server by name", Request{CommonName: "s", Server: true, Hosts: []string{"localhost"}, NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour)}, x509.ExtKeyUsageServerAuth, "localhost", true},
		{"server for another host", Request{CommonName: "s", Server: true, Hosts: []string{"localhost"}, NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour)}, x509.ExtKeyUsageServerAuth, "nofly.example", false},
		{"expired", Request{CommonName: "old", NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(-time.Hour)}, x509.ExtKeyUsageClientAuth, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			is, err := loaded.Issue(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := is.Cert.Subject.String(); got != "CN="+tc.req.CommonName+",O="+Org {
				t.Errorf("subject %q", got)
			}
			_, err = is.Cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: tc.host, KeyUsages: []x509.ExtKeyUsage{tc.usage}})
			if (err == nil) != tc.ok {
				t.Errorf("verify: %v, want ok %v", err, tc.ok)
			}
		})
	}
	if _, err := ca.Issue(Request{}); err == nil {
		t.Error("a certificate without a name was issued")
	}
}
