package exemptions_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoDriver: the decision's pure packages run without the server,
// on a ground station, a pilot's laptop or an export of the log. Importing
// them must link neither database driver nor gRPC (the stores live in
// sqlitestore and pgstore); the bundle, read offline, no network client
// either.
func TestLinksNoDriver(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the imports with")
	}
	drivers := []string{"github.com/jackc/pgx", "modernc.org/sqlite", "database/sql", "google.golang.org/grpc"}
	for _, tc := range []struct {
		pkg    string
		dep    string // a package it must link, so that the list is the import graph
		banned []string
	}{
		{"github.com/nofly-project/nofly/exemptions", "github.com/nofly-project/nofly/geo", drivers},
		{"github.com/nofly-project/nofly/exemptions/report", "github.com/nofly-project/nofly/exemptions", drivers},
		{"github.com/nofly-project/nofly/bundle", "github.com/nofly-project/nofly/fleet", append(drivers, "net/http")},
	} {
		out, err := exec.Command(gobin, "list", "-deps", tc.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", tc.pkg, err, out)
		}
		if !strings.Contains(string(out), tc.dep+"\n") {
			t.Fatalf("go list -deps %s without %s: not the import graph\n%s", tc.pkg, tc.dep, out)
		}
		for _, d := range strings.Fields(string(out)) {
			for _, banned := range tc.banned {
				if d == banned || strings.HasPrefix(d, banned+"/") {
					t.Errorf("%s links %s", tc.pkg, d)
				}
			}
		}
	}
}
