package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/internal/pgtest"
)

// bin holds the binaries TestMain builds.
var bin string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if dir := os.Getenv(binEnv); dir != "" { // a child run in a network namespace
			bin = dir
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "nofly-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer os.RemoveAll(dir)
		defer pgtest.Stop() // the PostgreSQL cluster, if a test started one
		// Built once for every test; noflybench only for TestLoadBench,
		// which -short skips.
		flag.Parse()
		pkgs := []string{"github.com/nofly-project/nofly/cmd/noflyd", "github.com/nofly-project/nofly/cmd/nofly"}
		if !testing.Short() {
			pkgs = append(pkgs, "github.com/nofly-project/nofly/cmd/noflybench")
		}
		cmd := exec.Command("go", append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building the binaries:", err)
			return 2
		}
		bin = dir
		return m.Run()
	}())
}

// daemon is a running noflyd.
type daemon struct {
	addr string
	cmd  *exec.Cmd
	log  *logLines
	done chan struct{} // closed when the process has exited
	err  error         // exit error, once done
}

// logLines collects noflyd's JSON log lines.
type logLines struct {
	mu    sync.Mutex
	lines []map[string]any
	raw   bytes.Buffer
}

func (l *logLines) add(line []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.raw.Write(line)
	l.raw.WriteByte('\n')
	var m map[string]any
	if json.Unmarshal(line, &m) == nil {
		l.lines = append(l.lines, m)
	}
}

// find returns the first line with msg after the first skip lines.
func (l *logLines) find(msg string, skip int) (map[string]any, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := skip; i < len(l.lines); i++ {
		if l.lines[i]["msg"] == msg {
			return l.lines[i], i
		}
	}
	return nil, -1
}

func (l *logLines) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.raw.String()
}

// waitLog waits for a log line with msg after the first skip lines.
func (d *daemon) waitLog(t *testing.T, msg string, skip int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m, _ := d.log.find(msg, skip); m != nil {
			return m
		}
		select {
		case <-d.done:
			if m, _ := d.log.find(msg, skip); m != nil {
				return m
			}
			t.Fatalf("noflyd exited (%v) before logging %q; log:\n%s", d.err, msg, d.log)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("noflyd did not log %q; log:\n%s", msg, d.log)
	return nil
}

// startDaemon starts noflyd on a free loopback port and waits until its
// health service says SERVING.
func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	d := launchDaemon(t, args...)
	waitServing(t, d.addr)
	return d
}

// launchDaemon starts noflyd on a free loopback port and waits until it
// logs its address.
func launchDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	return launchDaemonUnder(t, nil, args...)
}

// launchDaemonUnder is launchDaemon with noflyd run by the command wrapper
// (such as strace and its flags); none when nil.
func launchDaemonUnder(t *testing.T, wrapper []string, args ...string) *daemon {
	t.Helper()
	if !slices.Contains(args, "--db") { // never a nofly.db in the source tree
		args = append(args, "--db", filepath.Join(t.TempDir(), "nofly.db"))
	}
	argv := append(append(slices.Clone(wrapper), filepath.Join(bin, "noflyd"), "--listen", "127.0.0.1:0", "--log-format", "json"), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, log: &logLines{}, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			d.log.add(sc.Bytes())
		}
		d.err = cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-d.done
		}
	})
	// The port is the one the kernel chose: noflyd logs it.
	d.addr, _ = d.waitLog(t, "listening", 0)["addr"].(string)
	if d.addr == "" {
		t.Fatalf("no address in noflyd's log:\n%s", d.log)
	}
	return d
}

func waitServing(t *testing.T, addr string) {
	t.Helper()
	waitServingWith(t, addr, insecure.NewCredentials())
}

