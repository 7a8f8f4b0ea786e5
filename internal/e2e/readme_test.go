package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the console blocks of README.md with what the binaries print")

const readmePath = "../../README.md"

// TestREADME runs the commands of README.md's ```console blocks, in order,
// in a fresh directory, and compares what they print with what the README
// shows. First it starts bin/noflyd as the quick start does (in a second
// terminal); a `bin/noflyd …` command in a block stops the running one and
// starts it anew, as the README tells its reader.
//
// What varies from run to run is normalised on both sides before they are
// compared: instants, hashes, the port and how long a load took. A line
// that is just "…" in the README stands for any number of lines. With
// -update the test rewrites each command's output that does not match with
// what the binaries print, whole (elide again by hand where it is long).
func TestREADME(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(readme), "\n")
	blocks := consoleBlocks(lines)
	if len(blocks) == 0 {
		t.Fatal("no ```console blocks in README.md")
	}

	dir := t.TempDir()
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	data, err := filepath.Abs("../../data")
	if err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"bin": bin, "examples": examples, "data": data} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	sh := &shell{t: t, dir: dir, env: map[string]string{
		// The quick start's issuer and revoker: $USER, as the README says.
		"USER": "admin-jansen", "HOME": dir, "PATH": os.Getenv("PATH"),
	}}
	sh.startDaemon(0, []string{"bin/noflyd"})

	failed := false
	var out []string
	last := 0
	for _, b := range blocks {
		out = append(out, lines[last:b.start]...)
		for _, c := range b.cmds {
			out = append(out, lines[c.line:c.outStart]...)
			got := sh.run(c)
			want := lines[c.outStart:c.outEnd]
			blank := 0 // blank lines before the next command
			for blank < len(want) && strings.TrimSpace(want[len(want)-1-blank]) == "" {
				blank++
			}
			want = want[:len(want)-blank]
			merged, ok := matchOutput(want, got)
			merged = append(merged, lines[c.outEnd-blank:c.outEnd]...)
			if !ok {
				failed = true
				if !*update {
					t.Errorf("README.md line %d: %s\nREADME shows:\n%s\nthe binaries print:\n%s", c.line+1, c.text,
						strings.Join(want, "\n"), strings.Join(got, "\n"))
				}
			}
			out = append(out, merged...)
		}
		last = b.end
	}
	out = append(out, lines[last:]...)
	if *update && failed {
		if err := os.WriteFile(readmePath, []byte(strings.Join(out, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("README.md updated")
	}
}

// consoleBlock is a ```console block: its commands, between lines start
// and end (0-based, end exclusive).
type consoleBlock struct {
	start, end int
	cmds       []consoleCmd
}

// consoleCmd is a "$ " command of a block, continued on following lines
// while a line ends in a backslash, and the output shown after it.
type consoleCmd struct {
	line             int    // the "$ " line
	text             string // the command, continuation lines joined
	outStart, outEnd int    // the output lines
}

func consoleBlocks(lines []string) []consoleBlock {
	var blocks []consoleBlock
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```console" {
			continue
		}
		b := consoleBlock{start: i + 1}
		j := i + 1
		for j < len(lines) && strings.TrimSpace(lines[j]) != "```" {
			j++
		}
		b.end = j
		var cur *consoleCmd
		for k := b.start; k < b.end; k++ {
			if !strings.HasPrefix(lines[k], "$ ") {
				continue
			}
			if cur != nil {
				cur.outEnd = k
				b.cmds = append(b.cmds, *cur)
			}
			cur = &consoleCmd{line: k, text: strings.TrimPrefix(lines[k], "$ ")}
			for strings.HasSuffix(cur.text, `\`) && k+1 < b.end {
				k++
				cur.text = strings.TrimSuffix(cur.text, `\`) + " " + strings.TrimSpace(lines[k])
			}
			cur.outStart = k + 1
		}
		if cur != nil {
			cur.outEnd = b.end
			b.cmds = append(b.cmds, *cur)
		}
		blocks = append(blocks, b)
		i = j
	}
	return blocks
}

// shell runs the README's commands as a reader's shell would.
type shell struct {
	t      *testing.T
	dir    string
	env    map[string]string
	server string // the running noflyd's address
	status int    // $?
	stop   func()
}

func (sh *shell) run(c consoleCmd) []string {
	t := sh.t
	args, err := shellWords(c.text)
	if err != nil || len(args) == 0 {
		t.Fatalf("README.md line %d: %q: %v", c.line+1, c.text, err)
	}
	switch {
	case len(args) == 2 && args[0] == "echo" && args[1] == "$?":
		return []string{fmt.Sprint(sh.status)}
	case args[0] == "export":
		for _, a := range args[1:] {
			k, v, ok := strings.Cut(a, "=")
			if !ok {
				t.Fatalf("README.md line %d: export %q", c.line+1, a)
			}
			sh.env[k] = v
		}
		return nil
	case args[0] == "cat" && len(args) == 2:
		b, err := os.ReadFile(filepath.Join(sh.dir, args[1]))
		if err != nil {
			t.Fatalf("README.md line %d: %v", c.line+1, err)
		}
		return splitOutput(b)
	case args[0] == "bin/noflyd":
		return sh.startDaemon(c.line, args)
	case args[0] == "bin/nofly":
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(sh.dir, args[0]), args[1:]...)
		cmd.Dir = sh.dir
		cmd.Env = sh.environ()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out // one pipe: stdout and stderr in the order written
		err := cmd.Run()
		sh.status = 0
		if ee, ok := err.(*exec.ExitError); ok {
			sh.status = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("README.md line %d: %v", c.line+1, err)
		}
		return splitOutput(out.Bytes())
	}
	t.Fatalf("README.md line %d: the test does not know how to run %q", c.line+1, c.text)
	return nil
}

func (sh *shell) environ() []string {
	env := []string{"NOFLY_SERVER=" + sh.server}
	for k, v := range sh.env {
		env = append(env, k+"="+v)
	}
	return env
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startDaemon stops the running noflyd and starts args (bin/noflyd and its
// flags) on a free port, in the README's directory, and returns its log up
// to and including "zones loaded".
func (sh *shell) startDaemon(line int, args []string) []string {
	t := sh.t
	if sh.stop != nil {
		sh.stop()
	}
	cmd := exec.Command(filepath.Join(sh.dir, args[0]), append(args[1:], "--listen", "127.0.0.1:0")...)
	cmd.Dir = sh.dir
	cmd.Env = sh.environ()
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stopped := false
	sh.stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(sh.stop)
	deadline := time.After(30 * time.Second)
	for !strings.Contains(log.String(), `msg="zones loaded"`) {
		select {
		case <-done:
			t.Fatalf("README.md line %d: noflyd exited:\n%s", line+1, log.String())
		case <-deadline:
			t.Fatalf("README.md line %d: noflyd did not load its zones:\n%s", line+1, log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	m := listeningRE.FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("README.md line %d: no address in noflyd's log:\n%s", line+1, log.String())
	}
	sh.server = m[1]
	out := splitOutput([]byte(log.String()))
	for i, l := range out {
		if strings.Contains(l, `msg="zones loaded"`) {
			return out[:i+1]
		}
	}
	return out
}

func splitOutput(b []byte) []string {
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return lines
}

// shellWords splits a command line as sh does for the README's commands:
// words separated by blanks, with "double" and 'single' quotes.
func shellWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
		quote rune
	)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c", quote)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// What varies between runs, and what it becomes before comparing.
var varying = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`), "<time>"},
	{regexp.MustCompile(`\b[0-9a-f]{12,64}\b`), "<hash>"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:<port>"},
	{regexp.MustCompile(`took=\S+`), "took=<duration>"},
	// A signing key's id: the base64url SHA-256 thumbprint of a key made
	// afresh by each run.
	{regexp.MustCompile(`(^|[^A-Za-z0-9_-])[A-Za-z0-9_-]{43}([^A-Za-z0-9_-]|$)`), "${1}<key-id>${2}"},
}

func normalise(s string) string {
	for _, v := range varying {
		s = v.re.ReplaceAllString(s, v.with)
	}
	return strings.TrimRight(s, " ")
}

// elided is a README output line standing for any number of lines.
func elided(line string) bool { return strings.TrimSpace(line) == "…" }

// matchOutput says whether got matches want, where an elided line of want
// matches any number of lines of got, and returns want with each line that
// differs beyond what varies replaced by got's. When they do not match it
// returns got whole (elisions are not guessed).
func matchOutput(want, got []string) ([]string, bool) {
	// pick[i] is the line of got that want[i] matched; -1 for elisions.
	pick := make([]int, len(want))
	var match func(i, j int) bool
	match = func(i, j int) bool {
		if i == len(want) {
			return j == len(got)
		}
		if elided(want[i]) {
			pick[i] = -1
			for k := j; k <= len(got); k++ {
				if match(i+1, k) {
					return true
				}
			}
			return false
		}
		if j < len(got) && normalise(want[i]) == normalise(got[j]) {
			pick[i] = j
			return match(i+1, j+1)
		}
		return false
	}
	if !match(0, 0) {
		return got, false
	}
	return want, true
}
