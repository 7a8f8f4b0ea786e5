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

// cellZones are the shapes the interior cells must get right: random
// stars (some with holes, some with thousands of vertices, some of two
// volumes, circles among them), tiny stars (1 cm to 1 m across, where
// cells reach their least size), huge ones (hundreds of kilometres), boxes
// whose sides run along cell boundaries, a polygon of two parts with a
// hole each, shapes near the poles and against the antimeridian (a box on
// either side of it, as the index takes such shapes: cut there), a thin
// sliver, and a ring with a
// horizontal and a vertical edge through its middle (a comb).
func cellZones(r *rand.Rand) []Zone {
	zs := randomZones(r, 300)
	add := func(id string, mp orb.MultiPolygon) {
		zs = append(zs, Zone{ID: id, Restriction: Prohibited, Volumes: []Volume{{
			Shape: Shape{Kind: ShapePolygon, Polygons: mp}, Lower: OpenLimit, Upper: OpenLimit}}})
	}
	box := func(x0, y0, x1, y1 float64) orb.Ring {
		return orb.Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
	}
	for i := 0; i < 40; i++ {
		c := randomPoint(r)
		add(fmt.Sprintf("TINY%02d", i), orb.MultiPolygon{{star(r, c, 0.005+r.Float64(), 8+r.IntN(30))}})
		add(fmt.Sprintf("HUGE%02d", i), orb.MultiPolygon{{star(r, c, 1e5+r.Float64()*4e5, 8+r.IntN(200))}})
	}
	add("BOX", orb.MultiPolygon{{box(4.5, 51.6, 4.75, 51.85)}})
	add("BOXHOLE", orb.MultiPolygon{{box(5.0, 51.5, 5.5, 52.0), box(5.125, 51.625, 5.25, 51.75)}})
	add("TWOPARTS", orb.MultiPolygon{
		{box(4.1, 51.5, 4.3, 51.7), box(4.15, 51.55, 4.2, 51.6)},
		{box(4.25, 51.65, 4.5, 51.9), box(4.3, 51.7, 4.4, 51.8)},
	})
	add("SLIVER", orb.MultiPolygon{{orb.Ring{{4, 52}, {6, 52.000001}, {6, 52.000002}, {4, 52}}}})
	add("COMB", orb.MultiPolygon{{orb.Ring{{5.6, 51.5}, {5.9, 51.5}, {5.9, 51.8}, {5.75, 51.8}, {5.75, 51.6},
		{5.7, 51.6}, {5.7, 51.8}, {5.6, 51.8}, {5.6, 51.5}}}})
	add("POLAR", orb.MultiPolygon{{star(r, orb.Point{20, 89.5}, 40000, 40)}})
	polar := orb.Ring{}
	for x := -179.0; x <= 179; x += 179.0 / 4 {
		polar = append(polar, orb.Point{x, 89})
	}
	for x := 179.0; x >= -179; x -= 179.0 / 4 {
		polar = append(polar, orb.Point{x, 89.999})
	}
	add("POLARBAND", orb.MultiPolygon{{append(polar, polar[0])}})
	add("ANTIMERIDIAN", orb.MultiPolygon{{box(179.5, -16.5, 180, -15.5)}, {box(-180, -16.5, -179.5, -15.5)}})
	add("ANTIMERIDIANSTAR", orb.MultiPolygon{{star(r, orb.Point{179.85, 65}, 3000, 30)}})
	zs = append(zs, Zone{ID: "POLARCIRCLE", Restriction: Prohibited, Volumes: []Volume{{
		Shape: Shape{Kind: ShapeCircle, Center: orb.Point{-179.99, 89.9}, Radius: 5000}, Lower: OpenLimit, Upper: OpenLimit}}})
	return zs
}

// cellProbes are points around v that the cells must get right: inside
// its box at random, its vertices, points on its edges and a few units in
// the last place to either side of them, points just off the edges by
// 10⁻¹², 10⁻⁹ and 10⁻⁷ degrees, and the corners of its cells with their
// neighbours in the last place (where the lookup's rounding decides the
// cell).
func cellProbes(r *rand.Rand, v *cvol, gv *gridVol) []orb.Point {
	b := v.bound
	var ps []orb.Point
	for i := 0; i < 60; i++ {
		ps = append(ps, orb.Point{b.Min[0] + r.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + r.Float64()*(b.Max[1]-b.Min[1])})
	}
	ulps := func(p orb.Point) {
		for k := 0; k < 3; k++ {
			d := [2]float64{r.Float64()*2 - 1, r.Float64()*2 - 1}
			q := p
			for j := 0; j < 1+r.IntN(4); j++ {
				q[0] = math.Nextafter(q[0], q[0]+d[0])
				q[1] = math.Nextafter(q[1], q[1]+d[1])
			}
			ps = append(ps, q)
		}
	}
	if v.kind == ShapePolygon {
		for _, pg := range v.poly.polys {
			for _, rg := range pg {
				for e := 0; e+1 < len(rg.pts); e++ {
					if len(rg.pts) > 200 && r.IntN(20) != 0 {
						continue
					}
					a, c := rg.pts[e], rg.pts[e+1]
					ps = append(ps, a)
					ulps(a)
					on := lerpLL(a, c, r.Float64())
					ps = append(ps, on)
					ulps(on)
					n := orb.Point{c[1] - a[1], a[0] - c[0]} // a normal, in degrees
					l := math.Hypot(n[0], n[1])
					if l == 0 {
						continue
					}
					for _, d := range []float64{1e-12, 1e-9, 1e-7} {
						for _, s := range []float64{-1, 1} {
							ps = append(ps, orb.Point{on[0] + s*d*n[0]/l, on[1] + s*d*n[1]/l})
						}
					}
				}
			}
		}
	} else {
		ps = append(ps, v.center)
	}
	if rs := gv.r; rs.w != 0 {
		for k := 0; k < 40; k++ {
			i, j := r.IntN(int(rs.w)+1), r.IntN(int(rs.h)+1)
			c := orb.Point{float64(rs.x0) + float64(i)/float64(rs.kx), float64(rs.y0) + float64(j)/float64(rs.ky)}
			ps = append(ps, c)
			ulps(c)
		}
	}
	return ps
}

