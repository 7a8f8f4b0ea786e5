package pgtest

import (
	"context"
	"os"
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
