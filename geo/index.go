package geo

import (
	"github.com/paulmach/orb"
)

// Index answers checks against a fixed set of zones. It is immutable once
// built and safe for any number of concurrent readers; to change the zones,
// build a new Index and swap it in.
type Index struct {
	zones []*Zone          // sorted by ID
	byID  map[string]*Zone // ID -> zone
}

// NewIndex builds an index over zones. It refuses zones that fail Validate
// and duplicate IDs, listing every problem in a *LoadError.
func NewIndex(zones []Zone) (*Index, error) {
	panic("TODO")
}

// Len is the number of zones.
func (ix *Index) Len() int { return len(ix.zones) }

// Zone returns the zone with the given ID.
func (ix *Index) Zone(id string) (*Zone, bool) {
	z, ok := ix.byID[id]
	return z, ok
}

// Zones returns all zones, sorted by ID. The slice must not be modified.
func (ix *Index) Zones() []*Zone { return ix.zones }

// Search calls fn for every zone whose bounding box meets b, in no
// particular order, until fn returns false.
func (ix *Index) Search(b orb.Bound, fn func(*Zone) bool) {
	panic("TODO")
}

// CheckPosition appends to dst the zones that hold q's point at q's height
// and instant, and returns the extended slice. It does not allocate when dst
// has room. The query must be valid (see PositionQuery.Validate).
func (ix *Index) CheckPosition(q PositionQuery, dst []Hit) []Hit {
	panic("TODO")
}

// CheckRoute returns the zones the route meets.
func (ix *Index) CheckRoute(q RouteQuery) ([]Hit, error) {
	panic("TODO")
}

// CheckArea returns the zones the operating area meets.
func (ix *Index) CheckArea(q AreaQuery) ([]Hit, error) {
	panic("TODO")
}
