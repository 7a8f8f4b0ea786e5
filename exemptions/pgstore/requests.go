package pgstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/internal/storecore"
)

// answered looks req up before a write of action, after the write took the
// chain head (so that a write under the same id that committed meanwhile,
// from any replica, is seen): when an earlier write stored it, it returns
// that write's answer and true, or ErrRequestReused when that write was a
// different one.
func answered(ctx context.Context, tx pgx.Tx, req exemptions.Request, action exemptions.Action) (exemptions.Exemption, bool, error) {
	var (
		ex                 exemptions.Exemption
		stored, digest, id string
		rec                string
		rev                sql.NullString
	)
	if req.ID == "" {
		return ex, false, nil
	}
	err := tx.QueryRow(ctx, "SELECT action, digest, exemption_id FROM requests WHERE request_id = $1", req.ID).
		Scan(&stored, &digest, &id)
	if errors.Is(err, pgx.ErrNoRows) {
		return ex, false, nil
	}
	if err != nil {
		return ex, false, err
	}
	if err := storecore.Reused(req, action, stored, digest); err != nil {
		return ex, false, err
	}
	if err := tx.QueryRow(ctx, "SELECT record, revocation FROM exemptions WHERE id = $1", id).Scan(&rec, &rev); err != nil {
		return ex, false, err
	}
	ex, err = storecore.Answer(action, rec, rev)
	return ex, err == nil, err
}

// appendWrite appends the audit entry of a write named by req (with detail
// as its Detail) and stores req with it, for the write's retries.
func (h *head) appendWrite(req exemptions.Request, e exemptions.AuditEvent, detail any) error {
	if req.ID != "" {
		e.RequestID, e.RequestDigest = req.ID, req.Digest
	}
	e, err := h.appendAudit(e, detail)
	if err != nil || req.ID == "" {
		return err
	}
	h.queue("INSERT INTO requests (request_id, digest, action, exemption_id, audit_seq) VALUES ($1, $2, $3, $4, $5)",
		req.ID, req.Digest, string(e.Action), e.ExemptionIDs[0], e.Seq)
	return nil
}
