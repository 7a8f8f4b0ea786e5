package report_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPure: the report is computed by a pure package, which anyone can run
// on an export of the log: it links no database driver, no gRPC, and
// reads no clock (time.Now is not called; the period is given).
func TestPure(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the imports with")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/nofly-project/nofly/exemptions/report").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/nofly-project/nofly/exemptions\n") {
		t.Fatalf("go list -deps does not list exemptions: not the import graph\n%s", out)
	}
	for _, d := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/jackc/pgx", "modernc.org/sqlite", "database/sql", "google.golang.org/grpc"} {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("the report links %s", d)
			}
		}
	}
	src, err := exec.Command("grep", "-l", "time.Now", "report.go", "compute.go").CombinedOutput()
	if len(src) > 0 || (err != nil && !strings.Contains(err.Error(), "exit status 1")) {
		t.Errorf("time.Now in %s (%v)", src, err)
	}
}
