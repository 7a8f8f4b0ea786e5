package storecore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/nofly-project/nofly/exemptions"
)

// ChainHash is the hash of an entry whose canonical JSON is entry, after
// the entry hashing to prev.
func ChainHash(prev string, entry []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write(entry)
	return hex.EncodeToString(h.Sum(nil))
}

// Seal makes e the entry number seq after the entry hashing to prev, with
// detail as its Detail, and returns it with its canonical JSON.
func Seal(e exemptions.AuditEvent, detail any, seq int64, prev string) (exemptions.AuditEvent, []byte, error) {
	d, err := json.Marshal(detail)
	if err != nil {
		return e, nil, err
	}
	e.Detail = d
	e.At = e.At.UTC()
	if e.ExemptionIDs == nil {
		e.ExemptionIDs = []string{}
	}
	e.Seq, e.PrevHash = seq, prev
	entry, err := e.Canonical()
	if err != nil {
		return e, nil, err
	}
	e.Hash = ChainHash(e.PrevHash, entry)
	return e, entry, nil
}

// IDsColumn is how the audit table keeps an entry's ids, so that a
// substring search for ",EX-000001," finds one.
func IDsColumn(ids []string) string { return "," + strings.Join(ids, ",") + "," }

// AuditEntry returns the entry stored as entry with hash, as Audit lists it.
func AuditEntry(entry, hash string) (exemptions.AuditEvent, error) {
	var e exemptions.AuditEvent
	if err := json.Unmarshal([]byte(entry), &e); err != nil {
		return e, err
	}
	e.Hash, e.Entry = hash, json.RawMessage(entry)
	return e, nil
}
