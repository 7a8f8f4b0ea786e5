// Command nofly asks a noflyd server whether a drone may fly: at a position
// (nofly check) or along a flight plan (nofly plan check). It also lists and
// shows the zones the server knows, manages exemptions (nofly exemptions)
// and reads and verifies the audit log (nofly audit).
//
// Exit status: 0 when the flight may go ahead (CLEAR or EXEMPTED), 1 when it
// is denied (or, for nofly audit verify and nofly report, when the log is not intact), 2 for
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
	"text/tabwriter"
	"time"

	"github.com/nofly-project/nofly/internal/buildinfo"
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
	msg := esc(strings.Join(strings.Fields(err.Error()), " ")) // one line, no terminal controls from the server
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
       nofly --version

Asks a nofly server whether a police drone may fly.

Commands:
  check         check a position: may a drone be here, this high, now?
  plan check    check a flight plan (GeoJSON route or area, QGroundControl .plan)
  plan fence    check a flight plan and write a geofence for the aircraft (.plan, KML)
  monitor TRACK follow a flight (a recorded track, or live from stdin): zones
                entered and left, blocking zones ahead, exemptions ending
  zones list    list the zones the server knows
  zones show    show one zone
  zones convert convert a zone file (KML, mapped GeoJSON, ...) to ED-318 or nofly's schema
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
  bundle export|journal
                write an offline bundle: check --bundle answers with no server;
                check a journal of offline answers (--journal)
  report        oversight report: how often, for what, with which drones
                (administrators, auditors)
  drones add|list|show|update|retire
                the drone registry (administrators; auditors read)

Run "nofly COMMAND --help" for a command's flags and an example, and
"nofly plan --help" (zones, exemptions, audit) for a group of commands.

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
	return []*command{checkCommand(), planCheckCommand(), zonesListCommand(), zonesShowCommand(), zonesConvertCommand(),
		exemptionsCreateCommand(), exemptionsListCommand(), exemptionsShowCommand(), exemptionsSupersedeCommand(),
		exemptionsRevokeCommand(), auditListCommand(), auditVerifyCommand(), devCertsCommand(),
		planAuthoriseCommand(), keysNewCommand(), keysExportCommand(), authorisationsListCommand(),
		authorisationsShowCommand(), authorisationsRevokeCommand(), authorisationsRevocationsCommand(),
		authorisationVerifyCommand(), authorisationShowCommand(), bundleExportCommand(), bundleJournalCommand(), planFenceCommand(), monitorCommand(), reportCommand(),
		dronesAddCommand(), dronesListCommand(), dronesShowCommand(), dronesUpdateCommand(), dronesRetireCommand()}
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
	version := top.Bool("version", false, "print nofly's version and exit")
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, topUsage)
			return errHelp
		}
		return &usageError{cmd: "nofly", msg: err.Error()}
	}
	args = top.Args()
	if *version {
		fmt.Fprintln(stdout, "nofly", buildinfo.String())
		return nil
	}
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
	if group := groupCommands(name); len(group) > 0 {
		if len(args) > 1 && isHelp(args[1]) {
			printGroupHelp(stdout, name, group)
			return errHelp
		}
		if len(args) == 1 {
			return &usageError{cmd: "nofly " + name, msg: "needs a subcommand: " + orList(group)}
		}
		return &usageError{cmd: "nofly " + name, msg: fmt.Sprintf("unknown command %q", name+" "+args[1])}
	}
	return &usageError{cmd: "nofly", msg: fmt.Sprintf("unknown command %q", name)}
}

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// groupCommands returns the commands whose name starts with the word group
// ("plan": "plan check"), in the order commands lists them.
func groupCommands(group string) []*command {
	var out []*command
	for _, c := range commands() {
		if words := strings.Fields(c.name); len(words) > 1 && words[0] == group {
			out = append(out, c)
		}
	}
	return out
}

// orList names the subcommands of a group: "list or show", "create, list or show".
func orList(group []*command) string {
	var subs []string
	for _, c := range group {
		subs = append(subs, strings.Fields(c.name)[1])
	}
	if len(subs) == 1 {
		return subs[0]
	}
	return strings.Join(subs[:len(subs)-1], ", ") + " or " + subs[len(subs)-1]
}

// printGroupHelp lists the commands of a group, each with the first
// sentence of its summary.
func printGroupHelp(w io.Writer, name string, group []*command) {
	fmt.Fprintf(w, "Usage: nofly %s COMMAND [flags]\n\nCommands:\n", name)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range group {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, firstSentence(c.summary))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun \"nofly %s COMMAND --help\" for a command's flags and an example.\n", name)
}

// firstSentence is the text up to the first full stop, on one line.
func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
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
	// Aliases (another spelling of a flag, accepted quietly) stay out of
	// the help, so that it shows one spelling of each.
	shown := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.HasPrefix(f.Usage, aliasUsage) {
			shown.Var(f.Value, f.Name, f.Usage)
			shown.Lookup(f.Name).DefValue = f.DefValue
		}
	})
	shown.SetOutput(w)
	shown.PrintDefaults()
	fmt.Fprintf(w, "\nExample:\n%s", c.example)
}

// aliasUsage starts the usage of a flag that is another spelling of one
// the help shows.
const aliasUsage = "alias of --"

// alias registers name as another spelling of the flag target, which must
// be registered already.
func alias(fs *flag.FlagSet, name, target string) {
	fs.Var(fs.Lookup(target).Value, name, aliasUsage+target)
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
