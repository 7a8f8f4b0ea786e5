package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadBench runs noflybench briefly against a real noflyd serving the
// sample zones with seeded exemptions, reloading its zones under load
// (MonitorFlight streams included): the tool must print a row per mode,
// with no failed call.
func TestLoadBench(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow (about 4 s of load, and noflybench built): CI runs it")
	}
	dir := t.TempDir()
	zones, err := filepath.Abs("../../data/nl-sample.geojson")
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "bench.db")
	bench := filepath.Join(bin, "noflybench")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bench, "seed", "-db", db, "-zones", zones, "-n", "200", "-units", "2").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "200 exemption records") {
		t.Fatalf("seed: %v\n%s", err, out)
	}

	// Positions and 20-waypoint routes across Schiphol's zones.
	points := filepath.Join(dir, "points.txt")
	var pts, feats []string
	for i := range 50 {
		pts = append(pts, fmt.Sprintf("%.5f %.5f", 4.6+0.006*float64(i), 52.25+0.003*float64(i)))
	}
	write(t, points, strings.Join(pts, "\n")+"\n")
	for r := range 3 {
		var wps []string
		for i := range 20 {
			wps = append(wps, fmt.Sprintf("[%.5f,%.5f]", 4.6+0.01*float64(i), 52.2+0.02*float64(r)+0.002*float64(i)))
		}
		feats = append(feats, `{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[`+strings.Join(wps, ",")+`]}}`)
	}
	routes := filepath.Join(dir, "routes.geojson")
	write(t, routes, `{"type":"FeatureCollection","features":[`+"\n"+strings.Join(feats, ",\n")+"\n]}\n")

	d := startDaemon(t, "--zones", zones, "--db", db)
	skip := d.log.count()
	cmd := exec.CommandContext(ctx, bench, "run", "-addr", d.addr, "-header", "-modes", "health,position,route,batch,stream", "-batch", "100",
		"-c", "2", "-inflight", "2", "-d", "1s", "-warmup", "100ms", "-points", points, "-routes", routes,
		"-unit", "U-00", "-hup-pid", fmt.Sprint(d.cmd.Process.Pid), "-server-pid", fmt.Sprint(d.cmd.Process.Pid), "-hup-every", "300ms", "-max-failed", "0")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("noflybench run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr.String())
	}
	rows := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	if len(rows) != 7 {
		t.Fatalf("want a heading and 5 rows, got:\n%s", stdout)
	}
	for i, mode := range []string{"health", "position", "route", "batch", "stream"} {
		cols := strings.Split(rows[2+i], "|")
		if len(cols) < 11 || strings.TrimSpace(cols[1]) != mode {
			t.Fatalf("row %d: %q, want mode %s", i, rows[2+i], mode)
		}
		if rps := strings.TrimSpace(cols[3]); rps == "0" {
			t.Errorf("%s: no call answered: %s", mode, rows[2+i])
		}
		if cpu := strings.TrimSpace(cols[4]); !strings.HasSuffix(cpu, " µs") {
			t.Errorf("%s: server CPU per call %q, want microseconds", mode, cpu)
		}
		if failed := strings.TrimSpace(cols[9]); failed != "0" {
			t.Errorf("%s: %s calls failed", mode, failed)
		}
		// U-00 holds exemptions for the sample zones: its checks go
		// through the exemption rules (and the audit log when EXEMPTED).
		// (A batch's answers are not read: only their size.)
		if mode != "health" && (!strings.HasSuffix(strings.TrimSpace(cols[8]), "%") ||
			mode != "batch" && !(strings.Contains(cols[10], "DENIED") || strings.Contains(cols[10], "EXEMPTED"))) {
			t.Errorf("%s: want a ratio to health and the verdicts: %s", mode, rows[2+i])
		}
	}
	if !strings.Contains(stderr.String(), "SIGHUPs sent") {
		t.Errorf("no SIGHUP sent during the runs: %s", stderr.String())
	}
	d.waitLog(t, "zones loaded", skip) // a reload under load completed
}
