// Command noflybench drives a running noflyd and prints requests per second
// and p50/p99/p99.9 latency of the health check, position checks and
// 20-waypoint flight plan checks, each compared with the health check on
// the same server. See scripts/loadbench.sh for the whole benchmark.
//
//	noflybench run -addr 127.0.0.1:7600 -modes health,position,route -c 4 -d 10s \
//	    -points points.txt -routes routes.geojson
//	noflybench seed -db bench.db -zones zones.geojson -n 10000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/benchdata"
	"github.com/nofly-project/nofly/internal/loadbench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	var f *failedError
	if errors.As(err, &f) {
		fmt.Fprintln(os.Stderr, "noflybench:", err)
		os.Exit(1)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "noflybench:", err)
		os.Exit(2)
	}
}

const usage = `Usage:
  noflybench run [flags]    drive a running noflyd and print a table row per mode
  noflybench seed [flags]   write exemption records into a new SQLite database
  noflybench wait [flags]   wait until a noflyd's health check says SERVING

Exit status: 0 done, 1 a run had more failed calls than --max-failed,
2 usage or setup error.
`

// failedError is a run whose calls failed more than allowed.
type failedError struct {
	mode            string
	failed, allowed int64
}

func (e *failedError) Error() string {
	return fmt.Sprintf("%s: %d calls failed (at most %d allowed)", e.mode, e.failed, e.allowed)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "run":
		return runBench(ctx, args[1:], stdout, stderr)
	case "seed":
		return seed(ctx, args[1:], stdout, stderr)
	case "wait":
		return wait(ctx, args[1:], stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("noflybench run", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var (
		c         loadbench.Config
		modes     string
		points    string
		routes    string
		nRoutes   int
		waypoints int
		hupPid    int
		header    bool
		maxFailed int64
		rounds    int
		serverPid int
		cpuProf   string
		gogc      int
	)
	fset.StringVar(&c.Addr, "addr", "127.0.0.1:7600", "noflyd `address` (host:port)")
	fset.StringVar(&modes, "modes", "health,position,route", "comma-separated `modes` run in turn: health, position, basic (CheckPosition, BASIC view), route, batch (CheckPositions), stream (MonitorFlight); the others are compared with health")
	fset.IntVar(&c.Conns, "c", 4, "gRPC connections")
	fset.IntVar(&c.InFlight, "inflight", 8, "calls in flight per connection (closed loop), or senders per connection (open loop); streams per connection in mode stream")
	fset.DurationVar(&c.Duration, "d", 10*time.Second, "measured `duration` of each mode")
	fset.DurationVar(&c.Warmup, "warmup", time.Second, "unmeasured warm-up before each mode")
	fset.Float64Var(&c.Rate, "rate", 0, "open loop: calls per `second` over all connections; 0: closed loop, as fast as answered")
	fset.StringVar(&points, "points", "", "`file` of positions, \"lon lat\" per line (required for position)")
	fset.StringVar(&routes, "routes", "", "GeoJSON `file` of LineStrings; each route checked is the first -waypoints of one (required for route)")
	fset.IntVar(&waypoints, "waypoints", 20, "waypoints per route")
	fset.IntVar(&c.Window, "window", loadbench.DefaultWindow, "positions each stream may have unanswered (mode stream, closed loop)")
	fset.IntVar(&c.Batch, "batch", 1000, "positions per CheckPositions call (mode batch), at most 10000")
	fset.IntVar(&nRoutes, "nroutes", 5000, "routes to cycle through")
	fset.Float64Var(&c.BufferM, "buffer", 50, "route buffer, metres")
	fset.Float64Var(&c.AltM, "alt", 60, "height of positions and waypoints, metres AGL")
	fset.StringVar(&c.Unit, "unit", "", "operator `unit` named by the checks (one holding exemptions exercises them)")
	fset.IntVar(&hupPid, "hup-pid", 0, "send SIGHUP to this `pid` (noflyd) every -hup-every during each measured run")
	fset.IntVar(&serverPid, "server-pid", 0, "noflyd's `pid` on this machine: report its CPU time per call (from /proc)")
	fset.DurationVar(&c.HUPEvery, "hup-every", time.Second, "interval of -hup-pid's signals")
	fset.BoolVar(&header, "header", false, "print the table's heading first")
	fset.IntVar(&rounds, "rounds", 1, "run the modes in turn this many times, then print each mode's median row (on a shared machine, alternating runs see the same load)")
	fset.Int64Var(&maxFailed, "max-failed", -1, "exit 1 when a mode has more failed calls than this (-1: never)")
	fset.IntVar(&gogc, "gogc", 400, "the tool's garbage collector target `percent` (as GOGC; GOGC in the environment wins): its heap is small and its calls allocate in gRPC, so the default 100 would collect several times a second on the machine it shares with the server")
	fset.StringVar(&cpuProf, "cpuprofile", "", "write the tool's own CPU profile over the whole run to `file` (it shares the machine with the server)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fset.Arg(0))
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gogc)
	}
	if hupPid > 0 {
		c.HUP = loadbench.SignalHUP(hupPid)
	}
	if serverPid > 0 {
		c.ServerCPU = loadbench.ProcCPU(serverPid)
		if _, err := c.ServerCPU(); err != nil {
			return fmt.Errorf("-server-pid: %w", err)
		}
	}
	list := strings.Split(modes, ",")
	for _, m := range list {
		switch {
		case (m == loadbench.ModePosition || m == loadbench.ModeBasic || m == loadbench.ModeBatch || m == loadbench.ModeStream) && c.Points == nil:
			if points == "" {
				return fmt.Errorf("-points: required for mode %s", m)
			}
			pts, err := benchdata.ReadPoints(points)
			if err != nil {
				return err
			}
			c.Points = pts
		case m == loadbench.ModeRoute && c.Routes == nil:
			if routes == "" {
				return errors.New("-routes: required for mode route")
			}
			all, err := benchdata.ReadRoutes(routes)
			if err != nil {
				return err
			}
			c.Routes = loadbench.Routes(all, waypoints, nRoutes)
			if len(c.Routes) == 0 {
				return fmt.Errorf("%s: no route of %d waypoints", routes, waypoints)
			}
		}
	}
	if header {
		loadbench.Header(stdout)
	}
	if rounds < 1 {
		return fmt.Errorf("-rounds %d: want at least 1", rounds)
	}
	var (
		health  *loadbench.Result
		results = map[string][]loadbench.Paired{}
		failed  error
	)
	rowsTo := stdout
	if rounds > 1 {
		rowsTo = stderr // each round's rows; the medians go to stdout
	}
	if cpuProf != "" {
		f, err := os.Create(cpuProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for range rounds {
		for _, m := range list {
			c.Mode = m
			r, err := loadbench.Run(ctx, c)
			if err != nil {
				return fmt.Errorf("%s: %w", m, err)
			}
			if m == loadbench.ModeHealth {
				health = r
			}
			loadbench.Row(rowsTo, r, health)
			results[m] = append(results[m], loadbench.Paired{Result: r, Health: health})
			if r.HUPs > 0 {
				fmt.Fprintf(stderr, "%s: %d SIGHUPs sent to %d during the run\n", m, r.HUPs, hupPid)
			}
			if maxFailed >= 0 && r.Failed > maxFailed && failed == nil {
				failed = &failedError{mode: m, failed: r.Failed, allowed: maxFailed}
			}
		}
	}
	if rounds > 1 {
		for _, m := range slices.Compact(slices.Clone(list)) {
			loadbench.MedianRow(stdout, results[m])
		}
	}
	return failed
}

func seed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("noflybench seed", flag.ContinueOnError)
	fset.SetOutput(stderr)
	db := fset.String("db", "", "SQLite database `file` to create (must not exist)")
	zones := fset.String("zones", "", "zone `file` or directory whose zone ids the records name (any format noflyd reads)")
	n := fset.Int("n", 10_000, "records to issue")
	units := fset.Int("units", 100, "units holding them (U-00, U-01, …)")
	s := fset.Uint64("seed", 1, "random seed")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *db == "" || *zones == "" {
		return errors.New("-db and -zones are required")
	}
	if _, err := os.Stat(*db); err == nil {
		return fmt.Errorf("-db %s: exists; seed writes a new database", *db)
	}
	zs, err := geo.ReadPaths(*zones)
	if err != nil {
		return err
	}
	ids := make([]string, len(zs))
	for i := range zs {
		ids[i] = zs[i].ID
	}
	store, err := sqlitestore.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	done, err := loadbench.Seed(ctx, store, ids, *n, *units, *s, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d exemption records for %d units in %s (%v)\n", done, *units, *db, time.Since(start).Round(time.Millisecond))
	return nil
}

func wait(ctx context.Context, args []string, stderr io.Writer) error {
	fset := flag.NewFlagSet("noflybench wait", flag.ContinueOnError)
	fset.SetOutput(stderr)
	addr := fset.String("addr", "127.0.0.1:7600", "noflyd `address` (host:port)")
	timeout := fset.Duration("timeout", time.Minute, "give up after this long")
	if err := fset.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	return loadbench.WaitServing(ctx, *addr)
}
