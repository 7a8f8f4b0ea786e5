package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

const (
	csvPath       = "../../../shared/data/airports/ourairports-2016.csv.gz"
	committedPath = "../nl-sample.geojson"
)

// TestCommittedFileIsGenerated regenerates the sample and compares it with
// the committed file byte for byte: the generator is deterministic and the
// committed file is its output.
func TestCommittedFileIsGenerated(t *testing.T) {
	if _, err := os.Stat(csvPath); err != nil {
		t.Skipf("OurAirports CSV not available (%v); it lives in ../shared/data/airports/ next to the repository", err)
	}
	out := filepath.Join(t.TempDir(), "nl-sample.geojson")
	for range 2 {
		if err := run([]string{"-airports", csvPath, "-out", out}, io.Discard); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(committedPath)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("data/nl-sample.geojson is not what `go run ./data/gen` writes; regenerate it")
		}
	}
}

type sampleFile struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Features    []struct {
		Type       string `json:"type"`
		Properties struct {
			ID          string   `json:"id"`
			Name        string   `json:"name"`
			Country     string   `json:"country"`
			Restriction string   `json:"restriction"`
			Reasons     []string `json:"reasons"`
			Message     string   `json:"message"`
			LowerM      *float64 `json:"lower_m"`
			RadiusM     float64  `json:"radius_m"`
		} `json:"properties"`
		Geometry struct {
			Type        string          `json:"type"`
			Coordinates json.RawMessage `json:"coordinates"`
		} `json:"geometry"`
	} `json:"features"`
}

