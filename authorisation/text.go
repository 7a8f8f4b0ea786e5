package authorisation

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
)

// TextPrefix starts the text form of an authorisation: what a QR code
// holds and what can be pasted into a message.
const TextPrefix = "NOFLY-AU1:"

// EncodeText is the text form of a signed authorisation: TextPrefix and the
// bytes in base64url without padding. It carries the same bytes; nothing is
// re-encoded.
func EncodeText(signed []byte) string {
	return TextPrefix + base64.RawURLEncoding.EncodeToString(signed)
}

// ReadSigned returns the signed bytes of b, which holds either the bytes
// themselves (a CBOR COSE_Sign1, tag 18) or their text form, with any
// surrounding white space.
func ReadSigned(b []byte) ([]byte, error) {
	if len(b) > 0 && b[0] == 0xd2 { // CBOR tag 18, COSE_Sign1
		return b, nil
	}
	t := bytes.TrimSpace(b)
	if !bytes.HasPrefix(t, []byte(TextPrefix)) {
		return nil, errors.New("neither a COSE_Sign1 message nor its text form (" + TextPrefix + "…)")
	}
	out, err := base64.RawURLEncoding.DecodeString(string(t[len(TextPrefix):]))
	if err != nil {
		return nil, fmt.Errorf("text form: %w", err)
	}
	return out, nil
}
