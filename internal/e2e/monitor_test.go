package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMonitorSampleTrack streams the sample patrol track through the real
// noflyd with nofly monitor, under an exemption for the Schiphol control
// zone that ends while the aircraft is in it, and asserts the exact event
// sequence: the heliport crossed (advisory), the control zone approached
// and entered under the exemption, the exemption's end announced and then
// reached (the zone blocks again), the zone left, a climb above the
// general ceiling of 120 m AGL outside any zone; exit status 1. The
// same track as GeoJSON, and fed line by line on standard input, gives
// the same events.
func TestMonitorSampleTrack(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	r := nofly(t, d.addr, "exemptions", "create", "--unit", "AMS-DRONE", "--zone", "NL-EHAM-CTR",
		"--from", "2030-01-01T09:00:00Z", "--until", "2030-01-01T10:12:00Z", "--max-alt", "100", "--purpose", "forensic",
		"--legal-basis", "ILT/2026/0063", "--by", "admin-jansen")
	wantExit(t, r, 0)
	id := strings.TrimSpace(r.stdout)
	const track = "../../examples/patrol-track.csv"
	flight := []string{"--start", "2030-01-01T10:00:00Z", "--unit", "AMS-DRONE", "--pilot", "P-0412", "--purpose", "forensic"}
	want := strings.ReplaceAll(`Monitoring patrol-track.csv: 64 positions from 2030-01-01T10:00:00Z to 2030-01-01T10:21:08Z, heights 50–130 m AGL
+01:03  ENTER     NL-0011-HEL   CONDITIONAL        advisory: read its conditions
+02:06  EXIT      NL-0011-HEL   CONDITIONAL        left
+04:48  APPROACH  NL-EHAM-CTR   REQ_AUTHORISATION  in 296 m, 20 s; exempted by EX
+05:08  ENTER     NL-EHAM-CTR   REQ_AUTHORISATION  exempted by EX
+07:08  EXPIRING  NL-EHAM-CTR   REQ_AUTHORISATION  EX ends in 04:52, at 2030-01-01T10:12:00Z
+12:08  CHANGED   NL-EHAM-CTR   REQ_AUTHORISATION  now BLOCKED, no exemption covers it
+19:28  EXIT      NL-EHAM-CTR   REQ_AUTHORISATION  left
+20:28  ALTITUDE  —             —                  130 m AGL, above the 120 m AGL (the general ceiling, 120 m AGL) permitted here
Flight of 64 positions over 21:08: 8 events; entered NL-0011-HEL (advisory: read its conditions), NL-EHAM-CTR (exempted by EX)
DENIED — the flight was in 1 blocking zone that no exemption covered: NL-EHAM-CTR
DENIED — the flight climbed above the height permitted 1 time: 130 m AGL at +20:28, above 120 m AGL (the general ceiling, 120 m AGL)
`, "EX\n", id+"\n")
	want = strings.NewReplacer("by EX\n", "by "+id+"\n", "by EX)", "by "+id+")", "  EX ends", "  "+id+" ends").Replace(want)

	r = nofly(t, d.addr, append([]string{"monitor", track}, flight...)...)
	wantExit(t, r, 1)
	if r.stdout != want {
		t.Errorf("CSV track:\n%s\nwant:\n%s", r.stdout, want)
	}

	// The same track as a GeoJSON LineString with times.
	points := readCSV(t, track)
	var coords [][]float64
	var times []string
	for _, p := range points[1:] {
		lat, _ := strconv.ParseFloat(p[1], 64)
		lon, _ := strconv.ParseFloat(p[2], 64)
		alt, _ := strconv.ParseFloat(p[3], 64)
		coords = append(coords, []float64{lon, lat, alt})
		times = append(times, p[0])
	}
	gj, err := json.Marshal(map[string]any{"type": "Feature", "properties": map[string]any{"times": times},
		"geometry": map[string]any{"type": "LineString", "coordinates": coords}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "patrol-track.geojson")
	write(t, path, string(gj))
	r = nofly(t, d.addr, append([]string{"monitor", path}, flight...)...)
	wantExit(t, r, 1)
	if got, want := events(r.stdout), events(want); got != want {
		t.Errorf("GeoJSON track:\n%s\nwant:\n%s", got, want)
	}

	// Live on standard input, at its own times (no --start), lines as
	// they come.
	var in bytes.Buffer
	w := csv.NewWriter(&in)
	w.Write(points[0])
	for _, p := range points[1:] {
		at, _ := time.Parse(time.RFC3339, p[0])
		p[0] = at.Add(time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC).Sub(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))).Format(time.RFC3339)
		w.Write(p)
	}
	w.Flush()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "nofly"), "monitor", "-", "--unit", "AMS-DRONE", "--pilot", "P-0412", "--purpose", "forensic")
	cmd.Env = append(os.Environ(), "NOFLY_SERVER="+d.addr)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("live: %v\n%s", err, out)
	}
	// Sent without waiting for answers, positions may be skipped when the
	// server falls behind, and say so; the zones entered and the verdict
	// are the same.
	for _, line := range []string{"ENTER     NL-EHAM-CTR   REQ_AUTHORISATION  exempted by " + id,
		"CHANGED   NL-EHAM-CTR   REQ_AUTHORISATION  now BLOCKED, no exemption covers it",
		"EXIT      NL-EHAM-CTR   REQ_AUTHORISATION  left",
		"ALTITUDE  —             —                  130 m AGL, above the 120 m AGL (the general ceiling, 120 m AGL) permitted here",
		"DENIED — the flight was in 1 blocking zone that no exemption covered: NL-EHAM-CTR",
		"DENIED — the flight climbed above the height permitted 1 time: 130 m AGL at +20:28"} {
		if !strings.Contains(string(out), line) {
			t.Errorf("live output lacks %q:\n%s", line, out)
		}
	}
}

// events keeps the event lines of nofly monitor's output.
func events(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "+") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
