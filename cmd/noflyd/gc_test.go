package main

import (
	"runtime/debug"
	"testing"
)

func TestSetGC(t *testing.T) {
	was := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(was) })
	for _, tc := range []struct {
		name string
		env  map[string]string
		want int
	}{
		{"no GOGC: noflyd's default", map[string]string{}, defaultGCPercent},
		{"GOGC set: the runtime's, as it applied it", map[string]string{"GOGC": "150"}, 100},
		{"GOMEMLIMIT alone: noflyd's GOGC under the limit", map[string]string{"GOMEMLIMIT": "1GiB"}, defaultGCPercent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100) // as the runtime would have left it
			if got := setGC(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }); got != tc.want {
				t.Errorf("setGC = %d, want %d", got, tc.want)
			}
			if got := debug.SetGCPercent(100); got != tc.want {
				t.Errorf("GOGC in force %d, want %d", got, tc.want)
			}
		})
	}
}
