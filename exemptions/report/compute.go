package report

import (
	"context"

	"github.com/nofly-project/nofly/exemptions"
)

// Log is the part of an exemptions.Store a report reads.
type Log interface {
	Audit(ctx context.Context, f exemptions.AuditFilter) ([]exemptions.AuditEvent, string, error)
}

// Compute reads the whole log page by page, from its first entry to the
// last, checking every link of the hash chain as it goes (Builder.Add),
// and reports on it. When an entry is not the next link, it returns an
// error wrapping ErrChain and no report: a report of a log that does not
// verify would not be complete. Other errors are the store's.
//
// The report reads only the log: the legal bases and everything it counts
// are in the entries, hashed. (exemptions.Store's VerifyAudit also checks
// the tables derived from the log, which the report does not read.)
func Compute(ctx context.Context, log Log, o Options) (Report, error) {
	b, err := New(o)
	if err != nil {
		return Report{}, err
	}
	// The next page is read (and decoded by the store) while this one is
	// counted.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type page struct {
		entries []exemptions.AuditEvent
		err     error
	}
	pages := make(chan page, 2)
	go func() {
		defer close(pages)
		tok := ""
		for {
			es, next, err := log.Audit(ctx, exemptions.AuditFilter{PageSize: exemptions.MaxPageSize, PageToken: tok})
			select {
			case pages <- page{es, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || next == "" || len(es) == 0 {
				return
			}
			tok = next
		}
	}()
	for p := range pages {
		if p.err != nil {
			return Report{}, p.err
		}
		for _, e := range p.entries {
			if err := b.Add(e); err != nil {
				return Report{}, err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	return b.Report(), nil
}
