package geo_test

// The baseline: the bare lower bound of a position check, a tidwall/rtree
// box search plus orb's planar point-in-polygon and nothing else (no
// heights, no times, no geodesy, no rounding of boxes, no sorting), so that
// the cost of doing the check right is visible beside BenchmarkCheckPosition.
//
//	go test -run='^$' -bench=Baseline -benchtime=2s ./geo/
//
// Two zone sets, each at 5,000, 50,000 and 500,000 zones:
//   - synthetic: benchdata.Zones (80% star polygons, 20% circles around
//     airports and heliports), queried at benchdata.Points;
//   - shared: the polygons of ../shared/bench (zones*.geojson), read with
//     benchdata.ReadPolygons rather than nofly's readers, queried at its
//     points.txt, the set the reference systems were measured on.
//
// Circles have no orb test; the baseline tests them as a planar distance
// in a local equirectangular frame (a handful of flops).

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/tidwall/rtree"

	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/benchdata"
)

// benchSeed seeds every synthetic set and query in the benchmarks.
const benchSeed = 42

// benchSizes are the zone-set sizes measured, with their sub-benchmark names.
var benchSizes = []struct {
	name string
	n    int
}{{"5k", 5000}, {"50k", 50_000}, {"500k", 500_000}}

// baseline is a bare index: an R-tree of each zone's bounding box, and the
// zone's shape.
type baseline struct {
	tree    rtree.RTreeG[int]
	polys   []orb.Polygon // nil for a circle
	centres []orb.Point   // circles
	radii   []float64     // circles, metres
	points  []orb.Point
	routes  []orb.LineString
}

func (bl *baseline) add(b orb.Bound, p orb.Polygon, c orb.Point, r float64) {
	bl.tree.Insert(b.Min, b.Max, len(bl.polys))
	bl.polys = append(bl.polys, p)
	bl.centres = append(bl.centres, c)
	bl.radii = append(bl.radii, r)
}

// inCircle is the planar distance test: metres in the equirectangular frame
// at the centre's latitude.
func (bl *baseline) inCircle(id int, p orb.Point) bool {
	const mPerDeg = 111_320.0
	c := bl.centres[id]
	dx := (p[0] - c[0]) * mPerDeg * math.Cos(c[1]*math.Pi/180)
	dy := (p[1] - c[1]) * mPerDeg
	return dx*dx+dy*dy <= bl.radii[id]*bl.radii[id]
}

// crossing is the even-odd crossing-number test on a closed ring, without
// computing the ring's bound first (the caller's box already passed).
func crossing(r orb.Ring, p orb.Point) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a, b := r[i], r[j]
		if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

type cacheKey struct {
	set string
	n   int
}

var (
	baselineMu    sync.Mutex
	baselineCache = map[cacheKey]*baseline{}
	zonesMu       sync.Mutex
	zonesCache    = map[cacheKey][]geo.Zone{}
)

// syntheticZones caches benchdata.Zones(n, benchSeed), skipping b when the
// airports CSV is absent.
func syntheticZones(b *testing.B, n int) []geo.Zone {
	b.Helper()
	zonesMu.Lock()
	defer zonesMu.Unlock()
	k := cacheKey{"synthetic", n}
	if zs, ok := zonesCache[k]; ok {
		return zs
	}
	zs, err := benchdata.Zones(n, benchSeed)
	skipIfNoData(b, err)
	zonesCache[k] = zs
	return zs
}

func skipIfNoData(b *testing.B, err error) {
	b.Helper()
	if errors.Is(err, benchdata.ErrNoData) {
		b.Skipf("skipping: %v", err)
	}
	if err != nil {
		b.Fatal(err)
	}
}

// sharedQueries reads the shared set's points and routes once.
var sharedQueries = sync.OnceValues(func() (*benchdata.Shared, error) {
	dir, err := benchdata.SharedDir()
	if err != nil {
		return nil, err
	}
	return benchdata.SharedSet(dir)
})

