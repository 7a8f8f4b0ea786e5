// Command nofly asks a noflyd server whether a drone may fly: at a position
// (nofly check) or along a flight plan (nofly plan check). It also lists and
// shows the zones the server knows, manages exemptions (nofly exemptions)
// and reads and verifies the audit log (nofly audit).
//
// Exit status: 0 when the flight may go ahead (CLEAR or EXEMPTED), 1 when it
// is denied (or, for nofly audit verify, when the log is not intact), 2 for
// a usage, input or connection error (with a one-line reason on stderr).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	os.Exit(exit(err, os.Stderr))
}

// errDenied ends a check whose verdict is DENIED: exit status 1, and no
// message (the output already says why).
var errDenied = errors.New("denied")

// errHelp ends a run that printed help: exit status 0.
var errHelp = errors.New("help printed")

// exit returns the exit status for err and prints its reason on one line.
func exit(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errDenied), errors.Is(err, errBroken):
		return 1
	}
	msg := strings.Join(strings.Fields(err.Error()), " ") // one line
	var ue *usageError
	if !errors.As(err, &ue) { // a usage error names its command already
		msg = "nofly: " + msg
	}
	fmt.Fprintln(stderr, msg)
	return 2
}

const defaultServer = "127.0.0.1:7600"

// globals are the flags every command takes, before or after its name.
type globals struct {
	server  string
	json    bool
	timeout time.Duration
	tls     tlsGlobals
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.server, "server", g.server, "nofly server `address` (host:port); env NOFLY_SERVER")
	fs.BoolVar(&g.json, "json", g.json, "print the server's response as protobuf JSON")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "give up on the server after this long")
	g.tls.register(fs)
}

const topUsage = `Usage: nofly [--server ADDR] [--ca FILE --cert FILE --key FILE] [--json] [--timeout D] COMMAND [flags]

Asks a nofly server whether a police drone may fly.

Commands:
  check         check a position: may a drone be here, this high, now?
  plan check    check a flight plan (GeoJSON route or area, QGroundControl .plan)
  zones list    list the zones the server knows
  zones show    show one zone
  exemptions create|list|show|supersede|revoke
                manage exemptions (administrators)
  audit list    list the audit log of exemptions and exempted checks (auditors)
  audit verify  prove that the audit log is intact (auditors)
  dev-certs DIR write a trial CA, server and client certificates, and roles
  plan authorise
                get a signed flight authorisation for a flight plan
  authorisation verify|show
                verify an authorisation offline; show it for a pilot
  authorisations list|show|revoke|revocations
                issued authorisations and the revocation list
  keys new|export
                make a signing key; export the public key set

Run "nofly COMMAND --help" for a command's flags and an example.

Exit status: 0 clear or exempted, 1 denied, 2 usage, input or connection
error.

With --ca, --cert and --key (or NOFLY_CA, NOFLY_CERT, NOFLY_KEY) the
connection is mutual TLS and the server knows you by your certificate;
without them it is plaintext, for a noflyd on loopback.

Example:
  nofly check --lat 52.31 --lon 4.76 --alt 100
  nofly --ca ca.pem --cert pilot.pem --key pilot-key.pem check --lat 52.31 --lon 4.76
`

// usageError is a mistake on the command line.
type usageError struct {
	cmd, msg string
}

func (e *usageError) Error() string {
	return fmt.Sprintf("%s: %s (see \"%s --help\")", e.cmd, e.msg, e.cmd)
}

// command is one of nofly's commands.
type command struct {
	name    string // "plan check"
	summary string
	usage   string // after the name: "--lat DEG --lon DEG [flags]"
	example string
	flags   func(fs *flag.FlagSet) // registers the command's own flags
	run     func(ctx context.Context, e *env, args []string) error
}

// env is what a command runs with.
type env struct {
	globals
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer // notes; errors are returned, not printed
	// user issues and revokes exemptions unless --by says otherwise
	// ($NOFLY_USER, else $USER), on a server without TLS, which records
	// who the request says. With TLS the server records the certificate's
	// subject and the CLI sends no name.
	user string
}

func commands() []*command {
	return []*command{checkCommand(), planCheckCommand(), zonesListCommand(), zonesShowCommand(),
		exemptionsCreateCommand(), exemptionsListCommand(), exemptionsShowCommand(), exemptionsSupersedeCommand(),
		exemptionsRevokeCommand(), auditListCommand(), auditVerifyCommand(), devCertsCommand(),
		planAuthoriseCommand(), keysNewCommand(), keysExportCommand(), authorisationsListCommand(),
		authorisationsShowCommand(), authorisationsRevokeCommand(), authorisationsRevocationsCommand(),
		authorisationVerifyCommand(), authorisationShowCommand()}
}

// run runs nofly with args (without the program name).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr,
		globals: globals{server: defaultServer, timeout: 10 * time.Second}}
	if s := getenv("NOFLY_SERVER"); s != "" {
		e.server = s
	}
	e.tls.fromEnv(getenv)
	e.user = getenv("NOFLY_USER")
	if e.user == "" {
		e.user = getenv("USER")
	}
	top := flag.NewFlagSet("nofly", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	top.Usage = func() {}
	e.register(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, topUsage)
			return errHelp
		}
		return &usageError{cmd: "nofly", msg: err.Error()}
	}
	args = top.Args()
	if len(args) == 0 {
		return &usageError{cmd: "nofly", msg: "no command given: check, plan check, zones list, zones show, exemptions … or audit …"}
	}
	if args[0] == "help" {
		if len(args) == 1 {
			fmt.Fprint(stdout, topUsage)
			return errHelp
		}
		args = append(args[1:], "--help")
	}
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c.exec(ctx, e, args[len(words):])
		}
	}
	name := args[0]
	if subs, ok := subcommands[name]; ok && len(args) == 1 {
		return &usageError{cmd: "nofly", msg: fmt.Sprintf("%s needs a subcommand: %s", name, subs)}
	}
	if len(args) > 1 && (name == "plan" || name == "zones" || name == "exemptions" || name == "audit" || subcommands[name] != "") {
		name += " " + args[1]
	}
	return &usageError{cmd: "nofly", msg: fmt.Sprintf("unknown command %q", name)}
}

// subcommands lists, for each command that has them, its subcommands.
var subcommands = map[string]string{
	"plan":       "check or authorise",
	"zones":      "list or show",
	"exemptions": "create, list, show, supersede or revoke",
	"audit":      "list or verify",

	"keys":           "new or export",
	"authorisations": "list, show, revoke or revocations",
	"authorisation":  "verify or show",
}

// exec parses the command's flags, which may come before, between and after
// its arguments, and runs it.
func (c *command) exec(ctx context.Context, e *env, args []string) error {
	full := "nofly " + c.name
	fs := flag.NewFlagSet(full, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned as one line, help goes to stdout
	fs.Usage = func() {}
	if c.flags != nil {
		c.flags(fs)
	}
	e.register(fs)
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		c.printHelp(e.stdout, fs)
		return errHelp
	}
	if err != nil {
		return &usageError{cmd: full, msg: err.Error()}
	}
	return c.run(ctx, e, pos)
}

func (c *command) printHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: nofly %s %s\n\n%s\n\nFlags:\n", c.name, c.usage, c.summary)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nExample:\n%s", c.example)
}

// parseInterleaved parses flags anywhere among the arguments (the flag
// package stops at the first argument) and returns the arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil // everything after -- is an argument
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
