package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/internal/pgtest"
)

// clients are the two services of one noflyd.
type clients struct {
	checks noflyv1.GeofenceServiceClient
	admin  noflyv1.ExemptionServiceClient
}

func dial(t *testing.T, addr string) clients {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return clients{noflyv1.NewGeofenceServiceClient(conn), noflyv1.NewExemptionServiceClient(conn)}
}

// schiphol is a check of unit AMS-DRONE at 50 m in the Schiphol control
// zone, now.
func schiphol() *noflyv1.CheckPositionRequest {
	return &noflyv1.CheckPositionRequest{
		Position: &noflyv1.Position{Latitude: 52.31, Longitude: 4.76},
		Altitude: &noflyv1.Altitude{Metres: 50, Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL},
		Operator: &noflyv1.Operator{Unit: "AMS-DRONE", PilotId: "P-1"}, Purpose: noflyv1.Purpose_PURPOSE_FORENSIC,
	}
}

// waitVerdict polls c's check until it gives want, and returns how long
// that took; it fails the test after limit.
func waitVerdict(t *testing.T, c clients, want noflyv1.Verdict, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := c.checks.CheckPosition(ctx, schiphol())
		cancel()
		took := time.Since(start)
		if err == nil && resp.GetVerdict() == want {
			return took
		}
		if took > limit {
			t.Fatalf("still %v (%v) %v after the change, want %v", resp.GetVerdict(), err, limit, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func createSchiphol(t *testing.T, addr, by string) string {
	t.Helper()
	r := nofly(t, addr, "exemptions", "create", "--unit", "AMS-DRONE", "--zone", "NL-EHAM-CTR", "--from", "now", "--until", "+2h",
		"--max-alt", "60", "--purpose", "forensic", "--legal-basis", "ILT/2026/0050", "--by", by)
	wantExit(t, r, 0)
	return strings.TrimSpace(r.stdout)
}

// TestReplicasSharePostgres: two noflyd on one PostgreSQL database. An
// exemption issued through A covers checks on B within a second, a
// revocation through B reaches A within a second; revocations of the same
// record through both at once: one wins, the other is refused as a failed
// precondition; the audit log, written by both, verifies.
func TestReplicasSharePostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	a, b := startDaemon(t, "--db", db), startDaemon(t, "--db", db)
	if m, _ := a.log.find("exemption database open", 0); m == nil || m["db"] != db {
		t.Errorf("noflyd did not log which database it opened: %v", m)
	}
	ca, cb := dial(t, a.addr), dial(t, b.addr)
	waitVerdict(t, cb, noflyv1.Verdict_VERDICT_DENIED, time.Second)

	id := createSchiphol(t, a.addr, "admin-a")
	took := waitVerdict(t, cb, noflyv1.Verdict_VERDICT_EXEMPTED, time.Second)
	t.Logf("created through A, exempted on B after %v", took)

	r := nofly(t, b.addr, "exemptions", "revoke", id, "--reason", "operation ended", "--by", "chief-b")
	wantExit(t, r, 0)
	took = waitVerdict(t, ca, noflyv1.Verdict_VERDICT_DENIED, time.Second)
	t.Logf("revoked through B, denied on A after %v", took)

	// Revocations racing through both replicas, by gRPC at once.
	ctx := context.Background()
	for range 5 {
		resp, err := ca.admin.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: &noflyv1.Exemption{
			Holder: &noflyv1.ExemptionHolder{Unit: "AMS-DRONE"}, ZoneIds: []string{"NL-EHAM-CTR"},
			ValidFrom: timestamppb.Now(), ValidUntil: timestamppb.New(time.Now().Add(time.Hour)),
			CeilingM: 60, CeilingReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL,
			LegalBasis: "ILT/2026/0051", IssuedBy: "admin-a",
		}})
		if err != nil {
			t.Fatal(err)
		}
		rid := resp.GetExemption().GetId()
		var wg sync.WaitGroup
		codesGot := make([]codes.Code, 2)
		start := make(chan struct{})
		for i, c := range []clients{ca, cb} {
			wg.Go(func() {
				<-start
				_, err := c.admin.RevokeExemption(ctx, &noflyv1.RevokeExemptionRequest{Id: rid, RevokedBy: "chief", Reason: "race"})
				codesGot[i] = status.Code(err)
			})
		}
		close(start)
		wg.Wait()
		if !(codesGot[0] == codes.OK && codesGot[1] == codes.FailedPrecondition) &&
			!(codesGot[0] == codes.FailedPrecondition && codesGot[1] == codes.OK) {
			t.Errorf("%s revoked through A and B at once: %v, want one OK and one FailedPrecondition", rid, codesGot)
		}
	}

	// The same through the CLI: the loser exits 2 saying why.
	id = createSchiphol(t, a.addr, "admin-a")
	results := make([]result, 2)
	var wg sync.WaitGroup
	for i, addr := range []string{a.addr, b.addr} {
		wg.Go(func() { results[i] = nofly(t, addr, "exemptions", "revoke", id, "--reason", "race", "--by", "chief") })
	}
	wg.Wait()
	if results[0].code+results[1].code != 2 || results[0].code*results[1].code != 0 {
		t.Fatalf("concurrent revokes through the CLI:\n%s\n%s", results[0], results[1])
	}
	for _, r := range results {
		if r.code == 2 {
			wantExit(t, r, 2)
			if !strings.Contains(r.stderr, id+": exemption already revoked") {
				t.Errorf("the refused revocation says %q", r.stderr)
			}
		}
	}

	events, err := ca.admin.ListAuditEvents(ctx, &noflyv1.ListAuditEventsRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	changes := 0
	for _, e := range events.GetEvents() {
		if e.GetAction() != noflyv1.AuditAction_AUDIT_ACTION_CHECK {
			changes++
		}
	}
	if changes != 14 {
		t.Errorf("%d changes in the audit log, want 14", changes)
	}
	for _, addr := range []string{a.addr, b.addr} {
		r := nofly(t, addr, "audit", "verify")
		wantExit(t, r, 0)
		// Beside the exempted checks: 1 create + 1 revoke, 5 × (create +
		// revoke), 1 create + 1 revoke.
		if !strings.HasPrefix(r.stdout, "audit log intact: ") || !strings.Contains(r.stdout, " entries, 7 exemption records") {
			t.Errorf("verify through %s: %s", addr, r)
		}
	}
}

// TestReplicaSurvivesDatabaseOutage cuts noflyd off from its PostgreSQL
// (a proxy between them): checks go on from the last known exemptions and
// say how old they are, an exempted check is not cleared, writes fail
// UNAVAILABLE; when the database is back, noflyd recovers by itself.
func TestReplicaSurvivesDatabaseOutage(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow (about 6 s: waits for the exemptions to turn stale): CI runs it")
	}
	proxy, db := pgtest.NewProxy(t, pgtest.New(t))
	d := startDaemon(t, "--db", db)
	c := dial(t, d.addr)
	id := createSchiphol(t, d.addr, "admin")
	waitVerdict(t, c, noflyv1.Verdict_VERDICT_EXEMPTED, time.Second)

	proxy.Cut()
	cut := time.Now()
	// A denied check (above the exemption's 60 m ceiling) is answered, and
	// soon says the exemptions are stale.
	denied := []string{"check", "--lat", "52.31", "--lon", "4.76", "--alt", "100", "--unit", "AMS-DRONE", "--purpose", "forensic"}
	for {
		r := nofly(t, d.addr, append([]string{"--json"}, denied...)...)
		wantExit(t, r, 1)
		var resp noflyv1.CheckPositionResponse
		if err := protojson.Unmarshal([]byte(r.stdout), &resp); err != nil {
			t.Fatalf("%v\n%s", err, r)
		}
		if asOf := resp.GetExemptionsAsOf().AsTime(); asOf.After(cut) {
			t.Fatalf("exemptions as of %v, after the database was cut off at %v", asOf, cut)
		}
		if resp.GetExemptionsStale() {
			break
		}
		if time.Since(cut) > 15*time.Second {
			t.Fatalf("exemptions not stale %v after the database was cut off: %s", time.Since(cut), r)
		}
		time.Sleep(250 * time.Millisecond)
	}
	r := nofly(t, d.addr, denied...)
	wantExit(t, r, 1)
	t.Logf("a check during the outage:\n%s", r.stdout)
	if !strings.Contains(r.stdout, "WARNING: exemptions as of ") || !strings.Contains(r.stdout, "cannot reach its exemption database") {
		t.Errorf("a stale check does not say so: %s", r)
	}

	r = nofly(t, d.addr, "check", "--lat", "52.31", "--lon", "4.76", "--alt", "50", "--unit", "AMS-DRONE", "--purpose", "forensic")
	wantExit(t, r, 2)
	t.Logf("an exempted check during the outage: %s", r.stderr)
	if !strings.Contains(r.stderr, "NOT CLEARED: exemption "+id+" would apply, but the check could not be recorded") {
		t.Errorf("an exempted check during the outage: %s", r)
	}
	r = nofly(t, d.addr, "exemptions", "create", "--unit", "AMS-DRONE", "--zone", "NL-EHAM-CTR", "--from", "now", "--until", "+2h",
		"--max-alt", "60", "--legal-basis", "ILT/2026/0052", "--by", "admin")
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, "the exemption database is unreachable") || !strings.Contains(r.stderr, "(sent 4 times)") {
		t.Errorf("a write during the outage (the CLI sends it 4 times): %s", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err := c.admin.RevokeExemption(ctx, &noflyv1.RevokeExemptionRequest{Id: id, RevokedBy: "chief", Reason: "r"})
	cancel()
	if status.Code(err) != codes.Unavailable {
		t.Errorf("revoke during the outage: %v, want UNAVAILABLE", err)
	}

	proxy.Restore()
	restored := time.Now()
	for {
		r = nofly(t, d.addr, "exemptions", "create", "--unit", "AMS-DRONE", "--zone", "NL-EHAM-CTR", "--from", "now", "--until", "+2h",
			"--max-alt", "60", "--legal-basis", "ILT/2026/0053", "--by", "admin")
		if r.code == 0 {
			break
		}
		if time.Since(restored) > 15*time.Second {
			t.Fatalf("writes still fail %v after the database came back: %s", time.Since(restored), r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("writes work again %v after the database came back", time.Since(restored).Round(time.Millisecond))
	r = nofly(t, d.addr, "--json", "check", "--lat", "52.31", "--lon", "4.76", "--alt", "50", "--unit", "AMS-DRONE", "--purpose", "forensic")
	wantExit(t, r, 0)
	if strings.Contains(r.stdout, `"exemptionsStale": true`) {
		t.Errorf("still stale after the database came back: %s", r)
	}
	r = nofly(t, d.addr, "audit", "verify")
	wantExit(t, r, 0)
	// 2 creates and the exempted checks answered (before and after).
	if !strings.HasPrefix(r.stdout, "audit log intact: ") {
		t.Errorf("verify: %s", r)
	}
	d.waitLog(t, "exemptions refreshed again", 0)
}
