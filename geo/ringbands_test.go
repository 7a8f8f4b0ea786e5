package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// comb is a closed ring of n teeth pointing north from a base at lat: each
// tooth is h degrees tall and w wide, with gaps of w between teeth, so that
// every tooth's vertical edges cross every latitude of the teeth and the
// horizontal edges lie on a few latitudes shared by many edges.
func comb(lon, lat, w, h float64, n int) orb.Ring {
	r := orb.Ring{{lon, lat - h/4}}
	for k := 0; k < n; k++ {
		x := lon + 2*w*float64(k)
		r = append(r, orb.Point{x, lat}, orb.Point{x, lat + h}, orb.Point{x + w, lat + h}, orb.Point{x + w, lat})
	}
	r = append(r, orb.Point{lon + 2*w*float64(n), lat - h/4})
	return append(r, r[0])
}

// testRings are small rings of the shapes that stress bands: stars of all
// sizes that get bands, combs, and a ring whose vertices sit on its band
// boundaries.
func testRings(r *rand.Rand) map[string]orb.Ring {
	rings := map[string]orb.Ring{
		"comb 8 teeth":  comb(5, 52, 0.001, 0.01, 8),
		"comb 15 teeth": comb(5, 52, 0.0003, 0.02, 15),
		"wide comb":     comb(5, 52, 0.01, 0.0005, 12),
	}
	for i := 0; i < 40; i++ {
		n := 2*bandEdges + r.IntN(bigRing-2*bandEdges+1)
		rings[fmt.Sprintf("star %d (%d)", i, n)] = star(r, orb.Point{4 + 2*r.Float64(), 51.5 + r.Float64()}, 100+8000*r.Float64(), n)
	}
	// A zigzag whose every vertex lies on a band boundary: 12 bands from
	// 52.0 to 52.12, vertices at multiples of 0.01 degrees.
	var zz orb.Ring
	for k := 0; k <= 12; k++ {
		zz = append(zz, orb.Point{5 + 0.002*float64(k%2), 52 + 0.01*float64(k)})
	}
	for k := 12; k >= 0; k-- {
		zz = append(zz, orb.Point{5.01 + 0.002*float64(k%2), 52 + 0.01*float64(k)})
	}
	rings["zigzag on band boundaries"] = append(zz, zz[0])
	return rings
}

// plainEdgesNear is the plain pass's answer to ringBands.edgesNear.
func plainEdgesNear(pts []orb.Point, q orb.Bound) []uint8 {
	var out []uint8
	for i := 0; i+1 < len(pts); i++ {
		if (orb.Bound{Min: pts[i], Max: pts[i]}).Extend(pts[i+1]).Intersects(q) {
			out = append(out, uint8(i))
		}
	}
	return out
}

// probeLats are latitudes where bands are most likely to go wrong: every
// vertex's, every band boundary's and the values beside them.
func probeLats(pts []orb.Point, rb *ringBands) []float64 {
	var lats []float64
	for _, p := range pts {
		lats = append(lats, p[1], math.Nextafter(p[1], 90), math.Nextafter(p[1], -90))
	}
	for k := 0; k <= len(rb.bands); k++ {
		y := rb.min + float64(k)/rb.inv
		lats = append(lats, y, math.Nextafter(y, 90), math.Nextafter(y, -90))
	}
	return lats
}

// TestRingBandsHoldMatchesPlain: the crossing-number test over a point's
// band answers what the test over every edge answers, at random points, at
// vertices, on edges, and on and beside every band boundary.
func TestRingBandsHoldMatchesPlain(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for name, pts := range testRings(r) {
		rb := newRingBands(pts)
		if rb.bands == nil {
			t.Fatalf("%s: %d edges and no bands", name, len(pts)-1)
		}
		b := orb.MultiPoint(pts).Bound()
		w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
		var probes []orb.Point
		for i := 0; i < 2000; i++ {
			probes = append(probes, orb.Point{b.Min[0] - w/10 + 1.2*w*r.Float64(), b.Min[1] - h/10 + 1.2*h*r.Float64()})
		}
		for i := 0; i+1 < len(pts); i++ {
			probes = append(probes, pts[i], lerpLL(pts[i], pts[i+1], 0.5), lerpLL(pts[i], pts[i+1], r.Float64()))
		}
		for _, lat := range probeLats(pts, &rb) {
			for k := 0; k < 20; k++ {
				probes = append(probes, orb.Point{b.Min[0] - w/10 + 1.2*w*r.Float64(), lat})
			}
		}
		var in int
		for _, p := range probes {
			got, want := rb.hold(pts, p), ptsHold(pts, p)
			if got != want {
				t.Fatalf("%s: %v: bands say inside %v, every edge %v", name, p, got, want)
			}
			if got {
				in++
			}
		}
		if in == 0 || in == len(probes) {
			t.Fatalf("%s: %d of %d probes inside: the probes test nothing", name, in, len(probes))
		}
	}
}

