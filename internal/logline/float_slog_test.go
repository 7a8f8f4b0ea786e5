package logline

import (
	"log/slog"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestWholeFloatsAsSlog: whole-number floats (and their neighbours) are
// written byte for byte as slog's own JSON and text handlers write them,
// compared with slog itself rather than with a copy of its format: 0, -0,
// every power of two to 2⁶⁴ and its neighbours, 2⁵³ ± 1, and random whole
// numbers of every magnitude.
func TestWholeFloatsAsSlog(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	vals := []float64{0, math.Copysign(0, -1), 1 << 53, 1<<53 - 1, 1<<53 + 2, -(1 << 53), -(1<<53 - 1), 1e21, 1e21 - 65536, 999999999999999868928}
	for e := 0; e <= 64; e++ {
		v := math.Ldexp(1, e)
		vals = append(vals, v, -v, math.Nextafter(v, 0), math.Nextafter(v, math.Inf(1)), v-1, v+1)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20_000 {
		v := math.Trunc(math.Ldexp(r.Float64(), r.IntN(75)))
		if r.IntN(2) == 0 {
			v = -v
		}
		vals = append(vals, v)
	}
	for _, v := range vals {
		for _, js := range []bool{true, false} {
			got, want := both(t, js, at, slog.LevelInfo, "m", num("alt", v))
			if got != want {
				t.Fatalf("%v (json %v):\n got %s\nwant %s", v, js, got, want)
			}
		}
	}
}
