package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/internal/fence"
)

// noflyOffline runs nofly with args in a new network namespace, which has
// nothing but a loopback interface (down), and names an unreachable
// server: the command can reach nothing. It falls back to an ordinary
// process where the kernel refuses namespaces, and says so.
func noflyOffline(t *testing.T, args ...string) result {
	t.Helper()
	run := func(isolate bool) (result, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "nofly"), args...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "NOFLY_SERVER=192.0.2.1:7600"}
		if isolate {
			cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		r := result{stdout: out.String(), stderr: errb.String()}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code, err = ee.ExitCode(), nil
		}
		return r, err
	}
	r, err := run(true)
	if err != nil {
		if os.Getenv(requireStraceEnv) != "" {
			t.Fatalf("cannot start a process in a new network namespace (%v), and %s is set", err, requireStraceEnv)
		}
		t.Logf("cannot start a process in a new network namespace (%v): checking without one", err)
		if r, err = run(false); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// TestFieldKit: an administrator grants an exemption and keeps a drone
// registry under the sample policy, a pilot exports a bundle from the real
// noflyd and checks with no network; the same checks through noflyd and
// through the bundle answer alike, the registry and the policy included
// (an unregistered, a retired and another unit's drone, the foreign make
// on a confidential operation); a bundle altered,
// signed by another key, expired, or asked about a place outside its area
// is refused, exit 2.
func TestFieldKit(t *testing.T) {
	dir := t.TempDir()
	key, keys, bun := filepath.Join(dir, "signing-key.pem"), filepath.Join(dir, "keys.cbor"), filepath.Join(dir, "ams.bundle")
	r := nofly(t, "127.0.0.1:1", "keys", "new", key)
	wantExit(t, r, 0)
	d := startDaemon(t, "--signing-key", key, "--policy", "../../examples/policy.txt")
	for _, dr := range [][]string{
		{"1581F5FHC23610000A0B", "DJI", "Matrice 30T", "AMS-DRONE"},
		{"PA-ANAFI-0007", "Parrot", "Anafi USA", "AMS-DRONE"},
		{"PA-ANAFI-0008", "Parrot", "Anafi USA", "RTM-DRONE"},
		{"PA-ANAFI-0010", "Parrot", "Anafi", "AMS-DRONE"},
	} {
		wantExit(t, nofly(t, d.addr, "drones", "add", "--serial", dr[0], "--manufacturer", dr[1], "--model", dr[2],
			"--unit", dr[3], "--clearance", "confidential"), 0)
	}
	wantExit(t, nofly(t, d.addr, "drones", "retire", "PA-ANAFI-0010", "--reason", "crashed"), 0)
	wantExit(t, nofly(t, d.addr, "exemptions", "create", "--unit", "AMS-DRONE", "--pilot", "P-0412", "--zone", "NL-EHAM-CTR",
		"--from", "now", "--until", "+8h", "--max-alt", "60", "--purpose", "forensic", "--legal-basis", "ILT/2026/0042", "--by", "admin"), 0)
	wantExit(t, nofly(t, d.addr, "keys", "export", "--out", keys), 0)
	r = nofly(t, d.addr, "bundle", "export", "--unit", "AMS-DRONE", "--around", "52.31,4.76,30", "--valid", "2h", "-o", bun)
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "1 exemption,") || !strings.Contains(r.stdout, "3 drones of the unit in the registry; policy ../../examples/policy.txt") {
		t.Errorf("export: %s", r)
	}

	checks := [][]string{
		{"check", "--lat", "52.31", "--lon", "4.76", "--alt", "50", "--pilot", "P-0412", "--purpose", "forensic"},
		{"check", "--lat", "52.31", "--lon", "4.76", "--alt", "90", "--pilot", "P-0412", "--purpose", "forensic"},
		{"check", "--lat", "52.31", "--lon", "4.76", "--pilot", "P-0999", "--purpose", "search_and_rescue"},
		{"check", "--lat", "52.45", "--lon", "4.60", "--alt", "50"},
		{"plan", "check", "../../examples/route.geojson", "--buffer", "50", "--pilot", "P-0412", "--purpose", "forensic"},
		{"plan", "check", "../../examples/route.geojson", "--buffer", "50", "--pilot", "P-0412", "--purpose", "training"},
		{"check", "--lat", "52.45", "--lon", "4.60", "--alt", "50", "--drone", "NOT-REGISTERED-1"},
		{"check", "--lat", "52.45", "--lon", "4.60", "--alt", "50", "--drone", "PA-ANAFI-0010"},
		{"check", "--lat", "52.45", "--lon", "4.60", "--alt", "50", "--drone", "PA-ANAFI-0008"},
		{"check", "--lat", "52.45", "--lon", "4.60", "--alt", "50", "--drone", "1581F5FHC23610000A0B", "--classification", "confidential"},
		{"check", "--lat", "52.45", "--lon", "4.60", "--alt", "50", "--drone", "PA-ANAFI-0007", "--classification", "confidential"},
		{"check", "--lat", "52.31", "--lon", "4.76", "--alt", "50", "--drone", "1581F5FHC23610000A0B", "--pilot", "P-0412", "--purpose", "forensic"},
		{"plan", "check", "../../examples/route.geojson", "--buffer", "50", "--pilot", "P-0412", "--purpose", "forensic",
			"--drone", "1581F5FHC23610000A0B", "--classification", "confidential"},
	}
	// One instant for both, so that the answers may be the same to the
	// nanosecond.
	when := time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339)
	for _, c := range checks {
		args := append([]string{"--json"}, append(c, "--unit", "AMS-DRONE", "--at", when)...)
		if c[0] == "plan" {
			args = append([]string{"--json"}, append(c, "--unit", "AMS-DRONE", "--start", when)...)
		}
		on := nofly(t, d.addr, args...)
		off := noflyOffline(t, append(args, "--bundle", bun, "--keys", keys)...)
		if on.code != off.code || on.code == 2 {
			t.Fatalf("%v: noflyd %s\nbundle %s", c, on, off)
		}
		// Refused by the registry or the policy: the drone not registered,
		// retired or another unit's; the foreign make on a confidential
		// operation.
		refused := strings.Contains(strings.Join(c, " "), "NOT-REGISTERED") || slices.Contains(c, "PA-ANAFI-0010") ||
			slices.Contains(c, "PA-ANAFI-0008") || (slices.Contains(c, "1581F5FHC23610000A0B") && slices.Contains(c, "confidential"))
		if refused && (on.code != 1 || !strings.Contains(on.stdout, `"policyRefusals"`)) {
			t.Errorf("%v: want DENIED by the registry or the policy: %s", c, on)
		}
		if !strings.Contains(off.stderr, "OFFLINE: answered from bundle") {
			t.Errorf("%v: the offline answer does not say so: %s", c, off)
		}
		if a, b := decisionJSON(t, c[0], on.stdout, false), decisionJSON(t, c[0], off.stdout, true); !proto.Equal(a, b) {
			t.Errorf("%v: offline differs:\nnoflyd %v\nbundle %v", c, a, b)
		}
	}

	// Text: the answer says it is offline, its age and expiry.
	r = noflyOffline(t, "check", "--lat", "52.31", "--lon", "4.76", "--alt", "50", "--unit", "AMS-DRONE", "--pilot", "P-0412",
		"--purpose", "forensic", "--bundle", bun, "--keys", keys)
	wantExit(t, r, 0)
	if !strings.HasPrefix(r.stdout, "OFFLINE: answered from bundle") || !strings.Contains(r.stdout, "expires") || !strings.Contains(r.stdout, "EXEMPTED") {
		t.Errorf("offline check: %s", r)
	}

	// The journal: each offline answer appended, hash-chained; nofly
	// bundle journal finds a line changed.
	jf := filepath.Join(dir, "field.journal")
	for _, c := range [][]string{
		{"check", "--lat", "52.31", "--lon", "4.76", "--alt", "50", "--unit", "AMS-DRONE", "--pilot", "P-0412", "--purpose", "forensic"},
		{"plan", "check", "../../examples/route.geojson", "--buffer", "50", "--unit", "AMS-DRONE", "--pilot", "P-0412", "--purpose", "training"},
	} {
		r = noflyOffline(t, append(c, "--bundle", bun, "--keys", keys, "--journal", jf)...)
		if r.code == 2 || !strings.Contains(r.stderr, "answer recorded in "+jf) {
			t.Errorf("%v --journal: %s", c, r)
		}
	}
	r = noflyOffline(t, "bundle", "journal", jf)
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "is intact: 2 answers") {
		t.Errorf("bundle journal: %s", r)
	}
	if raw, err := os.ReadFile(jf); err != nil || !bytes.Contains(raw, []byte(`"verdict":"VERDICT_EXEMPTED"`)) {
		t.Errorf("journal: %v\n%s", err, raw)
	} else {
		write(t, jf, strings.Replace(string(raw), `"verdict":"VERDICT_EXEMPTED"`, `"verdict":"VERDICT_CLEAR"`, 1))
		r = noflyOffline(t, "bundle", "journal", jf)
		wantExit(t, r, 1)
		if !strings.Contains(r.stdout, "NOT intact: line 2: prev") {
			t.Errorf("bundle journal, a line changed: %s", r)
		}
		// Nothing is appended to a broken journal.
		r = noflyOffline(t, "check", "--lat", "52.31", "--lon", "4.76", "--unit", "AMS-DRONE", "--bundle", bun, "--keys", keys, "--journal", jf)
		wantExit(t, r, 2)
	}

	// The map, offline: drawn from the bundle's zones and exemptions (the
	// route climbs to 80 m, above the exemption's 60 m: DENIED).
	for _, m := range []string{"offline.html", "offline.svg"} {
		path := filepath.Join(dir, m)
		r = noflyOffline(t, "plan", "check", "../../examples/route.geojson", "--buffer", "50", "--unit", "AMS-DRONE", "--pilot", "P-0412",
			"--purpose", "forensic", "--bundle", bun, "--keys", keys, "--map", path)
		wantExit(t, r, 1)
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Contains(b, []byte("NL-EHAM-CTR")) || !bytes.Contains(b, []byte("OFFLINE: answered from bundle ams.bundle")) {
			t.Errorf("offline map %s: %v, %d bytes; want the CTR and the offline note\n%s", m, err, len(b), r)
		}
	}

	// The fence, offline: the heliport near the route is excluded, the
	// CTR (covered by the exemption up to 60 m) is not.
	fenced := filepath.Join(dir, "fenced.plan")
	r = noflyOffline(t, "plan", "fence", "../../examples/westpoort.plan", "--buffer", "50", "--unit", "AMS-DRONE", "--pilot", "P-0412",
		"--purpose", "forensic", "-o", fenced, "--bundle", bun, "--keys", keys)
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "1 exclusion circle for 1 zone within 1000 m (NL-EHHA-HEL)") {
		t.Errorf("plan fence: %s", r)
	}
	if b, err := os.ReadFile(fenced); err != nil || !bytes.Contains(b, []byte(`"radius": 1521`)) || !bytes.Contains(b, []byte(`"command": 22`)) {
		t.Errorf("fenced plan: %v\n%s", err, b)
	}

	// The same fence for a DJI Dock: the operation area and one GEO zone,
	// the heliport's circle, as nofly reads the file back.
	djiFile := filepath.Join(dir, "fenced.json")
	r = noflyOffline(t, "plan", "fence", "../../examples/westpoort.plan", "--buffer", "50", "--unit", "AMS-DRONE", "--pilot", "P-0412",
		"--purpose", "forensic", "--format", "dji", "-o", djiFile, "--bundle", bun, "--keys", keys)
	wantExit(t, r, 0)
	if raw, err := os.ReadFile(djiFile); err != nil {
		t.Error(err)
	} else if f, err := fence.ReadDJI(bytes.NewReader(raw)); err != nil || f.Inclusion == nil || len(f.Exclusions) != 1 ||
		f.Exclusions[0].Circle == nil || f.Exclusions[0].Circle.RadiusM != 1521 {
		t.Errorf("DJI file: %v, %+v\n%s", err, f, raw)
	}

	// Refusals, exit 2 with the reason.
	raw, err := os.ReadFile(bun)
	if err != nil {
		t.Fatal(err)
	}
	altered := filepath.Join(dir, "altered.bundle")
	i := bytes.Index(raw, []byte(`"ceiling":{"metres":60`))
	if i < 0 {
		t.Fatal("no ceiling in the bundle")
	}
	b := bytes.Clone(raw)
	b[i+len(`"ceiling":{"metres":`)] = '9' // 60 m becomes 90 m
	write(t, altered, string(b))
	other, otherKeys := filepath.Join(dir, "other.pem"), filepath.Join(dir, "other.cbor")
	wantExit(t, nofly(t, "127.0.0.1:1", "keys", "new", other), 0)
	wantExit(t, nofly(t, "127.0.0.1:1", "keys", "export", "--signing-key", other, "--out", otherKeys), 0)
	short := filepath.Join(dir, "short.bundle")
	wantExit(t, nofly(t, d.addr, "bundle", "export", "--unit", "AMS-DRONE", "--area", "52.2,4.6,52.4,4.9", "--valid", "1s", "-o", short), 0)
	time.Sleep(1500 * time.Millisecond)
	at := []string{"check", "--lat", "52.31", "--lon", "4.76", "--alt", "50", "--unit", "AMS-DRONE"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"altered", append(at, "--bundle", altered, "--keys", keys), "refused (bad-signature)"},
		{"other key", append(at, "--bundle", bun, "--keys", otherKeys), "refused (unknown-key)"},
		{"expired", append(at, "--bundle", short, "--keys", keys), "refused (expired)"},
		{"outside the area", []string{"check", "--lat", "52.0", "--lon", "5.5", "--bundle", bun, "--keys", keys}, "outside the bundle's area"},
		{"another unit", []string{"check", "--lat", "52.31", "--lon", "4.76", "--unit", "RTM-DRONE", "--bundle", bun, "--keys", keys}, "unit AMS-DRONE's"},
		{"no key set", []string{"check", "--lat", "52.31", "--lon", "4.76", "--bundle", bun}, "--bundle needs --keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := noflyOffline(t, tc.args...)
			wantExit(t, r, 2)
			if !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
				t.Errorf("want %q on stderr and nothing on stdout: %s", tc.want, r)
			}
		})
	}
}

// decisionJSON reads a --json check answer without what differs between
// noflyd and a bundle by design: when, and from which zone set source.
func decisionJSON(t *testing.T, kind, out string, offline bool) proto.Message {
	t.Helper()
	var m proto.Message = &noflyv1.CheckPositionResponse{}
	if kind == "plan" {
		m = &noflyv1.CheckFlightPlanResponse{}
	}
	if err := protojson.Unmarshal([]byte(out), m); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	r := m.ProtoReflect()
	for _, f := range []string{"checked_at", "zone_set", "exemptions_as_of", "exemptions_stale"} {
		if fd := r.Descriptor().Fields().ByName(protoreflect.Name(f)); fd != nil {
			r.Clear(fd)
		}
	}
	if offline && strings.Contains(out, exemptions.OfflineWarning) {
		// The bundle holds the registry and the policy: it applies them.
		t.Errorf("offline answer says the registry and the policy were not applied: %s", out)
	}
	return m
}
