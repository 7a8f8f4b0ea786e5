package geo_test

// Benchmarks of the index's checks, beside the baseline in
// baseline_bench_test.go:
//
//	go test -run='^$' -bench='Check|NewIndex' -benchtime=2s -count=5 ./geo/
//
// Zone sets (sub-benchmarks):
//   - ch-ed318: the Swiss ED-318 test data (1,179 polygons, ~220k vertices),
//     ../shared/data/zones/ch-foca-ed318-testdata.json.gz, queried at
//     uniform points and routes in Switzerland's box;
//   - synthetic/5k, 50k, 500k: benchdata.Zones, queried at benchdata.Points
//     and benchdata.Routes;
//   - shared/5k, 50k, 500k: the set the reference systems were measured on
//     (see ../shared/bench/README.md), read with geo.ReadFile and queried at
//     its points.txt and routes.geojson. Make it with
//     `(cd ../shared/bench && go run ./gen -out DIR)` and set
//     NOFLY_BENCH_DATA=DIR.
//
// Sets whose data is absent are skipped with a message saying where to put
// it. -short leaves out the 500k sets.

import (
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/benchdata"
)

// swissBound is a box around Switzerland, where the ED-318 zones lie.
var swissBound = orb.Bound{Min: orb.Point{5.9, 45.8}, Max: orb.Point{10.5, 47.8}}

// benchAt is a Wednesday noon, when the synthetic scheduled zones are active.
var benchAt = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// indexSet is an index with the queries to run against it.
type indexSet struct {
	ix     *geo.Index
	points []orb.Point
	routes []geo.RouteQuery
}

var indexCache = map[cacheKey]*indexSet{}

// routeQueries turns routes into queries at 50 m AGL throughout, over a
// 30-minute window from benchAt.
func routeQueries(routes []orb.LineString, buffer float64) []geo.RouteQuery {
	qs := make([]geo.RouteQuery, len(routes))
	for i, r := range routes {
		wps := make([]geo.Waypoint, len(r))
		for k, p := range r {
			wps[k] = geo.Waypoint{Point: p, Alt: 50}
		}
		qs[i] = geo.RouteQuery{
			Waypoints: wps, AltRef: geo.AGL, Buffer: buffer,
			Window: geo.TimeWindow{Start: benchAt, End: benchAt.Add(30 * time.Minute)},
		}
	}
	return qs
}

// readZones reads a zone file with geo.ReadFile, skipping b when it is
// absent.
func readZones(b *testing.B, path string, err error) []geo.Zone {
	b.Helper()
	skipIfNoData(b, err)
	zs, err := geo.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return zs
}

// loadIndex builds (once per process) the index and queries of a set.
// Routes have 20 waypoints, legs of ~300 m and a 50 m buffer, except on the
// shared set, whose own routes (2–60 waypoints, legs 50 m–3 km) run with no
// buffer so that its figures sit beside the reference systems'.
func loadIndex(b *testing.B, set string, n int) *indexSet {
	b.Helper()
	baselineMu.Lock()
	defer baselineMu.Unlock()
	k := cacheKey{set, n}
	if s, ok := indexCache[k]; ok {
		return s
	}
	var (
		zs []geo.Zone
		s  = &indexSet{}
	)
	switch set {
	case "ch-ed318":
		path, err := benchdata.SharedDataPath("zones/ch-foca-ed318-testdata.json.gz")
		zs = readZones(b, path, err)
		s.points = benchdata.PointsIn(swissBound, 1<<16, benchSeed)
		s.routes = routeQueries(benchdata.RoutesIn(swissBound, 1<<12, 20, 300, benchSeed), 50)
	case "synthetic":
		zs = syntheticZones(b, n)
		s.points = benchdata.Points(1<<16, benchSeed)
		s.routes = routeQueries(benchdata.Routes(1<<12, 20, 300, benchSeed), 50)
	case "shared":
		sh, err := sharedQueries()
		skipIfNoData(b, err)
		zs = readZones(b, sh.ZonesPath(n), nil)
		s.points = sh.Points
		s.routes = routeQueries(sh.Routes, 0)
	}
	ix, err := geo.NewIndex(zs)
	if err != nil {
		b.Fatal(err)
	}
	s.ix = ix
	indexCache[k] = s
	return s
}

// eachIndex runs fn as sub-benchmarks over ch-ed318 and both sets at all
// sizes.
func eachIndex(b *testing.B, fn func(b *testing.B, s *indexSet)) {
	b.Run("ch-ed318", func(b *testing.B) { fn(b, loadIndex(b, "ch-ed318", 0)) })
	for _, set := range []string{"synthetic", "shared"} {
		for _, sz := range benchSizes {
			b.Run(set+"/"+sz.name, func(b *testing.B) {
				if testing.Short() && sz.n > 50_000 {
					b.Skip("-short: no 500k sets")
				}
				fn(b, loadIndex(b, set, sz.n))
			})
		}
	}
}