// TestRingBandsEdgesNearMatchesPlain: the bands' walk finds exactly the
// edges whose box meets a box, each once: random boxes of all sizes,
// points, boxes bounded by band boundaries and vertex latitudes, boxes
// ending exactly at a vertex, boxes beyond the ring and boxes spanning
// every longitude.
func TestRingBandsEdgesNearMatchesPlain(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for name, pts := range testRings(r) {
		rb := newRingBands(pts)
		b := orb.MultiPoint(pts).Bound()
		w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
		randLon := func() float64 { return b.Min[0] - w/4 + 1.5*w*r.Float64() }
		randLat := func() float64 { return b.Min[1] - h/4 + 1.5*h*r.Float64() }
		lats := probeLats(pts, &rb)
		var boxes []orb.Bound
		for i := 0; i < 3000; i++ {
			var q orb.Bound
			switch i % 6 {
			case 0: // a point
				p := orb.Point{randLon(), randLat()}
				q = orb.Bound{Min: p, Max: p}
			case 1: // a small box, as of a short leg
				p := orb.Point{randLon(), randLat()}
				q = orb.Bound{Min: p, Max: orb.Point{p[0] + w*r.Float64()/10, p[1] + h*r.Float64()/10}}
			case 2: // between probe latitudes
				y0, y1 := lats[r.IntN(len(lats))], lats[r.IntN(len(lats))]
				q = orb.Bound{Min: orb.Point{randLon(), math.Min(y0, y1)}, Max: orb.Point{0, math.Max(y0, y1)}}
				q.Max[0] = q.Min[0] + w*r.Float64()
			case 3: // every longitude, as near a pole or the antimeridian
				y := randLat()
				q = orb.Bound{Min: orb.Point{-180, y}, Max: orb.Point{180, y + h*r.Float64()/3}}
			case 4: // ending exactly at a vertex, on one side or the other: an
				// edge's box that only touches q (the quanta must keep it)
				p := pts[r.IntN(len(pts))]
				dx, dy := w*r.Float64()/50, h*r.Float64()/50
				switch r.IntN(4) {
				case 0:
					q = orb.Bound{Min: orb.Point{p[0] - dx, p[1] - dy}, Max: p}
				case 1:
					q = orb.Bound{Min: p, Max: orb.Point{p[0] + dx, p[1] + dy}}
				case 2:
					q = orb.Bound{Min: orb.Point{p[0] - dx, p[1]}, Max: orb.Point{p[0], p[1] + dy}}
				default:
					q = orb.Bound{Min: orb.Point{p[0], p[1] - dy}, Max: orb.Point{p[0] + dx, p[1]}}
				}
			default: // any box
				x0, x1, y0, y1 := randLon(), randLon(), randLat(), randLat()
				q = orb.Bound{Min: orb.Point{math.Min(x0, x1), math.Min(y0, y1)}, Max: orb.Point{math.Max(x0, x1), math.Max(y0, y1)}}
			}
			boxes = append(boxes, q)
		}
		var found int
		for _, q := range boxes {
			got := rb.edgesNear(pts, q, nil)
			slices.Sort(got)
			want := plainEdgesNear(pts, q)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: box %v: bands give edges %v, every edge %v", name, q, got, want)
			}
			found += len(want)
		}
		if found == 0 {
			t.Fatalf("%s: no box met an edge", name)
		}
	}
}

// TestRingBandsSmallRings: rings too small for bands have none, and a ring
// of one latitude (a degenerate, flat ring) has none either.
func TestRingBandsSmallRings(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	if rb := newRingBands(star(r, orb.Point{5, 52}, 1000, 2*bandEdges-1)); rb.bands != nil {
		t.Errorf("%d edges got %d bands", 2*bandEdges-1, len(rb.bands))
	}
	flat := orb.Ring{{5, 52}, {5.1, 52}, {5.2, 52}, {5.3, 52}}
	for len(flat) < 30 {
		flat = append(flat, orb.Point{5.3 - 0.01*float64(len(flat)), 52})
	}
	flat = append(flat, flat[0])
	if rb := newRingBands(flat); rb.bands != nil {
		t.Errorf("a flat ring got %d bands", len(rb.bands))
	}
	if rb := newRingBands(star(r, orb.Point{5, 52}, 1000, 2*bandEdges)); len(rb.bands) != 2 {
		t.Errorf("%d edges got %d bands, want 2", 2*bandEdges, len(rb.bands))
	}
}

// withoutBands is ix with every small ring's bands removed, so that every
// check takes the plain pass over all edges.
func withoutBands(ix *Index) *Index {
	plain := *ix
	plain.vols = slices.Clone(ix.vols)
	for i := range plain.vols {
		plain.vols[i].rb = ringBands{}
	}
	return &plain
}

