package pgtest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

func connect(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// TestNewGivesFreshDatabases: two calls, two empty databases.
func TestNewGivesFreshDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := New(t), New(t)
	if a == b {
		t.Fatalf("the same database twice: %s", a)
	}
	conn, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d tables in a new database (%v)", n, err)
	}
}

// TestProxy: connections pass, a cut closes the open one and refuses new
// ones, a restore lets them through again.
func TestProxy(t *testing.T) {
	ctx := context.Background()
	p, url := NewProxy(t, New(t))
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	if err := conn.Ping(ctx); err == nil {
		t.Error("an open connection survived the cut")
	}
	if err := connect(ctx, url); err == nil {
		t.Error("connected through a cut proxy")
	}
	p.Restore()
	if err := connect(ctx, url); err != nil {
		t.Errorf("after restoring: %v", err)
	}
}

func TestRedact(t *testing.T) {
	got := Redact("postgres://u:secret@127.0.0.1:5432/db")
	if strings.Contains(got, "secret") || !strings.Contains(got, "127.0.0.1:5432/db") {
		t.Errorf("Redact = %q", got)
	}
}

// TestRequireFailsInsteadOfSkipping runs this package's tests again
// against a server that is not there: they skip, saying why, but fail when
// NOFLY_REQUIRE_POSTGRES=1, as CI sets it.
func TestRequireFailsInsteadOfSkipping(t *testing.T) {
	if os.Getenv("NOFLY_PGTEST_CHILD") == "1" {
		t.Skip("run by the test itself")
	}
	for _, tc := range []struct {
		name, require string
		wantFail      bool
		want          string
	}{
		{"skips", "", false, "--- SKIP: TestNewGivesFreshDatabases"},
		{"required: fails", "1", true, "PostgreSQL required (NOFLY_REQUIRE_POSTGRES=1) but not available"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^TestNewGivesFreshDatabases$", "-test.v")
			cmd.Env = append(os.Environ(), "NOFLY_PGTEST_CHILD=1", EnvRequire+"="+tc.require,
				EnvURL+"=postgres://postgres@127.0.0.1:1/postgres?connect_timeout=2")
			out, err := cmd.CombinedOutput()
			if (err != nil) != tc.wantFail || !strings.Contains(string(out), tc.want) {
				t.Fatalf("exit %v, want failure %v and %q in:\n%s", err, tc.wantFail, tc.want, out)
			}
		})
	}
}