func readSample(t *testing.T) sampleFile {
	t.Helper()
	b, err := os.ReadFile(committedPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 200_000 {
		t.Errorf("sample is %d bytes, want < 200 KB", len(b))
	}
	var f sampleFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// polygons returns the polygons of a Polygon or MultiPolygon geometry.
func polygons(t *testing.T, typ string, raw json.RawMessage) [][][][2]float64 {
	t.Helper()
	switch typ {
	case "Polygon":
		var p [][][2]float64
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		return [][][][2]float64{p}
	case "MultiPolygon":
		var mp [][][][2]float64
		if err := json.Unmarshal(raw, &mp); err != nil {
			t.Fatal(err)
		}
		return mp
	}
	return nil
}

func TestSampleIsWellFormed(t *testing.T) {
	f := readSample(t)
	if f.Type != "FeatureCollection" || f.Name == "" || !bytes.Contains([]byte(f.Description), []byte("NOT legal airspace data")) {
		t.Errorf("collection header: type %q, name %q, description %q", f.Type, f.Name, f.Description)
	}
	if n := len(f.Features); n < 45 || n > 65 {
		t.Errorf("%d zones, want about 50-60", n)
	}
	ids := map[string]bool{}
	restrictions := map[string]int{}
	for i, ft := range f.Features {
		p := ft.Properties
		if ids[p.ID] {
			t.Errorf("feature %d: duplicate id %q", i, p.ID)
		}
		ids[p.ID] = true
		restrictions[p.Restriction]++
		if p.Name == "" || p.Message == "" || p.Country != "NLD" || len(p.Reasons) == 0 || p.LowerM == nil {
			t.Errorf("feature %d (%s): missing name, message, country, reasons or lower_m", i, p.ID)
		}
		switch ft.Geometry.Type {
		case "Point":
			if p.RadiusM <= 0 {
				t.Errorf("feature %d (%s): circle without radius_m", i, p.ID)
			}
		case "Polygon", "MultiPolygon":
			for _, poly := range polygons(t, ft.Geometry.Type, ft.Geometry.Coordinates) {
				for j, r := range poly {
					if len(r) < 4 || r[0] != r[len(r)-1] {
						t.Errorf("feature %d (%s): ring %d not closed", i, p.ID, j)
					}
					if ccw := signedArea(r) > 0; ccw != (j == 0) {
						t.Errorf("feature %d (%s): ring %d wrongly oriented", i, p.ID, j)
					}
				}
			}
		default:
			t.Errorf("feature %d (%s): geometry %q", i, p.ID, ft.Geometry.Type)
		}
	}
	for _, r := range []string{"PROHIBITED", "REQ_AUTHORISATION", "CONDITIONAL", "NO_RESTRICTION"} {
		if restrictions[r] == 0 {
			t.Errorf("no %s zone", r)
		}
	}
}

// TestSampleContainment checks two fixed points: next to Schiphol's runways
// (only in Schiphol's zone) and over the North Sea (in none).
func TestSampleContainment(t *testing.T) {
	f := readSample(t)
	tests := []struct {
		name     string
		lon, lat float64
		want     []string
	}{
		{"Schiphol", 4.76, 52.31, []string{"NL-EHAM-CTR"}},
		{"North Sea", 3.5, 52.6, nil},
		{"Binnenhof", 4.3135, 52.0797, []string{"NL-DHG-BINNENHOF"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, ft := range f.Features {
				in := false
				if ft.Geometry.Type == "Point" {
					var c [2]float64
					if err := json.Unmarshal(ft.Geometry.Coordinates, &c); err != nil {
						t.Fatal(err)
					}
					in = haversine(c[0], c[1], tc.lon, tc.lat) <= ft.Properties.RadiusM
				} else {
					for _, poly := range polygons(t, ft.Geometry.Type, ft.Geometry.Coordinates) {
						in = in || ringContains(poly[0], tc.lon, tc.lat)
					}
				}
				if in {
					got = append(got, ft.Properties.ID)
				}
			}
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Errorf("zones at %v,%v = %q, want %q", tc.lat, tc.lon, got, tc.want)
			}
		})
	}
}

// haversine is the great-circle distance in metres on a sphere of the WGS84
// mean radius; within 0.5% of the ellipsoidal distance, enough for a test
// whose points are kilometres from any boundary.
func haversine(lon1, lat1, lon2, lat2 float64) float64 {
	const r = 6_371_008.8
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

// ringContains is the even-odd ray test in longitude/latitude.
func ringContains(r [][2]float64, lon, lat float64) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a, b := r[i], r[j]
		if (a[1] > lat) != (b[1] > lat) && lon < (b[0]-a[0])*(lat-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

// TestSampleInIndex reads the sample with nofly's own reader and checks
// positions against the index, schedules included.
func TestSampleInIndex(t *testing.T) {
	zones, err := geo.ReadFile(committedPath)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := geo.NewIndex(zones)
	if err != nil {
		t.Fatal(err)
	}
	saturday := time.Date(2026, 5, 16, 14, 0, 0, 0, time.UTC) // 16:00 in Amsterdam
	monday := time.Date(2026, 5, 18, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		lon, lat float64
		at       time.Time
		want     []string
	}{
		{"Schiphol", 4.76, 52.31, monday, []string{"NL-EHAM-CTR"}},
		{"North Sea", 3.5, 52.6, monday, nil},
		{"GelreDome on a Saturday", 5.8930, 51.9628, saturday, []string{"NL-ARN-GELREDOME-EVENTS"}},
		{"GelreDome on a Monday", 5.8930, 51.9628, monday, nil},
		{"Huis ten Bosch", 4.3320, 52.0935, monday, []string{"NL-DHG-PALACES"}},
		{"Erasmus MC helipad", 4.4708, 51.9100, monday, []string{"NL-0017-HEL", "NL-EHRD-CTR"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := geo.PositionQuery{Point: orb.Point{tc.lon, tc.lat}, Alt: geo.Altitude{Metres: 50, Ref: geo.AGL}, At: tc.at}
			if err := q.Validate(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range ix.CheckPosition(q, nil) {
				got = append(got, h.Zone.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("zones = %q, want %q", got, tc.want)
			}
		})
	}
}
