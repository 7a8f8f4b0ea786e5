package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// The no-outbound check. TestNoOutbound runs this test binary again in a
// new network namespace (CLONE_NEWNET, what `unshare -n` does), which has
// a loopback interface and nothing else: no other interface, no route, no
// name server. There, TestNoOutboundInNamespace brings loopback up, runs
// the real noflyd over mutual TLS and drives it with the real CLI. Any
// outbound connection noflyd needed would fail there, and the calls with
// it. While it runs, every inet socket noflyd holds is read from /proc and
// must be its listener or a connection accepted on it; and when strace is
// installed, noflyd runs under it and must make no connect() call at all.

const (
	// binEnv names the directory of the built binaries for a child run.
	binEnv = "NOFLY_E2E_BIN"
	// netnsEnv marks the child run inside the namespace.
	netnsEnv = "NOFLY_E2E_NETNS"
	// requireStraceEnv, when set (CI sets it), makes a missing strace,
	// or a kernel that refuses the namespace, a failure, not a weaker
	// check or a skip.
	requireStraceEnv = "NOFLY_REQUIRE_STRACE"
)

func TestNoOutbound(t *testing.T) {
	if os.Getenv(netnsEnv) != "" {
		t.Skip("the parent of the namespaced run")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoOutboundInNamespace$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), binEnv+"="+bin, netnsEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		// The kernel (or a container without CAP_SYS_ADMIN) refuses new
		// network namespaces: the check cannot run here.
		if os.Getenv(requireStraceEnv) != "" {
			t.Fatalf("cannot start a process in a new network namespace (%v), and %s is set", err, requireStraceEnv)
		}
		t.Skipf("cannot start a process in a new network namespace (%v): the no-outbound check needs root or CAP_SYS_ADMIN", err)
	}
	t.Logf("in the namespace:\n%s", out)
	if err != nil {
		t.Fatalf("the check in the network namespace failed: %v", err)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestNoOutboundInNamespace")) {
		t.Fatalf("the check in the network namespace did not run")
	}
}

func TestNoOutboundInNamespace(t *testing.T) {
	if os.Getenv(netnsEnv) == "" {
		t.Skip("run by TestNoOutbound inside a new network namespace")
	}
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(ifs) != 1 || ifs[0].Name != "lo" {
		t.Fatalf("want a namespace with only lo, got %v", ifs)
	}
	if err := loopbackUp(); err != nil {
		t.Fatalf("bringing lo up: %v", err)
	}
	// Nothing is reachable but loopback: the namespace is what it claims.
	// Documentation addresses only (RFC 5737, RFC 3849): should the
	// namespace leak after all, nothing real is reached.
	for _, addr := range []string{"192.0.2.1:443", "198.51.100.1:53", "[2001:db8::1]:443"} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("reached %s from inside the namespace", addr)
		}
	}

	c := devCerts(t)
	var wrapper []string
	straceOut := filepath.Join(t.TempDir(), "strace.txt")
	strace, err := exec.LookPath("strace")
	if err == nil {
		wrapper = []string{strace, "-f", "-qq", "-e", "trace=connect", "-o", straceOut, "--"}
	} else if os.Getenv(requireStraceEnv) != "" {
		t.Fatalf("strace is not installed, and %s is set (CI installs strace)", requireStraceEnv)
	} else {
		t.Log("strace is not installed: no syscall trace; the namespace and the socket check still apply")
	}
	d := launchDaemonUnder(t, wrapper, c.serverFlags()...)
	pid := d.cmd.Process.Pid
	if wrapper != nil {
		pid = childOf(t, pid)
	}
	_, port, _ := net.SplitHostPort(d.addr)

	// Watch noflyd's sockets for as long as the calls run.
	stop := make(chan struct{})
	var (
		mu      sync.Mutex
		bad     []string
		samples int
	)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			b, err := foreignSockets(pid, port)
			mu.Lock()
			if err == nil {
				samples++
				bad = append(bad, b...)
			}
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	})

	waitServingTLS(t, d.addr, c)
	r := nofly(t, d.addr, append(c.flags("admin"), "exemptions", "create", "--unit", "AMS-DRONE", "--pilot", "P-0412",
		"--zone", "NL-EHAM-CTR", "--from", "now", "--until", "+8h", "--max-alt", "60", "--purpose", "forensic",
		"--legal-basis", "ILT/2026/0042")...)
	wantExit(t, r, 0)
	r = noflyEnv(t, d.addr, c.env("pilot"), "check", "--lat", "52.31", "--lon", "4.76", "--alt", "50", "--purpose", "forensic")
	wantExit(t, r, 0)
	if !strings.HasPrefix(r.stdout, "EXEMPTED") {
		t.Errorf("check: %s", r)
	}
	r = nofly(t, d.addr, append(c.flags("planner"), "zones", "list")...)
	wantExit(t, r, 0)
	r = nofly(t, d.addr, append(c.flags("auditor"), "audit", "verify")...)
	wantExit(t, r, 0)
	// A reload (zones, certificates, roles) reaches nothing outside either.
	skip := d.log.count()
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitLog(t, "roles loaded", skip)
	r = nofly(t, d.addr, append(c.flags("pilot"), "check", "--lat", "52.0", "--lon", "3.0")...)
	wantExit(t, r, 0)

	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if samples < 10 {
		t.Errorf("only %d samples of noflyd's sockets", samples)
	}
	if len(bad) > 0 {
		t.Errorf("noflyd held sockets other than its listener and the connections it accepted:\n%s", strings.Join(dedupe(bad), "\n"))
	}
	t.Logf("%d samples of noflyd's sockets, each only the listener on port %s and connections accepted on it", samples, port)
	for _, l := range d.log.snapshot() {
		if l["level"] == "ERROR" {
			t.Errorf("noflyd logged an error: %v", l)
		}
	}
	if wrapper != nil {
		// Stop noflyd so that strace writes everything.
		_ = syscall.Kill(pid, syscall.SIGTERM)
		<-d.done
		trace, err := os.ReadFile(straceOut)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(trace, []byte("connect(")) {
			t.Errorf("noflyd called connect():\n%s", trace)
		} else {
			t.Logf("strace: noflyd made no connect() call")
		}
	}
}

