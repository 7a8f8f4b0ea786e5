package storecore

import (
	"bytes"
	"encoding/base64"
	"strconv"

	"github.com/nofly-project/nofly/exemptions"
)

// Page tokens carry the last seq of the previous page.
const tokenPrefix = "s1:"

// EncodeToken is the page token of the page after the row seq.
func EncodeToken(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + strconv.FormatInt(seq, 10)))
}

// DecodeToken returns the seq a page token carries (0 for ""), or
// ErrBadPageToken.
func DecodeToken(tok string) (int64, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !bytes.HasPrefix(raw, []byte(tokenPrefix)) {
		return 0, exemptions.ErrBadPageToken
	}
	n, err := strconv.ParseInt(string(raw[len(tokenPrefix):]), 10, 64)
	if err != nil || n < 0 {
		return 0, exemptions.ErrBadPageToken
	}
	return n, nil
}

// PageSize is the number of rows a page of n asks for.
func PageSize(n int) int {
	switch {
	case n <= 0:
		return exemptions.DefaultPageSize
	case n > exemptions.MaxPageSize:
		return exemptions.MaxPageSize
	}
	return n
}
