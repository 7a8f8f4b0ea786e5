package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"
	_ "modernc.org/sqlite"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// TestExemptionScenario: an administrator issues an exemption with the CLI;
// a pilot's check in that zone turns from DENIED to EXEMPTED with the
// conditions shown; a check outside the window or above the ceiling stays
// DENIED with the reason; revocation turns it back to DENIED; the audit log
// verifies.
func TestExemptionScenario(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	pilot := []string{"check", "--lat", "52.31", "--lon", "4.76", "--unit", "AMS-DRONE", "--pilot", "P-0412", "--purpose", "forensic"}
	check := func(args ...string) result { return nofly(t, d.addr, append(append([]string{}, pilot...), args...)...) }

	r := check("--alt", "50")
	wantExit(t, r, 1)
	if !strings.HasPrefix(r.stdout, "DENIED") || !strings.Contains(r.stdout, "no exemption of unit AMS-DRONE names this zone") {
		t.Fatalf("before the exemption: %s", r)
	}

	r = nofly(t, d.addr, "exemptions", "create", "--unit", "AMS-DRONE", "--zone", "NL-EHAM-CTR", "--from", "now", "--until", "+8h",
		"--max-alt", "60", "--purpose", "forensic", "--conditions", "call the tower 10 minutes before take-off",
		"--legal-basis", "ILT/2026/0042", "--by", "admin-jansen")
	wantExit(t, r, 0)
	id := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(id, "EX-") {
		t.Fatalf("create printed %q, want the new id", r.stdout)
	}

	r = check("--alt", "50", "--reference", "MK-2026-118")
	wantExit(t, r, 0)
	for _, want := range []string{"EXEMPTED", "NL-EHAM-CTR: covered by " + id + " (ILT/2026/0042)",
		"Conditions: call the tower 10 minutes before take-off"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("exempted check lacks %q: %s", want, r)
		}
	}

	r = check("--alt", "100")
	wantExit(t, r, 1)
	if !strings.Contains(r.stdout, id+": ceiling 60 m AGL, planned 100 m AGL") {
		t.Errorf("above the ceiling: %s", r)
	}
	r = check("--alt", "50", "--at", "+10h")
	wantExit(t, r, 1)
	if !strings.Contains(r.stdout, id+": ends ") || !strings.Contains(r.stdout, ", the flight ends ") {
		t.Errorf("after the window: %s", r)
	}
	r = nofly(t, d.addr, "check", "--lat", "52.31", "--lon", "4.76", "--alt", "50", "--unit", "AMS-DRONE", "--purpose", "training")
	wantExit(t, r, 1)
	if !strings.Contains(r.stdout, "allows purpose FORENSIC, not TRAINING") {
		t.Errorf("another purpose: %s", r)
	}

	r = nofly(t, d.addr, "exemptions", "revoke", id, "--reason", "operation ended", "--by", "chief-de-vries")
	wantExit(t, r, 0)
	r = check("--alt", "50")
	wantExit(t, r, 1)
	if !strings.Contains(r.stdout, id+": revoked on ") || !strings.Contains(r.stdout, "by chief-de-vries: operation ended") {
		t.Errorf("after revocation: %s", r)
	}
	r = nofly(t, d.addr, "exemptions", "revoke", id, "--reason", "again", "--by", "chief-de-vries")
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, "already revoked") {
		t.Errorf("revoking twice: %s", r)
	}

	r = nofly(t, d.addr, "exemptions", "show", id)
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "Status:       revoked") {
		t.Errorf("show: %s", r)
	}
	r = nofly(t, d.addr, "audit", "list")
	wantExit(t, r, 0)
	for _, want := range []string{"create  admin-jansen", "check   AMS-DRONE/P-0412  " + id + "   MK-2026-118", "revoke  chief-de-vries"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit list lacks %q:\n%s", want, r.stdout)
		}
	}
	r = nofly(t, d.addr, "audit", "verify")
	wantExit(t, r, 0)
	if !strings.HasPrefix(r.stdout, "audit log intact: 3 entries, 1 exemption record") {
		t.Errorf("verify: %s", r)
	}
	head := strings.TrimPrefix(strings.Split(strings.TrimSpace(r.stdout), "\n")[1], "head ")
	r = nofly(t, d.addr, "audit", "verify", "--head", head)
	wantExit(t, r, 0)
	r = nofly(t, d.addr, "audit", "verify", "--head", strings.Repeat("0", 64))
	wantExit(t, r, 1)
}

