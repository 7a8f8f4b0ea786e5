package server

import (
	"context"
	"sync"
	"time"

	"github.com/nofly-project/nofly/exemptions"
)

// ExemptionsAsOf is when the checks' exemption cache last matched the
// store: the last refresh that found the store at the version the cache
// holds, or that read the changes up to it. Zero without a store, and
// before the first refresh.
func (s *Server) ExemptionsAsOf() time.Time {
	st := s.exStore
	for st != nil {
		if a, ok := st.(*asOfStore); ok {
			return a.lastMatched()
		}
		u, ok := st.(interface{ Unwrap() exemptions.Store })
		if !ok {
			break
		}
		st = u.Unwrap()
	}
	return time.Time{}
}

// asOfStore notes, from the calls the cache makes (Version, then Changed
// when the version moved), when the cache last matched the store.
type asOfStore struct {
	exemptions.Store

	// seen is the record-set version the last successful Changed or All
	// returned, that is the version the cache now holds; asOf is when the
	// cache last matched the store (zero: never).
	mu   sync.Mutex
	seen int64
	asOf time.Time
}

func withAsOf(st exemptions.Store) *asOfStore { return &asOfStore{Store: st, seen: -1} }

// Unwrap returns the store observed.
func (a *asOfStore) Unwrap() exemptions.Store { return a.Store }

func (a *asOfStore) All(ctx context.Context) ([]exemptions.Exemption, int64, error) {
	at := time.Now()
	out, v, err := a.Store.All(ctx)
	if err == nil {
		a.synced(v, at)
	}
	return out, v, err
}

func (a *asOfStore) Changed(ctx context.Context, since int64) ([]exemptions.Exemption, int64, error) {
	at := time.Now()
	out, v, err := a.Store.Changed(ctx, since)
	if err == nil {
		a.synced(v, at)
	}
	return out, v, err
}

func (a *asOfStore) Version(ctx context.Context) (int64, error) {
	at := time.Now()
	v, err := a.Store.Version(ctx)
	if err == nil {
		a.mu.Lock()
		if v == a.seen { // the cache holds this version: it matches
			a.asOf = at
		}
		a.mu.Unlock()
	}
	return v, err
}

// synced notes that the cache read the records up to version v, as of at.
func (a *asOfStore) synced(v int64, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen, a.asOf = v, at
}

func (a *asOfStore) lastMatched() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.asOf
}
