package exemptions

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nofly-project/nofly/geo"
)

// Cache holds every record in memory for the checks: an immutable Snapshot,
// swapped atomically when the Store's records change. Checks never wait for
// the database; when it cannot be reached they go on with the last
// snapshot, and AsOf says how old it is.
//
// store and now are read-only after NewCache; refreshMu serialises
// Refresh and Reload, so that an older snapshot never replaces a newer
// one, and guards records and pos (every record, and where each id is in
// records), which only they use. cur (the snapshot and when it was last
// confirmed) is swapped atomically.
type Cache struct {
	store     Store
	now       func() time.Time
	refreshMu sync.Mutex
	records   []Exemption
	pos       map[string]int
	cur       atomic.Pointer[cacheState]
}

// cacheState is a snapshot and the instant at which the store was last
// seen to hold exactly it. It is immutable.
type cacheState struct {
	snap *Snapshot
	asOf time.Time
}

// Notifier is a Store shared by several processes that tells of changes as
// they are committed (pgstore.Store, with LISTEN/NOTIFY), so that a Cache
// refreshes at once rather than at its next poll.
type Notifier interface {
	// Notify calls changed after every change committed by any process
	// sharing the store, and after each (re)connection, until ctx ends. It
	// reconnects by itself, logging to log.
	Notify(ctx context.Context, log *slog.Logger, changed func())
}

// notifierOf finds the Notifier behind store, looking through wrappers
// (such as one counting errors for metrics) that offer Unwrap.
func notifierOf(store Store) (Notifier, bool) {
	for store != nil {
		if n, ok := store.(Notifier); ok {
			return n, true
		}
		u, ok := store.(interface{ Unwrap() Store })
		if !ok {
			break
		}
		store = u.Unwrap()
	}
	return nil, false
}

// NewCache loads every record of store. now is the clock that stamps
// AsOf.
func NewCache(ctx context.Context, store Store, now func() time.Time) (*Cache, error) {
	c := &Cache{store: store, now: now}
	c.cur.Store(&cacheState{snap: &Snapshot{Version: -1}})
	if err := c.Refresh(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Snapshot returns the records in force now.
func (c *Cache) Snapshot() *Snapshot { return c.cur.Load().snap }

// Current returns the records in force now and when the store was last
// seen to hold them: checks answered from the snapshot are that old.
func (c *Cache) Current() (*Snapshot, time.Time) {
	st := c.cur.Load()
	return st.snap, st.asOf
}

// AsOf is when the store was last seen to hold the current snapshot.
func (c *Cache) AsOf() time.Time { return c.cur.Load().asOf }

// Refresh loads the records again when the Store's version changed, and
// notes that the snapshot is current. Call it after every change made
// through this process; Watch catches changes made by others sharing the
// store.
func (c *Cache) Refresh(ctx context.Context) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	// Stamped before asking: the store held this version at least then.
	at := c.now()
	v, err := c.store.Version(ctx)
	if err != nil {
		return err
	}
	old := c.cur.Load()
	cur := old.snap.Version
	if v == cur {
		c.cur.Store(&cacheState{snap: old.snap, asOf: at})
		return nil
	}
	reset := cur < 0 || v < cur // first load, or a store that started over
	if reset {
		cur = -1
	}
	changed, v, err := c.store.Changed(ctx, cur)
	if err != nil {
		// c.records is left as the snapshot in force has it: the next
		// Refresh reads the changes since that snapshot's version.
		return err
	}
	if reset {
		c.records, c.pos = nil, map[string]int{}
	}
	for _, ex := range changed {
		if i, ok := c.pos[ex.ID]; ok {
			c.records[i] = ex
		} else {
			c.pos[ex.ID] = len(c.records)
			c.records = append(c.records, ex)
		}
	}
	// The snapshot gets its own copy: the next Refresh changes c.records.
	c.cur.Store(&cacheState{snap: NewSnapshot(slices.Clone(c.records), v), asOf: at})
	return nil
}

// Reload reads every record again, whatever the version says, and swaps in
// the result. Watch calls it every FullRefreshEvery: should the store's
// history ever diverge from the snapshot's without its version showing
// it (a database restored from a backup and written to again before this
// cache looked), the divergence lasts no longer than that.
func (c *Cache) Reload(ctx context.Context) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	at := c.now()
	all, v, err := c.store.All(ctx)
	if err != nil {
		return err
	}
	c.records, c.pos = all, make(map[string]int, len(all))
	for i, ex := range all {
		c.pos[ex.ID] = i
	}
	c.cur.Store(&cacheState{snap: NewSnapshot(slices.Clone(c.records), v), asOf: at})
	return nil
}

// FullRefreshEvery is how often Watch reads every record again (Reload),
// beside the refreshes of what changed.
const FullRefreshEvery = 5 * time.Minute

