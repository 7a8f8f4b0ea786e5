package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/nofly-project/nofly/internal/server"
)

func TestFlags(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != "127.0.0.1:7600" || len(c.zones) != 0 || c.logFormat != "text" || c.logLevel != slog.LevelInfo {
		t.Errorf("defaults %+v", c)
	}
	c, err = parseFlags([]string{"--zones", "a", "--zones", "b.json.gz", "--log-level", "debug", "--log-format", "json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.zones) != 2 || c.zones[1] != "b.json.gz" || c.logLevel != slog.LevelDebug || c.logFormat != "json" {
		t.Errorf("parsed %+v", c)
	}
	for _, args := range [][]string{{"--log-format", "xml"}, {"--log-level", "loud"}, {"zones.json"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%v): want an error", args)
		}
	}
}

// TestRunStopsOnContext runs noflyd in process with the embedded zones,
// and cancels its context once it has loaded them (not after a guessed
// delay, which a busy machine outlasts).
func TestRunStopsOnContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	loaded := &signalWriter{want: []byte(`msg="zones loaded"`), seen: make(chan struct{})}
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "nofly.db")}, io.Discard, loaded)
	}()
	select {
	case <-loaded.seen:
	case err := <-done:
		t.Fatalf("run returned before loading its zones: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("noflyd did not load its zones within 30 s")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
}

// TestStopLetsCallsFinish holds a call in flight while stop runs: the call
// must complete, and stop must wait for it.
func TestStopLetsCallsFinish(t *testing.T) {
	srv, err := server.New(context.Background(), server.Config{Load: mustLoader(t), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	// Any method the server does not know lands here and blocks until
	// released: a stand-in for a slow check.
	g := srv.NewGRPCServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		close(entered)
		<-release
		return stream.SendMsg(&emptypb.Empty{})
	}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	callErr := make(chan error, 1)
	go func() {
		callErr <- conn.Invoke(context.Background(), "/test.Slow/Call", &emptypb.Empty{}, &emptypb.Empty{})
	}()
	<-entered
	var stopped atomic.Bool
	stopDone := make(chan struct{})
	go func() {
		stop(context.Background(), slog.New(slog.DiscardHandler), srv, g, 10*time.Second, "test")
		stopped.Store(true)
		close(stopDone)
	}()
	time.Sleep(100 * time.Millisecond)
	if stopped.Load() {
		t.Fatal("stop returned while a call was in flight")
	}
	close(release)
	if err := <-callErr; err != nil {
		t.Errorf("the call in flight failed: %v", err)
	}
	select {
	case <-stopDone:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not return after the last call finished")
	}
}

// fakeGRPC is a server whose graceful stop never ends until Stop.
type fakeGRPC struct {
	stopped chan struct{}
}

func (f *fakeGRPC) GracefulStop() { <-f.stopped }
func (f *fakeGRPC) Stop()         { close(f.stopped) }

func TestStopGivesUpAfterGrace(t *testing.T) {
	srv, err := server.New(context.Background(), server.Config{Load: mustLoader(t), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeGRPC{stopped: make(chan struct{})}
	start := time.Now()
	stop(context.Background(), slog.New(slog.DiscardHandler), srv, f, 50*time.Millisecond, "test")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %v with a grace of 50ms", d)
	}
}

func mustLoader(t *testing.T) server.Loader {
	t.Helper()
	load, sources := loader(nil, "")
	if len(sources) == 0 {
		t.Fatal("no embedded zone files")
	}
	return load
}

// TestOpenStoreRedacts: a PostgreSQL URL's password appears in no error or
// log name, whether the database answers or not.
func TestOpenStoreRedacts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, name, err := openStore(ctx, "postgres://nofly:s3cret@127.0.0.1:1/nofly?connect_timeout=2")
	if err == nil {
		t.Fatal("opened a database where none is")
	}
	for _, s := range []string{name, err.Error()} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("password shown: %q", s)
		}
	}
	if !strings.Contains(name, "127.0.0.1:1/nofly") {
		t.Errorf("log name %q does not say which database", name)
	}
	_, _, err = openStore(ctx, "postgres://nofly:s3cret@127.0.0.1:1/nofly?pool_max_conns=many")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad pool setting: %v", err)
	}
}

// TestOpenStoreRefusesOtherDatabases: a --db meant for a database server
// but not a postgres:// URL is refused, without its password, rather than
// taken as the name of a new SQLite file.
func TestOpenStoreRefusesOtherDatabases(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, tc := range []struct{ name, db string }{
		{"misspelt scheme", "postgress://nofly:s3cret@db.internal/nofly"},
		{"other scheme", "mysql://nofly:s3cret@db.internal/nofly"},
		{"keyword string", "host=db.internal dbname=nofly user=nofly password=s3cret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, name, err := openStore(context.Background(), tc.db)
			if err == nil {
				s.Close()
				t.Fatalf("opened %q as a store", tc.db)
			}
			if strings.Contains(err.Error()+name, "s3cret") {
				t.Errorf("password shown: %v (%s)", err, name)
			}
		})
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("files made: %v %v", entries, err)
	}
	for _, db := range []string{filepath.Join(dir, "nofly.db"), filepath.Join(dir, "a=b", "nofly.db")} {
		if err := os.MkdirAll(filepath.Dir(db), 0o755); err != nil {
			t.Fatal(err)
		}
		s, _, err := openStore(context.Background(), db)
		if err != nil {
			t.Fatalf("SQLite path %s: %v", db, err)
		}
		s.Close()
	}
}

// signalWriter closes seen the first time a write holds want. The logger
// writes each line in one call.
type signalWriter struct {
	want []byte
	seen chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}
