package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/nofly-project/nofly/internal/devcert"
)

// certSet is what `nofly dev-certs DIR` wrote.
type certSet struct{ dir string }

func (c certSet) path(name string) string { return filepath.Join(c.dir, name) }

// flags are the CLI flags that call as role (pilot, planner, admin,
// auditor, or any other NAME.pem/NAME-key.pem in the set).
func (c certSet) flags(role string) []string {
	return []string{"--ca", c.path("ca.pem"), "--cert", c.path(role + ".pem"), "--key", c.path(role + "-key.pem")}
}

// env is flags as environment variables.
func (c certSet) env(role string) []string {
	return []string{"NOFLY_CA=" + c.path("ca.pem"), "NOFLY_CERT=" + c.path(role+".pem"), "NOFLY_KEY=" + c.path(role+"-key.pem")}
}

// serverFlags are noflyd's flags for the set.
func (c certSet) serverFlags() []string {
	return []string{"--tls-cert", c.path("server.pem"), "--tls-key", c.path("server-key.pem"),
		"--client-ca", c.path("ca.pem"), "--roles", c.path("roles.txt")}
}

// devCerts runs `nofly dev-certs` into a new directory.
func devCerts(t *testing.T) certSet {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "certs")
	r := nofly(t, "unused", "dev-certs", dir)
	wantExit(t, r, 0)
	for _, f := range []string{"ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "roles.txt",
		"pilot.pem", "pilot-key.pem", "planner.pem", "planner-key.pem", "admin.pem", "admin-key.pem", "auditor.pem", "auditor-key.pem"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("dev-certs did not write %s: %v\n%s", f, err, r)
		}
		if strings.HasSuffix(f, "-key.pem") && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	if r := nofly(t, "unused", "dev-certs", dir); r.code != 2 || !strings.Contains(r.stderr, "not overwriting") {
		t.Errorf("dev-certs over an existing set: %s", r)
	}
	return certSet{dir: dir}
}

// issue writes NAME.pem and NAME-key.pem, signed by ca (the set's own CA
// when nil), valid from notBefore to notAfter, and returns the subject.
func (c certSet) issue(t *testing.T, ca *devcert.CA, name string, notBefore, notAfter time.Time) string {
	t.Helper()
	if ca == nil {
		ca = c.ca(t)
	}
	is, err := ca.Issue(devcert.Request{CommonName: name, NotBefore: notBefore, NotAfter: notAfter})
	if err != nil {
		t.Fatal(err)
	}
	if err := is.Write(c.path(name+".pem"), c.path(name+"-key.pem")); err != nil {
		t.Fatal(err)
	}
	return is.Cert.Subject.String()
}

