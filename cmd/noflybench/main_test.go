package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageErrors: every mistake is refused before any traffic, with the
// flag named.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "no command"},
		{"unknown command", []string{"stress"}, `unknown command "stress"`},
		{"position without points", []string{"run", "-modes", "position"}, "-points: required"},
		{"route without routes", []string{"run", "-modes", "route"}, "-routes: required"},
		{"missing points file", []string{"run", "-modes", "position", "-points", filepath.Join(dir, "none.txt")}, "none.txt"},
		{"rounds", []string{"run", "-modes", "health", "-rounds", "0"}, "-rounds 0"},
		{"stray argument", []string{"run", "extra"}, `unexpected argument "extra"`},
		{"server pid", []string{"run", "-server-pid", "999999999"}, "-server-pid"},
		{"seed without db", []string{"seed", "-zones", "z.geojson"}, "-db and -zones are required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
	if err := run(context.Background(), []string{"run", "-h"}, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}
