package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{
			name: "clean build",
			bi: debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "32efe11a"}, {Key: "vcs.time", Value: "2026-12-03T21:04:39Z"}, {Key: "vcs.modified", Value: "false"}}},
			want: "v1.2.0 (revision 32efe11a of 2026-12-03T21:04:39Z, go1.26.0)",
		},
		{
			name: "work tree changed",
			bi: debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261203210439-32efe11a1234+dirty"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "32efe11a1234"}, {Key: "vcs.modified", Value: "true"}}},
			want: "v0.0.0-20261203210439-32efe11a1234+dirty (revision 32efe11a1234, with uncommitted changes, go1.26.0)",
		},
		{
			name: "go run",
			bi:   debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			want: "(devel) (no VCS revision stamped, go1.26.0)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := describe(&tc.bi); got != tc.want {
				t.Errorf("describe() = %q, want %q", got, tc.want)
			}
		})
	}
}