// TestCellsMatchRingTest: wherever a volume's interior cells say in or
// out, the ring test (or a circle's own test) says the same, for every
// volume of cellZones at cellProbes; and the cells decide most random
// points of the big and small shapes alike.
func TestCellsMatchRingTest(t *testing.T) {
	r := rand.New(rand.NewPCG(20, 26))
	ix := mustIndex(t, cellZones(r)...)
	var probes, decided, in, rasters, random, randomDecided int
	for vi := range ix.vols {
		v, gv := &ix.vols[vi], &ix.grid.vols[vi]
		if gv.r.w != 0 {
			rasters++
			// How many points of the box the cells decide.
			b := v.bound
			for k := 0; k < 200; k++ {
				p := orb.Point{b.Min[0] + r.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + r.Float64()*(b.Max[1]-b.Min[1])}
				if random++; gv.r.mark(ix.grid.marks, p) != cellEdge {
					randomDecided++
				}
			}
		}
		for _, p := range cellProbes(r, v, gv) {
			if !pointOK(p) {
				continue
			}
			probes++
			mk := gv.r.mark(ix.grid.marks, p)
			if mk == cellEdge {
				continue
			}
			decided++
			want := v.containsPoint(p)
			if got := mk == cellIn; got != want {
				t.Fatalf("zone %s volume %d at %v: cells say in=%v, the ring test %v", ix.zones[v.zone].ID, v.vol, p, got, want)
			}
			if want {
				in++
			}
		}
	}
	t.Logf("%d volumes (%d with cells), %d probes, %d decided by the cells (%d in); %d of %d random points of the boxes decided",
		len(ix.vols), rasters, probes, decided, in, randomDecided, random)
	if in == 0 || decided == probes || randomDecided < random*2/3 {
		t.Errorf("the cells decide %d of %d probes (%d in), %d of %d random points: not what they are for", decided, probes, in, randomDecided, random)
	}
}

// TestCellsIndexMatchesBruteForce: CheckPosition and Column answer hit for
// hit (zone, heights, instant, caveats, order) what a scan of every
// volume with the ring test answers, at the probes of every volume of
// cellZones.
func TestCellsIndexMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(26, 20))
	ix := mustIndex(t, cellZones(r)...)
	brute := *ix
	brute.scanAll = true
	var c, cb Column
	hits := 0
	for vi := range ix.vols {
		ps := cellProbes(r, &ix.vols[vi], &ix.grid.vols[vi])
		// At most 80 of them, at random.
		r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		for _, p := range ps[:min(len(ps), 80)] {
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
			vs, vbs := slices.Clone(c.vols), slices.Clone(cb.vols)
			byVol := func(a, b colVol) int { return int(a.vi) - int(b.vi) }
			slices.SortFunc(vs, byVol)
			slices.SortFunc(vbs, byVol)
			if g, w := c.At(q.Alt, nil), cb.At(q.Alt, nil); !reflect.DeepEqual(g, w) || !slices.Equal(vs, vbs) {
				t.Fatalf("column at %v: index %v, brute force %v", p, hitIDs(g), hitIDs(w))
			}
		}
	}
	if hits == 0 {
		t.Fatal("no hits compared")
	}
	t.Logf("%d hits compared", hits)
}

// TestCellsMemory: the cells cost a bounded number of bytes per volume.
func TestCellsMemory(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ix := mustIndex(t, cellZones(r)...)
	for vi := range ix.grid.vols {
		rs := &ix.grid.vols[vi].r
		if n := int(rs.w) * int(rs.h); n > maxRasterCells+2*maxRasterSide {
			t.Errorf("volume %d: %d cells, more than %d", vi, n, maxRasterCells)
		}
	}
	if max := len(ix.vols) * (maxRasterCells + 2*maxRasterSide + 3) / 4; len(ix.grid.marks) > max {
		t.Errorf("%d bytes of marks for %d volumes, more than %d", len(ix.grid.marks), len(ix.vols), max)
	}
}
