package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Role is what an authenticated caller may do.
type Role string

// The roles. See the policy table (auth.go) for the calls each may make.
const (
	// RolePilot checks positions and flight plans as itself: its unit and
	// pilot id are the ones in the roles file.
	RolePilot Role = "pilot"
	// RolePlanner checks flight plans for pilots of its own unit.
	RolePlanner Role = "planner"
	// RoleAdmin issues, supersedes and revokes exemptions, and reads them.
	RoleAdmin Role = "admin"
	// RoleAuditor reads exemptions and the audit log.
	RoleAuditor Role = "auditor"
)

// Identity is who a call comes from.
type Identity struct {
	// Subject is the client certificate's subject distinguished name as
	// crypto/x509 prints it (pkix.Name.String(), RFC 2253 order: "CN=…,O=…").
	// Empty for the local identity.
	Subject string
	Role    Role
	// Unit and Pilot bind a pilot (both) or a planner (Unit) to the checks
	// they may make. Empty for administrators and auditors.
	Unit, Pilot string
	// Local is the caller of a noflyd serving plaintext on loopback: it has
	// every role, and the request's unit, pilot, issuer and revoker are
	// taken as given.
	Local bool
}

// localIdentity is every caller of a noflyd without TLS.
var localIdentity = Identity{Local: true}

// localIdentityValue is localIdentity as the value of a context: made
// once, where every call without TLS would box it again.
var localIdentityValue any = localIdentity

// Name is how logs and the audit log name the caller: the certificate
// subject, or "local" for the local identity.
func (id Identity) Name() string {
	if id.Local {
		return "local"
	}
	return id.Subject
}

// Roles maps certificate subjects to identities: the roles file. It is
// immutable.
type Roles struct {
	bySubject map[string]Identity
}

// Len is the number of subjects with a role.
func (r *Roles) Len() int { return len(r.bySubject) }

// Lookup returns the identity of subject, if it has a role.
func (r *Roles) Lookup(subject string) (Identity, bool) {
	id, ok := r.bySubject[subject]
	return id, ok
}

// RolesProblem is one problem of a roles file.
type RolesProblem struct {
	File  string
	Line  int    // 1-based
	Field string // "role", "unit", "pilot", "subject"
	Msg   string
}

func (p RolesProblem) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Field, p.Msg)
}

// RolesError lists every problem of a roles file that was refused whole.
type RolesError struct {
	Problems []RolesProblem
}

func (e *RolesError) Error() string {
	msg := e.Problems[0].String()
	if n := len(e.Problems) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more problem%s)", n, plural(n))
	}
	return msg
}

// maxRolesFile bounds a roles file, in bytes: a file this large is a
// mistake, not a list of people.
const maxRolesFile = 16 << 20

// ReadRolesFile reads the roles file at path. See ParseRoles.
func ReadRolesFile(path string) (*Roles, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseRoles(f, path)
}

// ParseRoles reads a roles file: one subject a line, as
//
//	ROLE UNIT PILOT SUBJECT
//
// separated by white space, where ROLE is pilot, planner, admin (or
// administrator) or auditor; UNIT and PILOT are "-" where they do not
// apply; and SUBJECT, the rest of the line, is the certificate subject
// exactly as crypto/x509 prints it ("CN=pilot P-0412,O=Politie"). A pilot
// needs a unit and a pilot id, a planner a unit and no pilot id;
// administrators and auditors have neither. Blank lines and lines starting
// with # are ignored. A file with any problem is refused whole, with every
// problem in a *RolesError; name is the file's name in it.
func ParseRoles(r io.Reader, name string) (*Roles, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxRolesFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxRolesFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxRolesFile)
	}
	roles := &Roles{bySubject: map[string]Identity{}}
	firstLine := map[string]int{}
	var problems []RolesProblem
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxRolesFile)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bad := func(field, format string, args ...any) {
			problems = append(problems, RolesProblem{File: name, Line: n, Field: field, Msg: fmt.Sprintf(format, args...)})
		}
		if !utf8.ValidString(line) {
			bad("line", "not valid UTF-8")
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 {
			bad("line", "want ROLE UNIT PILOT SUBJECT, got %d field%s", len(fields), plural(len(fields)))
			continue
		}
		// The subject is the rest of the line after the third field, with
		// its inner spaces kept.
		// Fields split at any Unicode space; so does this.
		rest := line
		for range 3 {
			rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
			rest = rest[strings.IndexFunc(rest, unicode.IsSpace):]
		}
		subject := strings.TrimSpace(rest)
		id := Identity{Subject: subject, Role: Role(strings.ToLower(fields[0]))}
		if id.Role == "administrator" {
			id.Role = RoleAdmin
		}
		unit, pilot := dash(fields[1]), dash(fields[2])
		switch id.Role {
		case RolePilot:
			if unit == "" {
				bad("unit", "a pilot needs a unit")
			}
			if pilot == "" {
				bad("pilot", "a pilot needs a pilot id")
			}
		case RolePlanner:
			if unit == "" {
				bad("unit", "a planner needs a unit")
			}
			if pilot != "" {
				bad("pilot", "%q: a planner has no pilot id (write -)", pilot)
			}
		case RoleAdmin, RoleAuditor:
			if unit != "" {
				bad("unit", "%q: %ss are not bound to a unit (write -)", unit, id.Role)
			}
			if pilot != "" {
				bad("pilot", "%q: %ss have no pilot id (write -)", pilot, id.Role)
			}
		default:
			bad("role", "%q: want pilot, planner, admin or auditor", fields[0])
		}
		id.Unit, id.Pilot = unit, pilot
		if !strings.Contains(subject, "=") {
			bad("subject", "%q does not look like a certificate subject (CN=…,O=…)", subject)
		}
		if first, dup := firstLine[subject]; dup {
			bad("subject", "%q already has a role on line %d (one role per certificate)", subject, first)
			continue
		}
		firstLine[subject] = n
		roles.bySubject[subject] = id
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(problems) > 0 {
		return nil, &RolesError{Problems: problems}
	}
	return roles, nil
}

func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// rolesProblems returns the problems of err when it is a *RolesError.
func rolesProblems(err error) []RolesProblem {
	var re *RolesError
	if errors.As(err, &re) {
		return re.Problems
	}
	return nil
}
