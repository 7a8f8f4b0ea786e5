package main

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nofly-project/nofly/data"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/server"
)

// lostReplies answers the first call of each write method UNAVAILABLE
// after running it: the write committed, and the reply was lost on the
// way back, as when a connection drops at that moment.
type lostReplies struct {
	mu   sync.Mutex
	runs map[string]int // handler runs, by method
}

func (l *lostReplies) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !strings.Contains(info.FullMethod, "Create") && !strings.Contains(info.FullMethod, "Revoke") &&
		!strings.Contains(info.FullMethod, "Supersede") {
		return handler(ctx, req)
	}
	resp, err := handler(ctx, req)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs[info.FullMethod]++
	if err == nil && l.runs[info.FullMethod] == 1 {
		return nil, status.Error(codes.Unavailable, "connection lost after the commit")
	}
	return resp, err
}

// TestWriteRetriedAfterLostReply: each write's reply is lost once after
// the server committed it; the CLI sends the same request again and
// succeeds, and the store holds one record (one supersession, one
// revocation) and one audit entry per write.
func TestWriteRetriedAfterLostReply(t *testing.T) {
	defer func(b []time.Duration) { writeBackoff = b }(writeBackoff)
	writeBackoff = []time.Duration{time.Millisecond, time.Millisecond}
	ctx := context.Background()
	lost := &lostReplies{runs: map[string]int{}}
	addr, store := serve(t, grpc.ChainUnaryInterceptor(lost.intercept))

	nofly := func(args ...string) string {
		t.Helper()
		var out, errs strings.Builder
		args = append([]string{"--server", addr}, args...)
		if err := run(ctx, args, strings.NewReader(""), &out, &errs, func(string) string { return "" }); err != nil {
			t.Fatalf("nofly %s: %v\n%s", strings.Join(args, " "), err, errs.String())
		}
		if errs.Len() > 0 {
			t.Errorf("nofly %s: stderr %q, want nothing", strings.Join(args, " "), errs.String())
		}
		return strings.TrimSpace(out.String())
	}
	record := []string{"--unit", "AMS-DRONE", "--zone", zoneID(t), "--from", "now", "--until", "+8h",
		"--max-alt", "60", "--legal-basis", "ILT/2026/0042", "--by", "admin"}
	first := nofly(append([]string{"exemptions", "create"}, record...)...)
	second := nofly(append([]string{"exemptions", "supersede", first}, record...)...)
	nofly("exemptions", "revoke", second, "--reason", "operation ended", "--by", "chief")

	for m, n := range lost.runs {
		if n != 2 {
			t.Errorf("%s ran %d times, want 2 (the write, then its retry)", m, n)
		}
	}
	all, _, err := store.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != first || all[0].SupersededBy != second || all[1].Revocation == nil {
		t.Errorf("records after three retried writes: %+v; want %s superseded by %s, revoked", all, first, second)
	}
	events, _, err := store.Audit(ctx, exemptions.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		actions = append(actions, string(e.Action))
		if e.RequestID == "" {
			t.Errorf("audit entry %d has no request id", e.Seq)
		}
	}
	if got := strings.Join(actions, ","); got != "create,supersede,revoke" {
		t.Errorf("audit log %s, want one entry per write: create,supersede,revoke", got)
	}
	if v, err := store.VerifyAudit(ctx); err != nil || !v.OK() {
		t.Errorf("verify: %+v %v", v, err)
	}
}

// serve starts a server of the embedded sample zones with an exemption
// store on a loopback port, with opts beside its own.
func serve(t *testing.T, opts ...grpc.ServerOption) (string, *sqlitestore.Store) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	srv, err := server.New(ctx, server.Config{
		Load:       func(context.Context) ([]geo.Zone, error) { return geo.ReadFS(data.FS) },
		Log:        slog.New(slog.DiscardHandler),
		Exemptions: store,
	})
	if err != nil {
		t.Fatal(err)
	}
	g := srv.NewGRPCServer(opts...)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	return lis.Addr().String(), store
}

// zoneID is a zone of the embedded sample that an exemption may name.
func zoneID(t *testing.T) string {
	zs, err := geo.ReadFS(data.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range zs {
		if z.Restriction == geo.Prohibited || z.Restriction == geo.ReqAuthorisation {
			return z.ID
		}
	}
	t.Fatal("no blocking zone in the sample")
	return ""
}
