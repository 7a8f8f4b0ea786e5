package geo

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Reading one zone: the reader's state, its problems, and the values every
// format shares (texts, numbers, restrictions, heights, date-times).

// zone starts reading the zone at feature index i. The zoneReader is
// reused from one feature to the next.
func (r *fileReader) zone(i int) *zoneReader {
	c := &r.zr
	*c = zoneReader{r: r, feature: i, reported: c.reported[:0],
		names: srcNames{vols: c.names.vols[:0], pers: c.names.pers[:0]}}
	return c
}

// checkDuplicates applies the rules for features that share an identifier
// (see mergeZones) to the zones of the file.
func (r *fileReader) checkDuplicates() {
	var probs []Problem
	r.zones, probs = mergeZones(r.zones, true)
	r.probs = append(r.probs, probs...)
}

// idField names the member that holds a zone's ID in a format.
func idField(format string) string {
	switch format {
	case FormatED269:
		return "identifier"
	case FormatED318:
		return "properties.identifier"
	case FormatNofly:
		return "properties.id"
	}
	return "id" // KML, or read through a mapping: the zone's ID, wherever the mapping found it
}

// zoneReader reads one zone of a file.
type zoneReader struct {
	r       *fileReader
	feature int
	z       Zone
	names   srcNames
	// lines: texts read now may hold line feeds and tabs (see str).
	lines bool
	// reported lists the fields the reader found problems in, so that
	// validation does not report the same field again.
	reported []string
}

func (c *zoneReader) add(field, msg string) {
	c.reported = append(c.reported, field)
	c.r.probs = append(c.r.probs, Problem{File: c.r.file, Feature: c.feature, ZoneID: c.z.ID, Field: field, Msg: msg})
}

// finish validates the zone and adds it to the file's zones.
func (c *zoneReader) finish() {
	c.z.Source = Source{File: c.r.file, Feature: c.feature, Format: c.r.format}
	c.z.Applicability.Periods = normalizePeriods(c.z.Applicability.Periods)
	validateWith(&c.z, &c.names, func(field, msg string) {
		for _, f := range c.reported {
			if fieldsRelated(f, field) {
				return
			}
		}
		c.r.probs = append(c.r.probs, Problem{File: c.r.file, Feature: c.feature, ZoneID: c.z.ID, Field: field, Msg: msg})
	})
	c.r.zones = append(c.r.zones, c.z)
}

// fieldsRelated reports whether one field is the other or inside it, so that a
// problem found while reading "geometry.coordinates[0][3]" hides what
// validation then finds in "geometry.coordinates[0]".
func fieldsRelated(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return strings.HasPrefix(b, a) && (len(a) == len(b) || b[len(a)] == '.' || b[len(a)] == '[')
}

// normalizePeriods returns nil (permanent) when some period is unbounded and
// has no schedule, since the zone is then always active.
func normalizePeriods(ps []Period) []Period {
	for _, p := range ps {
		if p.Start.IsZero() && p.End.IsZero() && len(p.Schedule) == 0 {
			return nil
		}
	}
	return ps
}

// wrongType reports that v is not of the kind the field wants.
func (c *zoneReader) wrongType(v *jvalue, field, want string) {
	c.add(field, fmt.Sprintf("want %s, got %s (%s)", want, v.describe(), c.r.lines.at(v.off)))
}

// object reports whether v is an object, and a problem when it is present
// but not one (or holds a member twice).
func (c *zoneReader) object(v *jvalue, field string) bool {
	switch v.kind {
	case jObject:
		if v.dup {
			c.add(subField(field, dupKey(v.kids)), "member given more than once")
		}
		return true
	case jAbsent, jNull:
		return false
	}
	c.wrongType(v, field, "an object")
	return false
}

// array returns v's elements; absent or null is none.
func (c *zoneReader) array(v *jvalue, field string) ([]jmember, bool) {
	switch v.kind {
	case jArray:
		return v.kids, true
	case jAbsent, jNull:
		return nil, false
	}
	c.wrongType(v, field, "an array")
	return nil, false
}

// str returns v's text; absent or null is "". A text that is not UTF-8 or
// holds a control character is a problem (see CheckText); line feeds and
// tabs are allowed while c.lines is set.
func (c *zoneReader) str(v *jvalue, field string) string {
	switch v.kind {
	case jString:
		c.checkText(v, field)
		return v.str
	case jAbsent, jNull:
		return ""
	}
	c.wrongType(v, field, "a string")
	return ""
}

