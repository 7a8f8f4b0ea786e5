package report

import (
	"context"

	"github.com/nofly-project/nofly/exemptions"
)

// Log is the part of an exemptions.Store a report reads.
type Log interface {
	Audit(ctx context.Context, f exemptions.AuditFilter) ([]exemptions.AuditEvent, string, error)
}

// StoredLog is a Log that also returns its entries undecoded, which
// Compute then reads instead (each entry is decoded once, by the report):
// sqlitestore.Store and pgstore.Store.
type StoredLog interface {
	// AuditEntries returns up to n entries after the entry after, in order.
	AuditEntries(ctx context.Context, after int64, n int) ([]exemptions.StoredAuditEntry, error)
}

// storedPage is the number of entries Compute asks a StoredLog for at once.
const storedPage = 5000

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
		stored  []exemptions.StoredAuditEntry
		err     error
	}
	pages := make(chan page, 2)
	go func() {
		defer close(pages)
		if sl, ok := log.(StoredLog); ok {
			var after int64
			for {
				es, err := sl.AuditEntries(ctx, after, storedPage)
				select {
				case pages <- page{stored: es, err: err}:
				case <-ctx.Done():
					return
				}
				if err != nil || len(es) < storedPage {
					return
				}
				after = es[len(es)-1].Seq
			}
		}
		tok := ""
		for {
			es, next, err := log.Audit(ctx, exemptions.AuditFilter{PageSize: exemptions.MaxPageSize, PageToken: tok})
			select {
			case pages <- page{entries: es, err: err}:
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
		for _, e := range p.stored {
			if err := b.AddStored(e); err != nil {
				return Report{}, err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	return b.Report(), nil
}
