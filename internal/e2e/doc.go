// Package e2e holds end-to-end tests: they build the real noflyd and nofly
// binaries, start noflyd on a free loopback port and drive nofly as a user
// or script would, checking its output and exit status.
package e2e
