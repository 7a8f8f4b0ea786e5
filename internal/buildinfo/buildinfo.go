// Package buildinfo says which build of nofly is running, from what the Go
// toolchain stamped into the binary: the module version, the VCS revision
// it was built from and whether the work tree had changes.
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// String describes the running binary in one line, e.g.
// "v0.0.0-20261203210439-32efe11a1234+dirty (revision 32efe11a1234…, modified, go1.26.0)".
func String() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown version (built without module support)"
	}
	return describe(bi)
}

func describe(bi *debug.BuildInfo) string {
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var rev, modified, at string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		case "vcs.time":
			at = s.Value
		}
	}
	var parts []string
	switch {
	case rev != "":
		r := "revision " + rev
		if at != "" {
			r += " of " + at
		}
		parts = append(parts, r)
		if modified == "true" {
			parts = append(parts, "with uncommitted changes")
		}
	default:
		// go run and go test build without VCS stamps.
		parts = append(parts, "no VCS revision stamped")
	}
	parts = append(parts, bi.GoVersion)
	return fmt.Sprintf("%s (%s)", version, strings.Join(parts, ", "))
}