// Watch refreshes every interval until ctx ends, and at once whenever a
// Notifier store tells of a change (it returns once that listener has
// stopped too); every FullRefreshEvery it reloads
// every record. While refreshing fails (the old
// snapshot keeps serving, growing older) it logs the first failure and the
// recovery, not every attempt.
func (c *Cache) Watch(ctx context.Context, every time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	kick := make(chan struct{}, 1)
	// Watch returns only once the listener has stopped too (and closed
	// its connection), so that a caller may close the store after it.
	var listening sync.WaitGroup
	defer listening.Wait()
	if n, ok := notifierOf(c.store); ok {
		listening.Go(func() {
			n.Notify(ctx, log, func() {
				select {
				case kick <- struct{}{}:
				default: // a refresh is already due; it will see this change too
				}
			})
		})
	}
	t := time.NewTicker(every)
	defer t.Stop()
	full := time.NewTicker(FullRefreshEvery)
	defer full.Stop()
	// After a failure, try again sooner than the next tick: a connection
	// broken by an outage fails once, the next one may well work.
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	const minRetry = 100 * time.Millisecond
	backoff := minRetry
	failing := false
	for {
		refresh := c.Refresh
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		case <-retry.C:
		case <-full.C:
			refresh = c.Reload
		}
		err := refresh(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			retry.Reset(backoff)
			backoff = min(2*backoff, every)
		} else {
			retry.Stop()
			backoff = minRetry
		}
		switch {
		case err != nil && !failing:
			failing = true
			log.ErrorContext(ctx, "exemptions not refreshed; checks use the last known set until the store answers",
				"err", err, "as_of", c.AsOf())
		case err != nil:
			log.DebugContext(ctx, "exemptions still not refreshed", "err", err, "as_of", c.AsOf())
		case failing:
			failing = false
			log.InfoContext(ctx, "exemptions refreshed again", "version", c.Snapshot().Version)
		}
	}
}

// Snapshot is every record at one version, indexed for the checks. It is
// immutable.
type Snapshot struct {
	Version int64
	Len     int
	units   map[string]*unitRecords
}

// unitRecords are one unit's records: those naming zones, by zone id, and
// those with a selector. Each list is sorted by id.
type unitRecords struct {
	byZone    map[string][]*Exemption
	selectors []*Exemption
}

// NewSnapshot indexes records.
func NewSnapshot(records []Exemption, version int64) *Snapshot {
	s := &Snapshot{Version: version, Len: len(records), units: map[string]*unitRecords{}}
	for i := range records {
		ex := &records[i]
		u := s.units[ex.Holder.Unit]
		if u == nil {
			u = &unitRecords{byZone: map[string][]*Exemption{}}
			s.units[ex.Holder.Unit] = u
		}
		for _, z := range ex.ZoneIDs {
			u.byZone[z] = append(u.byZone[z], ex)
		}
		if !ex.Selector.IsZero() {
			u.selectors = append(u.selectors, ex)
		}
	}
	byID := func(a, b *Exemption) int { return cmp.Compare(a.ID, b.ID) }
	for _, u := range s.units {
		for _, l := range u.byZone {
			slices.SortFunc(l, byID)
		}
		slices.SortFunc(u.selectors, byID)
	}
	return s
}

// holds reports whether unit holds any record of s.
func (s *Snapshot) holds(unit string) bool { return s.units[unit] != nil }

// noRecordsDecision is cover's decision on a conflict of a flight whose
// unit holds no record, said without words (why is noReasons or
// reasonIDs): not covered, and, with ids, that no record names the zone
// (what refusals answers with no candidates).
func noRecordsDecision(why reasonDetail) Decision {
	if why == noReasons {
		return Decision{}
	}
	return Decision{Reasons: noRecordNamed}
}

// Candidates returns unit's records that name zone z or may select it,
// sorted by id. The result must not be changed.
func (s *Snapshot) Candidates(unit string, z *geo.Zone) []*Exemption {
	u := s.units[unit]
	if u == nil {
		return nil
	}
	named := u.byZone[z.ID]
	if len(u.selectors) == 0 {
		return named
	}
	out := make([]*Exemption, 0, len(named)+len(u.selectors))
	out = append(out, named...)
	for _, ex := range u.selectors {
		if !slices.Contains(ex.ZoneIDs, z.ID) { // already among the named
			out = append(out, ex)
		}
	}
	slices.SortFunc(out, func(a, b *Exemption) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Cover is Cover with the snapshot's candidates for the flight's unit:
// what Decide does for each blocking conflict.
func (s *Snapshot) Cover(hit *geo.Hit, f Flight, now time.Time) Decision {
	return s.cover(&situation{hit: hit, f: f, now: now})
}

// cover decides the conflict in st. A covered conflict, the common case,
// costs no allocation: the named records and the selectors are tried in
// place, and merged in id order only to explain a conflict that none
// covers.
func (s *Snapshot) cover(st *situation) Decision {
	u := s.units[st.f.Unit]
	if u == nil {
		switch {
		case st.noReasons:
			return noRecordsDecision(noReasons)
		case st.idsOnly:
			return noRecordsDecision(reasonIDs)
		}
		return Decision{Reasons: refusals(st, nil)}
	}
	var by *Exemption
	for _, ex := range u.byZone[st.hit.Zone.ID] {
		if covers(ex, st) {
			by = ex
			break
		}
	}
	for _, ex := range u.selectors {
		if by != nil && ex.ID > by.ID {
			break // sorted by id: none later can come first
		}
		if ex.Selector.Matches(st.hit.Zone) && covers(ex, st) {
			by = ex
			break
		}
	}
	if by != nil {
		return Decision{By: by}
	}
	if st.noReasons {
		return Decision{}
	}
	return Decision{Reasons: refusals(st, s.Candidates(st.f.Unit, st.hit.Zone))}
}
