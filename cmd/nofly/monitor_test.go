package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadTrack(t *testing.T) {
	tests := []struct {
		name, file, content string
		want                int    // positions
		err                 string // substring of the error
	}{
		{"csv", "t.csv", "time,lat,lon,alt\n2026-12-03T10:00:00Z,52.1,4.5,50\n2026-12-03T10:00:10Z,52.2,4.6,55\n", 2, ""},
		{"csv columns in any order, speed and track", "t.csv", "lat,lon,time,speed,track\n52.1,4.5,2026-12-03T10:00:00Z,12,90\n", 1, ""},
		{"csv without heights", "t.csv", "time,lat,lon\n2026-12-03T10:00:00Z,52.1,4.5\n", 1, ""},
		{"csv bad time", "t.csv", "time,lat,lon,alt\n10:00,52.1,4.5,50\n", 0, `t.csv:2: time: "10:00" is not an RFC 3339 time`},
		{"csv bad number", "t.csv", "time,lat,lon,alt\n2026-12-03T10:00:00Z,north,4.5,50\n", 0, `t.csv:2: lat: "north" is not a number`},
		{"csv missing lon", "t.csv", "time,lat,lon,alt\n2026-12-03T10:00:00Z,52.1,,50\n", 0, "t.csv:2: lon: missing"},
		{"csv unknown column", "t.csv", "time,lat,lon,height\n", 0, `t.csv:1: unknown column "height"`},
		{"csv no lat column", "t.csv", "time,lon,alt\n", 0, "t.csv:1: no lat column"},
		{"csv header only", "t.csv", "time,lat,lon,alt\n", 0, "t.csv: no positions"},
		{"empty", "t.csv", "", 0, "t.csv: empty"},
		{"geojson", "t.geojson", `{"type":"Feature","properties":{"times":["2026-12-03T10:00:00Z","2026-12-03T10:00:10Z"]},
			"geometry":{"type":"LineString","coordinates":[[4.5,52.1,50],[4.6,52.2,50]]}}`, 2, ""},
		{"geojson coordTimes in a collection", "t.json", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"coordTimes":["2026-12-03T10:00:00Z"]},
			"geometry":{"type":"LineString","coordinates":[[4.5,52.1]]}}]}`, 1, ""},
		{"geojson times missing", "t.geojson", `{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[4.5,52.1]]}}`,
			0, "t.geojson: properties.times: 0 times for 1 coordinates"},
		{"geojson polygon", "t.geojson", `{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[]}}`,
			0, `geometry: want a LineString, got "Polygon"`},
		{"geojson bad time", "t.geojson", `{"type":"Feature","properties":{"times":["soon"]},"geometry":{"type":"LineString","coordinates":[[4.5,52.1]]}}`,
			0, `t.geojson: properties.times[0]: "soon" is not an RFC 3339 time`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			track, err := readTrack(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(track) != tc.want {
				t.Fatalf("%d positions, want %d", len(track), tc.want)
			}
		})
	}
}

func TestReadTrackValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.csv")
	if err := os.WriteFile(path, []byte("lat,lon,time,alt,speed,track\n52.1,4.5,2026-12-03T10:00:00+01:00,50,12.5,270\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	track, err := readTrack(path)
	if err != nil {
		t.Fatal(err)
	}
	p := track[0]
	if p.lat != 52.1 || p.lon != 4.5 || *p.alt != 50 || *p.speed != 12.5 || *p.track != 270 || p.at.UTC().Hour() != 9 {
		t.Errorf("got %+v", p)
	}
}

func TestFmtOffset(t *testing.T) {
	for d, want := range map[string]string{"0s": "+00:00", "65s": "+01:05", "3725s": "+1:02:05", "-5s": "-00:05"} {
		dur, _ := parseDur(d)
		if got := fmtOffset(dur); got != want {
			t.Errorf("%s: %s, want %s", d, got, want)
		}
	}
}

func parseDur(s string) (d time.Duration, err error) { return time.ParseDuration(s) }
