package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// randomZones makes n zones around (5, 52): star-shaped polygons (some
// with thousands of vertices, some with a hole), circles, zones of two
// volumes, mixed height limits and references, and some schedules.
func randomZones(r *rand.Rand, n int) []Zone {
	var zones []Zone
	for i := 0; i < n; i++ {
		c := orb.Point{4 + 2*r.Float64(), 51.5 + r.Float64()}
		z := Zone{ID: fmt.Sprintf("Z%04d", i), Restriction: Restriction(1 + r.IntN(4))}
		nv := 1 + r.IntN(4)/3 // mostly one volume
		for v := 0; v < nv; v++ {
			vol := Volume{Lower: OpenLimit, Upper: OpenLimit}
			switch r.IntN(4) {
			case 0:
				vol.Lower = Limit{Metres: 0, Ref: AGL}
				vol.Upper = Limit{Metres: float64(50 + r.IntN(200)), Ref: AGL}
			case 1:
				vol.Lower = Limit{Metres: float64(30 + r.IntN(100)), Ref: AGL}
			case 2:
				vol.Upper = Limit{Metres: float64(100 + r.IntN(300)), Ref: AMSL}
			}
			radius := 200 + r.Float64()*8000
			if r.IntN(3) == 0 {
				vol.Shape = Shape{Kind: ShapeCircle, Center: c, Radius: radius}
			} else {
				nvert := 8 + r.IntN(40)
				if r.IntN(20) == 0 {
					nvert = 2000 + r.IntN(3000)
				}
				outer := star(r, c, radius, nvert)
				poly := orb.Polygon{outer}
				if r.IntN(5) == 0 {
					hole := star(r, c, radius*0.2, 8)
					slices.Reverse(hole)
					poly = append(poly, hole)
				}
				vol.Shape = Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{poly}}
			}
			z.Volumes = append(z.Volumes, vol)
			c = orb.Point{c[0] + 0.02, c[1] + 0.01}
		}
		if r.IntN(4) == 0 {
			z.Applicability.Periods = []Period{{
				Start: t0.Add(-time.Duration(r.IntN(48)) * time.Hour),
				End:   t0.Add(time.Duration(r.IntN(48)) * time.Hour),
				Schedule: []DailyPeriod{{Days: Weekdays(1 + r.IntN(127)),
					Start: int32(r.IntN(86400)), End: int32(r.IntN(86400))}},
			}}
		}
		zones = append(zones, z)
	}
	return zones
}

// star is a closed counter-clockwise star-shaped ring around c.
func star(r *rand.Rand, c orb.Point, radius float64, n int) orb.Ring {
	f := newFrame(c[0], c[1])
	ring := make(orb.Ring, 0, n+1)
	a0 := r.Float64() * 2 * math.Pi
	for k := 0; k < n; k++ {
		ang := a0 + 2*math.Pi*(float64(k)+0.8*(r.Float64()-0.5))/float64(n)
		rr := radius * (0.35 + 0.65*r.Float64())
		ring = append(ring, f.lonlat(vec{rr * math.Cos(ang), rr * math.Sin(ang)}))
	}
	return append(ring, ring[0])
}

func hitIDs(h []Hit) []string {
	var ids []string
	for _, x := range h {
		ids = append(ids, x.Zone.ID)
	}
	slices.Sort(ids)
	return ids
}

// hitLegs describes each hit by zone, legs, closest approach (to the
// centimetre) and heights.
func hitLegs(h []Hit) []string {
	var out []string
	for _, x := range h {
		out = append(out, fmt.Sprintf("%s%v %.2f %v", x.Zone.ID, x.Legs, x.Distance, x.Band))
	}
	slices.Sort(out)
	return out
}

func randomPoint(r *rand.Rand) orb.Point {
	return orb.Point{4 + 2.2*r.Float64(), 51.4 + 1.2*r.Float64()}
}

func randomRoute(r *rand.Rand) RouteQuery {
	p := randomPoint(r)
	q := RouteQuery{Buffer: float64(r.IntN(500)), AltRef: AGL,
		Window: TimeWindow{t0.Add(-time.Duration(r.IntN(72)) * time.Hour), t0.Add(time.Duration(r.IntN(72)) * time.Hour)}}
	f := newFrame(p[0], p[1])
	for k := 0; k < 2+r.IntN(20); k++ {
		q.Waypoints = append(q.Waypoints, Waypoint{Point: f.lonlat(vec{r.NormFloat64() * 3000 * float64(k), r.NormFloat64() * 3000 * float64(k)}), Alt: float64(r.IntN(300))})
	}
	return q
}