// checkText reports a string value that cannot be shown as it is.
func (c *zoneReader) checkText(v *jvalue, field string) {
	if v.badUTF8 {
		c.add(field, fmt.Sprintf("invalid UTF-8 (%s): write the text in UTF-8", c.r.lines.at(v.off)))
		return
	}
	if msg := CheckText(v.str, c.lines); msg != "" {
		c.add(field, msg)
	}
}

// message reads a text that may have several lines: a message or
// conditions, through read.
func (c *zoneReader) message(read func(v *jvalue, field string) string, v *jvalue, field string) string {
	c.lines = true
	defer func() { c.lines = false }()
	return read(v, field)
}

// num returns v's value and whether it is there.
func (c *zoneReader) num(v *jvalue, field string) (float64, bool) {
	switch v.kind {
	case jNumber:
		return v.num, true
	case jAbsent, jNull:
		return 0, false
	}
	c.wrongType(v, field, "a number")
	return 0, false
}

// strList reads an array of strings; a single string reads as a list of one.
func (c *zoneReader) strList(v *jvalue, field string) []string {
	if v.kind == jString {
		return []string{c.str(v, field)}
	}
	elems, _ := c.array(v, field)
	var out []string
	for i := range elems {
		e := &elems[i].val
		if e.kind != jString {
			c.wrongType(e, fieldIndex(field, i), "a string")
			continue
		}
		out = append(out, c.str(e, fieldIndex(field, i)))
	}
	return out
}

// yesNo reads an ED-269 regulationExemption.
func (c *zoneReader) yesNo(v *jvalue, field string) Exemptions {
	s := c.str(v, field)
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "":
		if v.kind == jString {
			c.add(field, `want "YES" or "NO", got an empty string`)
		}
		return ExemptionsUnspecified
	case "YES":
		return ExemptionsAllowed
	case "NO":
		return ExemptionsNotAllowed
	}
	c.add(field, fmt.Sprintf(`want "YES" or "NO", got %q`, s))
	return ExemptionsUnspecified
}

// restriction reads a restriction; absent leaves RestrictionUnknown, which
// validation reports as missing.
func (c *zoneReader) restriction(v *jvalue, field string) Restriction {
	s := c.str(v, field)
	if v.kind != jString {
		return RestrictionUnknown
	}
	r, err := ParseRestriction(s)
	if err != nil {
		c.add(field, err.Error())
	}
	return r
}

// verticalRef reads a vertical reference; absent is RefUnknown.
func (c *zoneReader) verticalRef(v *jvalue, field string) VerticalRef {
	s := c.str(v, field)
	if v.kind != jString {
		return RefUnknown
	}
	ref, err := ParseVerticalRef(s)
	if err != nil {
		c.add(field, err.Error())
	}
	return ref
}

// height reads a limit's value: a number, null (open), or, when strs is
// set (ED-269), a string holding a number. ok is false when there is a
// problem.
func (c *zoneReader) height(v *jvalue, field string, strs bool) (h float64, open, ok bool) {
	switch v.kind {
	case jAbsent, jNull:
		return 0, true, true
	case jNumber:
		return v.num, false, true
	case jString:
		if strs {
			f, err := parseNumberText(v.str)
			if err == nil {
				return f, false, true
			}
			c.add(field, fmt.Sprintf("want a number, got %s (%s)", v.describe(), c.r.lines.at(v.off)))
			return 0, false, false
		}
	}
	c.wrongType(v, field, "a number or null")
	return 0, false, false
}

// parseNumberText reads a number written as text ("0", " 120.5 ").
func parseNumberText(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty")
	}
	v, err := parseJSON([]byte(s))
	if err != nil || v.kind != jNumber {
		return 0, errors.New("not a number")
	}
	return v.num, nil
}

// lengthUnit is a length unit of a source.
type lengthUnit uint8

const (
	unitMetres lengthUnit = iota
	unitFeet
)

func (u lengthUnit) toMetres(v float64) float64 {
	if u == unitFeet {
		return FeetToMetres(v)
	}
	return v
}

// dateTime reads an RFC 3339 date-time; absent or null is the zero time.
func (c *zoneReader) dateTime(v *jvalue, field string) time.Time {
	s := c.str(v, field)
	if v.kind != jString {
		return time.Time{}
	}
	t, err := parseZoneDateTime(s)
	if err != nil {
		c.add(field, err.Error())
	}
	return t
}

// parseZoneDateTime reads an RFC 3339 date-time, with or without fractional
// seconds, into UTC.
func parseZoneDateTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("want an RFC 3339 date-time such as \"2025-06-01T08:00:00Z\", got %q", s)
	}
	return t.UTC(), nil
}
