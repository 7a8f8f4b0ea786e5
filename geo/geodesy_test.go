package geo

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/paulmach/orb"
)

// geo/testdata/geodesic-reference.json holds points placed with
// GeographicLib's direct solution (testdata/geodesic-reference.js, run with
// node and the geographiclib-geodesic package); Distance must give back the
// distance they were placed at.
func TestDistanceMatchesGeographicLib(t *testing.T) {
	b, err := os.ReadFile("testdata/geodesic-reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct{ Lon1, Lat1, Lon2, Lat2, S12, Azi1 float64 }
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 100 {
		t.Fatalf("only %d reference cases", len(ref.Cases))
	}
	for _, c := range ref.Cases {
		got, az := distAz(orb.Point{c.Lon1, c.Lat1}, orb.Point{c.Lon2, c.Lat2})
		if math.Abs(got-c.S12) > 0.001 {
			t.Errorf("Distance((%v,%v),(%v,%v)) = %.6f m, GeographicLib %.6f m", c.Lon1, c.Lat1, c.Lon2, c.Lat2, got, c.S12)
		}
		// Azimuths agree to a microradian (a millimetre at a kilometre).
		if dAz := math.Remainder(az/rad-c.Azi1, 360); c.S12 >= 1 && math.Abs(dAz) > 1e-6/rad {
			t.Errorf("azimuth (%v,%v)->(%v,%v) = %.7f°, GeographicLib %.7f°", c.Lon1, c.Lat1, c.Lon2, c.Lat2, az/rad, c.Azi1)
		}
	}
}

func TestFrameErrorBound(t *testing.T) {
	// Lengths measured in a frame must stay within relErr of the geodesic.
	for _, lat0 := range []float64{0, 30, 52, 70, 80} {
		f := newFrame(5, lat0)
		for _, d := range []float64{0.01, 0.1, 0.5, 1} { // degrees away
			for _, p := range [][2]orb.Point{
				{{5 - d, lat0 + d}, {5 + d, lat0 + d}},
				{{5, lat0 - d}, {5 + d, lat0 + d}},
				{{5 - d, lat0 - d}, {5 + d, lat0 - d}},
			} {
				geod := Distance(p[0], p[1])
				fr := f.xy(p[0]).sub(f.xy(p[1])).norm()
				if rel := math.Abs(fr-geod) / geod; rel > f.relErr(d, d) {
					t.Errorf("lat0 %v, %v: frame %.3f m, geodesic %.3f m: relative error %.2e above bound %.2e", lat0, p, fr, geod, rel, f.relErr(d, d))
				}
			}
		}
	}
}

func TestCircleBoundContainsCircle(t *testing.T) {
	for _, lat := range []float64{0, 52, 70, -70, 85} {
		for _, r := range []float64{10, 1000, 100_000} {
			c := orb.Point{4, lat}
			b := circleBound(c, r)
			f := newFrame(c[0], c[1])
			for az := 0.0; az < 360; az += 5 {
				// Walk out until the geodesic distance exceeds r.
				dir := vec{math.Sin(az * rad), math.Cos(az * rad)}
				lo, hi := 0.0, 3*r
				for i := 0; i < 60; i++ {
					m := (lo + hi) / 2
					if Distance(c, f.lonlat(dir.scale(m))) <= r {
						lo = m
					} else {
						hi = m
					}
				}
				if p := f.lonlat(dir.scale(lo)); !b.Contains(p) {
					t.Errorf("lat %v r %v az %v: %v on the circle is outside its bound %v", lat, r, az, p, b)
				}
			}
		}
	}
}

// TestBoundHelpersMatchOrb: extendBound, unionBound and boundsMeet answer
// what orb's Bound.Extend, Bound.Union and Bound.Intersects answer, for
// random, point and (but boundsMeet) empty boxes.
func TestBoundHelpersMatchOrb(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	box := func() orb.Bound {
		switch r.IntN(4) {
		case 0: // empty: min above max
			return orb.Bound{Min: orb.Point{1, 1}, Max: orb.Point{0, 0}}
		case 1: // a point
			p := orb.Point{r.Float64(), r.Float64()}
			return orb.Bound{Min: p, Max: p}
		}
		b := orb.Bound{Min: orb.Point{r.Float64(), r.Float64()}}
		b.Max = orb.Point{b.Min[0] + r.Float64(), b.Min[1] + r.Float64()}
		return b
	}
	for i := 0; i < 10000; i++ {
		a, b := box(), box()
		p := orb.Point{2*r.Float64() - 0.5, 2*r.Float64() - 0.5}
		if got, want := extendBound(a, p), a.Extend(p); got != want {
			t.Fatalf("extendBound(%v, %v) = %v, orb %v", a, p, got, want)
		}
		if got, want := unionBound(a, b), a.Union(b); got != want {
			t.Fatalf("unionBound(%v, %v) = %v, orb %v", a, b, got, want)
		}
		if a.IsEmpty() || b.IsEmpty() {
			continue
		}
		if got, want := boundsMeet(a, b), a.Intersects(b); got != want {
			t.Fatalf("boundsMeet(%v, %v) = %v, orb %v", a, b, got, want)
		}
	}
}

// TestRelErrBoundsTan: relErr with its tangent from the addition formula
// is never below relErr with math.Tan, and hardly above it wherever the
// bound is of use (below 0.5), at all latitudes up to the 89° where relErr
// gives up.
func TestRelErrBoundsTan(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	ref := func(f *frame, dLat, dLon float64) float64 {
		maxLat := math.Abs(f.lat0) + dLat
		if maxLat >= 89 {
			return math.Inf(1)
		}
		tan := math.Tan(maxLat * rad)
		d := dLat * rad
		e := max(d, dLon*rad*math.Cos(math.Abs(f.lat0)*rad))
		return tan*d + d*d + 0.01*d + e*e*(1+tan*tan)/6 + 1e-9
	}
	for i := 0; i < 100000; i++ {
		f := newFrame(360*r.Float64()-180, 178*r.Float64()-89)
		dLat := math.Pow(10, -6+8*r.Float64()) // 1e-6° to 100°
		if i%10 == 0 {
			dLat = 0
		}
		dLon := math.Pow(10, -6+8*r.Float64())
		got, want := f.relErr(dLat, dLon), ref(&f, dLat, dLon)
		if math.IsInf(want, 1) != math.IsInf(got, 1) && !math.IsInf(got, 1) {
			t.Fatalf("lat0 %v dLat %v dLon %v: relErr %v, with math.Tan %v", f.lat0, dLat, dLon, got, want)
		}
		if math.IsInf(got, 1) {
			continue
		}
		if got < want*(1-1e-12) || (want < 0.5 && got > want*(1+1e-4)+1e-12) {
			t.Fatalf("lat0 %v dLat %v dLon %v: relErr %v, with math.Tan %v", f.lat0, dLat, dLon, got, want)
		}
	}
}