// loadBaseline builds (once per process) the baseline of a set at size n.
func loadBaseline(b *testing.B, set string, n int) *baseline {
	b.Helper()
	baselineMu.Lock()
	defer baselineMu.Unlock()
	k := cacheKey{set, n}
	if bl, ok := baselineCache[k]; ok {
		return bl
	}
	bl := &baseline{}
	switch set {
	case "synthetic":
		zs := syntheticZones(b, n)
		for i := range zs {
			s := zs[i].Volumes[0].Shape
			if s.Kind == geo.ShapeCircle {
				bl.add(s.Bound(), nil, s.Center, s.Radius)
			} else {
				bl.add(s.Bound(), s.Polygons[0], orb.Point{}, 0)
			}
		}
		bl.points = benchdata.Points(1<<16, benchSeed)
		bl.routes = benchdata.Routes(1<<12, 20, 300, benchSeed)
	case "shared":
		sh, err := sharedQueries()
		skipIfNoData(b, err)
		_, polys, err := benchdata.ReadPolygons(sh.ZonesPath(n))
		skipIfNoData(b, err)
		for _, p := range polys {
			bl.add(p.Bound(), p, orb.Point{}, 0)
		}
		bl.points, bl.routes = sh.Points, sh.Routes
	}
	baselineCache[k] = bl
	return bl
}

// eachSet runs fn as sub-benchmarks set/size over both sets and all sizes.
func eachSet(b *testing.B, fn func(b *testing.B, bl *baseline)) {
	for _, set := range []string{"synthetic", "shared"} {
		for _, sz := range benchSizes {
			b.Run(set+"/"+sz.name, func(b *testing.B) {
				if testing.Short() && sz.n > 50_000 {
					b.Skip("-short: no 500k sets")
				}
				fn(b, loadBaseline(b, set, sz.n))
			})
		}
	}
}

// benchPosition measures one point query per op: search the point's box,
// then test each candidate with contains.
func benchPosition(b *testing.B, bl *baseline, contains func(id int, p orb.Point) bool) {
	var (
		p           orb.Point
		hits, cands int
	)
	iter := func(_, _ [2]float64, id int) bool {
		cands++
		if contains(id, p) {
			hits++
		}
		return true
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		p = bl.points[i]
		if i++; i == len(bl.points) {
			i = 0
		}
		bl.tree.Search(p, p, iter)
	}
	b.ReportMetric(float64(cands)/float64(b.N), "cands/op")
	b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
}

// BenchmarkBaselinePosition: R-tree box search, then orb's
// planar.RingContains on the candidate's outer ring (the sets have no
// holes). RingContains starts by computing the ring's bound, one extra pass
// over its vertices; BenchmarkBaselinePositionCrossing leaves that out.
func BenchmarkBaselinePosition(b *testing.B) {
	eachSet(b, func(b *testing.B, bl *baseline) {
		benchPosition(b, bl, func(id int, p orb.Point) bool {
			if pl := bl.polys[id]; pl != nil {
				return planar.RingContains(pl[0], p)
			}
			return bl.inCircle(id, p)
		})
	})
}

// BenchmarkBaselinePositionOrbPolygonContains: as BenchmarkBaselinePosition
// with orb's planar.PolygonContains (outer ring, then every hole).
func BenchmarkBaselinePositionOrbPolygonContains(b *testing.B) {
	eachSet(b, func(b *testing.B, bl *baseline) {
		benchPosition(b, bl, func(id int, p orb.Point) bool {
			if pl := bl.polys[id]; pl != nil {
				return planar.PolygonContains(pl, p)
			}
			return bl.inCircle(id, p)
		})
	})
}

// BenchmarkBaselinePositionCrossing: R-tree box search, then a plain
// crossing-number test of the outer ring, with no bound recomputed: the bare
// lower bound.
func BenchmarkBaselinePositionCrossing(b *testing.B) {
	eachSet(b, func(b *testing.B, bl *baseline) {
		benchPosition(b, bl, func(id int, p orb.Point) bool {
			if pl := bl.polys[id]; pl != nil {
				return crossing(pl[0], p)
			}
			return bl.inCircle(id, p)
		})
	})
}

