package exemptions

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Store keeps exemption records and the audit log durably. Every method
// that changes something appends its audit entry in the same transaction,
// and returns only once both are on disk: an acknowledged change is never
// lost, and no change happens without its entry.
//
// Records are never edited or deleted. Supersede issues a new record and
// marks the old one superseded; Revoke records a revocation on the record.
//
// sqlitestore.Store is the embedded implementation; pgstore.Store is shared
// by several noflyd. Both pass the same behaviour suite, exemptions/storetest.
// They live in packages of their own so that this one links no database
// driver.
type Store interface {
	// Create issues ex (validated by the caller) and returns it with its
	// new ID. ex.IssuedBy and ex.IssuedAt say who and when.
	//
	// Create, Supersede and Revoke are idempotent under req.ID (see
	// Request): a write whose request id is already stored writes nothing
	// and returns the first write's answer.
	Create(ctx context.Context, req Request, ex Exemption) (Exemption, error)
	// Supersede issues ex as the replacement of the record oldID, which
	// must be neither revoked nor superseded (else ErrRevoked or
	// ErrSuperseded), and returns the new record.
	Supersede(ctx context.Context, req Request, oldID string, ex Exemption) (Exemption, error)
	// Revoke records rev on the record id and returns it. Revoking a
	// revoked record fails with ErrRevoked, a superseded one with
	// ErrSuperseded.
	Revoke(ctx context.Context, req Request, id string, rev Revocation) (Exemption, error)
	// Get returns one record, or an error wrapping ErrNotFound.
	Get(ctx context.Context, id string) (Exemption, error)
	// List returns a page of records in issue order, and the token of the
	// next page ("" on the last).
	List(ctx context.Context, f ListFilter) ([]Exemption, string, error)
	// All returns every record and the version of the record set.
	All(ctx context.Context) ([]Exemption, int64, error)
	// Changed returns the records created, superseded or revoked after
	// version since, and the current version, so that a cache need not read
	// every record again on each change.
	Changed(ctx context.Context, since int64) ([]Exemption, int64, error)
	// Version changes whenever a record is created, superseded or revoked.
	Version(ctx context.Context) (int64, error)
	// RecordCheck appends a check that relied on exemptions to the audit
	// log. It fails with ErrNotInForce, recording nothing, when one of
	// c.ExemptionIDs is revoked, superseded or unknown in the store: the
	// check was judged on exemptions that are out of date (a cache behind a
	// change made meanwhile, by this process or another) and must be judged
	// again. The test and the entry are one transaction, so that no check
	// entry follows the revocation of an exemption it applied.
	RecordCheck(ctx context.Context, c CheckRecord) (AuditEvent, error)
	// Audit returns a page of the audit log in order, and the token of the
	// next page.
	Audit(ctx context.Context, f AuditFilter) ([]AuditEvent, string, error)
	// VerifyAudit checks the whole hash chain and that every record is as
	// its audit entries say it was issued and revoked.
	VerifyAudit(ctx context.Context) (Verification, error)
	Close() error
}

// Errors the Store returns, wrapped with the id concerned.
var (
	ErrNotFound   = errors.New("exemption not found")
	ErrRevoked    = errors.New("exemption already revoked")
	ErrSuperseded = errors.New("exemption already superseded")
	// ErrNotInForce: a check applied an exemption that the store holds as
	// revoked or superseded, or does not hold at all (RecordCheck).
	ErrNotInForce = errors.New("exemption applied by the check is no longer in force")
	// ErrUnavailable is wrapped by errors that mean the database cannot
	// be reached now; trying again later may succeed.
	ErrUnavailable = errors.New("exemption database unavailable")
	// ErrRequestReused: a write came with a request id that an earlier,
	// different write used (Request).
	ErrRequestReused = errors.New("request_id already used for a different request")
	// ErrBadPageToken is returned for a page token the store did not make.
	ErrBadPageToken = errors.New("not a page token from a previous response")
)

// Request names a write, so that a retry of it (a client that lost the
// answer and sends the same request again) is answered and not done
// again (AIP-155). The store keeps ID and Digest with the write, in the
// same transaction, for ever: a write under an ID already stored writes
// nothing; it returns the first write's answer when it has the same
// Digest and action, and fails with ErrRequestReused otherwise. The zero
// Request names nothing: the write is done however often it is sent.
type Request struct {
	// ID is made by the client, one per intended write: a UUID.
	ID string
	// Digest identifies what was asked (the caller hashes the request,
	// without the request id and without anything the server stamps).
	Digest string
}

