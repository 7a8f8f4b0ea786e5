package server

import "time"

// ExemptionsAsOf is when the checks' exemption cache last matched the
// store: the last refresh that found the store at the version the cache
// holds, or that read the changes up to it. Zero without a store, and
// before the first refresh.
func (s *Server) ExemptionsAsOf() time.Time {
	if o, ok := s.exStore.(*observedStore); ok {
		return o.lastMatched()
	}
	return time.Time{}
}