func (c certSet) ca(t *testing.T) *devcert.CA {
	t.Helper()
	cert, err := os.ReadFile(c.path("ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(c.path("ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := devcert.LoadCA(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func (c certSet) addRole(t *testing.T, line string) {
	t.Helper()
	f, err := os.OpenFile(c.path("roles.txt"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, line); err != nil {
		t.Fatal(err)
	}
}

// startSecure starts noflyd with the set's TLS flags and waits, over
// mutual TLS, until it serves.
func startSecure(t *testing.T, c certSet, args ...string) *daemon {
	t.Helper()
	d := launchDaemon(t, append(c.serverFlags(), args...)...)
	waitServingTLS(t, d.addr, c)
	return d
}

func (c certSet) clientTLS(t *testing.T, role string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(c.path("ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	kp, err := tls.LoadX509KeyPair(c.path(role+".pem"), c.path(role+"-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, Certificates: []tls.Certificate{kp}}
}

func waitServingTLS(t *testing.T, addr string, c certSet) {
	t.Helper()
	waitServingWith(t, addr, credentials.NewTLS(c.clientTLS(t, "pilot")))
}

// The dev-certs pilot is P-0412 of AMS-DRONE; the planner is of AMS-DRONE.

// TestSecureRoles drives the real CLI over mutual TLS as each role: every
// role's allowed calls succeed, every other call is refused (exit 2,
// "permission denied") and logged by noflyd.
func TestSecureRoles(t *testing.T) {
	t.Parallel()
	c := devCerts(t)
	d := startSecure(t, c)
	route := filepath.Join(t.TempDir(), "route.geojson")
	write(t, route, `{"type":"LineString","coordinates":[[4.60,52.10,60],[4.76,52.31,80]]}`)
	create := []string{"exemptions", "create", "--unit", "AMS-DRONE", "--zone", "NL-EHAM-CTR", "--from", "now", "--until", "+8h",
		"--max-alt", "60", "--purpose", "forensic", "--legal-basis", "ILT/2026/0042"}
	// One record to show and revoke.
	r := nofly(t, d.addr, append(c.flags("admin"), create...)...)
	wantExit(t, r, 0)
	id := strings.TrimSpace(r.stdout)

	type call struct {
		name string
		args []string
		ok   int // exit status when allowed
	}
	calls := []call{
		{"check", []string{"check", "--lat", "52.31", "--lon", "4.76", "--alt", "50"}, 1},
		{"plan check", []string{"plan", "check", route}, 1},
		{"zones show", []string{"zones", "show", "NL-EHAM-CTR"}, 0},
		{"zones list", []string{"zones", "list"}, 0},
		{"exemptions create", create, 0},
		{"exemptions list", []string{"exemptions", "list"}, 0},
		{"exemptions show", []string{"exemptions", "show", id}, 0},
		{"audit list", []string{"audit", "list"}, 0},
		{"audit verify", []string{"audit", "verify"}, 0},
	}
	allowed := map[string][]string{
		"pilot":   {"check", "plan check", "zones show", "zones list"},
		"planner": {"plan check", "zones show", "zones list"},
		"admin":   {"zones show", "zones list", "exemptions create", "exemptions list", "exemptions show"},
		"auditor": {"zones show", "zones list", "exemptions list", "exemptions show", "audit list", "audit verify"},
	}
	for _, role := range []string{"pilot", "planner", "admin", "auditor"} {
		for i, cl := range calls {
			t.Run(role+"/"+cl.name, func(t *testing.T) {
				// Half the calls name the certificates by flag, half by
				// environment variable.
				var r result
				if i%2 == 0 {
					r = nofly(t, d.addr, append(c.flags(role), cl.args...)...)
				} else {
					r = noflyEnv(t, d.addr, c.env(role), cl.args...)
				}
				if contains(allowed[role], cl.name) {
					wantExit(t, r, cl.ok)
					return
				}
				wantExit(t, r, 2)
				if !strings.Contains(r.stderr, "permission denied: CN="+role+",O=nofly dev") || !strings.Contains(r.stderr, "role "+role+" may not call") {
					t.Errorf("refusal: %s", r)
				}
			})
		}
	}
	// Revoking: the admin only.
	for _, role := range []string{"pilot", "planner", "auditor"} {
		r := nofly(t, d.addr, append(c.flags(role), "exemptions", "revoke", id, "--reason", "x")...)
		wantExit(t, r, 2)
	}
	r = nofly(t, d.addr, append(c.flags("admin"), "exemptions", "revoke", id, "--reason", "operation ended")...)
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "by CN=admin,O=nofly dev") {
		t.Errorf("revoke: %s", r)
	}
	// Every refusal was logged with the subject.
	var refused int
	for _, l := range d.log.snapshot() {
		if l["msg"] == "permission denied" {
			refused++
			if s, _ := l["subject"].(string); !strings.HasSuffix(s, ",O=nofly dev") {
				t.Errorf("refusal logged without the subject: %v", l)
			}
		}
	}
	if want := 4*len(calls) - 4 - 3 - 6 - 5 + 3; refused != want {
		t.Errorf("%d refusals logged, want %d", refused, want)
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// TestSecurePilotIdentity: the unit and pilot that exemptions are matched
// against are the certificate's, never the request's; the audit log names
// the certificates.
func TestSecurePilotIdentity(t *testing.T) {
	t.Parallel()
	c := devCerts(t)
	now := time.Now()
	other := c.issue(t, nil, "pilot-rtm", now.Add(-time.Minute), now.Add(time.Hour))
	c.addRole(t, "pilot RTM-DRONE P-0077 "+other)
	d := startSecure(t, c)
	r := nofly(t, d.addr, append(c.flags("admin"), "exemptions", "create", "--unit", "AMS-DRONE", "--pilot", "P-0412",
		"--zone", "NL-EHAM-CTR", "--from", "now", "--until", "+8h", "--max-alt", "60", "--purpose", "forensic",
		"--legal-basis", "ILT/2026/0042")...)
	wantExit(t, r, 0)
	id := strings.TrimSpace(r.stdout)
	check := []string{"check", "--lat", "52.31", "--lon", "4.76", "--alt", "50", "--purpose", "forensic"}

	r = nofly(t, d.addr, append(c.flags("pilot"), check...)...)
	wantExit(t, r, 0)
	if !strings.HasPrefix(r.stdout, "EXEMPTED") || !strings.Contains(r.stdout, "covered by "+id) {
		t.Errorf("pilot P-0412 of AMS-DRONE: %s", r)
	}
	r = nofly(t, d.addr, append(c.flags("pilot-rtm"), check...)...)
	wantExit(t, r, 1)
	if !strings.Contains(r.stdout, "no exemption of unit RTM-DRONE names this zone") {
		t.Errorf("pilot of RTM-DRONE: %s", r)
	}
	r = nofly(t, d.addr, append(c.flags("pilot-rtm"), append(check, "--unit", "AMS-DRONE", "--pilot", "P-0412")...)...)
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, `operator.unit "AMS-DRONE" is not your unit (RTM-DRONE)`) {
		t.Errorf("pilot of RTM-DRONE claiming AMS-DRONE: %s", r)
	}
	r = nofly(t, d.addr, append(c.flags("pilot"), append(check, "--pilot", "P-9999")...)...)
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, `operator.pilot_id "P-9999" is not your pilot id (P-0412)`) {
		t.Errorf("pilot claiming another pilot id: %s", r)
	}
	// A planner checks flight plans of its own unit only.
	route := filepath.Join(t.TempDir(), "route.geojson")
	write(t, route, `{"type":"LineString","coordinates":[[4.75,52.30,40],[4.76,52.31,50]]}`)
	r = nofly(t, d.addr, append(c.flags("planner"), "plan", "check", route, "--pilot", "P-0412", "--purpose", "forensic")...)
	wantExit(t, r, 0)
	r = nofly(t, d.addr, append(c.flags("planner"), "plan", "check", route, "--unit", "RTM-DRONE")...)
	wantExit(t, r, 2)
	// An administrator issues as itself.
	r = nofly(t, d.addr, append(c.flags("admin"), "exemptions", "revoke", id, "--reason", "x", "--by", "chief-de-vries")...)
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, `revoked_by "chief-de-vries" is not you (CN=admin,O=nofly dev)`) {
		t.Errorf("revoking as someone else: %s", r)
	}

	r = nofly(t, d.addr, append(c.flags("auditor"), "audit", "list")...)
	wantExit(t, r, 0)
	for _, want := range []string{"create  CN=admin,O=nofly dev", "check   CN=pilot,O=nofly dev", "check   CN=planner,O=nofly dev"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit list lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "chief-de-vries") || strings.Contains(r.stdout, "RTM") {
		t.Errorf("audit list names a typed name:\n%s", r.stdout)
	}
	r = nofly(t, d.addr, append(c.flags("auditor"), "audit", "verify")...)
	wantExit(t, r, 0)
}

// TestRejectedCertificates: an expired certificate, one from another CA,
// none, a plaintext client, and a subject whose role was withdrawn.
func TestRejectedCertificates(t *testing.T) {
	t.Parallel()
	c := devCerts(t)
	now := time.Now()
	c.issue(t, nil, "expired", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	c.issue(t, nil, "future", now.Add(24*time.Hour), now.Add(48*time.Hour))
	foreign, err := devcert.NewCA("foreign CA", now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// The foreign certificate has the pilot's very subject.
	c.issue(t, foreign, "pilot", now.Add(-time.Hour), now.Add(time.Hour))
	if err := os.Rename(c.path("pilot.pem"), c.path("foreign.pem")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(c.path("pilot-key.pem"), c.path("foreign-key.pem")); err != nil {
		t.Fatal(err)
	}
	c.issue(t, nil, "pilot", now.Add(-time.Hour), now.Add(time.Hour)) // the real pilot again
	c.addRole(t, "pilot AMS-DRONE P-0001 "+"CN=expired,O=nofly dev")
	c.addRole(t, "pilot AMS-DRONE P-0002 "+"CN=future,O=nofly dev")
	d := startSecure(t, c)
	check := []string{"check", "--lat", "52.0", "--lon", "3.0"}

	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"expired certificate", c.flags("expired"), "refused the TLS connection: expired certificate: --cert " + c.path("expired.pem") + " expired at "},
		{"certificate of another CA", c.flags("foreign"), "refused the TLS connection: unknown certificate authority"},
		{"no certificate", []string{"--ca", c.path("ca.pem")}, "--ca needs --cert and --key"},
		{"not yet valid certificate", c.flags("future"), "refused the TLS connection: certificate not yet valid: --cert " + c.path("future.pem") + " is valid from "},
		{"plaintext", nil, "(the server requires TLS: give --ca, --cert and --key)"},
		{"server not issued by --ca", []string{"--ca", c.path("foreign.pem"), "--cert", c.path("pilot.pem"), "--key", c.path("pilot-key.pem")},
			"is not trusted: x509: certificate signed by unknown authority"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := nofly(t, d.addr, append(tc.args, check...)...)
			wantExit(t, r, 2)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("want %q in stderr: %s", tc.want, r)
			}
		})
	}
	// noflyd logged each refused handshake, with its reason.
	var refusals []string
	for _, l := range d.log.snapshot() {
		if l["msg"] == "TLS handshake refused" {
			refusals = append(refusals, fmt.Sprint(l["err"]))
		}
	}
	all := strings.Join(refusals, "\n")
	for _, want := range []string{"certificate has expired", "certificate signed by unknown authority", "first record does not look like a TLS handshake"} {
		if !strings.Contains(all, want) {
			t.Errorf("no refused handshake logged with %q; logged:\n%s", want, all)
		}
	}

	t.Run("withdrawn role", func(t *testing.T) {
		r := nofly(t, d.addr, append(c.flags("pilot"), check...)...)
		wantExit(t, r, 0)
		roles, err := os.ReadFile(c.path("roles.txt"))
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, l := range strings.Split(string(roles), "\n") {
			if !strings.HasSuffix(l, "CN=pilot,O=nofly dev") {
				kept = append(kept, l)
			}
		}
		write(t, c.path("roles.txt"), strings.Join(kept, "\n"))
		skip := d.log.count()
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		d.waitLog(t, "roles loaded", skip)
		r = nofly(t, d.addr, append(c.flags("pilot"), check...)...)
		wantExit(t, r, 2)
		if !strings.Contains(r.stderr, "permission denied: CN=pilot,O=nofly dev") || !strings.Contains(r.stderr, "no role in the roles file") {
			t.Errorf("after the role was withdrawn: %s", r)
		}
		// A broken roles file on reload keeps the roles in force.
		write(t, c.path("roles.txt"), strings.Join(kept, "\n")+"\nchief - - CN=x\n")
		skip = d.log.count()
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		l := d.waitLog(t, "roles file problem", skip)
		if l["field"] != "role" || l["line"] == nil {
			t.Errorf("problem logged as %v", l)
		}
		d.waitLog(t, "roles not reloaded; the previous roles stay in force", skip)
		r = nofly(t, d.addr, append(c.flags("planner"), "zones", "show", "NL-EHAM-CTR")...)
		wantExit(t, r, 0)
	})
}

// TestInsecureOnlyOnLoopback: without TLS noflyd serves loopback only, and
// says loudly that everyone is an administrator; TLS flags come all
// together.
func TestInsecureOnlyOnLoopback(t *testing.T) {
	t.Parallel()
	c := devCerts(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"all interfaces", []string{"--listen", "0.0.0.0:0"}, `refusing to serve plaintext without client authentication on "0.0.0.0:0"`},
		{"empty host", []string{"--listen", ":0"}, `refusing to serve plaintext without client authentication on ":0"`},
		{"a host name", []string{"--listen", "example.org:0"}, `refusing to serve plaintext`},
		{"TLS without client CA", []string{"--listen", "127.0.0.1:0", "--tls-cert", c.path("server.pem"), "--tls-key", c.path("server-key.pem")},
			"TLS needs --tls-cert, --tls-key, --client-ca and --roles together; missing --client-ca, --roles"},
		{"bad roles file", append(c.serverFlags()[:6], "--roles", c.path("ca.pem"), "--listen", "127.0.0.1:0"), "--roles: " + c.path("ca.pem") + ":1: line:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(bin, "noflyd"), append(tc.args, "--db", filepath.Join(t.TempDir(), "x.db"))...)
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
				t.Fatalf("want exit 2, got %v: %s", err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("want %q, got %s", tc.want, out)
			}
		})
	}
	d := startDaemon(t)
	var warned bool
	for _, l := range d.log.snapshot() {
		msg, _ := l["msg"].(string)
		if l["level"] == "WARN" && strings.HasPrefix(msg, "NO TLS, NO AUTHENTICATION") &&
			strings.Contains(msg, "every local caller is an administrator with every role") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no loud warning of the insecure mode:\n%s", d.log)
	}
}

// snapshot returns the log lines so far.
func (l *logLines) snapshot() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]map[string]any(nil), l.lines...)
}

