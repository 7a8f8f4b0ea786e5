package report_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadsNoClock: the report is computed by a pure package (what it
// links is checked with the other pure packages, exemptions'
// TestLinksNoDriver), which anyone can run on an export of the log: it
// reads no clock (time.Now is not called; the period is given).
func TestReadsNoClock(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) < 3 {
		t.Fatalf("the package's files: %v %v", files, err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), "time.Now") {
			t.Errorf("time.Now in %s", f)
		}
	}
}
