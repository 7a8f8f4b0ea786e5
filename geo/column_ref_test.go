package geo

import (
	"encoding/binary"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// refColumn is the column as it was first built, kept as the reference the
// present one must answer like: the volumes in the order of the visit,
// every category, each At filtering the hits by category and sorting them.
type refColumn struct {
	ix   *Index
	q    PositionQuery
	vols []refColVol
}

type refColVol struct {
	vi   int32
	tcav Caveat
}

func (ix *Index) refColumn(q PositionQuery, c *refColumn) {
	c.ix, c.q, c.vols = ix, q, c.vols[:0]
	visit := func(vi int32, gv *gridVol, in bool) {
		var tcav Caveat
		if gv.flags&volPerm == 0 {
			var active bool
			if active, tcav = ix.act[gv.zone].activeAt(q.At); !active {
				return
			}
		}
		if !in && !ix.vols[vi].containsPoint(q.Point) {
			return
		}
		c.vols = append(c.vols, refColVol{vi: vi, tcav: tcav})
	}
	if ix.scanAll {
		for vi := range ix.vols {
			visit(int32(vi), &ix.grid.vols[vi], false)
		}
	} else {
		ix.grid.refEach(q.Point, visit)
	}
}

func (c *refColumn) at(alt Altitude, dst []Hit) []Hit {
	ix, start := c.ix, len(dst)
	for _, cv := range c.vols {
		v := &ix.grid.vols[cv.vi]
		if v.flags&volMulti != 0 && refHitsZone(dst[start:], ix.zones[v.zone]) {
			continue
		}
		band, ok, hcav := heightOverlap(alt.Metres, alt.Metres, alt.Ref, v.lower, v.upper)
		if !ok {
			continue
		}
		dst = append(dst, Hit{Zone: ix.zones[v.zone], Band: band, When: Instant(c.q.At), Caveats: hcav | cv.tcav,
			order: v.order()})
	}
	dst = dst[:start+len(byCategory(dst[start:], c.q.Category))]
	sortHits(dst[start:])
	return dst
}

// refCheckPosition is CheckPosition as it was when the reference column
// was kept.
func (ix *Index) refCheckPosition(q PositionQuery, dst []Hit) []Hit {
	start := len(dst)
	p := q.Point
	visit := func(vi int32, gv *gridVol, in bool) {
		if gv.flags&volMulti != 0 {
			for i := start; i < len(dst); i++ {
				if dst[i].Zone == ix.zones[gv.zone] {
					return
				}
			}
		}
		band, ok, hcav := heightOverlap(q.Alt.Metres, q.Alt.Metres, q.Alt.Ref, gv.lower, gv.upper)
		if !ok {
			return
		}
		var tcav Caveat
		if gv.flags&volPerm == 0 {
			var active bool
			if active, tcav = ix.act[gv.zone].activeAt(q.At); !active {
				return
			}
		}
		if !in && !ix.vols[vi].containsPoint(p) {
			return
		}
		dst = append(dst, Hit{Zone: ix.zones[gv.zone], Band: band, When: Instant(q.At), Caveats: hcav | tcav,
			order: gv.order()})
	}
	if ix.scanAll {
		for vi := range ix.vols {
			visit(int32(vi), &ix.grid.vols[vi], false)
		}
	} else {
		ix.grid.refEach(p, visit)
	}
	dst = dst[:start+len(byCategory(dst[start:], q.Category))]
	sortHits(dst[start:])
	return dst
}

// refEach is pointGrid.each as it was when the reference column was kept.
func (g *pointGrid) refEach(p orb.Point, fn func(vi int32, gv *gridVol, in bool)) {
	var b refEachBatch
	cx, cy := cellOf(p[0], p[1])
	if s, ok := g.cells.get(cellKey(cx, cy)); ok {
		n := s.end - s.start
		sh := fineShift(n)
		at := s.fine + uint32(fineCell(p, cx, cy, sh))*((n+3)/4)
		items := g.items[s.start:s.end]
		for q := uint32(0); q < n; q += 32 {
			w := binary.LittleEndian.Uint64(g.fine[at+q/4:])
			if rest := n - q; rest < 32 {
				w &= 1<<(2*rest) - 1
			}
			// The volumes not out: a bit set in their two.
			for set := (w | w>>1) & 0x5555555555555555; set != 0; set &= set - 1 {
				t := bits.TrailingZeros64(set)
				if b.add(items[q+uint32(t/2)], uint8(w>>t)&3) {
					b.refFlush(g, p, fn)
				}
			}
		}
	}
	if len(g.big) > 0 {
		x, y := float32(p[0]), float32(p[1])
		for i := range g.big {
			if it := &g.big[i]; x >= it.box[0] && y >= it.box[1] && x <= it.box[2] && y <= it.box[3] {
				if b.add(it.vi, cellEdge) {
					b.refFlush(g, p, fn)
				}
			}
		}
	}
	b.refFlush(g, p, fn)
}

// refEachBatch is eachBatch as it was.
type refEachBatch struct {
	touch uint64 // what the loads ahead of the ring tests read
	n     int
	vi    [32]int32
	mk    [32]uint8 // cellIn, or cellEdge: ask the volume
}

func (b *refEachBatch) add(vi int32, mk uint8) bool {
	b.vi[b.n] = vi
	b.mk[b.n] = mk
	b.n++
	return b.n == len(b.vi)
}

func (b *refEachBatch) refFlush(g *pointGrid, p orb.Point, fn func(vi int32, gv *gridVol, in bool)) {
	n := b.n
	b.n = 0
	var cell [32]int32 // the cell's index in its raster's marks, or -1
	for k := 0; k < n; k++ {
		if b.mk[k] == cellEdge {
			cell[k] = g.vols[b.vi[k]].r.cell(p)
		}
	}
	for k := 0; k < n; k++ {
		if b.mk[k] == cellEdge {
			if c := cell[k]; c >= 0 {
				off := g.vols[b.vi[k]].r.off
				b.mk[k] = g.marks[off+uint32(c)>>2] >> (c & 3 * 2) & 3
			}
		}
	}
	// The ring tests to come read the ring's vertices, and the band of
	// p's latitude with its list of edges: ask for all of them now, one
	// load a cache line, so that they arrive together rather than each
	// after the one it depends on.
	var touch uint64
	for k := 0; k < n; k++ {
		if b.mk[k] == cellEdge {
			v := &g.shapes[b.vi[k]]
			pts := v.pts
			if len(pts) == 0 {
				continue
			}
			for i := 0; i < len(pts); i += 4 {
				touch += math.Float64bits(pts[i][1])
			}
			touch += math.Float64bits(pts[len(pts)-1][1])
			if rb := &v.rb; rb.bands != nil {
				touch += uint64(rb.bands[rb.band(p[1])].start) + uint64(rb.edges[0]) + uint64(rb.edges[len(rb.edges)-1])
			}
		}
	}
	b.touch += touch
	for k := 0; k < n; k++ {
		if b.mk[k] != cellOut {
			fn(b.vi[k], &g.vols[b.vi[k]], b.mk[k] == cellIn)
		}
	}
}

func refHitsZone(hits []Hit, z *Zone) bool {
	for i := range hits {
		if hits[i].Zone == z {
			return true
		}
	}
	return false
}

// TestColumnMatchesReference: Column.At answers exactly as the reference
// column (every field of every hit, in order, after what dst held) on
// random zones of one and two volumes with categories, schedules and mixed
// height references, and on the shared 50,000-zone set when
// NOFLY_BENCH_DATA names it, and so does CheckPosition as the reference
// CheckPosition: points in and near the zones' boxes, random
// instants and categories, heights at, around and between the limits of
// every zone of the column, and none. Columns built again into one value
// and the Same relation are checked against the reference too.
func TestColumnMatchesReference(t *testing.T) {
	type set struct {
		name  string
		ix    func(t *testing.T, r *rand.Rand) *Index
		tries int
		multi bool // the set has zones of several volumes
	}
	sets := []set{
		{"rich", func(t *testing.T, r *rand.Rand) *Index {
			zones := richZones(r, 600, true)
			for i := range zones {
				if r.IntN(3) == 0 {
					zones[i].Categories = Category(1 + r.IntN(int(allCategories)))
				}
			}
			return mustIndex(t, zones...)
		}, 20_000, true},
		{"random", func(t *testing.T, r *rand.Rand) *Index { return mustIndex(t, randomZones(r, 600)...) }, 20_000, true},
		{"fine", func(t *testing.T, r *rand.Rand) *Index { return mustIndex(t, fineZones(r)...) }, 10_000, true},
	}
	if dir := os.Getenv("NOFLY_BENCH_DATA"); dir != "" && !testing.Short() {
		sets = append(sets, set{"shared50k", func(t *testing.T, r *rand.Rand) *Index {
			zs, err := ReadFile(filepath.Join(dir, "zones.geojson"))
			if err != nil {
				t.Fatal(err)
			}
			return mustIndex(t, zs...)
		}, 30_000, false})
	}
	for _, s := range sets {
		t.Run(s.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(77, uint64(len(s.name))))
			ix := s.ix(t, r)
			compareWithReference(t, r, ix, s.tries, s.multi)
		})
	}
}

