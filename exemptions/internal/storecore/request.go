package storecore

import (
	"database/sql"
	"fmt"

	"github.com/nofly-project/nofly/exemptions"
)

// Requests are kept in a table of their own, keyed by request id, written
// with the write they name and never changed:
//
//	request_id   the client's id (exemptions.Request.ID)
//	digest       exemptions.Request.Digest
//	action       create, supersede or revoke
//	exemption_id the record the write returned
//	audit_seq    the audit entry the write appended (it holds the same
//	             request id and digest, hashed into the chain)
//
// A write's first answer is not stored: it is the record as issued (create,
// supersede) or the record with its revocation (revoke), both of which the
// records table keeps as the audit log says (VerifyAudit checks it).

// Reused checks a write of action under req against the request row already
// stored under req.ID (its action and digest): nil when it is a retry of the
// same write, else an error wrapping ErrRequestReused.
func Reused(req exemptions.Request, action exemptions.Action, storedAction, storedDigest string) error {
	if storedAction != string(action) || storedDigest != req.Digest {
		return fmt.Errorf("%s: %w (a %s): make a new request_id for a new request", req.ID, exemptions.ErrRequestReused, storedAction)
	}
	return nil
}

// Answer is the first answer of a write of action on the record stored as
// rec (JSON as issued) with the revocation rev: what the write returned.
func Answer(action exemptions.Action, rec string, rev sql.NullString) (exemptions.Exemption, error) {
	if action != exemptions.ActionRevoke {
		rev = sql.NullString{}
	}
	// A record is superseded only when not revoked, and revoked only when
	// not superseded: neither answer was superseded.
	return ScanRecord(func(dest ...any) error {
		*dest[0].(*string) = rec
		*dest[1].(*sql.NullString) = sql.NullString{}
		*dest[2].(*sql.NullString) = rev
		return nil
	})
}
