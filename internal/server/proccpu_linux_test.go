package server

import (
	"time"

	"golang.org/x/sys/unix"
)

// processCPU is the CPU time the process has used, on every thread (the
// garbage collector's too): unlike the wall clock it does not run on while
// other work on the machine holds the CPU.
func processCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
