package authorisation

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/veraison/go-cose"
)

// signMessage signs payload as a tagged COSE_Sign1 with Ed25519, with the
// algorithm, key id and content type in the protected header.
func signMessage(priv ed25519.PrivateKey, contentType string, payload []byte) ([]byte, error) {
	signer, err := cose.NewSigner(cose.AlgorithmEdDSA, priv)
	if err != nil {
		return nil, err
	}
	pub, ok := priv.Public().(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("not an Ed25519 key")
	}
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(cose.AlgorithmEdDSA)
	msg.Headers.Protected[cose.HeaderLabelKeyID] = Thumbprint(pub)
	msg.Headers.Protected[cose.HeaderLabelContentType] = contentType
	msg.Payload = payload
	// Ed25519 signatures are deterministic: no randomness is read.
	if err := msg.Sign(nil, nil, signer); err != nil {
		return nil, err
	}
	return msg.MarshalCBOR()
}

// message is a COSE_Sign1 as received, before its signature is checked.
type message struct {
	msg *cose.Sign1Message
	kid []byte
}

// parseMessage reads a tagged COSE_Sign1 whose protected header names EdDSA,
// a key id and contentType. It checks no signature.
func parseMessage(b []byte, contentType string) (*message, error) {
	return parseMessageMax(b, contentType, MaxSize)
}

// parseMessageMax is parseMessage for messages of up to max bytes.
func parseMessageMax(b []byte, contentType string, max int) (*message, error) {
	if len(b) > max {
		return nil, fmt.Errorf("%d bytes, more than %d", len(b), max)
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(b); err != nil {
		return nil, fmt.Errorf("not a COSE_Sign1 message: %w", err)
	}
	alg, err := msg.Headers.Protected.Algorithm()
	if err != nil {
		return nil, fmt.Errorf("protected header: algorithm: %w", err)
	}
	if alg != cose.AlgorithmEdDSA {
		return nil, fmt.Errorf("protected header: algorithm %v: want EdDSA", alg)
	}
	kid, ok := msg.Headers.Protected[cose.HeaderLabelKeyID].([]byte)
	if !ok || len(kid) == 0 {
		return nil, errors.New("protected header: no key id")
	}
	ct, _ := msg.Headers.Protected[cose.HeaderLabelContentType].(string)
	if ct != contentType {
		return nil, fmt.Errorf("protected header: content type %q: want %q", ct, contentType)
	}
	if msg.Payload == nil {
		return nil, errors.New("detached payload: want it in the message")
	}
	return &message{msg: &msg, kid: kid}, nil
}

// verify checks the signature under key, on the protected header and
// payload bytes exactly as received.
func (m *message) verify(key Key) error {
	v, err := cose.NewVerifier(cose.AlgorithmEdDSA, key.Public)
	if err != nil {
		return err
	}
	return m.msg.Verify(nil, v)
}
