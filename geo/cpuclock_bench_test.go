package geo_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/nofly-project/nofly/geo"
)

// cpuClock measures the CPU time of the benchmark's own thread, which,
// unlike the wall clock, does not run on while other work on a shared
// machine holds the CPU: reported as cpu-ns/op beside ns/op.
type cpuClock struct {
	start time.Duration
	ok    bool
}

// startCPU locks the goroutine to its thread (until the benchmark ends)
// and starts the clock.
func startCPU() cpuClock {
	runtime.LockOSThread()
	n, ok := geo.ThreadCPU()
	return cpuClock{n, ok}
}

// report adds cpu-ns/op over b.N operations.
func (c cpuClock) report(b *testing.B) {
	if n, ok := geo.ThreadCPU(); ok && c.ok && b.N > 0 {
		b.ReportMetric(float64(n-c.start)/float64(b.N), "cpu-ns/op")
	}
}
