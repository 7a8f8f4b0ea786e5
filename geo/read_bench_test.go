package geo

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Benchmarks of reading zone files:
//
//	go test -run='^$' -bench='Read' -benchtime=5x -count=10 ./geo/
//
// BenchmarkReadSynthetic50k reads zones.geojson of the shared benchmark set
// (50,000 star-shaped polygons of 8–48 vertices, 40 MB, nofly's schema), on
// which the reference systems were measured (../shared/bench/README.md).
// It takes the file from $NOFLY_BENCH_DATA when that names a directory
// holding zones.geojson (as made by `(cd ../shared/bench && go run ./gen
// -out DIR)`); otherwise it writes the file into a temporary directory with
// `go run ./gen` from ../shared/bench, and skips when that folder or the go
// command is absent.

// syntheticZones returns the path of the 50,000-zone benchmark file.
func syntheticZones(b *testing.B) string {
	b.Helper()
	if dir := os.Getenv("NOFLY_BENCH_DATA"); dir != "" {
		p := filepath.Join(dir, "zones.geojson")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		b.Logf("NOFLY_BENCH_DATA=%s holds no zones.geojson: generating it", dir)
	}
	gen := filepath.Join("..", "..", "shared", "bench")
	if _, err := os.Stat(filepath.Join(gen, "gen", "main.go")); err != nil {
		b.Skipf("no benchmark data: set NOFLY_BENCH_DATA to a directory holding zones.geojson, or provide ../shared/bench beside the repository (%v)", err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		b.Skipf("no benchmark data and no go command to generate it: %v", err)
	}
	out := b.TempDir()
	cmd := exec.Command(goCmd, "run", "./gen", "-out", out, "-scales", "50000", "-points", "1", "-routes", "1")
	cmd.Dir = gen
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Skipf("generating benchmark data in %s: %v\n%s", gen, err, msg)
	}
	return filepath.Join(out, "zones.geojson")
}

func BenchmarkReadSynthetic50k(b *testing.B) {
	path := syntheticZones(b)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for b.Loop() {
		zones, err := ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		if len(zones) != 50_000 {
			b.Fatalf("%d zones, want 50000", len(zones))
		}
	}
}

func BenchmarkReadSwissED318(b *testing.B) {
	path := sharedRefData + "/zones/ch-foca-ed318-testdata.json.gz"
	needSharedFile(b, path)
	b.ReportAllocs()
	for b.Loop() {
		zones, err := ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		if len(zones) != 1179 {
			b.Fatalf("%d zones, want 1179", len(zones))
		}
	}
}
