// Package benchdata builds the data nofly's tests, benchmarks and load tool
// measure against: synthetic zone sets from real airport and heliport
// coordinates, query points and routes, and readers for the shared benchmark
// set on which the reference systems were measured.
//
// Where the data comes from:
//
//   - Zones reads the OurAirports extract ../shared/data/airports/
//     ourairports-2016.csv.gz (public domain; 45,954 airports and heliports
//     worldwide), found from the repository root or through the environment
//     variable NOFLY_AIRPORTS, and keeps the open airports and heliports in
//     the Europe box (about 4,000).
//   - SharedDataPath finds other files of ../shared/data (such as the Swiss
//     ED-318 zones), or of $NOFLY_SHARED_DATA.
//   - Points, Routes, PointsIn and RoutesIn need no input.
//   - SharedSet reads a directory written by `go run ./gen -out DIR` in
//     ../shared/bench (seed 42), found through NOFLY_BENCH_DATA.
//
// Everything here is deterministic: the same arguments (and the same CSV)
// give the same zones, points and routes on every machine and Go version,
// because the generators use math/rand/v2's PCG with the caller's seed and
// nothing else. Zones(n, s) is the first n zones of Zones(m, s) for n ≤ m,
// and likewise for Points and Routes, so sets of different sizes nest.
//
// Regions (as in ../shared/bench/gen): the Netherlands box is longitude
// 3.0..7.5, latitude 50.5..53.7; the Europe box longitude -10..30, latitude
// 35..70.
package benchdata

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Boxes in degrees.
const (
	NLLonMin, NLLonMax = 3.0, 7.5
	NLLatMin, NLLatMax = 50.5, 53.7
	EULonMin, EULonMax = -10.0, 30.0
	EULatMin, EULatMax = 35.0, 70.0
)

// Environment variables that point at data outside the repository.
const (
	// EnvAirports names the OurAirports CSV (gzipped or not).
	EnvAirports = "NOFLY_AIRPORTS"
	// EnvBenchData names a directory written by ../shared/bench/gen.
	EnvBenchData = "NOFLY_BENCH_DATA"
	// EnvSharedData names the reference data directory (../shared/data).
	EnvSharedData = "NOFLY_SHARED_DATA"
)

// ErrNoData is returned (wrapped) when input data is not where it is looked
// for; tests and benchmarks skip on it with errors.Is.
var ErrNoData = errors.New("benchmark data not found")

// Airport is an airport or heliport from the OurAirports CSV.
type Airport struct {
	Code, Name string
	Heliport   bool
	Lon, Lat   float64 // degrees
}

func inBox(lon, lat, lonMin, lonMax, latMin, latMax float64) bool {
	return lon >= lonMin && lon <= lonMax && lat >= latMin && lat <= latMax
}

// InNL reports whether the point is in the Netherlands box.
func InNL(lon, lat float64) bool { return inBox(lon, lat, NLLonMin, NLLonMax, NLLatMin, NLLatMax) }

// InEurope reports whether the point is in the Europe box.
func InEurope(lon, lat float64) bool {
	return inBox(lon, lat, EULonMin, EULonMax, EULatMin, EULatMax)
}

// ReadAirports reads the airports and heliports of an OurAirports CSV
// (`;`-separated, quoted fields allowed, gzipped when the name ends in .gz:
// id;code;airport_type;airport_name;latitude;longitude;...) that lie in the
// Europe box, in file order. It keeps the types large_airport,
// medium_airport, small_airport and heliport, and skips the rare rows whose
// coordinates do not parse (an unquoted `;` in a name shifts the columns).
func ReadAirports(path string) ([]Airport, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %w", ErrNoData, err)
		}
		return nil, err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	cr := csv.NewReader(r)
	cr.Comma = ';'
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	need := []string{"code", "airport_type", "airport_name", "latitude", "longitude"}
	last := 0
	for _, h := range need {
		i, ok := col[h]
		if !ok {
			return nil, fmt.Errorf("%s: no column %q in header", path, h)
		}
		last = max(last, i)
	}
	var out []Airport
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) <= last {
			continue
		}
		kind := rec[col["airport_type"]]
		switch kind {
		case "large_airport", "medium_airport", "small_airport", "heliport":
		default:
			continue
		}
		lat, err1 := strconv.ParseFloat(rec[col["latitude"]], 64)
		lon, err2 := strconv.ParseFloat(rec[col["longitude"]], 64)
		if err1 != nil || err2 != nil || !InEurope(lon, lat) {
			continue
		}
		out = append(out, Airport{
			Code: rec[col["code"]], Name: rec[col["airport_name"]],
			Heliport: kind == "heliport", Lon: lon, Lat: lat,
		})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no airports in the Europe box", path)
	}
	return out, nil
}

// RepoRoot is the nearest directory at or above the working directory that
// holds a go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no go.mod at or above the working directory", ErrNoData)
		}
		dir = parent
	}
}

// AirportsPath is $NOFLY_AIRPORTS, else
// <repository root>/../shared/data/airports/ourairports-2016.csv.gz. The
// error wraps ErrNoData when the file is absent.
func AirportsPath() (string, error) {
	p := os.Getenv(EnvAirports)
	if p == "" {
		return SharedDataPath("airports/ourairports-2016.csv.gz")
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: airports CSV: %w (set %s to the OurAirports CSV)", ErrNoData, err, EnvAirports)
	}
	return p, nil
}

// SharedDataPath is <repository root>/../shared/data/<rel> (rel
// slash-separated), the reference data described in that folder's README,
// or $NOFLY_SHARED_DATA/<rel> when that is set. The error wraps ErrNoData
// when the file is absent.
func SharedDataPath(rel string) (string, error) {
	dir := os.Getenv(EnvSharedData)
	if dir == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "..", "shared", "data")
	}
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: %w (the reference data lives in ../shared/data next to the repository, or set %s)",
			ErrNoData, err, EnvSharedData)
	}
	return p, nil
}

var airports = sync.OnceValues(func() ([]Airport, error) {
	p, err := AirportsPath()
	if err != nil {
		return nil, err
	}
	return ReadAirports(p)
})

// DefaultAirports reads the CSV at AirportsPath once per process and returns
// the same slice on every call; callers must not modify it.
func DefaultAirports() ([]Airport, error) { return airports() }
