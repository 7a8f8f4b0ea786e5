//go:build !linux

package logline

import "time"

func threadCPU() (time.Duration, bool) { return 0, false }
