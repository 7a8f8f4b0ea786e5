package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/paulmach/orb"
)

// fineZones adds to cellZones shapes that test the fine cells: boxes whose
// sides run along fine-cell and cell boundaries (at every cut the grid
// uses), a box ending a few units in the last place short of a fine-cell
// boundary, a cluster of small stars and circles in one cell (so that its
// list is long and cut finest), stars straddling a cell corner, a star
// with a hole and a polygon of two parts across several cells, and a zone
// of two volumes.
func fineZones(r *rand.Rand) []Zone {
	zs := cellZones(r)
	add := func(id string, mp orb.MultiPolygon) {
		zs = append(zs, Zone{ID: id, Restriction: Prohibited, Volumes: []Volume{{
			Shape: Shape{Kind: ShapePolygon, Polygons: mp}, Lower: OpenLimit, Upper: OpenLimit}}})
	}
	box := func(x0, y0, x1, y1 float64) orb.Ring {
		return orb.Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
	}
	// Cell (100, 1040): lon 5.00..5.05, lat 52.00..52.05.
	cx, cy := 100.0*gridDeg, 1040.0*gridDeg
	for sh := 2; sh <= 4; sh++ {
		f := gridDeg / float64(int(1)<<sh)
		add(fmt.Sprintf("FINEBOX%d", sh), orb.MultiPolygon{{box(cx+f, cy+2*f, cx+3*f, cy+3*f)}})
	}
	short := math.Nextafter(math.Nextafter(cx+5*gridDeg/16, 0), 0)
	add("SHORTBOX", orb.MultiPolygon{{box(cx+gridDeg/16, cy+gridDeg/16, short, cy+5*gridDeg/16)}})
	add("CELLBOX", orb.MultiPolygon{{box(cx-gridDeg, cy-gridDeg, cx+gridDeg, cy+gridDeg)}})
	for i := 0; i < 24; i++ {
		c := orb.Point{cx + r.Float64()*gridDeg, cy + r.Float64()*gridDeg}
		if i%4 == 0 {
			zs = append(zs, Zone{ID: fmt.Sprintf("DENSEC%02d", i), Restriction: Prohibited, Volumes: []Volume{{
				Shape: Shape{Kind: ShapeCircle, Center: c, Radius: 0.01 + r.Float64()*800}, Lower: OpenLimit, Upper: OpenLimit}}})
			continue
		}
		add(fmt.Sprintf("DENSE%02d", i), orb.MultiPolygon{{star(r, c, 20+r.Float64()*1500, 5+r.IntN(40))}})
	}
	for i := 0; i < 4; i++ {
		c := orb.Point{cx + float64(i%2)*gridDeg, cy + float64(i/2)*gridDeg}
		add(fmt.Sprintf("CORNER%d", i), orb.MultiPolygon{{star(r, c, 500+r.Float64()*3000, 6+r.IntN(30))}})
	}
	holed := orb.Polygon{star(r, orb.Point{cx + 0.02, cy + 0.03}, 4000, 30)}
	hole := star(r, orb.Point{cx + 0.02, cy + 0.03}, 1500, 12)
	slices.Reverse(hole)
	add("HOLED", orb.MultiPolygon{append(holed, hole)})
	add("PARTS", orb.MultiPolygon{{star(r, orb.Point{cx - 0.03, cy}, 2500, 20)}, {star(r, orb.Point{cx + 0.08, cy + 0.04}, 2500, 20)}})
	zs = append(zs, Zone{ID: "TWOVOLS", Restriction: Prohibited, Volumes: []Volume{
		{Shape: Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{star(r, orb.Point{cx + 0.01, cy + 0.01}, 1200, 16)}}},
			Lower: OpenLimit, Upper: Limit{Metres: 100, Ref: AGL}},
		{Shape: Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{star(r, orb.Point{cx + 0.015, cy + 0.012}, 1500, 16)}}},
			Lower: Limit{Metres: 50, Ref: AGL}, Upper: OpenLimit},
	}})
	return zs
}

// fineProbes are points of every listed cell that the fine cells must get
// right: the corners of its fine cells at every cut and their neighbours a
// few units in the last place away, points on the cell's own boundary, and
// points at random.
func fineProbes(r *rand.Rand, ix *Index) []orb.Point {
	var ps []orb.Point
	ulps := func(p orb.Point) {
		ps = append(ps, p)
		for k := 0; k < 2; k++ {
			q := p
			for j := 0; j < 1+r.IntN(3); j++ {
				q[0] = math.Nextafter(q[0], q[0]+r.Float64()*2-1)
				q[1] = math.Nextafter(q[1], q[1]+r.Float64()*2-1)
			}
			ps = append(ps, q)
		}
	}
	for _, sl := range ix.grid.cells.slots {
		if sl.end == 0 {
			continue
		}
		x0, y0 := float64(int16(sl.key>>16))*gridDeg, float64(int16(sl.key))*gridDeg
		for k := 0; k < 6; k++ {
			side := 1 << (2 + r.IntN(3))
			i, j := r.IntN(side+1), r.IntN(side+1)
			ulps(orb.Point{x0 + float64(i)*gridDeg/float64(side), y0 + float64(j)*gridDeg/float64(side)})
			ulps(orb.Point{x0 + float64(i)/fineK[2+r.IntN(3)], y0 + r.Float64()*gridDeg})
			ps = append(ps, orb.Point{x0 + r.Float64()*gridDeg, y0 + r.Float64()*gridDeg})
		}
		ulps(orb.Point{x0, y0 + r.Float64()*gridDeg})
		ulps(orb.Point{x0 + gridDeg, y0 + r.Float64()*gridDeg})
	}
	return ps
}

