package authorisation

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"sort"
	"time"
)

// ReasonCode says why an authorisation was revoked.
type ReasonCode uint8

// The reason codes of a revocation list.
const (
	RevokedUnspecified ReasonCode = iota
	// RevokedExemptionRevoked: an exemption it relied on was revoked.
	RevokedExemptionRevoked
	// RevokedExemptionSuperseded: an exemption it relied on was replaced;
	// ask for a new authorisation under the new one.
	RevokedExemptionSuperseded
	// RevokedWithdrawn: an administrator withdrew it (flight cancelled,
	// issued in error, misuse).
	RevokedWithdrawn
	// RevokedKeyCompromise: the key that signed it may be known to others.
	RevokedKeyCompromise
)

var reasonNames = [...]string{"unspecified", "exemption-revoked", "exemption-superseded", "withdrawn", "key-compromise"}

func (c ReasonCode) String() string {
	if int(c) < len(reasonNames) {
		return reasonNames[c]
	}
	return fmt.Sprintf("reason-%d", c)
}

// ParseReasonCode reads a reason code by its name.
func ParseReasonCode(s string) (ReasonCode, error) {
	for i, n := range reasonNames {
		if n == s {
			return ReasonCode(i), nil
		}
	}
	return 0, fmt.Errorf("unknown revocation reason %q (want one of %v)", s, reasonNames[1:])
}

// Revoked is one entry of a revocation list.
type Revoked struct {
	ID        string     `cbor:"1,keyasint"`
	RevokedAt time.Time  `cbor:"2,keyasint"`
	Reason    ReasonCode `cbor:"3,keyasint"`
}

// RevocationList is the issuer's signed list of revoked authorisations
// that have not yet expired (an expired one needs no listing: no verifier
// accepts it).
type RevocationList struct {
	Issuer   string    `cbor:"1,keyasint"`
	IssuedAt time.Time `cbor:"2,keyasint"`
	// NextUpdate is when the issuer promises a newer list; a verifier
	// holding this one after then warns that it may be missing revocations.
	NextUpdate time.Time `cbor:"3,keyasint"`
	// Entries sorted by ID.
	Entries []Revoked `cbor:"4,keyasint"`

	KeyID []byte `cbor:"-"`
}

// Lookup returns the entry of id, if revoked.
func (rl *RevocationList) Lookup(id string) (Revoked, bool) {
	i := sort.Search(len(rl.Entries), func(i int) bool { return rl.Entries[i].ID >= id })
	if i < len(rl.Entries) && rl.Entries[i].ID == id {
		return rl.Entries[i], true
	}
	return Revoked{}, false
}

// SignRevocationList signs rl with priv. Entries are sorted by id.
func SignRevocationList(priv ed25519.PrivateKey, rl *RevocationList) ([]byte, error) {
	c := *rl
	c.IssuedAt, c.NextUpdate = c.IssuedAt.UTC().Truncate(time.Second), c.NextUpdate.UTC().Truncate(time.Second)
	c.Entries = make([]Revoked, len(rl.Entries))
	for i, e := range rl.Entries {
		e.RevokedAt = e.RevokedAt.UTC().Truncate(time.Second)
		c.Entries[i] = e
	}
	sort.Slice(c.Entries, func(i, j int) bool { return c.Entries[i].ID < c.Entries[j].ID })
	if c.Issuer == "" {
		return nil, errors.New("revocation list: no issuer")
	}
	if c.Entries == nil {
		c.Entries = []Revoked{}
	}
	payload, err := encMode.Marshal(&c)
	if err != nil {
		return nil, err
	}
	return signMessage(priv, RevocationContentType, payload)
}

// ParseRevocationList checks a revocation list's signature under keys and
// returns it. A list that is not signed by one of keys is refused: it
// cannot be told from a forgery that hides revocations.
func ParseRevocationList(b []byte, keys *KeySet) (*RevocationList, error) {
	m, err := parseMessage(b, RevocationContentType)
	if err != nil {
		return nil, fmt.Errorf("revocation list: %w", err)
	}
	key, ok := keys.Lookup(m.kid)
	if !ok {
		return nil, fmt.Errorf("revocation list: signed by key %s, which is not in the key set", KeyIDString(m.kid))
	}
	if err := m.verify(key); err != nil {
		return nil, fmt.Errorf("revocation list: the signature by key %s does not match the bytes", KeyIDString(m.kid))
	}
	var rl RevocationList
	if err := decMode.Unmarshal(m.msg.Payload, &rl); err != nil {
		return nil, fmt.Errorf("revocation list: payload: %w", err)
	}
	if !sort.SliceIsSorted(rl.Entries, func(i, j int) bool { return rl.Entries[i].ID < rl.Entries[j].ID }) {
		return nil, errors.New("revocation list: entries not sorted by id")
	}
	rl.IssuedAt, rl.NextUpdate = rl.IssuedAt.UTC(), rl.NextUpdate.UTC()
	rl.KeyID = m.kid
	return &rl, nil
}
