package interuss

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type testKeys struct {
	rsa   *rsa.PrivateKey
	ec    *ecdsa.PrivateKey
	other *rsa.PrivateKey // not in the set
	jwks  []byte
}

func newTestKeys(t testing.TB) *testKeys {
	t.Helper()
	k := &testKeys{}
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.other, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	pt, err := k.ec.PublicKey.Bytes() // 0x04 || x || y
	if err != nil {
		t.Fatal(err)
	}
	k.jwks, _ = json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256", "n": enc(k.rsa.N.Bytes()), "e": enc(big.NewInt(int64(k.rsa.E)).Bytes())},
		{"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": enc(pt[1:33]), "y": enc(pt[33:])},
	}})
	return k
}

type tokenOpts struct {
	alg    string // RS256 (default) or ES256
	kid    string
	key    any
	aud    string
	scope  string
	expiry time.Duration // from testNow; 0: an hour
	noExp  bool
}

func (k *testKeys) token(t testing.TB, o tokenOpts) string {
	t.Helper()
	method, key, kid := jwt.SigningMethod(jwt.SigningMethodRS256), any(k.rsa), "rsa-1"
	if o.alg == "ES256" {
		method, key, kid = jwt.SigningMethodES256, k.ec, "ec-1"
	}
	if o.key != nil {
		key = o.key
	}
	if o.kid != "" {
		kid = o.kid
	}
	if o.expiry == 0 {
		o.expiry = time.Hour
	}
	c := jwt.MapClaims{"sub": "uss_qualifier", "aud": o.aud, "scope": o.scope, "iss": "test-authority"}
	if !o.noExp {
		c["exp"] = testNow.Add(o.expiry).Unix()
	}
	tok := jwt.NewWithClaims(method, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAccessTokens(t *testing.T) {
	keys := newTestKeys(t)
	ks, err := ParseKeySet(keys.jwks)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, Config{Verifier: &Verifier{Keys: ks, Audience: "uss.example.com", Leeway: 30 * time.Second,
		Now: func() time.Time { return testNow }}})
	good := tokenOpts{aud: "uss.example.com", scope: ScopeQuery}
	queryBody := `{"checks": [{"filter_sets": [{"volumes4d": [` + circleVol(46.80, 7.60, 50, "") + `]}]}]}`
	for _, tc := range []struct {
		name   string
		header string // the whole Authorization header; "" uses token(opts)
		opts   tokenOpts
		want   int
	}{
		{"RS256", "", good, 200},
		{"ES256", "", tokenOpts{alg: "ES256", aud: "uss.example.com", scope: ScopeTest + " " + ScopeQuery}, 200},
		{"no token", "-", good, 401},
		{"basic auth", "Basic dXNlcjpwYXNz", good, 401},
		{"garbage", "Bearer not.a.jwt", good, 401},
		{"wrong audience", "", tokenOpts{aud: "other.example.com", scope: ScopeQuery}, 401},
		{"no audience", "", tokenOpts{scope: ScopeQuery}, 401},
		{"wrong scope", "", tokenOpts{aud: "uss.example.com", scope: ScopeTest}, 403},
		{"scope as a prefix", "", tokenOpts{aud: "uss.example.com", scope: ScopeQuery + "x"}, 403},
		{"expired", "", tokenOpts{aud: "uss.example.com", scope: ScopeQuery, expiry: -time.Minute}, 401},
		{"expired within leeway", "", tokenOpts{aud: "uss.example.com", scope: ScopeQuery, expiry: -10 * time.Second}, 200},
		{"no exp", "", tokenOpts{aud: "uss.example.com", scope: ScopeQuery, noExp: true}, 401},
		{"bad signature", "", tokenOpts{aud: "uss.example.com", scope: ScopeQuery, key: keys.other}, 401},
		{"unknown kid", "", tokenOpts{aud: "uss.example.com", scope: ScopeQuery, kid: "rsa-2"}, 401},
		{"RSA key id with an EC signature", "", tokenOpts{alg: "ES256", kid: "rsa-1", aud: "uss.example.com", scope: ScopeQuery}, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+BasePath+"/map/queries", strings.NewReader(queryBody))
			switch tc.header {
			case "":
				req.Header.Set("Authorization", "Bearer "+keys.token(t, tc.opts))
			case "-":
			default:
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want != 200 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// An alg:none token, hand-made: refused.
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"rsa-1"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"aud":"uss.example.com","scope":%q,"exp":%d}`, ScopeQuery, testNow.Add(time.Hour).Unix()))) + "."
	if resp, _ := post(t, ts.URL+BasePath+"/map/queries", queryBody, none); resp.StatusCode != 401 {
		t.Errorf("alg none: %d", resp.StatusCode)
	}
	// Each endpoint wants its scope.
	req, _ := http.NewRequest(http.MethodGet, ts.URL+BasePath+"/status", nil)
	req.Header.Set("Authorization", "Bearer "+keys.token(t, good))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("status with the query scope: %v %v", resp.StatusCode, err)
	}
	req.Header.Set("Authorization", "Bearer "+keys.token(t, tokenOpts{aud: "uss.example.com", scope: ScopeTest}))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("status with the test scope: %v %v", resp.StatusCode, err)
	}
}

func TestParseKeySet(t *testing.T) {
	keys := newTestKeys(t)
	der, _ := x509.MarshalPKIXPublicKey(&keys.rsa.PublicKey)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallDER, _ := x509.MarshalPKIXPublicKey(&small.PublicKey)
	for _, tc := range []struct {
		name, in, err string
		n             int
	}{
		{"jwks", string(keys.jwks), "", 2},
		{"pem", string(pemKey), "", 1},
		{"small RSA", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: smallDER})), "1024 bits", 0},
		{"empty set", `{"keys": []}`, "no keys", 0},
		{"not json", `keys`, "not a JWK set", 0},
		{"HS256 key", `{"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]}`, `kty "oct"`, 0},
		{"other curve", `{"keys": [{"kty": "EC", "kid": "e", "crv": "P-384", "x": "AA", "y": "AA"}]}`, "P-256", 0},
		{"point off the curve", `{"keys": [{"kty": "EC", "kid": "e", "crv": "P-256", "x": "` + strings.Repeat("A", 43) + `", "y": "` + strings.Repeat("A", 43) + `"}]}`, "keys[0]", 0},
		{"kid twice", `{"keys": [` + strings.TrimSuffix(strings.TrimPrefix(string(keys.jwks), `{"keys":[`), `]}`) + `,` + strings.TrimSuffix(strings.TrimPrefix(string(keys.jwks), `{"keys":[`), `]}`) + `]}`, "twice", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks, err := ParseKeySet([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil || len(ks) != tc.n {
				t.Fatalf("%d keys, %v; want %d", len(ks), err, tc.n)
			}
		})
	}
}

func FuzzParseKeySet(f *testing.F) {
	f.Add([]byte(`{"keys": [{"kty": "EC", "kid": "e", "crv": "P-256", "x": "AA", "y": "AA"}]}`))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ks, err := ParseKeySet(b)
		if err == nil && len(ks) == 0 {
			t.Fatal("no error and no keys")
		}
	})
}

// A PEM key (the harness's local test authority publishes one) verifies
// tokens whatever kid they carry; a token signed by another key still fails.
func TestAccessTokensPEM(t *testing.T) {
	keys := newTestKeys(t)
	der, _ := x509.MarshalPKIXPublicKey(&keys.rsa.PublicKey)
	ks, err := ParseKeySet(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, Config{Verifier: &Verifier{Keys: ks, Audience: "localhost", Now: func() time.Time { return testNow }}})
	for _, tc := range []struct {
		opts tokenOpts
		want int
	}{
		{tokenOpts{aud: "localhost", scope: ScopeTest, kid: "dummy-oauth"}, 200},
		{tokenOpts{aud: "localhost", scope: ScopeTest, kid: "dummy-oauth", key: keys.other}, 401},
	} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+BasePath+"/status", nil)
		req.Header.Set("Authorization", "Bearer "+keys.token(t, tc.opts))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%+v: %d, want %d", tc.opts, resp.StatusCode, tc.want)
		}
	}
}
