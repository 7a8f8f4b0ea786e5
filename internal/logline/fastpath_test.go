package logline

import (
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"
)

// TestFloatWholeNumbers: a whole number is written as strconv's shortest
// 'f' form writes it, up to 2⁵³ and past it, negative zero included.
func TestFloatWholeNumbers(t *testing.T) {
	h := NewJSON(discard{}, nil)
	r := rand.New(rand.NewPCG(10, 10))
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 60, 120, 1e15, 1e16, 1 << 52, 1<<53 - 1, 1 << 53, 1<<53 + 2, -(1<<53 - 1), 1e20, 1e21, 123456789012345}
	for range 50_000 {
		v := math.Trunc(math.Ldexp(r.Float64(), r.IntN(60)))
		if r.IntN(2) == 0 {
			v = -v
		}
		vals = append(vals, v, math.Nextafter(v, 0), v+0.5)
	}
	l := h.lineAt(time.Time{}, 0, "")
	for _, v := range vals {
		l.buf, l.sep = l.buf[:0], false
		l.Float("k", v)
		got := string(l.buf)
		want := `"k":` + string(floatJSON(v))
		if got != want {
			t.Fatalf("%v: got %s, want %s", v, got, want)
		}
	}
}

// floatJSON is encoding/json's float format, as slog writes it.
func floatJSON(v float64) []byte {
	format := byte('f')
	if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b := strconv.AppendFloat(nil, v, format, -1, 64)
	if format == 'e' {
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// TestKeysAsSlog: a key holding any one byte, or any rune, at its start,
// middle or end is written as slog writes it, in JSON and text; plainASCII
// holds for a key exactly when every byte is in safeSet.
func TestKeysAsSlog(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var keys []string
	for b := range 256 {
		keys = append(keys, string(rune(b)), string([]byte{byte(b)}))
	}
	keys = append(keys, "\u2028", "🚁", "", "client_reference")
	for _, c := range keys {
		for _, k := range []string{c, "ab" + c, c + "cd", "a" + c + "b"} {
			wantPlain := true
			for i := range len(k) {
				wantPlain = wantPlain && k[i] < utf8.RuneSelf && safeSet[k[i]]
			}
			if plainASCII(k) != wantPlain {
				t.Fatalf("plainASCII(%q) = %v", k, !wantPlain)
			}
			for _, js := range []bool{true, false} {
				got, want := both(t, js, at, slog.LevelInfo, "m", str(k, "v"), integer(k, 1), str("after", k))
				if got != want {
					t.Fatalf("key %q (json %v):\n got %s\nwant %s", k, js, got, want)
				}
			}
		}
	}
}
