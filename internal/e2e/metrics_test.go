package e2e

import (
	"bufio"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// scrapeMetrics fetches http://addr/metrics and returns every sample by its
// series as printed (`name{label="value",...}`).
func scrapeMetrics(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetrics scrapes a real noflyd: a check moves its counter, a failed
// reload moves the failures, and the zone and exemption series are there.
func TestMetrics(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	zones := filepath.Join(dir, "zones.geojson")
	write(t, zones, zoneFile(map[string]float64{"T-A": 3.0, "T-B": 3.5}))
	d := startDaemon(t, "--zones", zones, "--metrics-listen", "127.0.0.1:0")
	maddr, _ := d.waitLog(t, "serving metrics", 0)["addr"].(string)
	if maddr == "" {
		t.Fatalf("no metrics address in the log:\n%s", d.log)
	}

	const checks = `nofly_rpc_requests_total{code="OK",method="/nofly.v1.GeofenceService/CheckPosition"}`
	before := scrapeMetrics(t, maddr)
	for series, want := range map[string]float64{
		"nofly_zones_loaded":               2,
		"nofly_zone_reloads_total":         1,
		"nofly_zone_reload_failures_total": 0,
		"nofly_ready":                      1,
		checks:                             0,
	} {
		if got, ok := before[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	if age, ok := before["nofly_exemption_cache_age_seconds"]; !ok || !(age >= 0 && age < 30) {
		t.Errorf("exemption cache age %v (present %v), want a few seconds", age, ok)
	}

	wantExit(t, nofly(t, d.addr, "check", "--lat", "53.5", "--lon", "3.5"), 1)
	wantExit(t, nofly(t, d.addr, "check", "--lat", "50", "--lon", "3.5"), 0)
	if got := scrapeMetrics(t, maddr)[checks]; got != 2 {
		t.Errorf("after two checks %s = %v, want 2", checks, got)
	}

	write(t, zones, `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"T-C","restriction":"SOMETIMES"},"geometry":{"type":"Point","coordinates":[3,53]}}]}`)
	skip := d.log.count()
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitLog(t, "reload failed; serving the previous zones", skip)
	after := scrapeMetrics(t, maddr)
	for series, want := range map[string]float64{
		"nofly_zone_reloads_total":         2,
		"nofly_zone_reload_failures_total": 1,
		"nofly_zones_loaded":               2,
		"nofly_ready":                      1,
	} {
		if got := after[series]; got != want {
			t.Errorf("after a failed reload %s = %v, want %v", series, got, want)
		}
	}
}
