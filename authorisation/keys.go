package authorisation

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
)

// COSE parameters of an Ed25519 COSE_Key (RFC 9052 §7, RFC 9053 §7.2).
const (
	coseKty     = 1
	coseKid     = 2
	coseAlg     = 3
	coseCrv     = -1
	coseX       = -2
	ktyOKP      = 1
	crvEd25519  = 6
	algEdDSA    = -8
	maxKeySet   = 64 // keys in a set: current and previous, never many
	pemKeyBlock = "PRIVATE KEY"
)

// Thumbprint is the COSE_Key thumbprint of pub (RFC 9679): the SHA-256 of
// the deterministic CBOR encoding of its required parameters {1: 1 (OKP),
// -1: 6 (Ed25519), -2: x}. It is the key id of everything pub verifies.
func Thumbprint(pub ed25519.PublicKey) []byte {
	b, err := encMode.Marshal(map[int]any{coseKty: ktyOKP, coseCrv: crvEd25519, coseX: []byte(pub)})
	if err != nil {
		panic(err) // a map of integers and bytes always encodes
	}
	h := sha256.Sum256(b)
	return h[:]
}

// KeyIDString is how people see a key id: base64url without padding.
func KeyIDString(kid []byte) string { return base64.RawURLEncoding.EncodeToString(kid) }

// GenerateKey returns a new Ed25519 signing key.
func GenerateKey() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	return priv, err
}

// MarshalPrivateKey is priv as a PKCS#8 PEM block ("PRIVATE KEY").
func MarshalPrivateKey(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemKeyBlock, Bytes: der}), nil
}

// ParsePrivateKey reads a PKCS#8 PEM Ed25519 private key (what `openssl
// genpkey -algorithm ed25519` and `nofly keys new` write).
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block: want a PKCS#8 \"PRIVATE KEY\"")
	}
	if blk.Type != pemKeyBlock {
		return nil, fmt.Errorf("PEM block %q: want a PKCS#8 \"PRIVATE KEY\"", blk.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("PKCS#8: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T key: want Ed25519", k)
	}
	return priv, nil
}

// Key is a public key that verifies authorisations.
type Key struct {
	ID     []byte // Thumbprint(Public)
	Public ed25519.PublicKey
}

// NewKey returns pub with its key id.
func NewKey(pub ed25519.PublicKey) Key {
	return Key{ID: Thumbprint(pub), Public: pub}
}

// KeySet is the public keys a verifier trusts: the issuer's current key and
// its previous ones still needed for authorisations not yet expired.
type KeySet struct {
	Keys []Key
}

// Lookup returns the key with id kid.
func (ks *KeySet) Lookup(kid []byte) (Key, bool) {
	if ks == nil {
		return Key{}, false
	}
	for _, k := range ks.Keys {
		if bytes.Equal(k.ID, kid) {
			return k, true
		}
	}
	return Key{}, false
}

// coseKey is a COSE_Key of an Ed25519 public key.
type coseKey struct {
	Kty int    `cbor:"1,keyasint"`
	Kid []byte `cbor:"2,keyasint,omitempty"`
	Alg int    `cbor:"3,keyasint,omitempty"`
	Crv int    `cbor:"-1,keyasint"`
	X   []byte `cbor:"-2,keyasint"`
}

// Marshal is the set as a COSE_KeySet (RFC 9052 §7): a CBOR array of
// COSE_Key maps {1: 1 (OKP), 2: kid, 3: -8 (EdDSA), -1: 6 (Ed25519), -2: x}.
func (ks *KeySet) Marshal() ([]byte, error) {
	out := make([]coseKey, len(ks.Keys))
	for i, k := range ks.Keys {
		out[i] = coseKey{Kty: ktyOKP, Kid: k.ID, Alg: algEdDSA, Crv: crvEd25519, X: k.Public}
	}
	return encMode.Marshal(out)
}

// ParseKeySet reads a COSE_KeySet of Ed25519 keys. Every key's kid must be
// its thumbprint (a key whose kid says otherwise is refused, not trusted
// under a name it does not have); keys of other types are refused.
func ParseKeySet(b []byte) (*KeySet, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("key set: %d bytes, more than %d", len(b), MaxSize)
	}
	var in []coseKey
	if err := keyDecMode.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("key set: not a COSE_KeySet: %w", err)
	}
	if len(in) == 0 {
		return nil, errors.New("key set: no keys")
	}
	if len(in) > maxKeySet {
		return nil, fmt.Errorf("key set: %d keys, more than %d", len(in), maxKeySet)
	}
	ks := &KeySet{}
	for i, k := range in {
		switch {
		case k.Kty != ktyOKP || k.Crv != crvEd25519:
			return nil, fmt.Errorf("key set: key %d: kty %d crv %d: want an Ed25519 key (kty 1, crv 6)", i, k.Kty, k.Crv)
		case k.Alg != 0 && k.Alg != algEdDSA:
			return nil, fmt.Errorf("key set: key %d: alg %d: want EdDSA (-8)", i, k.Alg)
		case len(k.X) != ed25519.PublicKeySize:
			return nil, fmt.Errorf("key set: key %d: x is %d bytes, want %d", i, len(k.X), ed25519.PublicKeySize)
		}
		key := NewKey(ed25519.PublicKey(k.X))
		if len(k.Kid) > 0 && !bytes.Equal(k.Kid, key.ID) {
			return nil, fmt.Errorf("key set: key %d: kid %s is not the key's thumbprint %s", i, KeyIDString(k.Kid), KeyIDString(key.ID))
		}
		ks.Keys = append(ks.Keys, key)
	}
	return ks, nil
}

// keyDecMode decodes key sets: as strict as payloads, but COSE_Key maps may
// carry parameters this package does not use (key_ops, for instance).
var keyDecMode, _ = decOptions(false).DecMode()
