package exemptions_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoDriver: the rules are pure, so that a ground station or a
// pilot's laptop can run them without the server. Importing them must link
// neither database driver nor gRPC (the stores live in sqlitestore and
// pgstore).
func TestLinksNoDriver(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the imports with")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/nofly-project/nofly/exemptions").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 || !strings.Contains(string(out), "github.com/nofly-project/nofly/geo\n") {
		t.Fatalf("go list -deps gave %d packages, without geo: not the import graph\n%s", len(deps), out)
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/jackc/pgx", "modernc.org/sqlite", "database/sql", "google.golang.org/grpc"} {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("the exemption rules link %s", d)
			}
		}
	}
}
