package report

import (
	"context"
	"fmt"
	"strings"

	"github.com/nofly-project/nofly/exemptions"
)

// Log is the part of an exemptions.Store a report reads.
type Log interface {
	VerifyAudit(ctx context.Context) (exemptions.Verification, error)
	Audit(ctx context.Context, f exemptions.AuditFilter) ([]exemptions.AuditEvent, string, error)
}

// Compute verifies the whole log and its records (VerifyAudit), then reads
// its entries page by page up to the head verified, checking that they
// chain to it, and reports on them. When the log does not verify, or the
// entries read do not chain to the head verified, it returns an error
// wrapping ErrChain and no report: a report of a log that does not verify
// would not be complete. Other errors are the store's.
func Compute(ctx context.Context, log Log, o Options) (Report, error) {
	b, err := New(o)
	if err != nil {
		return Report{}, err
	}
	v, err := log.VerifyAudit(ctx)
	if err != nil {
		return Report{}, err
	}
	if !v.OK() {
		return Report{}, fmt.Errorf("%w: %s", ErrChain, strings.Join(v.Problems, "; "))
	}
	tok := ""
	for b.Seq() < v.Entries {
		page, next, err := log.Audit(ctx, exemptions.AuditFilter{PageSize: exemptions.MaxPageSize, PageToken: tok})
		if err != nil {
			return Report{}, err
		}
		for _, e := range page {
			if e.Seq > v.Entries {
				break
			}
			if err := b.Add(e); err != nil {
				return Report{}, err
			}
		}
		if next == "" || len(page) == 0 {
			break
		}
		tok = next
	}
	r := b.Report()
	if r.HeadSeq != v.Entries || r.HeadHash != v.HeadHash {
		return Report{}, fmt.Errorf("%w: read up to entry %d (%.12s…), verified up to entry %d (%.12s…)",
			ErrChain, r.HeadSeq, r.HeadHash, v.Entries, v.HeadHash)
	}
	return r, nil
}
