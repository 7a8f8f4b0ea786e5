package report

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"

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
	// Pages are read in turn, checked and decoded in parallel (one
	// goroutine a processor), and counted in order.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type page struct {
		entries []decoded
		err     error
	}
	queue := make(chan chan page, runtime.GOMAXPROCS(0)+1)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	go func() {
		defer close(queue)
		prev := ""
		next := pager(log)
		// Unsealed counts come with the log's end when they were read:
		// 0 then is an empty log, not its last entry.
		bounded := o.UpTo > 0 || len(o.Unsealed) > 0
		for end := false; !end; {
			es, err := next(ctx)
			if bounded && len(es) > 0 && es[len(es)-1].Seq >= o.UpTo {
				i, found := slices.BinarySearchFunc(es, o.UpTo, func(e exemptions.StoredAuditEntry, seq int64) int { return cmp.Compare(e.Seq, seq) })
				if found {
					i++
				}
				es, end = es[:i], true
			}
			out := make(chan page, 1)
			select {
			case queue <- out:
			case <-ctx.Done():
				return
			}
			if err != nil || len(es) == 0 {
				out <- page{err: err}
				return
			}
			sem <- struct{}{}
			go func(prev string) {
				defer func() { <-sem }()
				ds := pages.get(len(es))
				dec := newDecoder()
				for i, e := range es {
					decodeStored(dec, prev, e, &ds[i])
					prev = e.Hash
				}
				out <- page{entries: ds}
			}(prev)
			prev = es[len(es)-1].Hash
		}
	}()
	for out := range queue {
		p := <-out
		if p.err != nil {
			return Report{}, p.err
		}
		for i := range p.entries {
			if err := b.add(&p.entries[i]); err != nil {
				return Report{}, err
			}
		}
		pages.put(p.entries) // counted: the Builder keeps nothing of it
	}
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	if b.Seq() < o.UpTo {
		return Report{}, fmt.Errorf("%w: the log ends at entry %d, before entry %d, which it held when the report began", ErrChain, b.Seq(), o.UpTo)
	}
	return b.Report(), nil
}

// decodedPages keeps pages of decoded entries for use again (a page is
// a few megabytes).
type decodedPages struct{ p sync.Pool }

var pages decodedPages

func (d *decodedPages) get(n int) []decoded {
	if ds, ok := d.p.Get().(*[]decoded); ok && cap(*ds) >= n {
		return (*ds)[:n]
	}
	return make([]decoded, n)
}

func (d *decodedPages) put(ds []decoded) {
	if ds != nil {
		d.p.Put(&ds)
	}
}

// pager returns a function that returns the log's next page of stored
// entries (none after the last).
func pager(log Log) func(context.Context) ([]exemptions.StoredAuditEntry, error) {
	if sl, ok := log.(StoredLog); ok {
		var after int64
		return func(ctx context.Context) ([]exemptions.StoredAuditEntry, error) {
			es, err := sl.AuditEntries(ctx, after, storedPage)
			if len(es) > 0 {
				after = es[len(es)-1].Seq
			}
			return es, err
		}
	}
	tok, done := "", false
	return func(ctx context.Context) ([]exemptions.StoredAuditEntry, error) {
		if done {
			return nil, nil
		}
		es, next, err := log.Audit(ctx, exemptions.AuditFilter{PageSize: exemptions.MaxPageSize, PageToken: tok})
		tok, done = next, next == ""
		out := make([]exemptions.StoredAuditEntry, len(es))
		for i, e := range es {
			out[i] = exemptions.StoredAuditEntry{Seq: e.Seq, Entry: e.Entry, Hash: e.Hash}
		}
		return out, err
	}
}