// TestExemptionsSurviveSIGKILL kills noflyd with SIGKILL while a client
// creates and revokes exemptions in a loop, restarts it on the same
// database, and finds every acknowledged write, a verified audit log and an
// intact SQLite file. Three rounds.
func TestExemptionsSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills and restarts noflyd")
	}
	db := filepath.Join(t.TempDir(), "nofly.db")
	created := map[string]bool{} // id -> revoked (acknowledged)
	for round := range 3 {
		d := startDaemon(t, "--db", db)
		conn, err := grpc.NewClient(d.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		c := noflyv1.NewExemptionServiceClient(conn)
		checkAcknowledged(t, c, created)

		var (
			mu   sync.Mutex
			wg   sync.WaitGroup
			stop = make(chan struct{})
		)
		writes := 0
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				resp, err := c.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: &noflyv1.Exemption{
					Holder: &noflyv1.ExemptionHolder{Unit: fmt.Sprintf("U-%d", round)}, ZoneIds: []string{"NL-EHAM-CTR"},
					ValidFrom: timestamppb.Now(), ValidUntil: timestamppb.New(time.Now().Add(time.Hour)),
					CeilingM: 60, CeilingReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL,
					LegalBasis: "ILT/TEST", IssuedBy: "durability-test",
				}})
				if err != nil {
					cancel()
					return // the server is gone: nothing more is acknowledged
				}
				id := resp.GetExemption().GetId()
				mu.Lock()
				created[id] = false
				writes++
				mu.Unlock()
				if i%2 == 0 {
					_, err := c.RevokeExemption(ctx, &noflyv1.RevokeExemptionRequest{Id: id, RevokedBy: "durability-test", Reason: "test"})
					if err != nil {
						cancel()
						return
					}
					mu.Lock()
					created[id] = true
					writes++
					mu.Unlock()
				}
				cancel()
			}
		})
		// Kill it while writes are under way: once the first is
		// acknowledged (a loaded machine may take a while), and a little
		// later each round.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			n := writes
			mu.Unlock()
			if n > 0 {
				break
			}
		}
		time.Sleep(time.Duration(100+200*round) * time.Millisecond)
		if err := d.cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		<-d.done
		close(stop)
		wg.Wait()
		conn.Close()
		mu.Lock()
		t.Logf("round %d: %d acknowledged writes before SIGKILL; %d records acknowledged in all", round, writes, len(created))
		if writes == 0 {
			t.Errorf("round %d: no write acknowledged before the kill", round)
		}
		mu.Unlock()
	}

	d := startDaemon(t, "--db", db)
	conn, err := grpc.NewClient(d.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	checkAcknowledged(t, noflyv1.NewExemptionServiceClient(conn), created)

	raw, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var integrity string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check: %q %v", integrity, err)
	}
}

// checkAcknowledged checks that every acknowledged record is there, revoked
// when its revocation was acknowledged, and that the audit log verifies.
func checkAcknowledged(t *testing.T, c noflyv1.ExemptionServiceClient, acked map[string]bool) {
	t.Helper()
	ctx := context.Background()
	got := map[string]bool{}
	req := &noflyv1.ListExemptionsRequest{IncludeRevoked: true, PageSize: 1000}
	for {
		resp, err := c.ListExemptions(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range resp.GetExemptions() {
			got[ex.GetId()] = ex.GetRevocation() != nil
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	for id, revoked := range acked {
		stored, ok := got[id]
		switch {
		case !ok:
			t.Errorf("%s: acknowledged, but lost", id)
		case revoked && !stored:
			t.Errorf("%s: revocation acknowledged, but lost", id)
		}
	}
	v, err := c.VerifyAuditLog(ctx, &noflyv1.VerifyAuditLogRequest{})
	if err != nil || !v.GetOk() {
		t.Fatalf("audit log: %v %v", v, err)
	}
	if int(v.GetRecords()) != len(got) {
		t.Errorf("%d records verified, %d listed", v.GetRecords(), len(got))
	}
}

// TestExemptedPlan: a plan check of an operating area inside an exemption's
// area is EXEMPTED; with a buffer that reaches past the area it is DENIED,
// saying so.
func TestExemptedPlan(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	area := filepath.Join(t.TempDir(), "area.geojson")
	write(t, area, `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[4.74,52.30],[4.78,52.30],[4.78,52.32],[4.74,52.30]]]}}`)
	exArea := filepath.Join(t.TempDir(), "exemption-area.geojson")
	write(t, exArea, `{"type":"Polygon","coordinates":[[[4.70,52.28],[4.82,52.28],[4.82,52.34],[4.70,52.34],[4.70,52.28]]]}`)
	r := nofly(t, d.addr, "exemptions", "create", "--unit", "AMS-DRONE", "--zone", "NL-EHAM-CTR", "--from", "now", "--until", "+8h",
		"--max-alt", "60", "--area-file", exArea, "--legal-basis", "ILT/2026/0043", "--by", "admin")
	wantExit(t, r, 0)
	id := strings.TrimSpace(r.stdout)
	if r := nofly(t, d.addr, "exemptions", "show", id); !strings.Contains(r.stdout, "Area:         polygon") {
		t.Errorf("show: %s", r)
	}
	plan := []string{"plan", "check", area, "--min-alt", "0", "--max-alt", "50", "--unit", "AMS-DRONE", "--purpose", "traffic-accident", "--ref", "M-18"}
	r = nofly(t, d.addr, plan...)
	wantExit(t, r, 0)
	if !strings.HasPrefix(r.stdout, "EXEMPTED") || !strings.Contains(r.stdout, "covered by "+id) {
		t.Errorf("area inside the exemption's: %s", r)
	}
	r = nofly(t, d.addr, append(plan, "--buffer", "4000")...)
	wantExit(t, r, 1)
	if !strings.Contains(r.stdout, id+": the operating area: edge 0 comes within ") || !strings.Contains(r.stdout, "so its 4000 m buffer leaves the area") {
		t.Errorf("buffer past the exemption's area: %s", r)
	}
	r = nofly(t, d.addr, "audit", "list", "--action", "check")
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "M-18") {
		t.Errorf("the exempted plan check is not in the audit log: %s", r)
	}
}

// TestExemptionsReachAnotherServer: two noflyd share one database; an
// exemption issued through one covers checks on the other within a couple
// of seconds (each polls the record set's version every second).
func TestExemptionsReachAnotherServer(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "nofly.db")
	a := startDaemon(t, "--db", db)
	b := startDaemon(t, "--db", db)
	r := nofly(t, a.addr, "exemptions", "create", "--unit", "AMS-DRONE", "--zone", "NL-EHAM-CTR", "--from", "now", "--until", "+1h",
		"--max-alt", "60", "--legal-basis", "ILT/2026/0044", "--by", "admin")
	wantExit(t, r, 0)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r = nofly(t, b.addr, "check", "--lat", "52.31", "--lon", "4.76", "--alt", "50", "--unit", "AMS-DRONE")
		if r.code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other server still denies 5 s after the exemption was issued: %s", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.HasPrefix(r.stdout, "EXEMPTED") {
		t.Errorf("other server: %s", r)
	}
}

