package geo

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidZone is wrapped by every error that refuses zone data.
var ErrInvalidZone = errors.New("invalid zone data")

// Problem is one thing wrong with zone data, said so that a person can find
// and fix it.
type Problem struct {
	File string
	// Feature is the 0-based index of the zone in its file, or -1 when the
	// problem concerns the whole file.
	Feature int
	ZoneID  string
	// Field is a JSON-path-like name of the offending member, such as
	// "geometry.coordinates[0][3]" or "properties.type".
	Field string
	Msg   string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(": ")
	}
	if p.Feature >= 0 {
		fmt.Fprintf(&b, "feature %d", p.Feature)
		switch {
		case p.ZoneID == "":
		case CheckText(p.ZoneID, false) != "":
			fmt.Fprintf(&b, " (%q)", p.ZoneID) // escaped: see CheckText
		default:
			fmt.Fprintf(&b, " (%s)", p.ZoneID)
		}
		b.WriteString(": ")
	}
	switch {
	case p.Field == "":
	case CheckText(p.Field, false) != "":
		fmt.Fprintf(&b, "%q: ", p.Field) // a member name from the file: escaped
	default:
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// LoadError refuses zone data and lists every problem found in it.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	switch len(e.Problems) {
	case 0:
		return ErrInvalidZone.Error()
	case 1:
		return e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems in zone data:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap lets errors.Is(err, ErrInvalidZone) hold.
func (e *LoadError) Unwrap() error { return ErrInvalidZone }

// FieldError is one problem with one field of an input (a query, an
// exemption record), named by its path in that input: "waypoints[3].alt",
// "band.lower", "area.radius". Callers that know the input under another
// name (an API's field path) map Path; Msg never repeats it.
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// QueryError refuses a query and lists every problem found in it, in the
// order of the query's fields. It wraps ErrInvalidQuery.
type QueryError struct {
	Problems []FieldError
}

// Error is Detail: the problems alone, fit to show a user (errors.Is with
// ErrInvalidQuery says what kind of error it is).
func (e *QueryError) Error() string { return e.Detail() }

// Detail lists the problems, each as its path and message, joined by "; ".
func (e *QueryError) Detail() string {
	msgs := make([]string, len(e.Problems))
	for i := range e.Problems {
		msgs[i] = e.Problems[i].Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap lets errors.Is(err, ErrInvalidQuery) hold.
func (e *QueryError) Unwrap() error { return ErrInvalidQuery }
