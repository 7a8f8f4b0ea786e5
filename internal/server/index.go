package server

import "github.com/nofly-project/nofly/geo"

// Index is the zone index in service, or nil before the zones are loaded.
// Other front ends (the InterUSS HTTP interface) ask geo on it, and decide
// with exemptions.Decide, as the gRPC handlers do. Load it once per request:
// a reload swaps in a new one.
func (s *Server) Index() *geo.Index {
	if set := s.current(); set != nil {
		return set.idx
	}
	return nil
}
