package server

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// threadCPU is the CPU time of the calling thread.
func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// BenchmarkPositionLimit: the height limit of a position check at 60 m AGL
// on the shared 50,000-zone set, from columns built beforehand (4,096
// points), under the general ceiling and with no exemption of the unit:
// what limits adds to every position check. It reports the CPU time of
// its own thread (cpu-ns/op).
func BenchmarkPositionLimit(b *testing.B) {
	zones, set := sharedBenchSet(b)
	idx, err := geo.NewIndex(zones)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	pts := set.Points[:min(len(set.Points), 4096)]
	cols := make([]geo.Column, len(pts))
	qs := make([]geo.PositionQuery, len(pts))
	for i, p := range pts {
		qs[i] = geo.PositionQuery{Point: p, Alt: geo.Altitude{Metres: 60, Ref: geo.AGL}, At: now}
		idx.Column(qs[i], &cols[i])
	}
	fl := &exemptions.Fleet{Ceiling: exemptions.DefaultCeiling}
	snap := exemptions.NewSnapshot(nil, 1)
	var buf []geo.Hit
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	start, ok := threadCPU()
	i := 0
	for b.Loop() {
		k := i % len(pts)
		f := exemptions.Flight{Unit: "U-07", Kind: exemptions.FlightPosition, Point: qs[k].Point, Purpose: exemptions.PurposeForensic,
			Height: geo.Band{Lower: 60, Upper: 60, Ref: geo.AGL}}
		_, buf = positionLimit(&cols[k], qs[k], f, snap, fl, buf)
		i++
	}
	if end, ok2 := threadCPU(); ok && ok2 && b.N > 0 {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
}