// waitServingWith waits, up to 15 s, until noflyd at addr reports the
// geofence service SERVING to a client with creds.
func waitServingWith(t *testing.T, addr string, creds credentials.TransportCredentials) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "nofly.v1.GeofenceService"})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("noflyd at %s not SERVING (%s): %v %v", addr, creds.Info().SecurityProtocol, resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// result is what a nofly run printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

// nofly runs the CLI against server (NOFLY_SERVER) with args.
func nofly(t *testing.T, server string, args ...string) result {
	t.Helper()
	return noflyEnv(t, server, nil, args...)
}

// noflyEnv is nofly with more environment variables ("NOFLY_CA=…").
func noflyEnv(t *testing.T, server string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "nofly"), args...)
	// Only the certificates the test names: none from the caller's
	// environment.
	base := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "NOFLY_CA=") || strings.HasPrefix(kv, "NOFLY_CERT=") || strings.HasPrefix(kv, "NOFLY_KEY=")
	})
	cmd.Env = append(append(base, "NOFLY_SERVER="+server), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("running nofly %v: %v", args, err)
	}
	return r
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// wantExit checks the exit status, and that an error (status 2) is one
// line on stderr.
func wantExit(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
	if code == 2 && strings.Count(strings.TrimSuffix(r.stderr, "\n"), "\n") != 0 {
		t.Errorf("want a one-line reason on stderr, got %q", r.stderr)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The sample zone set embedded in noflyd holds the Schiphol control zone
// (NL-EHAM-CTR) around 52.31 N, 4.76 E, and nothing in the open North Sea.

func TestCheckPosition(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	t.Run("inside Schiphol is denied", func(t *testing.T) {
		r := nofly(t, d.addr, "check", "--lat", "52.31", "--lon", "4.76", "--alt", "100", "--unit", "AMS", "--pilot", "P1", "--drone", "SN1", "--purpose", "forensic")
		wantExit(t, r, 1)
		if !strings.HasPrefix(r.stdout, "DENIED") || !strings.Contains(r.stdout, "NL-EHAM-CTR") {
			t.Errorf("want the verdict first and the Schiphol zone, got %s", r)
		}
	})
	t.Run("the North Sea is clear", func(t *testing.T) {
		r := nofly(t, d.addr, "check", "--lat", "53.8", "--lon", "3.2", "--alt", "50", "--at", "+2h")
		wantExit(t, r, 0)
		if !strings.HasPrefix(r.stdout, "CLEAR") {
			t.Errorf("want CLEAR first, got %s", r)
		}
	})
	t.Run("--json prints the response", func(t *testing.T) {
		r := nofly(t, d.addr, "--json", "check", "--lat", "52.31", "--lon", "4.76", "--at", "2030-01-01T10:00:00+01:00")
		wantExit(t, r, 1)
		var resp noflyv1.CheckPositionResponse
		if err := protojson.Unmarshal([]byte(r.stdout), &resp); err != nil {
			t.Fatalf("output is not a CheckPositionResponse: %v\n%s", err, r)
		}
		if resp.GetVerdict() != noflyv1.Verdict_VERDICT_DENIED || len(resp.GetConflicts()) == 0 {
			t.Errorf("response %v", &resp)
		}
		if got := resp.GetAt().AsTime(); !got.Equal(time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)) {
			t.Errorf("at %v, want 2030-01-01T09:00:00Z", got)
		}
		if resp.GetZoneSet().GetVersion() == "" {
			t.Errorf("no zone set version")
		}
	})
	t.Run("latitude 91 is refused naming the field", func(t *testing.T) {
		r := nofly(t, d.addr, "check", "--lat", "91", "--lon", "4.76")
		wantExit(t, r, 2)
		if !strings.Contains(r.stderr, "position.latitude") || r.stdout != "" {
			t.Errorf("want the reason naming position.latitude, got %s", r)
		}
	})
	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"check", "--lon", "4"},
			{"check", "--lat", "north", "--lon", "4"},
			{"check", "--lat", "52", "--lon", "4", "--at", "tomorrow"},
			{"check", "--lat", "52", "--lon", "4", "--purpose", "fun"},
			{"fly"},
			{},
		} {
			r := nofly(t, d.addr, args...)
			wantExit(t, r, 2)
			if r.stderr == "" {
				t.Errorf("nofly %v: no reason on stderr", args)
			}
		}
	})
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--help"}, {"check", "--help"}, {"plan", "check", "--help"}, {"zones", "list", "--help"}, {"zones", "show", "-h"}, {"help", "check"},
	} {
		r := nofly(t, "127.0.0.1:1", args...)
		wantExit(t, r, 0)
		if !strings.Contains(r.stdout, "Usage: nofly") || !strings.Contains(r.stdout, "Example") {
			t.Errorf("nofly %v: help without usage or example: %s", args, r)
		}
	}
}

func TestServerDown(t *testing.T) {
	t.Parallel()
	// A port that was just free: nothing listens there.
	r := nofly(t, "127.0.0.1:1", "check", "--lat", "52", "--lon", "4", "--timeout", "5s")
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, "cannot reach the nofly server at 127.0.0.1:1") {
		t.Errorf("want the reason naming the server, got %s", r)
	}
}

// sharedPlans holds public sample flight plans next to the repository.
const sharedPlans = "../../../shared/data/flightplans"