// TestIndexMatchesBruteForce: on random queries the R-tree answers exactly
// what a scan of every volume answers, which also tests every containment
// of every segment afresh.
func TestIndexMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	zones := randomZones(r, 400)
	ix := mustIndex(t, zones...)
	brute := *ix
	brute.scanAll = true
	brute.noCarry = true
	for i := 0; i < 3000; i++ {
		q := PositionQuery{Point: randomPoint(r), At: t0.Add(time.Duration(r.IntN(100)-50) * time.Hour)}
		if r.IntN(2) == 0 {
			q.Alt = Altitude{Metres: float64(r.IntN(400)), Ref: VerticalRef(1 + r.IntN(3))}
		}
		got, want := hitIDs(ix.CheckPosition(q, nil)), hitIDs(brute.CheckPosition(q, nil))
		if !slices.Equal(got, want) {
			t.Fatalf("position %+v: index %v, brute force %v", q, got, want)
		}
	}
	for i := 0; i < 300; i++ {
		q := randomRoute(r)
		got, err := ix.CheckRoute(q)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := brute.CheckRoute(q)
		if g, w := hitLegs(got), hitLegs(want); !slices.Equal(g, w) {
			t.Fatalf("route %d: index %v, brute force %v", i, g, w)
		}
	}
	for i := 0; i < 200; i++ {
		c := randomPoint(r)
		q := AreaQuery{Buffer: float64(r.IntN(300)), Band: Band{Lower: 0, Upper: 120, Ref: AGL}, Window: TimeWindow{t0, t0.Add(2 * time.Hour)}}
		if i%2 == 0 {
			q.Area = Shape{Kind: ShapeCircle, Center: c, Radius: 100 + 5000*r.Float64()}
		} else {
			q.Area = Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{star(r, c, 100+8000*r.Float64(), 3+r.IntN(30))}}}
		}
		got, err := ix.CheckArea(q)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := brute.CheckArea(q)
		if !slices.Equal(hitIDs(got), hitIDs(want)) {
			t.Fatalf("area %d: index %v, brute force %v", i, hitIDs(got), hitIDs(want))
		}
	}
}

// TestLargerBufferNeverFindsFewer: a wider buffer finds a superset.
func TestLargerBufferNeverFindsFewer(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ix := mustIndex(t, randomZones(r, 300)...)
	for i := 0; i < 300; i++ {
		q := randomRoute(r)
		small, _ := ix.CheckRoute(q)
		q.Buffer += float64(1 + r.IntN(2000))
		large, _ := ix.CheckRoute(q)
		for _, id := range hitIDs(small) {
			if !slices.Contains(hitIDs(large), id) {
				t.Fatalf("route %d: %s hit with buffer %v m but not with %v m", i, id, q.Buffer, q.Buffer)
			}
		}
	}
}

// TestBigRingContainsMatchesPlanar: the banded containment test of big
// rings agrees with orb's plain one.
func TestBigRingContainsMatchesPlanar(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{100, 5000} {
		ringPts := star(r, orb.Point{7, 46}, 20000, n)
		rg := newRing(ringPts)
		if rg.bands == nil {
			t.Fatalf("ring of %d edges has no bands", n)
		}
		b := rg.bound
		// 20,000 points against the planar test of 5,000 edges take about
		// 4 s: -short takes a tenth of them.
		points := 20000
		if testing.Short() {
			points = 2000
		}
		for i := 0; i < points; i++ {
			p := orb.Point{b.Min[0] + (b.Max[0]-b.Min[0])*r.Float64(), b.Min[1] + (b.Max[1]-b.Min[1])*r.Float64()}
			in, _ := rg.locate(p)
			if want := planar.RingContains(ringPts, p); in != want {
				t.Fatalf("%d edges, %v: banded %v, planar %v", n, p, in, want)
			}
		}
		for _, v := range ringPts { // vertices are on the boundary
			if _, on := rg.locate(v); !on {
				t.Fatalf("%d edges: vertex %v not on the boundary", n, v)
			}
		}
	}
}

// TestCheckPositionAllocs: the position path does not allocate.
func TestCheckPositionAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	ix := mustIndex(t, randomZones(r, 300)...)
	dst := make([]Hit, 0, 64)
	pts := make([]orb.Point, 100)
	for i := range pts {
		pts[i] = randomPoint(r)
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		dst = ix.CheckPosition(PositionQuery{Point: pts[i%len(pts)], Alt: Altitude{Metres: 50, Ref: AGL}, At: t0}, dst[:0])
		i++
	})
	if allocs != 0 {
		t.Errorf("CheckPosition allocates %v times per call", allocs)
	}
}