// BenchmarkBaselineRouteBoxes is the floor of a route check, not a route
// check: for each leg, search the R-tree with the leg's bounding box (no
// buffer) and count the distinct zones whose bounding box meets some leg's
// box. orb has no segment-polygon test, so there is no exact step; every
// candidate counts. Routes: synthetic, 20 waypoints with legs of ~300 m;
// shared, its routes.geojson (2–60 waypoints, legs 50 m–3 km).
func BenchmarkBaselineRouteBoxes(b *testing.B) {
	eachSet(b, func(b *testing.B, bl *baseline) {
		// stamp[id] == gen marks a zone already counted for this route.
		stamp := make([]uint32, len(bl.polys))
		var gen uint32
		var found int
		iter := func(_, _ [2]float64, id int) bool {
			if stamp[id] != gen {
				stamp[id] = gen
				found++
			}
			return true
		}
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			r := bl.routes[i]
			if i++; i == len(bl.routes) {
				i = 0
			}
			gen++
			for k := 0; k+1 < len(r); k++ {
				lb := orb.Bound{Min: r[k], Max: r[k]}.Extend(r[k+1])
				bl.tree.Search(lb.Min, lb.Max, iter)
			}
		}
		b.ReportMetric(float64(found)/float64(b.N), "zones/op")
	})
}

// TestBaselineAgreesWithIndex checks that the baseline does the same
// horizontal work as the index: for points on the synthetic set (every
// height counting, at an instant when every zone is active), the baseline's
// zones are the index's, except circle zones within 0.5% of their rim,
// where planar and geodesic distance may disagree.
func TestBaselineAgreesWithIndex(t *testing.T) {
	zs, err := benchdata.Zones(20_000, benchSeed)
	if errors.Is(err, benchdata.ErrNoData) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var bl baseline
	for i := range zs {
		s := zs[i].Volumes[0].Shape
		if s.Kind == geo.ShapeCircle {
			bl.add(s.Bound(), nil, s.Center, s.Radius)
		} else {
			bl.add(s.Bound(), s.Polygons[0], orb.Point{}, 0)
		}
	}
	ix, err := geo.NewIndex(zs)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC) // a Wednesday at noon: scheduled zones active
	var hits []geo.Hit
	var total int
	for _, p := range benchdata.Points(20_000, benchSeed) {
		want := map[string]bool{}
		bl.tree.Search(p, p, func(_, _ [2]float64, id int) bool {
			if pl := bl.polys[id]; (pl != nil && planar.RingContains(pl[0], p)) || (pl == nil && bl.inCircle(id, p)) {
				want[zs[id].ID] = true
			}
			return true
		})
		hits = ix.CheckPosition(geo.PositionQuery{Point: p, At: at}, hits[:0])
		got := map[string]bool{}
		for _, h := range hits {
			got[h.Zone.ID] = true
		}
		total += len(got)
		for id := range union(got, want) {
			if got[id] == want[id] {
				continue
			}
			z, _ := ix.Zone(id)
			if s := z.Volumes[0].Shape; s.Kind == geo.ShapeCircle && nearRim(s, p) {
				continue
			}
			t.Errorf("point %v zone %s: index %v, baseline %v", p, id, got[id], want[id])
		}
	}
	if total == 0 {
		t.Fatal("no hits at all: the comparison proves nothing")
	}
	t.Logf("%d hits at 20,000 points", total)
}

func union(a, b map[string]bool) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

// nearRim reports whether p is within 0.5% of the circle's radius of its rim
// (by the planar distance).
func nearRim(s geo.Shape, p orb.Point) bool {
	const mPerDeg = 111_320.0
	dx := (p[0] - s.Center[0]) * mPerDeg * math.Cos(s.Center[1]*math.Pi/180)
	dy := (p[1] - s.Center[1]) * mPerDeg
	return math.Abs(math.Hypot(dx, dy)-s.Radius) < 0.005*s.Radius
}