func TestPlanCheck(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	dir := t.TempDir()

	throughSchiphol := filepath.Join(dir, "schiphol.geojson")
	write(t, throughSchiphol, `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"A4 patrol"},
	  "geometry":{"type":"LineString","coordinates":[[4.60,52.10,60],[4.76,52.31,80],[4.90,52.40,80]]}}]}`)
	northSea := filepath.Join(dir, "northsea.geojson")
	write(t, northSea, `{"type":"LineString","coordinates":[[3.0,53.8,60],[3.2,53.9,80]]}`)
	area := filepath.Join(dir, "area.geojson")
	write(t, area, `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[4.74,52.30],[4.78,52.30],[4.78,52.32],[4.74,52.30]]]}}`)
	// A QGroundControl mission that takes off west of Schiphol and flies
	// across it.
	qgcPlan := filepath.Join(dir, "mission.plan")
	write(t, qgcPlan, `{"fileType":"Plan","version":1,"mission":{"plannedHomePosition":[52.30,4.50,0],"items":[
	  {"type":"SimpleItem","command":22,"frame":3,"params":[0,0,0,null,52.30,4.50,40]},
	  {"type":"SimpleItem","command":16,"frame":3,"params":[0,0,0,null,52.31,4.76,60]},
	  {"type":"SimpleItem","command":20,"frame":2,"params":[0,0,0,0,0,0,0]}]}}`)

	tests := []struct {
		name string
		args []string
		code int
		want []string // in stdout
	}{
		{"GeoJSON route through Schiphol", []string{"plan", "check", throughSchiphol, "--start", "+1h", "--end", "+3h", "--buffer", "50"}, 1,
			[]string{"DENIED", "NL-EHAM-CTR", "Route of 3 waypoints, 60–80 m AGL", "buffer 50 m"}},
		{"GeoJSON route over the North Sea", []string{"plan", "check", "--buffer", "100", northSea}, 0, []string{"CLEAR"}},
		{"GeoJSON area at Schiphol with a band", []string{"plan", "check", area, "--min-alt", "0", "--max-alt", "50"}, 1, []string{"DENIED", "Area polygon of 3 vertices, 0–50 m AGL"}}, // a triangle, closed
		{"GeoJSON area with --max-alt alone, from the ground", []string{"plan", "check", area, "--max-alt", "50"}, 1,
			[]string{"DENIED", "Area polygon of 3 vertices, 0–50 m AGL, from the ground as no --min-alt was given"}},
		{"QGroundControl plan across Schiphol", []string{"plan", "check", qgcPlan, "--ref", "M-17"}, 1, []string{"DENIED", "NL-EHAM-CTR", "M-17", "QGroundControl plan"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := nofly(t, d.addr, tc.args...)
			wantExit(t, r, tc.code)
			if !strings.HasPrefix(r.stdout, tc.want[0]) {
				t.Errorf("want %q first, got %s", tc.want[0], r)
			}
			for _, w := range tc.want[1:] {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("want %q in the output, got %s", w, r)
				}
			}
		})
	}

	t.Run("--json", func(t *testing.T) {
		r := nofly(t, d.addr, "plan", "check", throughSchiphol, "--json", "--ref", "R-1")
		wantExit(t, r, 1)
		var resp noflyv1.CheckFlightPlanResponse
		if err := protojson.Unmarshal([]byte(r.stdout), &resp); err != nil {
			t.Fatalf("output is not a CheckFlightPlanResponse: %v\n%s", err, r)
		}
		if resp.GetClientReference() != "R-1" || resp.GetVerdict() != noflyv1.Verdict_VERDICT_DENIED {
			t.Errorf("response %v", &resp)
		}
		if c := resp.GetConflicts(); len(c) == 0 || len(c[0].GetLegs()) == 0 {
			t.Errorf("want conflicts with legs, got %v", c)
		}
		if w := resp.GetWindow(); w.GetEnd().AsTime().Sub(w.GetStart().AsTime()) != time.Hour {
			t.Errorf("default window %v, want an hour", w)
		}
	})

	t.Run("shared QGroundControl samples", func(t *testing.T) {
		for _, name := range []string{"mavsdk_qgroundcontrol_sample.plan", "mavsdk_qgroundcontrol_sample_with_survey.plan"} {
			path := filepath.Join(sharedPlans, name)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("sample flight plans absent (%v)", err)
			}
			// Near Zurich: no Dutch sample zone is anywhere near.
			r := nofly(t, d.addr, "plan", "check", path)
			wantExit(t, r, 0)
			if !strings.Contains(r.stdout, "QGroundControl plan") {
				t.Errorf("%s: %s", name, r)
			}
		}
	})

	t.Run("bad input", func(t *testing.T) {
		notPlan := filepath.Join(dir, "zones.json")
		write(t, notPlan, `{"hello":"world"}`)
		badWaypoint := filepath.Join(dir, "bad.geojson")
		write(t, badWaypoint, `{"type":"LineString","coordinates":[[4.0,52.0,10],[4.1,95.0,10]]}`)
		single := filepath.Join(dir, "single.geojson")
		write(t, single, `{"type":"LineString","coordinates":[[4.0,52.0,10]]}`)
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"plan", "check", filepath.Join(dir, "missing.geojson")}, "no such file"},
			{[]string{"plan", "check", notPlan}, "want GeoJSON"},
			{[]string{"plan", "check", badWaypoint}, "flight_plan.route.waypoints[1].latitude"},
			{[]string{"plan", "check", single}, "at least 2 waypoints"},
			{[]string{"plan", "check", northSea, "--buffer", "-5"}, "flight_plan.buffer_m"},
			{[]string{"plan", "check", northSea, "--start", "+2h", "--end", "+1h"}, "flight_plan.end"},
			{[]string{"plan", "check", area, "--min-alt", "10"}, "--min-alt needs --max-alt"},
			{[]string{"plan", "check"}, "no flight plan FILE"},
		} {
			r := nofly(t, d.addr, tc.args...)
			wantExit(t, r, 2)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("nofly %v: want %q on stderr, got %s", tc.args, tc.want, r)
			}
		}
	})
}

