package exemptions

import (
	"context"
	"time"
)

// AuthorisationRecord is a signed flight authorisation as noflyd keeps it:
// the signed bytes exactly as issued, and the fields a list or a
// revocation needs without decoding them.
type AuthorisationRecord struct {
	ID                    string
	KeyID                 string
	IssuedAt              time.Time
	ValidFrom, ValidUntil time.Time
	Unit, Pilot, Drone    string
	Purpose               Purpose
	IssuedBy              string
	ClientReference       string `json:",omitempty"` // the plan's, for the audit log
	Verdict               string // CLEAR or EXEMPTED
	ExemptionIDs          []string
	ZoneIDs               []string
	Token                 []byte                   `json:"-"` // the COSE_Sign1 message, stored beside the record
	TokenSHA256           string                   // hex SHA-256 of Token, so that the audit log pins the bytes issued
	Revocation            *AuthorisationRevocation `json:",omitempty"`
}

// AuthorisationRevocation is why and when an authorisation was revoked.
type AuthorisationRevocation struct {
	At time.Time
	By string
	// Reason is the revocation list's reason code: exemption-revoked,
	// exemption-superseded, withdrawn or key-compromise.
	Reason string
	// Note is the revoker's words, or the exemption that was revoked.
	Note string
}

// The revocation reasons the store sets itself.
const (
	AuthorisationExemptionRevoked    = "exemption-revoked"
	AuthorisationExemptionSuperseded = "exemption-superseded"
)

// Audit actions of authorisations. Their entries' ids are the
// authorisation's id followed by the exemptions it relied on, so that
// filtering the log by either finds them.
const (
	ActionAuthorise           Action = "authorise"
	ActionRevokeAuthorisation Action = "revoke-authorisation"
)

// Errors of the AuthorisationStore, wrapped with the id concerned. They are
// also ErrNotFound and a failed precondition (IsFailedPrecondition), so
// that callers and the stores' error mapping treat them as the exemptions'.
var (
	ErrAuthorisationNotFound error = &kindError{"authorisation not found", ErrNotFound}
	ErrAuthorisationRevoked  error = &kindError{"authorisation already revoked", ErrRevoked}
)

// kindError is an error that is also another, more general one.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

// AuthorisationFilter narrows ListAuthorisations. Zero fields do not narrow.
type AuthorisationFilter struct {
	Unit        string
	ExemptionID string
	PageSize    int
	PageToken   string
}

// AuthorisationStore keeps signed authorisations with their audit entries:
// sqlitestore.Store and pgstore.Store implement it beside Store, and pass
// the same suite (exemptions/storetest). Like Store, each
// change and its audit entry are one transaction.
type AuthorisationStore interface {
	// IssueAuthorisation stores rec under a new id ("AU-000001", …) with
	// the bytes sign returns for that id, and appends its audit entry. It
	// fails with ErrNotInForce, storing nothing, when an exemption of
	// rec.ExemptionIDs is revoked, superseded or unknown: the check that
	// relied on it is out of date.
	IssueAuthorisation(ctx context.Context, rec AuthorisationRecord, sign func(id string) ([]byte, error)) (AuthorisationRecord, error)
	// GetAuthorisation returns one record, or an error wrapping
	// ErrAuthorisationNotFound.
	GetAuthorisation(ctx context.Context, id string) (AuthorisationRecord, error)
	// ListAuthorisations returns a page of records in issue order and the
	// token of the next page ("" on the last).
	ListAuthorisations(ctx context.Context, f AuthorisationFilter) ([]AuthorisationRecord, string, error)
	// RevokeAuthorisation records rev on the authorisation id; revoking it
	// twice fails with ErrAuthorisationRevoked.
	RevokeAuthorisation(ctx context.Context, id string, rev AuthorisationRevocation) (AuthorisationRecord, error)
	// RevokeAuthorisationsRelyingOn revokes, with rev, every authorisation
	// not yet revoked and valid at rev.At or later that relied on the
	// exemption, and returns them.
	RevokeAuthorisationsRelyingOn(ctx context.Context, exemptionID string, rev AuthorisationRevocation) ([]AuthorisationRecord, error)
	// RevokedAuthorisations returns every authorisation valid at at or
	// later that is revoked, or that relied on an exemption now revoked or
	// superseded (whether or not RevokeAuthorisationsRelyingOn ran: the
	// revocation list never depends on that second step), in id order.
	RevokedAuthorisations(ctx context.Context, at time.Time) ([]AuthorisationRecord, error)
}
