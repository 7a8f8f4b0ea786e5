package server

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/nofly-project/nofly/exemptions"
)

// Refused checks are counted, anonymously, in memory and added to the
// store's counters every few seconds (FlushRefusals), so that a DENIED
// answer never waits on the database; the counts of ended days are then
// sealed into the audit log. docs/oversight.md says what a crash loses.

// refusalKey is what a refused check is counted by: no pilot, no drone,
// no position.
type refusalKey struct {
	day           int64 // days since 1970-01-01, UTC
	unit          string
	purpose       exemptions.Purpose
	kind          exemptions.RefusalKind
	authorisation bool
}

// refusalCounts are the refusals counted since the last flush. mu guards
// m; flushMu makes flushes take turns.
type refusalCounts struct {
	store   exemptions.RefusalStore
	mu      sync.Mutex
	m       map[refusalKey]int64
	flushMu sync.Mutex
}

// Bounds on what a flush may carry: a unit is clipped to maxRefusalUnit
// bytes, and beyond maxRefusalKeys counters (units and purposes given as
// free text by callers without TLS) the unit and purpose are not kept.
const (
	maxRefusalUnit = 100
	maxRefusalKeys = 10_000
)

// authorisingKey marks the context of an authorisation's plan check.
type authorisingKey struct{}

func newRefusalCounts(st exemptions.RefusalStore) *refusalCounts {
	return &refusalCounts{store: st, m: map[refusalKey]int64{}}
}

// countRefusal counts a DENIED check (at now, of flight f); nothing else.
// It is the checks' only cost of the counting: a comparison, and for a
// refusal a map increment under a mutex, without allocating once the
// day's counter exists.
func (s *Server) countRefusal(ctx context.Context, r *exemptions.Result, f *exemptions.Flight, now time.Time) {
	if r.Verdict == exemptions.Denied && s.refused != nil {
		s.refused.add(ctx, len(r.Refusals) > 0, f, now)
	}
}

func (c *refusalCounts) add(ctx context.Context, fleet bool, f *exemptions.Flight, now time.Time) {
	k := refusalKey{day: now.Unix() / 86400, unit: f.Unit, purpose: f.Purpose, kind: exemptions.RefusedAirspace,
		authorisation: ctx.Value(authorisingKey{}) != nil}
	if fleet {
		k.kind = exemptions.RefusedFleet
	}
	if len(k.unit) > maxRefusalUnit {
		k.unit = strings.ToValidUTF8(k.unit[:maxRefusalUnit], "")
	}
	if len(k.purpose) > maxRefusalUnit {
		k.purpose = ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.m[k]; ok {
		c.m[k] = n + 1
		return
	}
	if len(c.m) >= maxRefusalKeys {
		k.unit, k.purpose = "", ""
	}
	// The key's strings point into the request: keep copies.
	k.unit, k.purpose = strings.Clone(k.unit), exemptions.Purpose(strings.Clone(string(k.purpose)))
	c.m[k]++
}

// FlushRefusals adds the refusals counted to the store every interval and
// seals the counts of the days that have ended into the audit log, until
// ctx ends; then it flushes once more. It returns at once when the store
// keeps no refusal counts.
func (s *Server) FlushRefusals(ctx context.Context, every time.Duration) {
	if s.refused == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			_ = s.flushRefusals(last)
			cancel()
			return
		case <-t.C:
			_ = s.flushRefusals(ctx)
		}
	}
}

// flushRefusals adds the refusals counted so far to the store (kept for
// the next flush should the store fail) and seals ended days. It logs its
// own errors.
func (s *Server) flushRefusals(ctx context.Context) error {
	c := s.refused
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.mu.Lock()
	m := c.m
	c.m = make(map[refusalKey]int64, len(m))
	c.mu.Unlock()
	if len(m) > 0 {
		counts := make([]exemptions.RefusalCount, 0, len(m))
		for k, n := range m {
			counts = append(counts, exemptions.RefusalCount{Day: exemptions.RefusalDay(time.Unix(k.day*86400, 0)), Unit: k.unit,
				Purpose: k.purpose, Kind: k.kind, Authorisation: k.authorisation, Count: n})
		}
		if err := c.store.AddRefusals(ctx, counts); err != nil {
			c.mu.Lock()
			for k, n := range m {
				c.m[k] += n
			}
			c.mu.Unlock()
			s.log.ErrorContext(ctx, "refused checks not yet counted in the store; kept for the next try", "err", err, "counters", len(m))
			return err
		}
	}
	now := s.stamp()
	e, sealed, err := c.store.SealRefusals(ctx, exemptions.RefusalDay(now), "noflyd", now)
	if err != nil {
		s.log.ErrorContext(ctx, "refusal counts of ended days not sealed into the audit log; trying again later", "err", err)
		return err
	}
	if sealed {
		s.log.InfoContext(ctx, "refusal counts sealed into the audit log", "seq", e.Seq)
	}
	return nil
}
