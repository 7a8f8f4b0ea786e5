// Package pgtest gives tests a fresh PostgreSQL database.
//
// With NOFLY_TEST_POSTGRES set (a postgres:// URL of a server whose user may
// create databases), each test gets a new, uniquely named database in that
// server, dropped when the test ends. Without it, the first test that asks
// starts a throwaway cluster (initdb and postgres on a free 127.0.0.1 port
// in a temporary directory, run as the postgres user when the tests run as
// root) that Stop, called from TestMain, shuts down.
//
// When neither is possible the test is skipped saying why, unless
// NOFLY_REQUIRE_POSTGRES=1 (CI sets it): then it fails, so that the
// PostgreSQL tests can never be skipped unnoticed.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables.
const (
	EnvURL     = "NOFLY_TEST_POSTGRES"
	EnvRequire = "NOFLY_REQUIRE_POSTGRES"
)

var (
	startOnce sync.Once
	server    string // URL of the server's postgres database
	startErr  error
	cluster   *localCluster // nil unless this process started one
	dbCounter atomic.Int64
)

// ServerURL returns the URL of a PostgreSQL server for tests (its
// maintenance database), starting a throwaway cluster when
// NOFLY_TEST_POSTGRES is not set. It skips (or fails, see the package
// comment) when there is none.
func ServerURL(t testing.TB) string {
	t.Helper()
	startOnce.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			server = u
			return
		}
		cluster, startErr = startCluster()
		if startErr == nil {
			server = cluster.url
		}
	})
	if startErr != nil {
		unavailable(t, startErr)
	}
	return server
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("PostgreSQL required (%s=1) but not available: %v", EnvRequire, err)
	}
	t.Skipf("no PostgreSQL for this test (set %s to a postgres:// URL, or install PostgreSQL): %v", EnvURL, err)
}

// New creates an empty database for t and returns its URL. The database is
// dropped when t ends.
func New(t testing.TB) string {
	t.Helper()
	base := ServerURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		unavailable(t, fmt.Errorf("connecting to %s: %w", Redact(base), err))
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("nofly_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, dbCounter.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("dropping test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		// FORCE: a replica under test may still hold a connection.
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("dropping test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Stop shuts down the cluster this process started, if any. Call it from
// TestMain after m.Run.
func Stop() {
	if cluster != nil {
		cluster.stop()
	}
}

// Redact returns a URL with its password hidden, for messages.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// localCluster is a postgres this process started.
type localCluster struct {
	dir string
	url string
	cmd *exec.Cmd
}

// binDirs are where PostgreSQL's programs are looked for after $PATH:
// /usr/local/bin, then Debian's directories, newest version first.
func binDirs() []string {
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(debian)))
	return append([]string{"/usr/local/bin"}, debian...)
}

func findBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range binDirs() {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in $PATH or %s", name, strings.Join(binDirs(), ", "))
}

func startCluster() (*localCluster, error) {
	initdb, err := findBin("initdb")
	if err != nil {
		return nil, err
	}
	postgres, err := findBin("postgres")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "nofly-pgtest-")
	if err != nil {
		return nil, err
	}
	// PostgreSQL refuses to run as root: run it as the postgres user.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// fsync off: a test cluster need not survive a power cut, and tests
	// are several times faster without it.
	cmd = exec.Command(postgres, "-D", data, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-k", dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200")
	// Should the test binary die without calling Stop, postgres goes
	// with it (SIGQUIT: immediate shutdown).
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting postgres: %w", err)
	}
	logf.Close()
	c := &localCluster{dir: dir, cmd: cmd, url: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.url)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return c, nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			c.stop()
			return nil, fmt.Errorf("postgres did not accept connections: %v; log:\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *localCluster) stop() {
	if c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(c.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Proxy forwards TCP connections on 127.0.0.1 to a PostgreSQL server, and
// can be cut (every connection closed, new ones refused) and restored: an
// outage of the database as its clients see it.
type Proxy struct {
	target string
	lis    net.Listener
	addr   string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewProxy starts a proxy to the server of dbURL and returns it with
// dbURL rewritten to go through it. It stops when t ends.
func NewProxy(t testing.TB, dbURL string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{target: u.Host, lis: lis, addr: lis.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	u.Host = p.addr
	return p, u.String()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.lis.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.mu.Unlock()
		p.wg.Add(1)
		go p.forward(c)
	}
}

func (p *Proxy) forward(c net.Conn) {
	defer p.wg.Done()
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}
	go pipe(s, c)
	go pipe(c, s)
	<-done
	c.Close()
	s.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}

// Cut closes every connection through the proxy and refuses new ones
// until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Restore lets connections through again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

func (p *Proxy) close() {
	p.Cut()
	p.lis.Close()
	p.wg.Wait()
}
