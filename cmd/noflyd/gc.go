package main

import (
	"runtime/debug"
	"runtime/metrics"
)

// defaultGCPercent is the garbage collector's GOGC in noflyd when the
// environment sets none: a collection when the heap has grown to five
// times what the last one left live, rather than Go's default of twice.
//
// noflyd's live heap is mostly the zone index (about 110 MB for 50,000
// zones), which every collection marks again: 35 to 120 ms of marking on
// a 2-core machine, during which a MonitorFlight stream's answers come
// later (in a run at 10,000 positions a second, the positions answered
// during marking took a median of 1.1 ms against 0.34 ms for the rest).
// With Go's default a stream load of 10,000 positions a second collects
// every 2 to 3 seconds, 2 to 4% of the positions answered during marking;
// five times the live heap collects about a quarter as often, for a heap
// of up to five times the live one (about 550 MB for 50,000 zones).
// GOGC, or GOMEMLIMIT to cap the heap, set in the environment, wins.
const defaultGCPercent = 400

// setGC sets the collector's target, unless the environment (read by
// lookup) sets GOGC, which the Go runtime has then applied. It returns
// the GOGC in force.
func setGC(lookup func(string) (string, bool)) int {
	if _, set := lookup("GOGC"); set {
		m := []metrics.Sample{{Name: "/gc/gogc:percent"}}
		metrics.Read(m)
		return int(m[0].Value.Uint64())
	}
	debug.SetGCPercent(defaultGCPercent)
	return defaultGCPercent
}
