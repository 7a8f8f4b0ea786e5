package geo

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Mappings: how to read a GeoJSON or KML source whose features carry zone
// data under property names of their own (a national portal's layer, a
// geodata service's schema). A mapping is a small JSON file that says, for
// each zone field, where nofly finds it: a property, a template over
// properties, or a constant, optionally through a table of values.
// docs/zones.md ("Mappings") describes the syntax; in short:
//
//	{"nofly_mapping": 1,
//	 "id":          {"template": "{type_code}-{external_reference}"},
//	 "name":        {"property": "name", "first": true},
//	 "restriction": {"property": "type_code", "table": {"CTR": "REQ_AUTHORISATION"}},
//	 "lower": {"value": {"property": "lower_limit_altitude"},
//	           "unit": {"property": "lower_limit_unit"}, "reference": {"property": "lower_limit_alt_ref"}}}
//
// A mapping is as strict as zone data: an unknown key, a constant or table
// value the field cannot take, a feature without a property the mapping
// names, or a property value its table does not list is a problem, never
// skipped.

// MappingVersion is the only value of a mapping's "nofly_mapping" key.
const MappingVersion = 1

// MaxMappingSize is the largest mapping file read, in bytes.
const MaxMappingSize = 1 << 20

// Mapping says where a foreign GeoJSON or KML source holds each zone field.
// Build one with ParseMapping or ReadMappingFile; the zero value maps
// nothing and reads no zone (it names no ID).
type Mapping struct {
	// Name names the mapping's file in problems.
	Name string
	// Description is the mapping's "description", for people.
	Description string

	// kmlHeights: an extruded KML polygon's altitude is its upper limit
	// when the mapping gives none ("kml_heights": true).
	kmlHeights bool

	id, name, country, restriction, reasons, message, exemptions, radius fieldSpec
	lower, upper                                                         limitSpec
	start, end                                                           fieldSpec
}

// valueKind is what a mapped field holds once read.
type valueKind uint8

const (
	kindText valueKind = iota
	kindTextList
	kindRestriction
	kindYesNo
	kindNumber
	kindUnit
	kindRef
	kindDateTime
)

// fieldFrom says where a field's value comes from.
type fieldFrom uint8

const (
	fromDefault  fieldFrom = iota // not in the mapping: nofly's default
	fromValue                     // a constant
	fromProperty                  // a property of the feature
	fromTemplate                  // a text built from properties
)

// fieldSpec is one field of a mapping.
type fieldSpec struct {
	key      string // the field's key in the mapping: "restriction", "lower.unit"
	kind     valueKind
	from     fieldFrom
	value    jvalue // fromValue
	property string // fromProperty
	template []templatePart
	tmplText string
	table    map[string]jvalue
	first    bool // an array property reads as its first element
	optional bool
	def      jvalue // with optional: the value when the property is absent (jAbsent: nofly's default)
}

type templatePart struct {
	lit  string
	prop string // a property reference when not empty
}

// limitSpec is a lower or upper limit: its value, unit and reference.
type limitSpec struct {
	value, unit, ref fieldSpec
}

// ReadMappingFile reads and checks the mapping at path.
func ReadMappingFile(path string) (*Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &LoadError{Problems: []Problem{{File: path, Feature: -1, Msg: errMsg(err, path)}}}
	}
	return ParseMapping(data, path)
}

// ParseMapping reads a mapping (docs/zones.md, "Mappings") from data; name
// names it in problems. It refuses, with a *LoadError listing every
// problem, invalid JSON, an unknown key, a key given twice, a field with
// none or several of value, property and template, and any constant,
// default or table value that its field cannot take (an unknown
// restriction, unit or vertical reference, a text with a control
// character).
func ParseMapping(data []byte, name string) (*Mapping, error) {
	p := &mappingParser{m: &Mapping{Name: name}}
	if len(data) > MaxMappingSize {
		p.problem("", fmt.Sprintf("larger than %d bytes: a mapping is a few lines", MaxMappingSize))
		return nil, &LoadError{Problems: p.probs}
	}
	base := 0
	if strings.HasPrefix(string(data[:min(len(data), 3)]), string(utf8BOM)) {
		base = len(utf8BOM)
	}
	root, perr := parseJSON(data[base:])
	if perr != nil {
		p.problem("", syntaxProblemMsg(data, base, perr))
		return nil, &LoadError{Problems: p.probs}
	}
	p.lines = lineIndex{data: data[base:]}
	p.root(&root)
	if len(p.probs) > 0 {
		return nil, &LoadError{Problems: p.probs}
	}
	return p.m, nil
}

