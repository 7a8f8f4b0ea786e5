package authorisation

import (
	"crypto/ed25519"
	"fmt"
)

// SignEnvelope signs payload as a COSE_Sign1 exactly as authorisations are
// signed (Ed25519, the key id and contentType in the protected header), for
// other artefacts the issuer ships under the same keys: the offline bundle
// (package bundle). contentType must be the artefact's own, so that no
// artefact can pass for another.
func SignEnvelope(priv ed25519.PrivateKey, contentType string, payload []byte) ([]byte, error) {
	return signMessage(priv, contentType, payload)
}

// OpenEnvelope checks that b is a COSE_Sign1 of contentType, at most max
// bytes, signed by a key of keys, and returns its payload (the bytes as
// signed) and the signing key's id. Refusals are *RefusedError:
// ReasonMalformed, ReasonUnknownKey or ReasonBadSignature.
func OpenEnvelope(b []byte, contentType string, max int, keys *KeySet) (payload, kid []byte, err error) {
	m, err := parseMessageMax(b, contentType, max)
	if err != nil {
		return nil, nil, refuse(ReasonMalformed, "%v", err)
	}
	key, ok := keys.Lookup(m.kid)
	if !ok {
		return nil, nil, refuse(ReasonUnknownKey, "signed by key %s, which is not in the key set", KeyIDString(m.kid))
	}
	if err := m.verify(key); err != nil {
		return nil, nil, refuse(ReasonBadSignature, "the signature by key %s does not match the bytes: altered or damaged", KeyIDString(m.kid))
	}
	return m.msg.Payload, m.kid, nil
}

// DecodeEnvelope returns b's payload and key id WITHOUT checking the
// signature: for showing a bundle to a person. Use OpenEnvelope to rely
// on it.
func DecodeEnvelope(b []byte, contentType string, max int) (payload, kid []byte, err error) {
	m, err := parseMessageMax(b, contentType, max)
	if err != nil {
		return nil, nil, fmt.Errorf("%w", err)
	}
	return m.msg.Payload, m.kid, nil
}