// loopbackUp sets the IFF_UP flag of lo (what `ip link set lo up` does).
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	// struct ifreq: the name in 16 bytes, then a union whose ifr_flags is a
	// short.
	var ifr [40]byte
	copy(ifr[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	*(*uint16)(unsafe.Pointer(&ifr[16])) |= syscall.IFF_UP
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	return nil
}

// childOf returns the one child process of pid (noflyd under strace).
func childOf(t *testing.T, pid int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if err == nil {
			if f := strings.Fields(string(b)); len(f) == 1 {
				child, err := strconv.Atoi(f[0])
				if err == nil {
					return child
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no child of strace (pid %d)", pid)
	return 0
}

// foreignSockets lists the inet sockets of process pid that are neither
// its loopback listener on port nor a loopback connection accepted on it.
func foreignSockets(pid int, port string) (bad []string, err error) {
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	p, _ := strconv.Atoi(port)
	wantPort := fmt.Sprintf("%04X", p)
	for _, table := range []string{"tcp", "tcp6", "udp", "udp6", "raw", "raw6", "udplite", "udplite6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || !inodes[fs[9]] {
				continue
			}
			local, remote, state := fs[1], fs[2], fs[3]
			ok := strings.HasPrefix(table, "tcp") && strings.HasSuffix(local, ":"+wantPort) &&
				loopbackHex(local) && (state == "0A" || loopbackHex(remote))
			if !ok {
				bad = append(bad, fmt.Sprintf("%s local %s remote %s state %s", table, local, remote, state))
			}
		}
		f.Close()
	}
	return bad, nil
}

// loopbackHex reports whether a /proc/net address (hex, host byte order
// per 32-bit word) is 127.0.0.0/8 or ::1 (or ::ffff:127.x.x.x).
func loopbackHex(addr string) bool {
	ip := strings.Split(addr, ":")[0]
	switch len(ip) {
	case 8:
		return strings.HasSuffix(ip, "7F") // little-endian: the first octet last
	case 32:
		return ip == "00000000000000000000000001000000" ||
			(strings.HasPrefix(ip, "0000000000000000FFFF0000") && strings.HasSuffix(ip, "7F"))
	}
	return false
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