// TestAuditVerifyFindsTampering changes an audit entry behind noflyd's back
// (after dropping the trigger that forbids it): nofly audit verify exits 1
// and says which entry.
func TestAuditVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "nofly.db")
	d := startDaemon(t, "--db", db)
	for range 2 {
		r := nofly(t, d.addr, "exemptions", "create", "--unit", "AMS-DRONE", "--zone", "NL-EHAM-CTR", "--from", "now", "--until", "+1h",
			"--max-alt", "60", "--legal-basis", "ILT/2026/0045", "--by", "admin")
		wantExit(t, r, 0)
	}
	wantExit(t, nofly(t, d.addr, "audit", "verify"), 0)
	raw, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{"DROP TRIGGER audit_no_update", "UPDATE audit SET entry = replace(entry, '\"admin\"', '\"someone-else\"') WHERE seq = 1"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	r := nofly(t, d.addr, "audit", "verify")
	wantExit(t, r, 1)
	if !strings.HasPrefix(r.stdout, "audit log NOT intact") || !strings.Contains(r.stdout, "entry 1: ") {
		t.Errorf("verify after tampering: %s", r)
	}
}

// TestAuditVerifyFindsListColumnsEdited moves a record's end behind
// noflyd's back, leaving the hash chain intact: exemptions list --active-at
// then answers wrongly, and nofly audit verify exits 1 naming the record
// and the column.
func TestAuditVerifyFindsListColumnsEdited(t *testing.T) {
	db := filepath.Join(t.TempDir(), "nofly.db")
	d := startDaemon(t, "--db", db)
	r := nofly(t, d.addr, "exemptions", "create", "--unit", "AMS-DRONE", "--zone", "NL-EHAM-CTR", "--from", "now", "--until", "+1h",
		"--max-alt", "60", "--legal-basis", "ILT/2026/0045", "--by", "admin")
	wantExit(t, r, 0)
	id := strings.TrimSpace(r.stdout)
	raw, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{"DROP TRIGGER exemptions_no_edit",
		"UPDATE exemptions SET valid_until_ns = valid_until_ns + 30 * 86400000000000"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The edit shows in the list a planner reads ...
	r = nofly(t, d.addr, "exemptions", "list", "--active-at", "+48h")
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, id) {
		t.Fatalf("the edit did not reach the list, so this test shows nothing:\n%s", r)
	}
	// ... and in the verification.
	r = nofly(t, d.addr, "audit", "verify")
	wantExit(t, r, 1)
	if !strings.Contains(r.stdout, id+": column valid_until differs from the record") {
		t.Errorf("verify after editing valid_until_ns: %s", r)
	}
}
