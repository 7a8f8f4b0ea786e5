package geo

import (
	"bytes"
	"compress/gzip"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// gzipOf compresses n bytes of c (a multiple of 1 MiB when over 1 MiB) as
// gzip members of 1 MiB each, which gzip readers read as one stream: a bomb
// made in milliseconds.
func gzipOf(tb testing.TB, c byte, n int) []byte {
	tb.Helper()
	member := func(k int) []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(bytes.Repeat([]byte{c}, k)); err != nil {
			tb.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			tb.Fatal(err)
		}
		return buf.Bytes()
	}
	if n <= 1<<20 {
		return member(n)
	}
	return bytes.Repeat(member(1<<20), n>>20)
}

// TestReadGzipBomb reads gzip files that unpack to 1 GiB (zeros, and
// spaces, which are valid JSON white space): each is refused while it is
// unpacked, having allocated well under 100 MB, where before it was
// unpacked whole (issue 11: 2.1 GB of memory for a 4.5 MB file).
func TestReadGzipBomb(t *testing.T) {
	for _, c := range []byte{0, ' '} {
		bomb := gzipOf(t, c, 1<<30)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := Read(bytes.NewReader(bomb), "bomb.json.gz")
		runtime.ReadMemStats(&after)
		var le *LoadError
		if !errors.As(err, &le) || len(le.Problems) != 1 || le.Problems[0].File != "bomb.json.gz" ||
			!strings.Contains(le.Problems[0].Msg, "decompression bomb") {
			t.Fatalf("%q: Read = %v, want a refusal naming a decompression bomb", c, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 100<<20 {
			t.Errorf("%q: reading a %d-byte bomb allocated %d MB, want under 100", c, len(bomb), alloc>>20)
		}
		t.Logf("%q: %d bytes compressed: %v; allocated %d MB", c, len(bomb), err, (after.TotalAlloc-before.TotalAlloc)>>20)
	}
}

// TestReadGzipRatio reads InflateSlack bytes, however well they compress.
func TestReadGzipRatio(t *testing.T) {
	// A valid, empty zone file padded with white space to InflateSlack,
	// compressed about 1000 times.
	var plain bytes.Buffer
	plain.WriteString(`{"type":"FeatureCollection","features":[]}`)
	plain.Write(bytes.Repeat([]byte{' '}, InflateSlack-plain.Len()))
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(plain.Bytes())
	zw.Close()
	if zones, err := Read(&gz, "padded.json.gz"); err != nil || len(zones) != 0 {
		t.Fatalf("padded empty file: %d zones, %v", len(zones), err)
	}
}
