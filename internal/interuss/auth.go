package interuss

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The scopes of the interface (geospatial_map.yaml, TestAuthority).
const (
	ScopeQuery = "interuss.geospatial_map.query"
	ScopeTest  = "interuss.geospatial_map.direct_automated_test"
)

// KeySet is the public keys that access tokens are verified with, by key
// id. A key read from PEM has the id "" and verifies tokens whatever their
// kid.
type KeySet map[string]crypto.PublicKey

// ReadKeySet reads a JSON Web Key Set (RFC 7517: {"keys": [...]}, RSA keys
// of at least 2048 bits and EC keys on P-256), or PEM public keys or
// certificates (as the harness's test authority publishes its key).
func ReadKeySet(path string) (KeySet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ks, err := ParseKeySet(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ks, nil
}

// ParseKeySet reads a key set from a JWKS document or PEM blocks.
func ParseKeySet(b []byte) (KeySet, error) {
	ks := KeySet{}
	if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, "-----BEGIN") {
		rest := []byte(t)
		for i := 0; ; i++ {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			k, err := pemKey(blk)
			if err != nil {
				return nil, fmt.Errorf("PEM block %d (%s): %w", i, blk.Type, err)
			}
			if _, dup := ks[""]; dup {
				return nil, fmt.Errorf("PEM block %d: more than one PEM key (keys without an id): use a JWKS with kids", i)
			}
			ks[""] = k
		}
		if len(ks) == 0 {
			return nil, errors.New("no PEM block")
		}
		return ks, nil
	}
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a JWK set: %w", err)
	}
	if len(doc.Keys) == 0 {
		return nil, errors.New(`no keys: want {"keys": [...]}`)
	}
	for i, k := range doc.Keys {
		pk, err := k.public()
		if err != nil {
			return nil, fmt.Errorf("keys[%d] (kid %q): %w", i, k.Kid, err)
		}
		if k.Use != "" && k.Use != "sig" {
			continue // not a signing key
		}
		if _, dup := ks[k.Kid]; dup {
			return nil, fmt.Errorf("keys[%d]: kid %q twice", i, k.Kid)
		}
		ks[k.Kid] = pk
	}
	if len(ks) == 0 {
		return nil, errors.New(`no signing keys ("use": "sig")`)
	}
	return ks, nil
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func b64(field, s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("%s: not base64url", field)
	}
	return b, nil
}

func (k jwk) public() (crypto.PublicKey, error) {
	switch k.Kty {
	case "RSA":
		if k.Alg != "" && k.Alg != "RS256" {
			return nil, fmt.Errorf("alg %q: nofly verifies RS256 and ES256", k.Alg)
		}
		n, err := b64("n", k.N)
		if err != nil {
			return nil, err
		}
		e, err := b64("e", k.E)
		if err != nil {
			return nil, err
		}
		if len(e) > 4 {
			return nil, errors.New("e: too large")
		}
		pk := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pk.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key of %d bits: want at least 2048", pk.N.BitLen())
		}
		return pk, nil
	case "EC":
		if k.Crv != "P-256" {
			return nil, fmt.Errorf("crv %q: want P-256 (ES256)", k.Crv)
		}
		if k.Alg != "" && k.Alg != "ES256" {
			return nil, fmt.Errorf("alg %q: nofly verifies RS256 and ES256", k.Alg)
		}
		x, err := b64("x", k.X)
		if err != nil {
			return nil, err
		}
		y, err := b64("y", k.Y)
		if err != nil {
			return nil, err
		}
		if len(x) != 32 || len(y) != 32 {
			return nil, errors.New("x, y: want 32 bytes each")
		}
		pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), slices.Concat([]byte{4}, x, y))
		if err != nil {
			return nil, fmt.Errorf("x, y: %w", err)
		}
		return pk, nil
	}
	return nil, fmt.Errorf("kty %q: want RSA or EC", k.Kty)
}

func pemKey(b *pem.Block) (crypto.PublicKey, error) {
	var k any
	switch b.Type {
	case "PUBLIC KEY":
		var err error
		if k, err = x509.ParsePKIXPublicKey(b.Bytes); err != nil {
			return nil, err
		}
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		k = c.PublicKey
	default:
		return nil, errors.New("want PUBLIC KEY or CERTIFICATE")
	}
	switch pk := k.(type) {
	case *rsa.PublicKey:
		if pk.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key of %d bits: want at least 2048", pk.N.BitLen())
		}
		return pk, nil
	case *ecdsa.PublicKey:
		if pk.Curve != elliptic.P256() {
			return nil, errors.New("EC key not on P-256")
		}
		return pk, nil
	}
	return nil, fmt.Errorf("%T: want an RSA or P-256 key", k)
}

// Verifier checks bearer access tokens: signed RS256 or ES256 by a key of
// the set, with exp in the future, aud the service's host name and the
// scope an endpoint needs.
type Verifier struct {
	// Keys verify the tokens; replace them with SetKeys once the Verifier
	// is in use.
	Keys     KeySet
	keysMu   sync.RWMutex // guards Keys
	Audience string
	Now      func() time.Time
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration
}

// SetKeys replaces the key set, for the requests that follow (a reload).
func (v *Verifier) SetKeys(ks KeySet) {
	v.keysMu.Lock()
	defer v.keysMu.Unlock()
	v.Keys = ks
}

func (v *Verifier) keys() KeySet {
	v.keysMu.RLock()
	defer v.keysMu.RUnlock()
	return v.Keys
}

type claims struct {
	jwt.RegisteredClaims
	Scope string `json:"scope"`
}

// authError is a refused request: 401 (no valid token) or 403 (a valid
// token without the scope).
type authError struct {
	code int
	msg  string
}

func (e *authError) Error() string { return e.msg }

// check verifies the request's bearer token and returns its subject.
func (v *Verifier) check(r *http.Request, scope string) (string, error) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return "", &authError{http.StatusUnauthorized, "no bearer access token in the Authorization header"}
	}
	var c claims
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256", "ES256"}),
		jwt.WithAudience(v.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(v.Leeway),
		jwt.WithTimeFunc(v.Now),
	)
	keys := v.keys()
	_, err := p.ParseWithClaims(strings.TrimSpace(tok), &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := keys[kid]
		if !ok && len(keys) == 1 {
			// A PEM key has no id: it verifies every token, whatever
			// kid the issuer wrote (the harness's test authority writes
			// one).
			k, ok = keys[""]
		}
		if !ok {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		return k, nil
	})
	if err != nil {
		return "", &authError{http.StatusUnauthorized, "access token refused: " + err.Error()}
	}
	if !slices.Contains(strings.Fields(c.Scope), scope) {
		return c.Subject, &authError{http.StatusForbidden, fmt.Sprintf("access token of %q lacks scope %s", c.Subject, scope)}
	}
	return c.Subject, nil
}
