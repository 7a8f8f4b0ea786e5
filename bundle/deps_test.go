package bundle_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPure: the bundle is read on a pilot's laptop with no server: the
// package links no database driver, no gRPC and no network client.
func TestPure(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the imports with")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/nofly-project/nofly/bundle").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/nofly-project/nofly/fleet\n") {
		t.Fatalf("go list -deps without fleet: not the import graph\n%s", out)
	}
	for _, d := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/jackc/pgx", "modernc.org/sqlite", "database/sql", "google.golang.org/grpc", "net/http"} {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("the bundle package links %s", d)
			}
		}
	}
}
