package main

import (
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeEnv makes lookupEnv read env for the test.
func fakeEnv(t *testing.T, env map[string]string) {
	t.Helper()
	old := lookupEnv
	lookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	t.Cleanup(func() { lookupEnv = old })
}

func TestEnvDefaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(*config) bool
		wantErr string
	}{
		{
			name: "environment sets every kind of flag",
			env: map[string]string{"NOFLY_LISTEN": "127.0.0.1:7700", "NOFLY_ZONES": "/etc/nofly/a:/etc/nofly/b.json",
				"NOFLY_LOG_LEVEL": "warn", "NOFLY_GRACE": "3s", "NOFLY_METRICS_LISTEN": "127.0.0.1:9600", "NOFLY_PPROF": "true",
				"NOFLY_DB": "/var/lib/nofly/nofly.db"},
			check: func(c *config) bool {
				return c.listen == "127.0.0.1:7700" && slices.Equal(c.zones, []string{"/etc/nofly/a", "/etc/nofly/b.json"}) &&
					c.logLevel == slog.LevelWarn && c.grace == 3*time.Second && c.metrics == "127.0.0.1:9600" && c.pprof &&
					c.db == "/var/lib/nofly/nofly.db"
			},
		},
		{
			name: "the command line wins, a repeated flag whole",
			env:  map[string]string{"NOFLY_LISTEN": "127.0.0.1:7700", "NOFLY_ZONES": "/env/a:/env/b"},
			args: []string{"--listen", "127.0.0.1:7800", "--zones", "/cli/c"},
			check: func(c *config) bool {
				return c.listen == "127.0.0.1:7800" && slices.Equal(c.zones, []string{"/cli/c"})
			},
		},
		{
			name:  "unset variables leave the defaults",
			env:   map[string]string{"NOFLY_SERVER": "10.0.0.1:7600"}, // the CLI's, not a flag of noflyd
			check: func(c *config) bool { return c.listen == "127.0.0.1:7600" && c.metrics == "" && c.db == "nofly.db" },
		},
		{
			name:    "a bad value names the variable",
			env:     map[string]string{"NOFLY_GRACE": "soon"},
			wantErr: `NOFLY_GRACE="soon" (for --grace)`,
		},
		{
			name:    "pprof needs a metrics listener",
			env:     map[string]string{"NOFLY_PPROF": "1"},
			wantErr: "--pprof needs --metrics-listen",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fakeEnv(t, tc.env)
			c, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("config %+v", c)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	for flagName, want := range map[string]string{"listen": "NOFLY_LISTEN", "metrics-listen": "NOFLY_METRICS_LISTEN", "log-format": "NOFLY_LOG_FORMAT"} {
		if got := envName(flagName); got != want {
			t.Errorf("envName(%q) = %q, want %q", flagName, got, want)
		}
	}
}
