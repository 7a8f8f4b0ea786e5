package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/storetest"
)

// TestAuditToolsOnALargeLog: a log whose entries together take far more
// than the 4 MiB a gRPC client accepts in one answer (checks with long
// references, as stored before requests were bounded) still lists and
// verifies: the server pages by size, and the CLI reads page by page.
func TestAuditToolsOnALargeLog(t *testing.T) {
	ctx := context.Background()
	addr, store := serve(t)
	ex, err := store.Create(ctx, exemptions.Request{}, storetest.Record("AMS", zoneID(t)))
	if err != nil {
		t.Fatal(err)
	}
	const checks, refBytes = 60, 40 << 10
	total := 0
	for i := range checks {
		e, err := store.RecordCheck(ctx, exemptions.CheckRecord{At: storetest.T0.Add(time.Duration(i) * time.Minute),
			Unit: "AMS", Pilot: "P1", Purpose: exemptions.PurposeForensic, ExemptionIDs: []string{ex.ID},
			ZoneIDs: []string{zoneID(t)}, Verdict: "EXEMPTED", ClientReference: strings.Repeat("r", refBytes)})
		if err != nil {
			t.Fatal(err)
		}
		total += 2 * len(e.Detail) // the reference is in the entry twice, and the detail sent again beside it
	}
	if total < 4<<20 {
		t.Fatalf("the log takes %d bytes in answers: too small to show anything", total)
	}
	nofly := func(args ...string) string {
		t.Helper()
		var out, errs strings.Builder
		args = append([]string{"--server", addr}, args...)
		if err := run(ctx, args, strings.NewReader(""), &out, &errs, func(string) string { return "" }); err != nil {
			t.Fatalf("nofly %s: %v\n%s", strings.Join(args, " "), err, errs.String())
		}
		return out.String()
	}
	if out := nofly("audit", "verify"); !strings.Contains(out, "audit log intact: 61 entries, 1 exemption record") {
		t.Errorf("audit verify:\n%s", out)
	}
	out := nofly("audit", "list")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1+1+checks {
		t.Errorf("audit list printed %d lines, want a header and %d entries", len(lines), 1+checks)
	}
	if out := nofly("--json", "audit", "list", "--action", "check"); strings.Count(out, `"seq"`) != checks {
		t.Errorf("audit list --json printed %d entries, want %d", strings.Count(out, `"seq"`), checks)
	}
}
