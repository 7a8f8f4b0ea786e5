package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// runCLI runs nofly with args and an environment of env, without a server
// (the server address refuses connections).
func runCLI(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return env[k] }
	args = append([]string{"--server", "127.0.0.1:1", "--timeout", "1s"}, args...)
	err := run(context.Background(), args, strings.NewReader(""), &out, &errOut, getenv)
	code = exit(err, &errOut)
	return out.String(), errOut.String(), code
}

// usageHint ends every usage error, and no connection error.
const usageHint = `--help")`

func TestGroupHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string // lines the help must hold
	}{
		{[]string{"plan", "--help"}, []string{"Usage: nofly plan COMMAND [flags]", "  plan check      Asks whether a flight plan may go ahead.",
			"  plan authorise  Asks the server for a signed flight authorisation of a flight plan."}},
		{[]string{"authorisations", "--help"}, []string{"  authorisations list", "  authorisations revocations"}},
		{[]string{"authorisation", "--help"}, []string{"  authorisation verify", "  authorisation show"}},
		{[]string{"keys", "--help"}, []string{"  keys new", "  keys export"}},
		{[]string{"zones", "-h"}, []string{"  zones list", "  zones show", "  zones convert"}},
		{[]string{"exemptions", "--help"}, []string{"  exemptions create", "  exemptions revoke"}},
		{[]string{"audit", "--help"}, []string{"  audit list", "  audit verify"}},
		{[]string{"help", "audit"}, []string{"  audit verify"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errOut, code := runCLI(t, nil, tc.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w+"\n") && !strings.Contains(out, w+" ") {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
		})
	}
	_, errOut, code := runCLI(t, nil, "zones")
	if code != 2 || !strings.Contains(errOut, `nofly zones: needs a subcommand: list, show or convert (see "nofly zones --help")`) {
		t.Errorf("nofly zones: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = runCLI(t, nil, "plan", "chek")
	if code != 2 || !strings.Contains(errOut, `nofly plan: unknown command "plan chek" (see "nofly plan --help")`) {
		t.Errorf("nofly plan chek: exit %d, stderr %q", code, errOut)
	}
}

func TestVersion(t *testing.T) {
	out, errOut, code := runCLI(t, nil, "--version")
	// A test binary carries no VCS stamp; the e2e tests see a real one.
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "nofly ") || !strings.Contains(out, "go1.") {
		t.Errorf("nofly --version: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestOneSpelling checks that the help shows one spelling of each flag
// and value, and that the other spelling is accepted.
func TestOneSpelling(t *testing.T) {
	out, _, _ := runCLI(t, nil, "plan", "check", "--help")
	if strings.Contains(out, "\n  -ref ") || !strings.Contains(out, "-reference") {
		t.Errorf("plan check --help shows --ref or lacks --reference:\n%s", out)
	}
	if strings.Contains(out, "event-supervision") || !strings.Contains(out, "event_supervision") {
		t.Errorf("plan check --help spells the purpose two ways:\n%s", out)
	}
	plan := filepath.Join(t.TempDir(), "route.geojson")
	if err := os.WriteFile(plan, []byte(`{"type":"LineString","coordinates":[[4.7,52.3,50],[4.71,52.3,50]]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// Both spellings get as far as the server (which is not there).
	for _, args := range [][]string{
		{"plan", "check", plan, "--ref", "MK-1", "--purpose", "event-supervision"},
		{"plan", "check", plan, "--reference", "MK-1", "--purpose", "event_supervision"},
		{"check", "--lat", "52.3", "--lon", "4.7", "--reference", "MK-1", "--purpose", "event-supervision"},
	} {
		_, errOut, code := runCLI(t, nil, args...)
		if code != 2 || strings.Contains(errOut, usageHint) {
			t.Errorf("%q: exit %d, stderr %q; want a connection error", args, code, errOut)
		}
	}
}

func TestPlanCheckHeights(t *testing.T) {
	area := filepath.Join(t.TempDir(), "area.geojson")
	if err := os.WriteFile(area, []byte(`{"type":"Polygon","coordinates":[[[4.7,52.3],[4.71,52.3],[4.71,52.31],[4.7,52.3]]]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string // on stderr
	}{
		{[]string{"--min-alt", "10"}, "--min-alt needs --max-alt"},
		{[]string{"--max-alt", "100", "--alt-ref", "amsl"}, "--max-alt with --alt-ref amsl needs --min-alt too"},
		// Alone and above ground, --max-alt is taken: the call gets as far
		// as the server.
		{[]string{"--max-alt", "100"}, ""},
	}
	for _, tc := range tests {
		_, errOut, code := runCLI(t, nil, append([]string{"plan", "check", area}, tc.args...)...)
		if code != 2 || tc.want == "" && strings.Contains(errOut, usageHint) || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestByMissing(t *testing.T) {
	create := []string{"exemptions", "create", "--unit", "U", "--zone", "Z", "--from", "now", "--until", "+1h",
		"--max-alt", "60", "--legal-basis", "L"}
	_, errOut, code := runCLI(t, map[string]string{}, create...)
	if code != 2 || !strings.Contains(errOut, "--by required") || !strings.Contains(errOut, "$NOFLY_USER nor $USER") {
		t.Errorf("create without a name: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = runCLI(t, map[string]string{}, "exemptions", "revoke", "EX-000001", "--reason", "done")
	if code != 2 || !strings.Contains(errOut, "$NOFLY_USER nor $USER") {
		t.Errorf("revoke without a name: exit %d, stderr %q", code, errOut)
	}
	// $USER is enough: the call gets as far as the server.
	_, errOut, _ = runCLI(t, map[string]string{"USER": "jansen"}, create...)
	if strings.Contains(errOut, usageHint) {
		t.Errorf("create with $USER: stderr %q; want a connection error", errOut)
	}
}

func TestStableJSON(t *testing.T) {
	m := &noflyv1.CheckPositionResponse{Verdict: noflyv1.Verdict_VERDICT_CLEAR,
		Caveats: []*noflyv1.Caveat{{Text: "a"}}, At: timestamppb.New(timestamppb.Now().AsTime().Truncate(1e9))}
	first, err := stableJSON(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(first, []byte("{\n  \"verdict\": \"VERDICT_CLEAR\",\n")) || bytes.Contains(first, []byte(":  ")) {
		t.Errorf("not laid out as two-space indented JSON:\n%s", first)
	}
	for range 20 {
		b, err := stableJSON(m)
		if err != nil || !bytes.Equal(b, first) {
			t.Fatalf("stableJSON differs between calls:\n%s\n%s", first, b)
		}
	}
}

func TestActive(t *testing.T) {
	all := []noflyv1.Weekday{1, 2, 3, 4, 5, 6, 7}
	tests := []struct {
		name    string
		periods []*noflyv1.Period
		want    string
	}{
		{"none", nil, "always"},
		{"every day all day", []*noflyv1.Period{{Schedule: []*noflyv1.DailyPeriod{{Days: all, TimeZone: "UTC"}}}}, "always"},
		{"every day to 24:00", []*noflyv1.Period{{Schedule: []*noflyv1.DailyPeriod{{Days: all, EndSeconds: 86400, TimeZone: "UTC"}}}}, "always"},
		{"weekends", []*noflyv1.Period{{Schedule: []*noflyv1.DailyPeriod{{Days: []noflyv1.Weekday{6, 7}, StartSeconds: 36000, EndSeconds: 82800, TimeZone: "Europe/Amsterdam"}}}},
			"sat,sun 10:00–23:00 Europe/Amsterdam"},
		{"every day, some hours", []*noflyv1.Period{{Schedule: []*noflyv1.DailyPeriod{{Days: all, StartSeconds: 3600, EndSeconds: 7200, TimeZone: "UTC"}}}},
			"every day 01:00–02:00 UTC"},
		{"dates", []*noflyv1.Period{{Start: timestamppb.New(time.Date(2026, 6, 26, 0, 0, 0, 0, time.UTC))}}, "from 2026-06-26T00:00:00Z"},
		{"two periods", []*noflyv1.Period{{End: timestamppb.New(time.Date(2026, 6, 26, 0, 0, 0, 0, time.UTC))}, {Schedule: []*noflyv1.DailyPeriod{{Days: all, StartSeconds: 3600, EndSeconds: 7200}}}},
			"2 periods (see zones show)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := active(&noflyv1.Zone{Applicability: tc.periods}); got != tc.want {
				t.Errorf("active = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVertexCount(t *testing.T) {
	closed := orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}
	open := orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}}
	if n := vertexCount(orb.Polygon{closed}); n != 4 {
		t.Errorf("closed square: %d vertices, want 4", n)
	}
	if n := vertexCount(orb.Polygon{open}); n != 4 {
		t.Errorf("open square: %d vertices, want 4", n)
	}
	if n := vertexCount(orb.Polygon{closed, closed}); n != 8 {
		t.Errorf("square with a hole: %d vertices, want 8", n)
	}
}