// ListFilter narrows List. Zero fields do not narrow.
type ListFilter struct {
	Unit string
	// ZoneID keeps records that name the zone by id.
	ZoneID string
	// ActiveAt keeps records valid at that instant and neither revoked nor
	// superseded then.
	ActiveAt time.Time
	// IncludeRevoked keeps revoked and superseded records too; without it
	// they are left out.
	IncludeRevoked bool
	// PageSize is at most MaxPageSize; 0 means DefaultPageSize.
	PageSize  int
	PageToken string
}

// Page sizes for List and Audit.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Action is what an audit entry records.
type Action string

// The actions.
const (
	ActionCreate    Action = "create"
	ActionSupersede Action = "supersede"
	ActionRevoke    Action = "revoke"
	ActionCheck     Action = "check"
)

// CheckRecord is a check whose verdict relied on exemptions.
type CheckRecord struct {
	At time.Time
	// Actor is the authenticated caller (its certificate subject); empty
	// when the server does not authenticate, and then the audit entry's
	// actor is UNIT/PILOT as the request gave them (ActorName).
	Actor string `json:",omitempty"`
	// Who flew and why: authenticated for pilots and planners, as the
	// request said otherwise.
	Unit, Pilot, Drone string
	Purpose            Purpose
	ClientReference    string
	// ExemptionIDs applied, and the zones they covered.
	ExemptionIDs []string
	ZoneIDs      []string
	Verdict      string
}

// ActorName is the audit entry's actor for the check: Actor, or else
// UNIT/PILOT (UNIT without a pilot).
func (c CheckRecord) ActorName() string {
	if c.Actor != "" {
		return c.Actor
	}
	if c.Pilot != "" {
		return c.Unit + "/" + c.Pilot
	}
	return c.Unit
}

// AuditEvent is one entry of the append-only audit log. Hash is the
// SHA-256 of the previous entry's hash followed by the entry's canonical
// JSON (every field but Hash, in the order below), hex-encoded; the first
// entry's PrevHash is empty.
type AuditEvent struct {
	Seq             int64     `json:"seq"`
	At              time.Time `json:"at"`
	Action          Action    `json:"action"`
	Actor           string    `json:"actor"`
	ExemptionIDs    []string  `json:"exemption_ids"`
	ClientReference string    `json:"client_reference,omitempty"`
	// RequestID and RequestDigest are the write's Request, when it named
	// one: hashed into the chain with the write, so that the table of
	// requests answered is checked against the log.
	RequestID     string `json:"request_id,omitempty"`
	RequestDigest string `json:"request_digest,omitempty"`
	// Detail is the record issued (create, supersede), the revocation
	// (revoke) or the check (check), as JSON.
	Detail   json.RawMessage `json:"detail"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"-"`
	// Entry is the canonical JSON exactly as stored and hashed (set by
	// Audit), for clients that check the chain themselves.
	Entry json.RawMessage `json:"-"`
}

// StoredAuditEntry is an audit entry exactly as stored: its canonical JSON
// (Entry, as hashed) and its hash, for readers that decode it themselves
// (reports) and check the chain as they go.
type StoredAuditEntry struct {
	Seq   int64
	Entry []byte
	Hash  string
}

// Canonical is the entry's JSON as hashed and stored.
func (e *AuditEvent) Canonical() ([]byte, error) { return json.Marshal(e) }

// AuditFilter narrows Audit. Zero fields do not narrow.
type AuditFilter struct {
	Action      Action
	ExemptionID string
	Actor       string
	PageSize    int
	PageToken   string
	// MaxBytes, when positive, also ends a page before its entries take
	// more than about that many bytes in an answer (at least one entry a
	// page), so that no answer outgrows a message limit however large the
	// entries.
	MaxBytes int
}

// Verification is what VerifyAudit found.
type Verification struct {
	// Entries checked, and the last entry's hash: note it down; a later
	// verification whose chain does not pass through it shows that
	// entries were removed from the end.
	Entries  int64
	HeadHash string
	Records  int
	// Problems found; none when the log and the records are intact.
	Problems []string
}

// OK reports whether nothing was found wrong.
func (v Verification) OK() bool { return len(v.Problems) == 0 }

// IsFailedPrecondition reports whether err says that the record is in a
// state that does not allow the change.
func IsFailedPrecondition(err error) bool {
	return errors.Is(err, ErrRevoked) || errors.Is(err, ErrSuperseded)
}

// IDError is an error about one record that carries the record's id:
// ErrNotFound, ErrRevoked, ErrSuperseded or ErrNotInForce, wrapped. Its text
// is "ID: " and Err's.
type IDError struct {
	ID  string
	Err error
}

func (e *IDError) Error() string { return e.ID + ": " + e.Err.Error() }
func (e *IDError) Unwrap() error { return e.Err }