func TestZones(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	t.Run("list", func(t *testing.T) {
		r := nofly(t, d.addr, "zones", "list")
		wantExit(t, r, 0)
		if !strings.HasPrefix(r.stdout, "ID") || !strings.Contains(r.stdout, "NL-EHAM-CTR") {
			t.Errorf("%s", r)
		}
	})
	t.Run("list --bbox --json pages through everything", func(t *testing.T) {
		r := nofly(t, d.addr, "zones", "list", "--bbox", "4.6,52.2,5.0,52.5", "--page-size", "1", "--json")
		wantExit(t, r, 0)
		var resp noflyv1.ListZonesResponse
		if err := protojson.Unmarshal([]byte(r.stdout), &resp); err != nil {
			t.Fatalf("output is not a ListZonesResponse: %v\n%s", err, r)
		}
		var ids []string
		for _, z := range resp.GetZones() {
			ids = append(ids, z.GetId())
		}
		if !strings.Contains(strings.Join(ids, " "), "NL-EHAM-CTR") {
			t.Errorf("zones %v, want NL-EHAM-CTR among them", ids)
		}
		all := nofly(t, d.addr, "zones", "list", "--json")
		var allResp noflyv1.ListZonesResponse
		if err := protojson.Unmarshal([]byte(all.stdout), &allResp); err != nil {
			t.Fatal(err)
		}
		if len(ids) >= len(allResp.GetZones()) {
			t.Errorf("the box around Schiphol holds %d zones, all of the Netherlands %d", len(ids), len(allResp.GetZones()))
		}
	})
	t.Run("show", func(t *testing.T) {
		r := nofly(t, d.addr, "zones", "show", "NL-EHAM-CTR")
		wantExit(t, r, 0)
		for _, w := range []string{"ID:", "NL-EHAM-CTR", "Restriction:", "Volume 0:"} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("want %q, got %s", w, r)
			}
		}
		j := nofly(t, d.addr, "zones", "show", "NL-EHAM-CTR", "--json")
		var resp noflyv1.GetZoneResponse
		if err := protojson.Unmarshal([]byte(j.stdout), &resp); err != nil || resp.GetZone().GetId() != "NL-EHAM-CTR" {
			t.Errorf("output is not the zone's GetZoneResponse: %v\n%s", err, j)
		}
	})
	t.Run("unknown zone", func(t *testing.T) {
		r := nofly(t, d.addr, "zones", "show", "NOPE")
		wantExit(t, r, 2)
		if r.stderr != "nofly: zone \"NOPE\" not found\n" {
			t.Errorf("%s", r)
		}
	})
	t.Run("bad box", func(t *testing.T) {
		r := nofly(t, d.addr, "zones", "list", "--bbox", "5,53,4,52")
		wantExit(t, r, 2)
		if !strings.Contains(r.stderr, "bbox.max_latitude") {
			t.Errorf("%s", r)
		}
	})
}

// zoneFile is a zone file in nofly's schema with a prohibited circle of
// 500 m for each id, centred at the given longitude on 53.5 N.
func zoneFile(zones map[string]float64) string {
	var feats []string
	for id, lon := range zones {
		feats = append(feats, fmt.Sprintf(`{"type":"Feature","properties":{"id":%q,"name":"test zone","restriction":"PROHIBITED","lower_m":0,"lower_ref":"AGL","upper_m":120,"upper_ref":"AGL","radius_m":500},"geometry":{"type":"Point","coordinates":[%v,53.5]}}`, id, lon))
	}
	return `{"type":"FeatureCollection","features":[` + strings.Join(feats, ",") + `]}`
}

func TestReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	zones := filepath.Join(dir, "zones.geojson")
	write(t, zones, zoneFile(map[string]float64{"T-A": 3.0}))
	d := startDaemon(t, "--zones", zones)

	if r := nofly(t, d.addr, "check", "--lat", "53.5", "--lon", "3.5"); r.code != 0 {
		t.Fatalf("before the reload T-B is not there yet: %s", r)
	}

	// A changed file: the new zone is served after SIGHUP.
	write(t, zones, zoneFile(map[string]float64{"T-A": 3.0, "T-B": 3.5}))
	skip := d.log.count()
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	loaded := d.waitLog(t, "zones loaded", skip)
	if n, _ := loaded["zones"].(float64); n != 2 {
		t.Errorf("reload logged %v zones, want 2", loaded["zones"])
	}
	r := nofly(t, d.addr, "check", "--lat", "53.5", "--lon", "3.5")
	wantExit(t, r, 1)
	if !strings.Contains(r.stdout, "T-B") {
		t.Errorf("want T-B after the reload, got %s", r)
	}

	// A broken file: every problem logged, the previous zones still served.
	write(t, zones, `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"T-C","restriction":"SOMETIMES"},"geometry":{"type":"Point","coordinates":[3,53]}}]}`)
	skip = d.log.count()
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	problem := d.waitLog(t, "zone data problem", skip)
	if !strings.Contains(fmt.Sprint(problem), "SOMETIMES") {
		t.Errorf("the problem logged does not name the bad value: %v", problem)
	}
	d.waitLog(t, "reload failed; serving the previous zones", skip)
	r = nofly(t, d.addr, "zones", "show", "T-B")
	wantExit(t, r, 0)
	waitServing(t, d.addr)
}

func TestZonesFromDirectoryWithGzip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.geojson"), zoneFile(map[string]float64{"T-PLAIN": 3.0}))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, zoneFile(map[string]float64{"T-GZIP": 3.5}))
	zw.Close()
	write(t, filepath.Join(dir, "b.geojson.gz"), gz.String())
	d := startDaemon(t, "--zones", dir)
	r := nofly(t, d.addr, "zones", "list")
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "T-PLAIN") || !strings.Contains(r.stdout, "T-GZIP") {
		t.Errorf("want both zones, got %s", r)
	}
}

func TestDaemonRefusesBadStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.geojson")
	write(t, bad, `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"X","restriction":"MAYBE"},"geometry":{"type":"Point","coordinates":[3,53]}}]}`)
	for _, args := range [][]string{
		{"--zones", bad},
		{"--zones", filepath.Join(dir, "missing.geojson")},
		{"--log-format", "xml"},
		{"stray"},
		{"--db", filepath.Join(dir, "no-such-dir", "nofly.db")},
	} {
		cmd := exec.Command(filepath.Join(bin, "noflyd"), append([]string{"--listen", "127.0.0.1:0"}, args...)...)
		cmd.Dir = dir // where the default --db would go
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("noflyd %v: %v, want exit 2\n%s", args, err, out)
		}
		// Bad zones at start: no previous zones to keep serving.
		if args[0] == "--zones" && (!bytes.Contains(out, []byte("no zones to serve, not starting")) ||
			bytes.Contains(out, []byte("previous zones")) || !bytes.Contains(out, []byte("noflyd: stopping: "))) {
			t.Errorf("noflyd %v: want it to say it stops, not that it serves previous zones:\n%s", args, out)
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, b := range []string{"noflyd", "nofly"} {
		out, err := exec.Command(filepath.Join(bin, b), "--version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), b+" ") || !strings.Contains(string(out), "go1.") {
			t.Errorf("%s --version: %v\n%s", b, err, out)
		}
	}
}

func TestGracefulStop(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	if r := nofly(t, d.addr, "check", "--lat", "53.8", "--lon", "3.2"); r.code != 0 {
		t.Fatal(r)
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		t.Fatal("noflyd did not stop within 15 s of SIGTERM")
	}
	if d.err != nil {
		t.Errorf("noflyd exited with %v after SIGTERM, want status 0", d.err)
	}
	if m, _ := d.log.find("stopped", 0); m == nil {
		t.Errorf("no \"stopped\" in the log:\n%s", d.log)
	}
}