func compareWithReference(t *testing.T, r *rand.Rand, ix *Index, tries int, wantMulti bool) {
	t.Helper()
	refs := []VerticalRef{RefUnknown, AGL, AMSL, WGS84}
	var c, prev Column
	var rc, rprev refColumn
	var got, want []Hit
	hits, multi, cats, same := 0, 0, 0, 0
	for i := 0; i < tries; i++ {
		var p orb.Point
		if r.IntN(5) == 0 {
			p = randomPoint(r)
		} else {
			// In or near a random zone's box.
			b := ix.vols[r.IntN(len(ix.vols))].bound
			dx, dy := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
			p = orb.Point{b.Min[0] + dx*(1.2*r.Float64()-0.1), b.Min[1] + dy*(1.2*r.Float64()-0.1)}
			if !pointOK(p) {
				continue
			}
		}
		q := PositionQuery{Point: p, At: t0.Add(time.Duration(r.IntN(200)-100) * time.Hour)}
		if r.IntN(3) == 0 {
			q.Category = Category(1 << r.IntN(3))
			cats++
		}
		if i%4 == 3 {
			q.Point = prev.q.Point // the same volumes again, maybe at another instant
		}
		ix.Column(q, &c)
		ix.refColumn(q, &rc)
		alts := []Altitude{{}, {Metres: float64(r.IntN(700) - 50)}, {Metres: r.Float64() * 400, Ref: refs[1+r.IntN(3)]}, {Metres: -5, Ref: AGL}}
		for _, cv := range rc.vols {
			v := &ix.grid.vols[cv.vi]
			if v.flags&volMulti != 0 {
				multi++
			}
			for _, l := range []Limit{v.lower, v.upper} {
				if !l.Open {
					for _, d := range []float64{-1e-3, 0, 1e-3} {
						alts = append(alts, Altitude{Metres: l.Metres + d, Ref: l.Ref}, Altitude{Metres: l.Metres + d, Ref: refs[1+r.IntN(3)]})
					}
				}
			}
		}
		for _, a := range alts {
			got = c.At(a, append(got[:0], Hit{Distance: 7}))
			want = rc.at(a, append(want[:0], Hit{Distance: 7}))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("point %v at %v, height %+v, category %v: column %v, reference %v", q.Point, q.At, a, q.Category, hitIDs(got[1:]), hitIDs(want[1:]))
			}
			qa := q
			qa.Alt = a
			got = ix.CheckPosition(qa, append(got[:0], Hit{Distance: 7}))
			want = ix.refCheckPosition(qa, append(want[:0], Hit{Distance: 7}))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("point %v at %v, height %+v, category %v: CheckPosition %v, reference %v", q.Point, q.At, a, q.Category, hitIDs(got[1:]), hitIDs(want[1:]))
			}
			hits += len(got) - 1
		}
		if i > 0 {
			wantSame := rprev.q.Category == rc.q.Category && reflect.DeepEqual(filterVols(&rprev), filterVols(&rc))
			if c.Same(&prev) != wantSame {
				t.Fatalf("point %v at %v: Same %v, reference %v", q.Point, q.At, c.Same(&prev), wantSame)
			}
			if wantSame {
				same++
			}
		}
		prev, c = c, prev
		prev.vols = append([]colVol(nil), prev.vols...)
		rprev, rc = rc, rprev
		rprev.vols = append([]refColVol(nil), rprev.vols...)
	}
	t.Logf("%d hits compared, %d multi-volume candidates, %d queries with a category, %d columns the Same as the last", hits, multi, cats, same)
	if hits < tries/2 || (wantMulti && multi == 0) || same < tries/20 {
		t.Fatalf("only %d hits compared, %d multi-volume candidates: the test does not reach the zones", hits, multi)
	}
}