// TestCertificateReload replaces the whole set (CA, server certificate,
// client certificates, roles) and sends SIGHUP: new connections use the
// new set, and the old client certificates are refused.
func TestCertificateReload(t *testing.T) {
	t.Parallel()
	c := devCerts(t)
	old := certSet{dir: filepath.Join(t.TempDir(), "old")}
	if err := os.CopyFS(old.dir, os.DirFS(c.dir)); err != nil {
		t.Fatal(err)
	}
	d := startSecure(t, c)
	check := []string{"check", "--lat", "52.0", "--lon", "3.0"}
	wantExit(t, nofly(t, d.addr, append(old.flags("pilot"), check...)...), 0)

	wantExit(t, nofly(t, "unused", "dev-certs", "--force", c.dir), 0)
	skip := d.log.count()
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitLog(t, "certificates loaded", skip)
	d.waitLog(t, "roles loaded", skip)
	wantExit(t, nofly(t, d.addr, append(c.flags("pilot"), check...)...), 0)
	r := nofly(t, d.addr, append(old.flags("pilot"), check...)...)
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, "is not trusted: x509: certificate signed by unknown authority") {
		t.Errorf("the old set after the reload: %s", r)
	}
	// The old client certificate, trusting the new server: refused by the
	// server.
	r = nofly(t, d.addr, "--ca", c.path("ca.pem"), "--cert", old.path("pilot.pem"), "--key", old.path("pilot-key.pem"), "check", "--lat", "52.0", "--lon", "3.0")
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, "refused the TLS connection: unknown certificate authority") {
		t.Errorf("the old client certificate after the reload: %s", r)
	}
}