// TestFineCellsMatchRingTest: the grid visits, in the order of the cell's
// list and then big, exactly the volumes whose shape holds the point (the
// ring test, or a circle's own test, on every volume listed in the point's
// cell), less none, and every volume it says is in holds the point. At
// fineProbes and the cellProbes of every volume of fineZones (150,000 of
// them at random with -short).
func TestFineCellsMatchRingTest(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 4))
	ix := mustIndex(t, fineZones(r)...)
	g := &ix.grid
	ps := fineProbes(r, ix)
	for vi := range ix.vols {
		ps = append(ps, cellProbes(r, &ix.vols[vi], &g.vols[vi])...)
	}
	if testing.Short() {
		r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		ps = ps[:min(len(ps), 150_000)]
	}
	var compared, visited, known, held int
	for _, p := range ps {
		if !pointOK(p) {
			continue
		}
		// What the grid should find: the volumes listed in p's cell whose
		// shape holds p, then those of big whose box holds p.
		var want []int32
		cx, cy := cellOf(p[0], p[1])
		if s, ok := g.cells.get(cellKey(cx, cy)); ok {
			for _, vi := range g.items[s.start:s.end] {
				if ix.vols[vi].containsPoint(p) {
					want = append(want, vi)
				}
			}
		}
		x, y := float32(p[0]), float32(p[1])
		for _, it := range g.big {
			if x >= it.box[0] && y >= it.box[1] && x <= it.box[2] && y <= it.box[3] && ix.vols[it.vi].containsPoint(p) {
				want = append(want, it.vi)
			}
		}
		var got []int32
		g.each(p, func(vi int32, _ *gridVol, in bool) {
			visited++
			holds := ix.vols[vi].containsPoint(p)
			if in {
				known++
				if !holds {
					t.Fatalf("at %v: the grid says volume %d (zone %s) holds the point, the ring test does not", p, vi, ix.zones[ix.vols[vi].zone].ID)
				}
			}
			if holds {
				got = append(got, vi)
			}
		})
		if !slices.Equal(got, want) {
			t.Fatalf("at %v: the grid finds volumes %v, the ring test on the cell's list %v", p, got, want)
		}
		compared++
		held += len(want)
	}
	t.Logf("%d points, %d volumes visited (%d known in), %d holding", compared, visited, known, held)
	if known == 0 || held == 0 || known == visited {
		t.Errorf("known in %d of %d visits, %d holding: the probes miss what the fine cells decide", known, visited, held)
	}
}

// TestFineCellsIndexMatchesBruteForce: CheckPosition and Column answer
// hit for hit what a scan of every volume with the ring test answers, at
// fineProbes of fineZones (20,000 of them), at random heights.
func TestFineCellsIndexMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 16))
	ix := mustIndex(t, fineZones(r)...)
	brute := *ix
	brute.scanAll = true
	var c, cb Column
	hits := 0
	ps := fineProbes(r, ix)
	// The brute force visits every volume: 20,000 of the probes, at random.
	r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
	for _, p := range ps[:min(len(ps), 20_000)] {
		if !pointOK(p) {
			continue
		}
		q := PositionQuery{Point: p, At: t0, Alt: Altitude{Metres: float64(r.IntN(300)), Ref: AGL}}
		got, want := ix.CheckPosition(q, nil), brute.CheckPosition(q, nil)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("position %v: index %v, brute force %v", p, hitIDs(got), hitIDs(want))
		}
		hits += len(got)
		ix.Column(q, &c)
		brute.Column(q, &cb)
		if g, w := c.At(q.Alt, nil), cb.At(q.Alt, nil); !reflect.DeepEqual(g, w) {
			t.Fatalf("column at %v: index %v, brute force %v", p, hitIDs(g), hitIDs(w))
		}
	}
	if hits == 0 {
		t.Fatal("no hits compared")
	}
	t.Logf("%d hits compared", hits)
}

// TestFineCellsMemory: a cell's fine marks take at most 64 bytes a volume
// listed in it (two bits in each of at most 16 × 16 fine cells), rounded
// up to whole bytes a fine cell.
func TestFineCellsMemory(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ix := mustIndex(t, fineZones(r)...)
	g := &ix.grid
	max := 8
	for _, sl := range g.cells.slots {
		if sl.end != 0 {
			n := int(sl.end - sl.start)
			max += 256 * ((n + 3) / 4)
		}
	}
	if len(g.fine) > max || len(g.fine) > 8+64*len(g.items)+256*3*len(g.cells.slots) {
		t.Errorf("%d bytes of fine marks for %d listed volumes", len(g.fine), len(g.items))
	}
}
