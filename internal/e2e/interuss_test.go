package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestInterUSS serves the InterUSS geospatial map interface from a real
// noflyd over TLS with access tokens, on loopback, and asks it what the
// harness asks: status, map queries, a data source; every request is
// counted in the metrics.
func TestInterUSS(t *testing.T) {
	t.Parallel()
	certs := devCerts(t)
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "test-1", "use": "sig",
		"n": enc(key.N.Bytes()), "e": enc(big.NewInt(int64(key.E)).Bytes())}}})
	write(t, filepath.Join(dir, "jwks.json"), string(jwks))
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile("../../../shared/data/zones/interuss-sample-ed269.json")
	if err != nil {
		t.Skip("../shared/data not present:", err)
	}
	write(t, filepath.Join(data, "geneva.json"), string(sample))

	d := startSecure(t, certs, "--zones", "../interuss/testdata/ed269-test.json",
		"--interuss-listen", "127.0.0.1:0", "--interuss-jwks", filepath.Join(dir, "jwks.json"),
		"--interuss-audience", "localhost", "--interuss-data-dir", data, "--metrics-listen", "127.0.0.1:0")
	base, _ := d.waitLog(t, "InterUSS geospatial map interface listening", 0)["url"].(string)
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("interface at %q; log:\n%s", base, d.log)
	}
	maddr, _ := d.waitLog(t, "serving metrics", 0)["addr"].(string)

	pool := x509.NewCertPool()
	ca, _ := os.ReadFile(certs.path("ca.pem"))
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	signed := func(key *rsa.PrivateKey, kid, aud, scope string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": "uss_qualifier", "aud": aud, "scope": scope,
			"exp": time.Now().Add(time.Hour).Unix()})
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	token := func(aud, scope string) string { return signed(key, "test-1", aud, scope) }
	call := func(method, path, body, tok string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	test := token("localhost", "interuss.geospatial_map.direct_automated_test")
	query := token("localhost", "interuss.geospatial_map.query")

	// Status, once the zones are loaded (startSecure waited for SERVING).
	if code, body := call("GET", "/status", "", test); code != 200 || !strings.Contains(body, `"status":"Ready"`) {
		t.Fatalf("status: %d %s", code, body)
	}
	const q = `{"checks": [
	  {"filter_sets": [{"volumes4d": [{"volume": {"outline_circle": {"center": {"lat": 46.80, "lng": 7.60}, "radius": {"value": 50, "units": "M"}},
	    "altitude_lower": {"value": 0, "reference": "SFC", "units": "M"}, "altitude_upper": {"value": 100, "reference": "SFC", "units": "M"}}}],
	    "resulting_operational_impact": "Block"}]},
	  {"filter_sets": [{"volumes4d": [{"volume": {"outline_polygon": {"vertices": [{"lat": 46.215, "lng": 6.167}, {"lat": 46.215, "lng": 6.169}, {"lat": 46.216, "lng": 6.169}]}}}],
	    "restriction_source": "geneva-1"}]}]}`
	if code, body := call("POST", "/map/queries", q, query); code != 200 ||
		body != `{"results":[{"features_selection_outcome":"Present"},{"features_selection_outcome":"UnsupportedFilter","message":"restriction_source \"geneva-1\" names no source nofly serves (zone files by name, data sources by id)"}]}`+"\n" {
		t.Fatalf("query: %d %s", code, body)
	}
	// Each refusal: no token, another audience, another scope.
	for _, tc := range []struct {
		tok  string
		want int
	}{{"", 401}, {token("uss.example.com", "interuss.geospatial_map.query"), 401}, {test, 403}} {
		if code, body := call("POST", "/map/queries", q, tc.tok); code != tc.want {
			t.Errorf("query with token %.20q: %d %s, want %d", tc.tok, code, body, tc.want)
		}
	}
	// A data source from the data directory joins the queries.
	if code, body := call("PUT", "/geospatial_data_sources/geneva-1", `{"https_source": {"url": "file://`+filepath.Join(data, "geneva.json")+`", "format": "ED-269"}}`, test); code != 200 ||
		!strings.Contains(body, `"status":"Ready"`) {
		t.Fatalf("put: %d %s", code, body)
	}
	if code, body := call("POST", "/map/queries", q, query); code != 200 || strings.Count(body, `"Present"`) != 2 {
		t.Fatalf("query with the data source: %d %s", code, body)
	}
	if code, body := call("PUT", "/geospatial_data_sources/remote", `{"https_source": {"url": "https://caa.example.com/zones.json"}}`, test); code != 200 ||
		!strings.Contains(body, `"status":"Rejected"`) {
		t.Fatalf("put https: %d %s", code, body)
	}

	// Logged and counted like every call.
	line := d.waitLog(t, "interuss request", 0)
	if line["operation"] != "GetStatus" || line["caller"] != "uss_qualifier" {
		t.Errorf("first request logged as %v", line)
	}
	// SIGHUP reads the key set again: a rotated key verifies, the old one
	// no longer does; a broken file keeps the keys in service.
	key2, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks2, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "test-2",
		"n": enc(key2.N.Bytes()), "e": enc(big.NewInt(int64(key2.E)).Bytes())}}})
	write(t, filepath.Join(dir, "jwks.json"), string(jwks2))
	skip := d.log.count()
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitLog(t, "InterUSS key set reloaded", skip)
	if code, body := call("GET", "/status", "", signed(key2, "test-2", "localhost", "interuss.geospatial_map.direct_automated_test")); code != 200 {
		t.Errorf("status with the new key: %d %s", code, body)
	}
	if code, _ := call("GET", "/status", "", test); code != 401 {
		t.Errorf("status with the old key after the rotation: %d, want 401", code)
	}
	write(t, filepath.Join(dir, "jwks.json"), `{"keys": [}`)
	skip = d.log.count()
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitLog(t, "InterUSS key set not reloaded; keeping the previous keys", skip)
	if code, body := call("GET", "/status", "", signed(key2, "test-2", "localhost", "interuss.geospatial_map.direct_automated_test")); code != 200 {
		t.Errorf("status with the new key after a bad reload: %d %s", code, body)
	}

	m := scrapeMetrics(t, maddr)
	for series, want := range map[string]float64{
		`nofly_interuss_requests_total{code="200",operation="QueryGeospatialMap"}`:      2,
		`nofly_interuss_requests_total{code="401",operation="QueryGeospatialMap"}`:      2,
		`nofly_interuss_requests_total{code="403",operation="QueryGeospatialMap"}`:      1,
		`nofly_interuss_requests_total{code="200",operation="PutGeospatialDataSource"}`: 2,
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}
}

// TestInterUSSRefusesPlaintextBeyondLoopback: without TLS and access
// tokens the interface listens on loopback only.
func TestInterUSSRefusesPlaintextBeyondLoopback(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--interuss-listen", "0.0.0.0:0"},
		{"--interuss-jwks", filepath.Join(dir, "none.json")},
	} {
		cmd := exec.Command(filepath.Join(bin, "noflyd"), append([]string{"--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "nofly.db")}, args...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "--interuss-") {
			t.Errorf("noflyd %v: %v, want exit 2 naming the flag\n%s", args, err, out)
		}
	}
}
