package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nofly-project/nofly/authorisation"
)

// verifyOffline runs "nofly authorisation verify" with args in a new
// network namespace, which has nothing but a loopback interface (down): the
// verification can reach nothing. It falls back to an ordinary process
// where the kernel refuses namespaces (no CAP_SYS_ADMIN), and says so.
func verifyOffline(t *testing.T, args ...string) result {
	t.Helper()
	run := func(isolate bool) (result, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "nofly"), append([]string{"authorisation", "verify"}, args...)...)
		// No server named: the command must need none.
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
		t.Logf("cannot start a process in a new network namespace (%v): verifying without one", err)
		if r, err = run(false); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// TestAuthorisationScenario is the README's walk-through over mutual TLS
// with the real binaries: a planner is refused an authorisation for a route
// through Schiphol's control zone, an administrator grants an exemption,
// the planner gets the authorisation, a ground station verifies it offline
// (in a network namespace), the administrator revokes the exemption, and
// the ground station, holding the new revocation list, refuses it.
func TestAuthorisationScenario(t *testing.T) {
	c := devCerts(t)
	d := launchDaemon(t, append(c.serverFlags(), "--signing-key", c.path("signing-key.pem"), "--issuer", "Politie NL test")...)
	waitServingTLS(t, d.addr, c)
	dir := t.TempDir()
	route := filepath.Join(dir, "route.geojson")
	write(t, route, `{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[4.74,52.30,60],[4.76,52.31,80],[4.78,52.315,70]]}}`)
	au, keys, revoked := filepath.Join(dir, "patrol.au"), filepath.Join(dir, "keys.cbor"), filepath.Join(dir, "revoked.cbor")
	authorise := append(c.flags("planner"), "plan", "authorise", route, "--drone", "DJI-M30T-0001", "--pilot", "P-0412",
		"--purpose", "forensic", "--start", "now", "--end", "+2h", "--buffer", "50", "-o", au, "--qr", filepath.Join(dir, "patrol.png"))

	r := nofly(t, d.addr, authorise...)
	wantExit(t, r, 1)
	if !strings.HasPrefix(r.stdout, "DENIED") || !strings.Contains(r.stdout, "No authorisation issued") {
		t.Errorf("without an exemption: %s", r)
	}
	if _, err := os.Stat(au); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a denied plan wrote %s (%v)", au, err)
	}

	r = nofly(t, d.addr, append(c.flags("admin"), "exemptions", "create", "--unit", "AMS-DRONE", "--zone", "NL-EHAM-CTR",
		"--from", "now", "--until", "+8h", "--max-alt", "100", "--purpose", "forensic",
		"--conditions", "call the tower 10 minutes before take-off", "--legal-basis", "ILT/2026/0042")...)
	wantExit(t, r, 0)
	ex := strings.TrimSpace(r.stdout)
	// The drone is the unit's, in the registry (an unregistered one is refused).
	wantExit(t, nofly(t, d.addr, append(c.flags("admin"), "drones", "add", "--serial", "DJI-M30T-0001", "--manufacturer", "DJI",
		"--model", "Matrice 30T", "--unit", "AMS-DRONE", "--clearance", "regular")...), 0)

	r = nofly(t, d.addr, authorise...)
	wantExit(t, r, 0)
	if !strings.HasPrefix(r.stdout, "EXEMPTED") || !strings.Contains(r.stdout, "Authorisation AU-000001 for drone DJI-M30T-0001") {
		t.Fatalf("with the exemption: %s", r)
	}
	// A pilot asks for its own unit only.
	r = nofly(t, d.addr, append(c.flags("pilot"), "plan", "authorise", route, "--drone", "X", "--unit", "RTM-DRONE", "-o", filepath.Join(dir, "x.au"))...)
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, "is not your unit") {
		t.Errorf("pilot for another unit: %s", r)
	}

	wantExit(t, nofly(t, d.addr, append(c.flags("pilot"), "keys", "export", "--out", keys)...), 0)
	wantExit(t, nofly(t, d.addr, append(c.flags("pilot"), "authorisations", "revocations", "--out", revoked)...), 0)

	at := time.Now().Add(30 * time.Minute).UTC().Format(time.RFC3339)
	verify := []string{au, "--keys", keys, "--revocations", revoked, "--drone", "DJI-M30T-0001", "--at", at,
		"--lat", "52.305", "--lon", "4.75", "--alt", "70", "--alt-ref", "agl"}
	r = verifyOffline(t, verify...)
	wantExit(t, r, 0)
	if !strings.HasPrefix(r.stdout, "ACCEPTED — AU-000001") || !strings.Contains(r.stdout, "under exemption "+ex) ||
		!strings.Contains(r.stdout, "call the tower") {
		t.Errorf("offline verification: %s", r)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		reason string
	}{
		{"other drone", []string{au, "--keys", keys, "--drone", "DJI-M30T-0002", "--at", at}, "REFUSED (other-drone)"},
		{"outside the volume", []string{au, "--keys", keys, "--at", at, "--lat", "52.32", "--lon", "4.75"}, "REFUSED (outside-volume)"},
		{"expired", []string{au, "--keys", keys, "--at", "+3h"}, "REFUSED (expired)"},
	} {
		if r := verifyOffline(t, tc.args...); r.code != 1 || !strings.HasPrefix(r.stdout, tc.reason) {
			t.Errorf("%s: %s", tc.name, r)
		}
	}
	// The text a QR code holds verifies like the file.
	signed, err := os.ReadFile(au)
	if err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "patrol.txt")
	write(t, text, authorisation.EncodeText(signed)+"\n")
	if r := verifyOffline(t, append([]string{text}, verify[1:]...)...); r.code != 0 {
		t.Errorf("the text form: %s", r)
	}
	r = nofly(t, d.addr, "authorisation", "show", au)
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "signature NOT checked") || !strings.Contains(r.stdout, "NL-EHAM-CTR") {
		t.Errorf("show: %s", r)
	}
	if fi, err := os.Stat(filepath.Join(dir, "patrol.png")); err != nil || fi.Size() < 100 {
		t.Errorf("QR code: %v", err)
	}

	r = nofly(t, d.addr, append(c.flags("admin"), "exemptions", "revoke", ex, "--reason", "operation ended")...)
	wantExit(t, r, 0)
	wantExit(t, nofly(t, d.addr, append(c.flags("pilot"), "authorisations", "revocations", "--out", revoked, "--force")...), 0)
	r = verifyOffline(t, verify...)
	wantExit(t, r, 1)
	if !strings.HasPrefix(r.stdout, "REFUSED (revoked): AU-000001") || !strings.Contains(r.stdout, "exemption-revoked") {
		t.Errorf("after the exemption's revocation: %s", r)
	}

	r = nofly(t, d.addr, append(c.flags("auditor"), "authorisations", "list")...)
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "AU-000001  revoked (exemption-revoked)") {
		t.Errorf("list: %s", r)
	}
	r = nofly(t, d.addr, append(c.flags("auditor"), "audit", "list", "--exemption", "AU-000001")...)
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "authorise") || !strings.Contains(r.stdout, "revoke-authorisation") ||
		!strings.Contains(r.stdout, "CN=planner") {
		t.Errorf("audit of AU-000001: %s", r)
	}
	wantExit(t, nofly(t, d.addr, append(c.flags("auditor"), "audit", "verify")...), 0)
}

// TestAuthoriseWithoutSigningKey: a noflyd without --signing-key refuses
// to issue, and says how to fix it.
func TestAuthoriseWithoutSigningKey(t *testing.T) {
	d := startDaemon(t)
	route := filepath.Join(t.TempDir(), "route.geojson")
	write(t, route, `{"type":"LineString","coordinates":[[3.0,52.0],[3.01,52.0]]}`)
	r := nofly(t, d.addr, "plan", "authorise", route, "--drone", "D1", "-o", filepath.Join(t.TempDir(), "x.au"))
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, "--signing-key") {
		t.Errorf("without a key: %s", r)
	}
}
