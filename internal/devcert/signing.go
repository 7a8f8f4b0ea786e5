package devcert

import (
	"crypto/ed25519"

	"github.com/nofly-project/nofly/authorisation"
)

// NewSigningKey returns a new Ed25519 key for noflyd's --signing-key as
// PKCS#8 PEM, and its key id (the RFC 9679 thumbprint, base64url).
func NewSigningKey() (keyPEM []byte, keyID string, err error) {
	priv, err := authorisation.GenerateKey()
	if err != nil {
		return nil, "", err
	}
	if keyPEM, err = authorisation.MarshalPrivateKey(priv); err != nil {
		return nil, "", err
	}
	return keyPEM, authorisation.KeyIDString(authorisation.Thumbprint(priv.Public().(ed25519.PublicKey))), nil
}