// TestBandedChecksMatchPlain: routes, areas and positions answer exactly
// the same with bands as with the plain pass over every edge — zones,
// legs, distances, heights — over random zones, combs, and zones beside the
// antimeridian and far north; on random routes and on routes through
// vertices and edges.
func TestBandedChecksMatchPlain(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	zones := randomZones(r, 300)
	combs := []struct {
		at   orb.Point
		w, h float64
		n    int
	}{
		{orb.Point{5.1, 52.1}, 0.002, 0.03, 10},
		{orb.Point{4.6, 51.8}, 0.0005, 0.01, 15},
		{orb.Point{179.95, -16.5}, 0.001, 0.02, 8},   // beside the antimeridian
		{orb.Point{-179.999, 64.1}, 0.0001, 0.01, 8}, // beside it, west
		{orb.Point{20, 84.5}, 0.01, 0.05, 12},        // far north
	}
	for i, c := range combs {
		zones = append(zones, polyZone(fmt.Sprintf("COMB%d", i), comb(c.at[0], c.at[1], c.w, c.h, c.n)))
	}
	ix := mustIndex(t, zones...)
	plain := withoutBands(ix)
	banded := 0
	for i := range ix.vols {
		if ix.vols[i].rb.bands != nil {
			banded++
		}
	}
	if banded < 100 {
		t.Fatalf("only %d volumes have bands", banded)
	}
	var onEdge []orb.Point
	for _, z := range zones {
		for _, v := range z.Volumes {
			if v.Shape.Kind == ShapePolygon {
				ring := v.Shape.Polygons[0][0]
				i := r.IntN(len(ring) - 1)
				onEdge = append(onEdge, ring[i], lerpLL(ring[i], ring[i+1], r.Float64()))
			}
		}
	}
	check := func(what string, q RouteQuery) {
		t.Helper()
		got, err := ix.CheckRoute(q)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := plain.CheckRoute(q)
		if g, w := hitLegs(got), hitLegs(want); !slices.Equal(g, w) {
			t.Fatalf("%s: bands %v, plain %v", what, g, w)
		}
	}
	var hits int
	for i := 0; i < 400; i++ {
		q := randomRoute(r)
		check(fmt.Sprintf("random route %d", i), q)
		got, _ := ix.CheckRoute(q)
		hits += len(got)
	}
	for i := 0; i < 400; i++ {
		q := RouteQuery{AltRef: AGL, Buffer: float64(r.IntN(3)) * 20, Window: TimeWindow{t0, t0.Add(time.Hour)}}
		p := onEdge[r.IntN(len(onEdge))]
		for k := 0; k < 2+r.IntN(8); k++ {
			if k%2 == 1 {
				if e := onEdge[r.IntN(len(onEdge))]; Distance(e, p) < 20000 {
					p = e
				}
			} else {
				f := newFrame(p[0], p[1])
				p = f.lonlat(vec{r.NormFloat64() * 500, r.NormFloat64() * 500})
			}
			q.Waypoints = append(q.Waypoints, Waypoint{Point: p, Alt: float64(r.IntN(200))})
		}
		check(fmt.Sprintf("route %d through edges and vertices", i), q)
	}
	for i, c := range combs {
		for k := 0; k < 40; k++ {
			f := newFrame(c.at[0], c.at[1])
			q := RouteQuery{AltRef: AGL, Buffer: float64(r.IntN(4)) * 15, Window: TimeWindow{t0, t0.Add(time.Hour)}}
			for j := 0; j < 2+r.IntN(10); j++ {
				q.Waypoints = append(q.Waypoints, Waypoint{Point: f.lonlat(vec{r.NormFloat64() * 1500, r.NormFloat64() * 1500}), Alt: 50})
			}
			if lon := q.Waypoints[0].Point[0]; math.Abs(lon) > 180 {
				continue
			}
			ok := true
			for _, w := range q.Waypoints {
				ok = ok && pointOK(w.Point)
			}
			if ok {
				check(fmt.Sprintf("route %d across comb %d", k, i), q)
			}
		}
	}
	for i := 0; i < 200; i++ {
		c := randomPoint(r)
		q := AreaQuery{Buffer: float64(r.IntN(300)), Band: Band{Lower: 0, Upper: 120, Ref: AGL}, Window: TimeWindow{t0, t0.Add(2 * time.Hour)}}
		q.Area = Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{star(r, c, 100+8000*r.Float64(), 3+r.IntN(30))}}}
		got, err := ix.CheckArea(q)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := plain.CheckArea(q)
		if g, w := hitLegs(got), hitLegs(want); !slices.Equal(g, w) {
			t.Fatalf("area %d: bands %v, plain %v", i, g, w)
		}
	}
	for i := 0; i < 3000; i++ {
		p := randomPoint(r)
		if i%3 == 0 {
			p = onEdge[r.IntN(len(onEdge))]
		}
		q := PositionQuery{Point: p, At: t0}
		if got, want := hitIDs(ix.CheckPosition(q, nil)), hitIDs(plain.CheckPosition(q, nil)); !slices.Equal(got, want) {
			t.Fatalf("position %v: bands %v, plain %v", p, got, want)
		}
	}
	if hits == 0 {
		t.Fatal("no random route met a zone: the comparison proves nothing")
	}
}
