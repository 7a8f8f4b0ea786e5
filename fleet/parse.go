package fleet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on a policy file, so that a mistaken file cannot hold the server.
const (
	MaxPolicyBytes = 1 << 20
	MaxRules       = 10000
	MaxLineLen     = 1000
	MaxLevels      = 32
)

// ErrInvalidPolicy is wrapped by every error about a malformed policy.
var ErrInvalidPolicy = errors.New("invalid policy")

// LineError is one problem of a policy file.
type LineError struct {
	Line int
	Msg  string
}

// ParseError lists every problem of a policy file, by line.
type ParseError struct {
	Name     string
	Problems []LineError
}

func (e *ParseError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s:%d: %s", e.Name, p.Line, p.Msg)
	}
	return b.String()
}

func (e *ParseError) Unwrap() error { return ErrInvalidPolicy }

// Parse reads a policy in the line grammar of docs/policy.md; name says
// where it came from, in errors and refusals. A file with any problem is
// refused whole, with every problem named by line.
func Parse(name string, r io.Reader) (*Policy, error) {
	p := &Policy{Name: name}
	perr := &ParseError{Name: name}
	bad := func(line int, format string, args ...any) {
		perr.Problems = append(perr.Problems, LineError{Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	br := bufio.NewReader(io.LimitReader(r, MaxPolicyBytes+1))
	var (
		n, size   int
		levelLine int
		ceilLine  int
	)
	for {
		raw, err := br.ReadString('\n')
		if raw == "" && err != nil {
			if !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			break
		}
		n++
		size += len(raw)
		if size > MaxPolicyBytes {
			bad(n, "the file is longer than %d bytes", MaxPolicyBytes)
			break
		}
		line := strings.TrimRight(raw, "\r\n")
		if len(line) > MaxLineLen {
			bad(n, "line longer than %d bytes", MaxLineLen)
			continue
		}
		if !utf8.ValidString(line) {
			bad(n, "not valid UTF-8")
			continue
		}
		if i := strings.IndexFunc(line, func(r rune) bool { return unicode.IsControl(r) && r != '\t' }); i >= 0 {
			c, _ := utf8.DecodeRuneInString(line[i:])
			bad(n, "control character %q at column %d", c, i+1)
			continue
		}
		toks, text, err := tokens(line)
		if err != nil {
			bad(n, "%v", err)
			continue
		}
		if len(toks) == 0 {
			continue
		}
		switch {
		case toks[0].word("levels"):
			if levelLine > 0 {
				bad(n, "levels given again (first on line %d)", levelLine)
				continue
			}
			if len(p.Rules) > 0 {
				bad(n, "levels must come before the rules")
			}
			levelLine = n
			if len(toks) == 1 {
				bad(n, "levels: name at least one level, lowest first")
			}
			for _, t := range toks[1:] {
				if !t.name() {
					bad(n, "levels: %s is no level name", t)
					continue
				}
				if p.Level(t.s) >= 0 {
					bad(n, "levels: %s given twice", t.s)
					continue
				}
				p.Levels = append(p.Levels, t.s)
			}
			if len(p.Levels) > MaxLevels {
				bad(n, "levels: more than %d", MaxLevels)
			}
		case toks[0].word("ceiling"):
			if ceilLine > 0 {
				bad(n, "ceiling given again (first on line %d)", ceilLine)
				continue
			}
			ceilLine = n
			c, err := parseCeiling(toks[1:])
			if err != nil {
				bad(n, "ceiling: %v", err)
				continue
			}
			p.Ceiling = c
		default:
			if len(p.Rules) >= MaxRules {
				bad(n, "more than %d rules", MaxRules)
				continue
			}
			rule, msgs := parseRule(toks)
			for _, m := range msgs {
				bad(n, "%s", m)
			}
			if len(msgs) == 0 {
				rule.Line, rule.Text = n, text
				p.Rules = append(p.Rules, rule)
			}
		}
	}
	if levelLine == 0 && len(perr.Problems) == 0 {
		bad(max(n, 1), "no levels line: name the classifications of operation, lowest first (levels regular confidential)")
	}
	// Levels named by rules must exist; checked once all lines are read.
	for _, r := range p.Rules {
		for _, c := range r.Cond {
			if c.Attr == AttrClassification && p.Level(c.Value) < 0 {
				bad(r.Line, "classification %s is no level (%s)", c.Value, strings.Join(p.Levels, ", "))
			}
		}
		if r.Act.Verb == VerbOnly || r.Act.Verb == VerbAtMost {
			for _, a := range r.Act.Args {
				if p.Level(a) < 0 {
					bad(r.Line, "%s %s: no such level (%s)", r.Act.Verb, a, strings.Join(p.Levels, ", "))
				}
			}
		}
	}
	if len(perr.Problems) > 0 {
		slices.SortStableFunc(perr.Problems, func(a, b LineError) int { return a.Line - b.Line })
		return nil, perr
	}
	return p, nil
}

// parseCeiling reads "120 m AGL".
func parseCeiling(toks []token) (Ceiling, error) {
	if len(toks) != 3 || !toks[1].word("m") {
		return Ceiling{}, errors.New("want: ceiling METRES m AGL|AMSL")
	}
	m, err := strconv.ParseFloat(toks[0].s, 64)
	if err != nil || toks[0].quoted || !(m > 0 && m <= 10000) {
		return Ceiling{}, fmt.Errorf("%s: want metres above 0 and at most 10000", toks[0])
	}
	ref := strings.ToUpper(toks[2].s)
	if ref != "AGL" && ref != "AMSL" {
		return Ceiling{}, fmt.Errorf("%s: want AGL or AMSL", toks[2])
	}
	return Ceiling{Set: true, Metres: m, Ref: ref}, nil
}

// parseRule reads "condition {and condition} : action".
func parseRule(toks []token) (Rule, []string) {
	var (
		r    Rule
		msgs []string
	)
	colon := slices.IndexFunc(toks, func(t token) bool { return t.punct(':') })
	if colon < 0 {
		return r, []string{fmt.Sprintf("%s: unknown statement; a rule is CONDITION: ACTION (see docs/policy.md)", toks[0])}
	}
	conds, act := toks[:colon], toks[colon+1:]
	if len(conds) == 0 {
		msgs = append(msgs, "a rule needs a condition before ':' (any, manufacturer, model, class, unit, classification, purpose)")
	}
	for len(conds) > 0 {
		a := Attr(strings.ToLower(conds[0].s))
		if conds[0].quoted {
			a = ""
		}
		switch a {
		case AttrAny:
			r.Cond = append(r.Cond, Condition{Attr: a})
			conds = conds[1:]
		case AttrManufacturer, AttrModel, AttrClass, AttrUnit, AttrClassification, AttrPurpose:
			if len(conds) < 2 || conds[1].punct(0) {
				msgs = append(msgs, fmt.Sprintf("%s: a value must follow", a))
				return r, msgs
			}
			v := conds[1].s
			if a == AttrClass && !strings.EqualFold(v, "none") && !slices.Contains(ClassMarks, strings.ToUpper(v)) {
				msgs = append(msgs, fmt.Sprintf("class %s: want C0 to C6 or none", v))
			}
			if a == AttrClass && strings.EqualFold(v, "none") {
				v = ""
			}
			r.Cond = append(r.Cond, Condition{Attr: a, Value: v})
			conds = conds[2:]
		default:
			msgs = append(msgs, fmt.Sprintf("%s: unknown condition; want any, manufacturer, model, class, unit, classification or purpose", conds[0]))
			return r, msgs
		}
		if len(conds) > 0 {
			if !conds[0].word("and") {
				msgs = append(msgs, fmt.Sprintf("%s: conditions are joined by and", conds[0]))
				return r, msgs
			}
			conds = conds[1:]
			if len(conds) == 0 {
				msgs = append(msgs, "a condition must follow and")
			}
		}
	}
	switch {
	case len(act) == 0:
		msgs = append(msgs, "an action must follow ':' (only, at most, never, requires)")
	case act[0].word("only"):
		r.Act.Verb = VerbOnly
		args := act[1:]
		for i, t := range args {
			if i%2 == 1 {
				if !t.punct(',') {
					msgs = append(msgs, fmt.Sprintf("only: %s: levels are separated by ','", t))
					return r, msgs
				}
				continue
			}
			if !t.name() {
				msgs = append(msgs, fmt.Sprintf("only: %s is no level name", t))
				return r, msgs
			}
			r.Act.Args = append(r.Act.Args, t.s)
		}
		if len(r.Act.Args) == 0 || len(args)%2 == 0 {
			msgs = append(msgs, "only: name the levels allowed: only regular[, confidential]")
		}
	case act[0].word("at"):
		if len(act) != 3 || !act[1].word("most") || !act[2].name() {
			msgs = append(msgs, "at most: want at most LEVEL")
			break
		}
		r.Act = Action{Verb: VerbAtMost, Args: []string{act[2].s}}
	case act[0].word("never"):
		if len(act) != 1 {
			msgs = append(msgs, fmt.Sprintf("never: nothing may follow, not %s", act[1]))
		}
		r.Act.Verb = VerbNever
	case act[0].word("requires"):
		if len(act) != 2 || act[1].punct(0) {
			msgs = append(msgs, "requires: want requires CAPABILITY")
			break
		}
		r.Act = Action{Verb: VerbRequires, Args: []string{act[1].s}}
	default:
		msgs = append(msgs, fmt.Sprintf("%s: unknown action; want only, at most, never or requires", act[0]))
	}
	return r, msgs
}

// token is a word, a quoted value, or the punctuation ':' and ','.
type token struct {
	s      string
	quoted bool
	p      byte // ':' or ',' for punctuation
}

func (t token) String() string {
	if t.p != 0 {
		return fmt.Sprintf("%q", string(t.p))
	}
	return strconv.Quote(t.s)
}

func (t token) word(w string) bool { return !t.quoted && t.p == 0 && strings.EqualFold(t.s, w) }

// punct reports whether t is punctuation c, or any punctuation for c 0.
func (t token) punct(c byte) bool { return t.p != 0 && (c == 0 || t.p == c) }

// name reports whether t may name a level: a word of letters, digits, '-'
// and '_'.
func (t token) name() bool {
	if t.p != 0 || t.quoted || t.s == "" {
		return false
	}
	return strings.IndexFunc(t.s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_')
	}) < 0
}

// tokens splits a line into tokens, dropping a comment ('#' outside
// quotes). It also returns the line's text without its comment.
func tokens(line string) ([]token, string, error) {
	var out []token
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '#':
			return out, strings.TrimSpace(line[:i]), nil
		case c == ':' || c == ',':
			out = append(out, token{p: c})
			i++
		case c == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				return nil, "", fmt.Errorf("column %d: quote not closed", i+1)
			}
			v := line[i+1 : i+1+j]
			if strings.TrimSpace(v) == "" {
				return nil, "", fmt.Errorf("column %d: empty value", i+1)
			}
			out = append(out, token{s: v, quoted: true})
			i += j + 2
		default:
			j := i
			for j < len(line) && !strings.ContainsRune(" \t#:,\"", rune(line[j])) {
				j++
			}
			out = append(out, token{s: line[i:j]})
			i = j
		}
	}
	return out, strings.TrimSpace(line), nil
}