type mappingParser struct {
	m     *Mapping
	lines lineIndex
	probs []Problem
}

func (p *mappingParser) problem(field, msg string) {
	p.probs = append(p.probs, Problem{File: p.m.Name, Feature: -1, Field: field, Msg: msg})
}

func (p *mappingParser) wrongType(v *jvalue, field, want string) {
	p.problem(field, fmt.Sprintf("want %s, got %s (%s)", want, v.describe(), p.lines.at(v.off)))
}

// object checks that v is an object whose keys are all in known, each once.
func (p *mappingParser) object(v *jvalue, field string, known ...string) bool {
	if v.kind != jObject {
		p.wrongType(v, field, "an object")
		return false
	}
	if v.dup {
		p.problem(joinKey(field, dupKey(v.kids)), "key given more than once")
	}
	for _, k := range v.kids {
		if !slices.Contains(known, k.key) {
			p.problem(joinKey(field, k.key), fmt.Sprintf("unknown key (%s): want one of %s", p.lines.at(k.val.off), strings.Join(known, ", ")))
		}
	}
	return true
}

func joinKey(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

var mappingKeys = []string{"nofly_mapping", "description", "id", "name", "country", "restriction", "reasons",
	"message", "exemptions", "radius", "lower", "upper", "applicability", "kml_heights"}

func (p *mappingParser) root(v *jvalue) {
	if !p.object(v, "", mappingKeys...) {
		return
	}
	m := p.m
	switch ver := v.get("nofly_mapping"); {
	case ver.kind == jAbsent:
		p.problem("nofly_mapping", fmt.Sprintf("required: %d, the version of the mapping syntax", MappingVersion))
	case ver.kind != jNumber || ver.num != MappingVersion:
		p.problem("nofly_mapping", fmt.Sprintf("want %d, got %s: this nofly reads mappings of version %d", MappingVersion, ver.describe(), MappingVersion))
	}
	if d := v.get("description"); d.kind != jAbsent {
		if d.kind != jString {
			p.wrongType(d, "description", "a string")
		} else if msg := CheckText(d.str, true); msg != "" {
			p.problem("description", msg)
		}
		m.Description = d.str
	}
	if kh := v.get("kml_heights"); kh.kind != jAbsent {
		if kh.kind != jBool {
			p.wrongType(kh, "kml_heights", "true or false")
		}
		m.kmlHeights = kh.b
	}
	field := func(s *fieldSpec, key string, kind valueKind) {
		s.key, s.kind = key, kind
		if fv := v.get(key); fv.kind != jAbsent {
			p.field(s, fv)
		}
	}
	field(&m.id, "id", kindText)
	if m.id.from == fromDefault {
		p.problem("id", `required: where each zone's ID comes from, such as {"property": "id"} or {"template": "{type}-{ref}"}`)
	}
	field(&m.name, "name", kindText)
	field(&m.country, "country", kindText)
	field(&m.restriction, "restriction", kindRestriction)
	field(&m.reasons, "reasons", kindTextList)
	field(&m.message, "message", kindText)
	field(&m.exemptions, "exemptions", kindYesNo)
	field(&m.radius, "radius", kindNumber)
	p.limit(&m.lower, v.get("lower"), "lower")
	p.limit(&m.upper, v.get("upper"), "upper")
	m.start.key, m.start.kind = "applicability.start", kindDateTime
	m.end.key, m.end.kind = "applicability.end", kindDateTime
	if a := v.get("applicability"); a.kind != jAbsent && p.object(a, "applicability", "start", "end") {
		if s := a.get("start"); s.kind != jAbsent {
			p.field(&m.start, s)
		}
		if e := a.get("end"); e.kind != jAbsent {
			p.field(&m.end, e)
		}
	}
}

func (p *mappingParser) limit(l *limitSpec, v *jvalue, key string) {
	l.value.key, l.value.kind = key+".value", kindNumber
	l.unit.key, l.unit.kind = key+".unit", kindUnit
	l.ref.key, l.ref.kind = key+".reference", kindRef
	if v.kind == jAbsent || !p.object(v, key, "value", "unit", "reference") {
		return
	}
	for _, f := range []*fieldSpec{&l.value, &l.unit, &l.ref} {
		if fv := v.get(f.key[len(key)+1:]); fv.kind != jAbsent {
			p.field(f, fv)
		}
	}
	if l.value.from == fromDefault && (l.unit.from != fromDefault || l.ref.from != fromDefault) {
		p.problem(key+".value", "required when "+key+" gives a unit or reference: where the limit's height comes from")
	}
}

// field reads one field's spec from v.
func (p *mappingParser) field(s *fieldSpec, v *jvalue) {
	if !p.object(v, s.key, "value", "property", "template", "table", "first", "optional", "default") {
		return
	}
	var froms []string
	for _, k := range []string{"value", "property", "template"} {
		if v.get(k).kind != jAbsent {
			froms = append(froms, k)
		}
	}
	if len(froms) != 1 {
		p.problem(s.key, fmt.Sprintf("want exactly one of value, property and template, got %d (%s)", len(froms), strings.Join(froms, ", ")))
		return
	}
	switch froms[0] {
	case "value":
		s.from = fromValue
		s.value = *v.get("value")
		p.constant(s, &s.value, s.key+".value", true)
		for _, k := range []string{"table", "first", "optional", "default"} {
			if v.get(k).kind != jAbsent {
				takes := "a property or template"
				if k == "first" {
					takes = "a property"
				}
				p.problem(joinKey(s.key, k), "only "+takes+" takes "+k+"; a value is a constant")
			}
		}
		return
	case "property":
		s.from = fromProperty
		pv := v.get("property")
		switch {
		case pv.kind != jString:
			p.wrongType(pv, s.key+".property", "a string: the property's name")
		case pv.str == "":
			p.problem(s.key+".property", "empty: want the property's name")
		case CheckText(pv.str, false) != "":
			p.problem(s.key+".property", CheckText(pv.str, false))
		}
		s.property = pv.str
	case "template":
		s.from = fromTemplate
		tv := v.get("template")
		if tv.kind != jString {
			p.wrongType(tv, s.key+".template", `a string such as "{type}-{ref}"`)
			break
		}
		parts, err := parseTemplate(tv.str)
		if err != nil {
			p.problem(s.key+".template", err.Error())
		}
		if s.kind != kindText && s.kind != kindTextList && s.kind != kindRestriction && s.kind != kindYesNo &&
			s.kind != kindUnit && s.kind != kindRef && s.kind != kindDateTime {
			p.problem(s.key+".template", "a template builds a text; this field takes a number: use a property")
		}
		s.template, s.tmplText = parts, tv.str
	}
	if f := v.get("first"); f.kind != jAbsent {
		if f.kind != jBool {
			p.wrongType(f, s.key+".first", "true or false")
		}
		if s.from != fromProperty {
			p.problem(s.key+".first", "only a property takes first")
		}
		s.first = f.b
	}
	if o := v.get("optional"); o.kind != jAbsent {
		if o.kind != jBool {
			p.wrongType(o, s.key+".optional", "true or false")
		}
		s.optional = o.b
	}
	if d := v.get("default"); d.kind != jAbsent {
		if !s.optional {
			p.problem(s.key+".default", `only an optional field takes a default: add "optional": true`)
		}
		s.def = *d
		p.constant(s, &s.def, s.key+".default", true)
	}
	if t := v.get("table"); t.kind != jAbsent {
		switch {
		case t.kind != jObject:
			p.wrongType(t, s.key+".table", "an object from each value the source uses to the field's value")
			return
		case t.dup:
			p.problem(s.key+".table."+dupKey(t.kids), "key given more than once")
		case len(t.kids) == 0:
			p.problem(s.key+".table", "empty: a table lists each value the source uses")
		}
		s.table = make(map[string]jvalue, len(t.kids))
		for i := range t.kids {
			k := &t.kids[i]
			if msg := CheckText(k.key, false); msg != "" {
				p.problem(s.key+".table", "key "+strconv.Quote(k.key)+": "+msg)
			}
			p.constant(s, &k.val, s.key+".table."+k.key, false)
			s.table[k.key] = k.val
		}
	}
}

// constant checks a constant, default or table value for the field's kind;
// null may stand for "open" or "none" where nullOK.
func (p *mappingParser) constant(s *fieldSpec, v *jvalue, field string, nullOK bool) {
	if v.kind == jNull {
		if !nullOK && s.kind != kindNumber {
			p.problem(field, "null is not a value of "+s.key)
		}
		if s.kind == kindText && s.key == "id" {
			p.problem(field, "a zone needs an ID; null gives none")
		}
		return
	}
	if s.kind == kindNumber {
		if v.kind != jNumber || !isFinite(v.num) {
			p.wrongType(v, field, "a number")
		}
		return
	}
	if s.kind == kindTextList && v.kind == jArray {
		for i := range v.kids {
			e := &v.kids[i].val
			if e.kind != jString {
				p.wrongType(e, fieldIndex(field, i), "a string")
				continue
			}
			if msg := CheckText(e.str, false); msg != "" {
				p.problem(fieldIndex(field, i), msg)
			}
		}
		return
	}
	if v.kind != jString {
		p.wrongType(v, field, "a string")
		return
	}
	if msg := checkKind(s.kind, v.str, s.key == "message"); msg != "" {
		p.problem(field, msg)
	}
}

// checkKind says why text is not a value of kind, or "".
func checkKind(kind valueKind, text string, lines bool) string {
	if msg := CheckText(text, lines); msg != "" {
		return msg
	}
	var err error
	switch kind {
	case kindRestriction:
		_, err = ParseRestriction(text)
	case kindYesNo:
		switch strings.ToUpper(strings.TrimSpace(text)) {
		case "YES", "NO":
		default:
			return fmt.Sprintf(`want "YES" or "NO", got %q`, text)
		}
	case kindUnit:
		_, err = parseMappedUnit(text)
	case kindRef:
		_, _, err = parseMappedRef(text)
	case kindDateTime:
		_, err = parseZoneDateTime(text)
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// parseTemplate reads "{a}-{b}": literal text and property references in
// braces; "{{" and "}}" are literal braces.
func parseTemplate(s string) ([]templatePart, error) {
	var parts []templatePart
	var lit strings.Builder
	refs := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '{' && i+1 < len(s) && s[i+1] == '{', c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte(c)
			i++
		case c == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed { at byte %d: write {property}, or {{ for a brace", i)
			}
			name := s[i+1 : i+end]
			if name == "" || strings.ContainsAny(name, "{") {
				return nil, fmt.Errorf("want a property name between { and } at byte %d", i)
			}
			if msg := CheckText(name, false); msg != "" {
				return nil, fmt.Errorf("property name at byte %d: %s", i, msg)
			}
			if lit.Len() > 0 {
				parts = append(parts, templatePart{lit: lit.String()})
				lit.Reset()
			}
			parts = append(parts, templatePart{prop: name})
			refs++
			i += end
		case c == '}':
			return nil, fmt.Errorf("} at byte %d closes nothing: write }} for a brace", i)
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		parts = append(parts, templatePart{lit: lit.String()})
	}
	if refs == 0 {
		return nil, fmt.Errorf("names no property: a constant text is a value, {\"value\": %q}", s)
	}
	return parts, nil
}

// mappedUnit is a limit's unit: metres, feet or a flight level.
type mappedUnit uint8

const (
	unitM mappedUnit = iota
	unitFt
	unitFL
)

func parseMappedUnit(s string) (mappedUnit, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "M":
		return unitM, nil
	case "FT":
		return unitFt, nil
	case "FL":
		return unitFL, nil
	}
	return 0, fmt.Errorf("unknown unit %q: want m, ft or FL", s)
}

// parseMappedRef reads a vertical reference: AGL, AMSL (MSL), WGS84, or STD
// (standard pressure, which only a flight level takes).
func parseMappedRef(s string) (ref VerticalRef, std bool, err error) {
	if strings.EqualFold(strings.TrimSpace(s), "STD") {
		return AMSL, true, nil
	}
	ref, err = ParseVerticalRef(s)
	if err != nil {
		return 0, false, fmt.Errorf("unknown vertical reference %q (want AGL, AMSL, MSL, WGS84, or STD with a flight level)", s)
	}
	return ref, false, nil
}

// FlightLevelMargin widens a limit given as a flight level. A flight level
// is a pressure altitude (hundreds of feet on the standard pressure of
// 1013.25 hPa), not a height: where the pressure at sea level is 960 hPa it
// lies about 450 m lower above the sea than its nominal height, and where
// it is 1,066 hPa about 450 m higher (some 8.5 m per hPa near the ground);
// a column of air 40 °C colder or warmer than the standard atmosphere moves
// it by up to 15% of its height. nofly reads FL n as n × 30.48 m AMSL moved
// outward by FlightLevelMargin metres plus FlightLevelSpread of the height:
// a lower limit that much lower, an upper limit that much higher, so the
// zone only ever grows.
const (
	FlightLevelMargin = 450
	FlightLevelSpread = 0.15
)

// flightLevelLimit converts flight level fl to metres AMSL, widened outward.
func flightLevelLimit(fl float64, upper bool) float64 {
	p := FeetToMetres(fl * 100)
	w := FlightLevelMargin + FlightLevelSpread*math.Abs(p)
	if upper {
		return p + w
	}
	return p - w
}

// The reading side: a feature's properties through a mapping.

// mappedProps is where a feature's properties are, and how to name them.
type mappedProps struct {
	v      *jvalue
	prefix string // "properties." or "ExtendedData."
}

func (mp mappedProps) field(name string) string { return mp.prefix + name }

// resolve returns field s's value for one feature, before the field's
// kind is applied, and the field that problems name; nil when the mapping
// leaves the field to nofly's default (or an optional property is absent
// without default), or when there is a problem (already reported).
func (c *zoneReader) resolve(m *Mapping, props mappedProps, s *fieldSpec) (*jvalue, string) {
	switch s.from {
	case fromDefault:
		return nil, ""
	case fromValue:
		if s.value.kind == jNull {
			return nil, ""
		}
		return &s.value, s.key
	case fromTemplate:
		var b strings.Builder
		field := fmt.Sprintf("%s (template %q)", s.key, s.tmplText)
		ok := true
		for _, part := range s.template {
			if part.prop == "" {
				b.WriteString(part.lit)
				continue
			}
			pv := props.v.get(part.prop)
			if !pv.present() {
				if s.optional {
					return c.absent(s)
				}
				c.add(props.field(part.prop), fmt.Sprintf("required by the mapping's %s template (%s): the feature does not have it", s.key, m.Name))
				ok = false
				continue
			}
			t, tok := c.textOf(pv, props.field(part.prop))
			ok = ok && tok
			b.WriteString(t)
		}
		if !ok {
			return nil, field
		}
		v := &jvalue{kind: jString, str: b.String()}
		return c.lookup(m, s, v, field)
	}
	field := props.field(s.property)
	pv := props.v.get(s.property)
	if !pv.present() {
		if s.optional {
			return c.absent(s)
		}
		c.add(field, fmt.Sprintf("required by the mapping's %s (%s): the feature does not have it", s.key, m.Name))
		return nil, field
	}
	if s.first && pv.kind == jArray {
		if len(pv.kids) == 0 {
			if s.optional {
				return c.absent(s)
			}
			c.add(field, fmt.Sprintf("an empty array: the mapping's %s takes its first element (%s)", s.key, m.Name))
			return nil, field
		}
		pv, field = &pv.kids[0].val, field+"[0]"
	}
	if s.kind == kindTextList && pv.kind == jArray && s.table != nil {
		out := &jvalue{kind: jArray, off: pv.off}
		for i := range pv.kids {
			e, _ := c.lookup(m, s, &pv.kids[i].val, fieldIndex(field, i))
			if e == nil {
				return nil, field
			}
			out.kids = append(out.kids, jmember{val: *e})
		}
		return out, field
	}
	return c.lookup(m, s, pv, field)
}

// absent is the value of an optional field whose property is absent.
func (c *zoneReader) absent(s *fieldSpec) (*jvalue, string) {
	if s.def.kind == jAbsent || s.def.kind == jNull {
		return nil, ""
	}
	return &s.def, s.key + ".default"
}

// lookup maps v through s's table, if it has one.
func (c *zoneReader) lookup(m *Mapping, s *fieldSpec, v *jvalue, field string) (*jvalue, string) {
	if s.table == nil {
		return v, field
	}
	key, ok := c.textOf(v, field)
	if !ok {
		return nil, field
	}
	if out, ok := s.table[key]; ok {
		if out.kind == jNull {
			return nil, ""
		}
		return &out, field
	}
	keys := make([]string, 0, len(s.table))
	for k := range s.table {
		keys = append(keys, strconv.Quote(k))
	}
	slices.Sort(keys)
	c.add(field, fmt.Sprintf("value %q is not in the table of the mapping's %s (%s), which lists %s: add it to the mapping",
		key, s.key, m.Name, strings.Join(keys, ", ")))
	return nil, field
}

// textOf returns a scalar's text: a string as it is, a number in decimal.
func (c *zoneReader) textOf(v *jvalue, field string) (string, bool) {
	switch v.kind {
	case jString:
		n := len(c.r.probs)
		s := c.str(v, field)
		return s, len(c.r.probs) == n
	case jNumber:
		return strconv.FormatFloat(v.num, 'f', -1, 64), true
	case jBool:
		return strconv.FormatBool(v.b), true
	}
	c.wrongType(v, field, "a string or a number")
	return "", false
}

// mappedText reads a text field.
func (c *zoneReader) mappedText(m *Mapping, props mappedProps, s *fieldSpec) string {
	if s.key == "message" {
		c.lines = true
		defer func() { c.lines = false }()
	}
	v, field := c.resolve(m, props, s)
	if v == nil {
		return ""
	}
	t, _ := c.textOf(v, field)
	return t
}

// mappedNumber reads a number field: a number, or a string holding one.
func (c *zoneReader) mappedNumber(m *Mapping, props mappedProps, s *fieldSpec) (h float64, field string, ok bool) {
	v, field := c.resolve(m, props, s)
	if v == nil {
		return 0, field, false
	}
	switch v.kind {
	case jNumber:
		return v.num, field, true
	case jString:
		if f, err := parseNumberText(v.str); err == nil && isFinite(f) {
			return f, field, true
		}
	}
	c.wrongType(v, field, "a number")
	return 0, field, false
}

// mappedEnum reads a text field and checks it against its kind.
func (c *zoneReader) mappedEnum(m *Mapping, props mappedProps, s *fieldSpec) (string, string, bool) {
	v, field := c.resolve(m, props, s)
	if v == nil {
		return "", field, false
	}
	t, ok := c.textOf(v, field)
	if !ok {
		return "", field, false
	}
	if msg := checkKind(s.kind, t, false); msg != "" {
		c.add(field, msg)
		return "", field, false
	}
	return t, field, true
}

// readMapped reads the zone fields of one feature through m, all but its
// geometry; it returns the limits and the names of their fields, and the
// circle radius when the mapping gives one.
func (c *zoneReader) readMapped(m *Mapping, props mappedProps) (lower, upper Limit, vn volNames, radius float64, hasRadius bool) {
	c.names.id = m.id.fieldName(props)
	c.names.restriction = m.restriction.fieldName(props)
	c.z.ID = c.mappedText(m, props, &m.id)
	c.z.Name = c.mappedText(m, props, &m.name)
	c.z.Country = c.mappedText(m, props, &m.country)
	c.z.Restriction = Prohibited // nofly's default: a zone that does not say blocks
	if s, _, ok := c.mappedEnum(m, props, &m.restriction); ok {
		c.z.Restriction, _ = ParseRestriction(s)
	}
	if v, field := c.resolve(m, props, &m.reasons); v != nil {
		c.z.Reasons = c.strList(v, field)
	}
	c.z.Message = c.mappedText(m, props, &m.message)
	if s, _, ok := c.mappedEnum(m, props, &m.exemptions); ok {
		if strings.EqualFold(strings.TrimSpace(s), "NO") {
			c.z.Exemptions = ExemptionsNotAllowed
		} else {
			c.z.Exemptions = ExemptionsAllowed
		}
	}
	lower, vn.lower, vn.lowerRef = c.mappedLimit(m, props, &m.lower, false)
	upper, vn.upper, vn.upperRef = c.mappedLimit(m, props, &m.upper, true)
	if m.radius.from != fromDefault {
		radius, vn.radius, hasRadius = c.mappedNumber(m, props, &m.radius)
	}
	var p Period
	has := false
	if s, _, ok := c.mappedEnum(m, props, &m.start); ok {
		p.Start, _ = parseZoneDateTime(s)
		has = true
	}
	if s, _, ok := c.mappedEnum(m, props, &m.end); ok {
		p.End, _ = parseZoneDateTime(s)
		has = true
	}
	if has {
		c.z.Applicability.Periods = append(c.z.Applicability.Periods, p)
		c.names.pers = append(c.names.pers, perNames{start: m.start.fieldName(props), end: m.end.fieldName(props)})
	}
	return lower, upper, vn, radius, hasRadius
}

// fieldName names the field a spec reads, for validation's problems.
func (s *fieldSpec) fieldName(props mappedProps) string {
	switch s.from {
	case fromProperty:
		return props.field(s.property)
	case fromTemplate:
		return fmt.Sprintf("%s (template %q)", s.key, s.tmplText)
	}
	return "mapping " + s.key
}

// mappedLimit reads a lower or upper limit. Without a value in the mapping
// (or with an optional one absent) the limit is open: from the ground, or
// without ceiling.
//
// The unit and reference are read only when there is a value: a source
// that leaves out an unlimited limit leaves out its unit and reference too
// (dipul does), while a value without its unit is a problem unless the
// mapping makes the unit optional.
func (c *zoneReader) mappedLimit(m *Mapping, props mappedProps, l *limitSpec, upper bool) (Limit, string, string) {
	v, field := c.resolve(m, props, &l.value)
	refField := l.ref.fieldName(props)
	if v == nil {
		return OpenLimit, field, refField
	}
	h, field, ok := c.mappedNumber(m, props, &l.value)
	unit := unitM
	if s, _, uok := c.mappedEnum(m, props, &l.unit); uok {
		unit, _ = parseMappedUnit(s)
	}
	ref, std := AGL, false
	rs, rf, rok := c.mappedEnum(m, props, &l.ref)
	if rok {
		ref, std, _ = parseMappedRef(rs)
	}
	if !ok {
		return OpenLimit, field, refField
	}
	switch {
	case unit == unitFL:
		if rok && ref == AGL {
			c.add(rf, "a flight level is a pressure altitude, not a height above ground: want STD, AMSL or MSL")
		}
		return Limit{Metres: flightLevelLimit(h, upper), Ref: AMSL}, field, refField
	case std:
		c.add(rf, "STD (standard pressure) goes with a flight level; this limit's unit is "+[]string{"m", "ft"}[unit])
	case unit == unitFt:
		h = FeetToMetres(h)
	}
	return Limit{Metres: h, Ref: ref}, field, refField
}

// readMappedFeature reads one GeoJSON feature through m.
func (c *zoneReader) readMappedFeature(m *Mapping, f *jvalue) {
	c.names = srcNames{volumes: "geometry", days: "days", start: "start", end: "end",
		vols: c.names.vols[:0], pers: c.names.pers[:0]}
	if f.kind != jObject {
		c.wrongType(f, "", "a GeoJSON Feature (an object)")
		return
	}
	c.object(f, "")
	if t := f.get("type"); t.kind != jString || t.str != "Feature" {
		c.add("type", `want "Feature", got `+t.describe())
	}
	pv := f.get("properties")
	if !c.object(pv, "properties") {
		if !pv.present() {
			c.add("properties", "required: the mapping reads the zone from the feature's properties")
		}
		pv = &absentValue
	}
	props := mappedProps{v: pv, prefix: "properties."}
	vol := Volume{}
	var vn volNames
	var radius float64
	var hasRadius bool
	vol.Lower, vol.Upper, vn, radius, hasRadius = c.readMapped(m, props)
	g := f.get("geometry")
	switch {
	case !g.present():
		c.add("geometry", "required: "+noflyGeometries)
	case c.object(g, "geometry"):
		shape, gvn, _ := c.geoJSONShape(g, "geometry", "Polygon, MultiPolygon or Point (a circle whose radius the mapping gives)")
		vn.shape, vn.multi, vn.center = gvn.shape, gvn.multi, gvn.center
		switch shape.Kind {
		case ShapeCircle:
			if m.radius.from == fromDefault {
				c.add("geometry", "a Point is a circle, and the mapping gives no radius: add radius to the mapping")
			} else if !hasRadius && vn.radius == "" {
				vn.radius = m.radius.fieldName(props)
			}
			shape.Radius = radius
		case ShapePolygon:
			if hasRadius {
				c.add(vn.radius, "only a Point geometry has a radius")
			}
		}
		if shape.Kind != 0 {
			vol.Shape = shape
			c.z.Volumes = append(c.z.Volumes, vol)
			c.names.vols = append(c.names.vols, vn)
		}
	}
	c.finish()
}

// readBytesWith reads a whole zone file through m: KML and KMZ (with the
// default KML mapping when m is nil), or GeoJSON features; nil m reads
// other files as readBytes does.
func readBytesWith(data []byte, name string, m *Mapping) ([]Zone, []Problem) {
	r := &fileReader{file: name}
	switch {
	case isKMZ(data):
		doc, _, err := unpackKMZ(data)
		if err != nil {
			return nil, []Problem{{File: name, Feature: -1, Msg: err.Error()}}
		}
		r.readKML(doc, m, FormatKMZ)
	case isKML(data):
		r.readKML(data, m, FormatKML)
	case m == nil:
		return readBytes(data, name)
	default:
		r.readMappedJSON(data, m)
	}
	r.checkDuplicates()
	return r.zones, r.probs
}

// readMappedJSON reads a GeoJSON FeatureCollection (or Feature) through m.
func (r *fileReader) readMappedJSON(data []byte, m *Mapping) {
	base := 0
	if bytes.HasPrefix(data, utf8BOM) {
		base = len(utf8BOM)
	}
	root, perr := parseJSON(data[base:])
	if perr != nil {
		r.fileProblem("", syntaxProblemMsg(data, base, perr))
		return
	}
	r.lines = lineIndex{data: data[base:]}
	r.format = "GeoJSON via " + filepath.Base(m.Name)
	if root.kind == jObject && root.dup {
		r.fileProblem(dupKey(root.kids), "member given more than once")
	}
	var feats []jmember
	l, _, field, problem := detectLayout(&root)
	switch l {
	case layoutNone:
		r.fileProblem(field, problem)
		return
	case layoutFeature:
		feats = []jmember{{val: root}}
	case layoutCollection:
		if typ := root.get("type"); typ.kind != jAbsent && (typ.kind != jString || typ.str != "FeatureCollection") {
			r.fileProblem("type", `want "FeatureCollection", got `+typ.describe())
		}
		feats = root.get("features").kids
	default:
		r.fileProblem("", fmt.Sprintf("is ED-269, and the mapping %s reads GeoJSON features or KML placemarks: read it without the mapping", m.Name))
		return
	}
	r.zones = make([]Zone, 0, len(feats))
	for i := range feats {
		r.zone(i).readMappedFeature(m, &feats[i].val)
	}
}