// BenchmarkCheckPosition: one point at 50 m AGL at a fixed instant per op,
// with a reused hit slice, so it should not allocate.
func BenchmarkCheckPosition(b *testing.B) {
	eachIndex(b, func(b *testing.B, s *indexSet) {
		// Room for the most hits any point of these sets gets, so that the
		// slice never grows inside the loop.
		hits := make([]geo.Hit, 0, 1024)
		var total, i int
		q := geo.PositionQuery{Alt: geo.Altitude{Metres: 50, Ref: geo.AGL}, At: benchAt}
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			q.Point = s.points[i]
			if i++; i == len(s.points) {
				i = 0
			}
			hits = s.ix.CheckPosition(q, hits[:0])
			total += len(hits)
		}
		cpu.report(b)
		b.ReportMetric(float64(total)/float64(b.N), "hits/op")
	})
}

// BenchmarkColumn: the column of one point at a fixed instant per op
// (Index.Column, what the server's position checks, stream and batch
// build), then its hits at 50 m AGL (Column.At), reusing both.
func BenchmarkColumn(b *testing.B) {
	eachIndex(b, func(b *testing.B, s *indexSet) {
		hits := make([]geo.Hit, 0, 1024)
		var c geo.Column
		var total, i int
		q := geo.PositionQuery{At: benchAt}
		alt := geo.Altitude{Metres: 50, Ref: geo.AGL}
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			q.Point = s.points[i]
			if i++; i == len(s.points) {
				i = 0
			}
			s.ix.Column(q, &c)
			hits = c.At(alt, hits[:0])
			total += len(hits)
		}
		cpu.report(b)
		b.ReportMetric(float64(total)/float64(b.N), "hits/op")
	})
}

// BenchmarkColumnAt: the hits of a column built before at the heights a
// BASIC position check asks of it (Column.At at 50 m AGL, at the ground for
// the height limit's first probe, and at every height for its breaks),
// the columns of up to 1,024 points taken in turn, reusing the hits: what
// At costs besides building the column, its sort of the hits included.
func BenchmarkColumnAt(b *testing.B) {
	eachIndex(b, func(b *testing.B, s *indexSet) {
		cols := make([]geo.Column, min(len(s.points), 1024))
		for i := range cols {
			s.ix.Column(geo.PositionQuery{Point: s.points[i], At: benchAt}, &cols[i])
		}
		hits := make([]geo.Hit, 0, 1024)
		alts := [3]geo.Altitude{{Metres: 50, Ref: geo.AGL}, {Metres: 0, Ref: geo.AGL}, {}}
		var total, i int
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			c := &cols[i]
			if i++; i == len(cols) {
				i = 0
			}
			for _, a := range alts {
				hits = c.At(a, hits[:0])
				total += len(hits)
			}
		}
		cpu.report(b)
		b.ReportMetric(float64(total)/float64(b.N), "hits/op")
	})
}

// BenchmarkCheckRoute: one route per op, as loadIndex describes.
func BenchmarkCheckRoute(b *testing.B) {
	eachIndex(b, func(b *testing.B, s *indexSet) {
		var total, i int
		b.ReportAllocs()
		for b.Loop() {
			hits, err := s.ix.CheckRoute(s.routes[i])
			if err != nil {
				b.Fatal(err)
			}
			if i++; i == len(s.routes) {
				i = 0
			}
			total += len(hits)
		}
		b.ReportMetric(float64(total)/float64(b.N), "hits/op")
	})
}

// BenchmarkRouteColumn: the column of one route per op (Index.RouteColumn,
// what the server's CheckFlightPlan measures its route and every leg's
// height limit from), then its check (RouteColumn.Check), on the shared
// 50,000-zone set with the plans noflybench sends: the first 20 waypoints
// of each shared route of 20 or more, 60 m AGL, a 50 m buffer.
func BenchmarkRouteColumn(b *testing.B) {
	s := loadIndex(b, "shared", 50_000)
	sh, err := sharedQueries()
	skipIfNoData(b, err)
	var routes []orb.LineString
	for _, r := range sh.Routes {
		if len(r) >= 20 {
			routes = append(routes, r[:20])
		}
	}
	qs := routeQueries(routes, 50)
	for i := range qs {
		for k := range qs[i].Waypoints {
			qs[i].Waypoints[k].Alt = 60
		}
	}
	var total, i int
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		c, err := s.ix.RouteColumn(qs[i])
		if err != nil {
			b.Fatal(err)
		}
		hits, err := c.Check()
		if err != nil {
			b.Fatal(err)
		}
		if i++; i == len(qs) {
			i = 0
		}
		total += len(hits)
	}
	cpu.report(b)
	b.ReportMetric(float64(total)/float64(b.N), "hits/op")
}

// BenchmarkNewIndex50k: building an index over 50,000 zones. "shared" reads
// the shared set's zones.geojson with geo.ReadFile and indexes it (load and
// index, as a reload does); "shared-index" and "synthetic-index" only index
// zones already in memory.
func BenchmarkNewIndex50k(b *testing.B) {
	b.Run("shared", func(b *testing.B) {
		sh, err := sharedQueries()
		skipIfNoData(b, err)
		path := sh.ZonesPath(50_000)
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			zs, err := geo.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := geo.NewIndex(zs); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(b)
	})
	b.Run("shared-index", func(b *testing.B) {
		sh, err := sharedQueries()
		skipIfNoData(b, err)
		zs := readZones(b, sh.ZonesPath(50_000), nil)
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			if _, err := geo.NewIndex(zs); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(b)
	})
	b.Run("synthetic-index", func(b *testing.B) {
		zs := syntheticZones(b, 50_000)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := geo.NewIndex(zs); err != nil {
				b.Fatal(err)
			}
		}
	})
}