// filterVols is the reference column's volumes that apply to its
// category, in the order of their hits: what makes two columns Same.
func filterVols(c *refColumn) []refColVol {
	var out []refColVol
	for _, cv := range c.vols {
		if z := c.ix.zones[c.ix.grid.vols[cv.vi].zone]; c.q.Category == 0 || z.Categories.AppliesTo(c.q.Category) {
			out = append(out, cv)
		}
	}
	// Stable by order key.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && c.ix.grid.vols[out[j].vi].order() < c.ix.grid.vols[out[j-1].vi].order(); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// BenchmarkColumnReference: Index.Column and Column.At at 50 m AGL (new)
// beside the reference column (ref) on the same index in one process, so
// that both read the same memory laid out alike: the shared 50,000-zone set
// (NOFLY_BENCH_DATA), one of 65,536 random points in its volumes' boxes per
// op, taken in turn; six runs of each, alternating.
func BenchmarkColumnReference(b *testing.B) {
	dir := os.Getenv("NOFLY_BENCH_DATA")
	if dir == "" {
		b.Skip("NOFLY_BENCH_DATA not set")
	}
	benchRefOnce.Do(func() {
		zs, err := ReadFile(filepath.Join(dir, "zones.geojson"))
		if err != nil {
			b.Fatal(err)
		}
		if benchRefIx, err = NewIndex(zs); err != nil {
			b.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		for len(benchRefPts) < 1<<16 {
			v := &benchRefIx.vols[r.IntN(len(benchRefIx.vols))]
			bd := v.bound
			benchRefPts = append(benchRefPts, orb.Point{bd.Min[0] + (bd.Max[0]-bd.Min[0])*r.Float64(), bd.Min[1] + (bd.Max[1]-bd.Min[1])*r.Float64()})
		}
	})
	ix, pts := benchRefIx, benchRefPts
	alt := Altitude{Metres: 50, Ref: AGL}
	run := func(b *testing.B, fn func(q PositionQuery, hits []Hit) []Hit) {
		hits := make([]Hit, 0, 1024)
		var total, i int
		q := PositionQuery{At: t0}
		b.ReportAllocs()
		runtime.LockOSThread()
		start, _ := threadCPU()
		for b.Loop() {
			q.Point = pts[i]
			if i++; i == len(pts) {
				i = 0
			}
			hits = fn(q, hits[:0])
			total += len(hits)
		}
		end, _ := threadCPU()
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(total)/float64(b.N), "hits/op")
	}
	for range 6 {
		b.Run("ref", func(b *testing.B) {
			var c refColumn
			run(b, func(q PositionQuery, hits []Hit) []Hit { ix.refColumn(q, &c); return c.at(alt, hits) })
		})
		b.Run("new", func(b *testing.B) {
			var c Column
			run(b, func(q PositionQuery, hits []Hit) []Hit { ix.Column(q, &c); return c.At(alt, hits) })
		})
		b.Run("refpos", func(b *testing.B) {
			run(b, func(q PositionQuery, hits []Hit) []Hit { q.Alt = alt; return ix.refCheckPosition(q, hits) })
		})
		b.Run("pos", func(b *testing.B) {
			run(b, func(q PositionQuery, hits []Hit) []Hit { q.Alt = alt; return ix.CheckPosition(q, hits) })
		})
	}
}

var (
	benchRefOnce sync.Once
	benchRefIx   *Index
	benchRefPts  []orb.Point
)