// TestPointGrid: positions find zones through the grid in every quadrant
// of the globe, on cell edges, and through the list of zones too big for
// cells.
func TestPointGrid(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var zones []Zone
	for i, c := range []orb.Point{{5, 52}, {-3.7, 40.4}, {-58.4, -34.6}, {151.2, -33.9}, {0, 0}, {0.05, 0.1}} {
		zones = append(zones, circleZone(fmt.Sprintf("C%d", i), c, 3000))
		zones = append(zones, polyZone(fmt.Sprintf("P%d", i), star(r, c, 8000, 12)))
	}
	zones = append(zones, circleZone("HUGE", orb.Point{10, 50}, 600_000))
	ix := mustIndex(t, zones...)
	brute := *ix
	brute.scanAll = true
	for i := 0; i < 20000; i++ {
		var p orb.Point
		switch i % 3 {
		case 0: // near a zone
			c := zones[r.IntN(len(zones))].Volumes[0].Shape.Bound().Center()
			p = orb.Point{c[0] + (r.Float64()-0.5)*0.3, c[1] + (r.Float64()-0.5)*0.3}
		case 1: // on a cell corner
			p = orb.Point{gridDeg * float64(r.IntN(400)-200), gridDeg * float64(r.IntN(400)-200)}
		default:
			p = orb.Point{-180 + 360*r.Float64(), -90 + 180*r.Float64()}
		}
		q := PositionQuery{Point: p, At: t0}
		if got, want := hitIDs(ix.CheckPosition(q, nil)), hitIDs(brute.CheckPosition(q, nil)); !slices.Equal(got, want) {
			t.Fatalf("%v: grid %v, scan %v", p, got, want)
		}
	}
	if len(ix.grid.big) != 1 {
		t.Errorf("%d volumes too big for cells, want 1", len(ix.grid.big))
	}
	if hits := ix.CheckPosition(PositionQuery{Point: orb.Point{12, 48}, At: t0}, nil); !slices.Equal(hitIDs(hits), []string{"HUGE"}) {
		t.Errorf("inside the huge circle: %v", hitIDs(hits))
	}
}

// TestWaypointsOnEdgesMatchBruteForce: routes whose waypoints lie exactly
// on zone edges and vertices, where rounding makes "crossing" and "touching"
// hard to tell, answer what a scan that tests every containment answers.
func TestWaypointsOnEdgesMatchBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	zones := randomZones(r, 150)
	ix := mustIndex(t, zones...)
	brute := *ix
	brute.scanAll = true
	brute.noCarry = true
	var onEdge []orb.Point
	for _, z := range zones {
		for _, v := range z.Volumes {
			if v.Shape.Kind != ShapePolygon {
				continue
			}
			ring := v.Shape.Polygons[0][0]
			for k := 0; k < 4; k++ {
				i := r.IntN(len(ring) - 1)
				onEdge = append(onEdge, lerpLL(ring[i], ring[i+1], []float64{0, 0.5, r.Float64(), 1}[k]))
			}
		}
	}
	for i := 0; i < 500; i++ {
		q := RouteQuery{AltRef: AGL, Buffer: float64(r.IntN(3)) * 10, Window: TimeWindow{t0, t0.Add(time.Hour)}}
		p := onEdge[r.IntN(len(onEdge))]
		f := newFrame(p[0], p[1])
		for k := 0; k < 2+r.IntN(6); k++ {
			if k%2 == 1 {
				p = onEdge[r.IntN(len(onEdge))]
				if Distance(p, q.Waypoints[k-1].Point) > 20000 {
					p = f.lonlat(vec{r.NormFloat64() * 300, r.NormFloat64() * 300})
				}
			} else if k > 0 {
				p = f.lonlat(vec{r.NormFloat64() * 300, r.NormFloat64() * 300})
			}
			q.Waypoints = append(q.Waypoints, Waypoint{Point: p, Alt: float64(r.IntN(200))})
		}
		got, err := ix.CheckRoute(q)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := brute.CheckRoute(q)
		if g, w := hitLegs(got), hitLegs(want); !slices.Equal(g, w) {
			t.Fatalf("route %d: index %v, brute force %v", i, g, w)
		}
	}
}
