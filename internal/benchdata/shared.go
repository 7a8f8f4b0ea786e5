package benchdata

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// SharedDir is the directory of the shared benchmark set: $NOFLY_BENCH_DATA,
// else <repository root>/../shared/bench/data when it holds points.txt. The
// error wraps ErrNoData and says how to make the set when there is none.
//
// Make it with
//
//	(cd ../shared/bench && go run ./gen -out DIR) && export NOFLY_BENCH_DATA=DIR
func SharedDir() (string, error) {
	dir := os.Getenv(EnvBenchData)
	if dir == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "..", "shared", "bench", "data")
	}
	if _, err := os.Stat(filepath.Join(dir, "points.txt")); err != nil {
		return "", fmt.Errorf("%w: shared bench set: %w (run `go run ./gen -out DIR` in ../shared/bench and set %s=DIR)",
			ErrNoData, err, EnvBenchData)
	}
	return dir, nil
}

// Shared is the query side of the shared benchmark set written by
// ../shared/bench/gen (seed 42): 200,000 points and 20,000 routes of 2–60
// waypoints (legs 50 m–3 km), 70% in the Netherlands box. Its zones are in
// zones.geojson (50,000), zones_5000.geojson and zones_500000.geojson; read
// them with geo.ReadFile, or with ReadPolygons where the geo readers are not
// wanted.
type Shared struct {
	Dir    string
	Points []orb.Point
	Routes []orb.LineString
}

// SharedSet reads points.txt and routes.geojson from dir.
func SharedSet(dir string) (*Shared, error) {
	pts, err := ReadPoints(filepath.Join(dir, "points.txt"))
	if err != nil {
		return nil, err
	}
	routes, err := ReadRoutes(filepath.Join(dir, "routes.geojson"))
	if err != nil {
		return nil, err
	}
	return &Shared{Dir: dir, Points: pts, Routes: routes}, nil
}

// ZonesPath is the file of the shared set with n zones: zones.geojson for
// 50,000, else zones_<n>.geojson. The file may not exist (gen writes 5,000,
// 50,000 and 500,000 by default).
func (s *Shared) ZonesPath(n int) string {
	if n == 50_000 {
		return filepath.Join(s.Dir, "zones.geojson")
	}
	return filepath.Join(s.Dir, "zones_"+strconv.Itoa(n)+".geojson")
}

func open(path string) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", ErrNoData, err)
	}
	return f, err
}

// ReadPoints reads "lon lat" lines.
func ReadPoints(path string) ([]orb.Point, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var pts []orb.Point
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		lon, lat, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want \"lon lat\", got %q", path, line, sc.Text())
		}
		x, err1 := strconv.ParseFloat(lon, 64)
		y, err2 := strconv.ParseFloat(strings.TrimSpace(lat), 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		pts = append(pts, orb.Point{x, y})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pts, nil
}

// feature is the part of a GeoJSON Feature the minimal readers look at.
type feature struct {
	Properties struct {
		ID string `json:"id"`
	} `json:"properties"`
	Geometry struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
}

// eachFeature streams the features of a GeoJSON FeatureCollection, one at a
// time, so that a 500,000-zone file never sits in memory as JSON.
func eachFeature(path string, fn func(i int, f *feature) error) error {
	fh, err := open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(fh, 1<<20))
	if err := seekFeatures(dec); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for i := 0; dec.More(); i++ {
		var f feature
		if err := dec.Decode(&f); err != nil {
			return fmt.Errorf("%s: feature %d: %w", path, i, err)
		}
		if err := fn(i, &f); err != nil {
			return fmt.Errorf("%s: feature %d (%s): %w", path, i, f.Properties.ID, err)
		}
	}
	return nil
}

// seekFeatures advances dec to just inside the top-level "features" array.
func seekFeatures(dec *json.Decoder) error {
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("not a JSON object (%v)", err)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if t == "features" {
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return fmt.Errorf("features: not an array (%v)", err)
			}
			return nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return io.ErrUnexpectedEOF
}

// ReadRoutes reads the LineString features of a GeoJSON FeatureCollection.
func ReadRoutes(path string) ([]orb.LineString, error) {
	var routes []orb.LineString
	err := eachFeature(path, func(_ int, f *feature) error {
		if f.Geometry.Type != "LineString" {
			return fmt.Errorf("geometry %q, want LineString", f.Geometry.Type)
		}
		var ls orb.LineString
		if err := json.Unmarshal(f.Geometry.Coordinates, &ls); err != nil {
			return err
		}
		if len(ls) < 2 {
			return fmt.Errorf("%d waypoints, want at least 2", len(ls))
		}
		routes = append(routes, ls)
		return nil
	})
	return routes, err
}

// ReadPolygons is a minimal reader for the shared set's zone files: it reads
// each feature's properties.id and Polygon geometry and nothing else (no
// validation, no heights, no other geometry types). It exists for baselines
// that must not depend on nofly's own readers; everything else should use
// geo.ReadFile.
func ReadPolygons(path string) (ids []string, polys []orb.Polygon, err error) {
	err = eachFeature(path, func(_ int, f *feature) error {
		if f.Geometry.Type != "Polygon" {
			return fmt.Errorf("geometry %q, want Polygon", f.Geometry.Type)
		}
		var p orb.Polygon
		if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil {
			return err
		}
		if len(p) == 0 || len(p[0]) < 4 {
			return errors.New("polygon without an outer ring of at least 4 points")
		}
		ids = append(ids, f.Properties.ID)
		polys = append(polys, p)
		return nil
	})
	return ids, polys, err
}
