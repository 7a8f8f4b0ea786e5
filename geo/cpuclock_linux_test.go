package geo_test

import "golang.org/x/sys/unix"

// threadNanos is the CPU time, in nanoseconds, the calling OS thread has
// used.
func threadNanos() (int64, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return ts.Nano(), true
}
