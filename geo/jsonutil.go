package geo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// This file holds the small JSON parser the zone readers share. Its API, to
// the readers: parseJSON (a whole document as a tree of jvalue), streamJSON
// (the same, streaming the large arrays), jvalue's get, present and
// describe, coordNode, and syntaxProblemMsg and lineIndex to say where.
//
// Why not encoding/json: decoding the 50,000-zone benchmark file (40 MB)
// into typed structs with encoding/json takes over a second on one core, most
// of it reflection over millions of two-number arrays. This parser builds a
// light tree in one pass, reads every "coordinates" member straight into
// []orb.Point, and keeps each value's byte offset so that a problem can say
// where it is; streamArray hands out a large array's elements one at a time
// so that only one feature's tree is in memory. It accepts exactly what
// encoding/json accepts and reads the same values (FuzzParseJSON) and, on
// invalid input, reports encoding/json's own SyntaxError.

// jkind is the kind of a parsed JSON value.
type jkind uint8

const (
	jAbsent jkind = iota // zero value: the member is not there
	jNull
	jBool
	jNumber
	jString
	jArray
	jObject
	jCoords // an array read as GeoJSON coordinates (see coordNode)
)

func (k jkind) String() string {
	switch k {
	case jNull:
		return "null"
	case jBool:
		return "a boolean"
	case jNumber:
		return "a number"
	case jString:
		return "a string"
	case jArray, jCoords:
		return "an array"
	case jObject:
		return "an object"
	}
	return "nothing"
}

// jvalue is a parsed JSON value.
type jvalue struct {
	kind jkind
	b    bool // jBool
	// badUTF8: a string held bytes that are not UTF-8 (or a lone UTF-16
	// surrogate), which str reads as U+FFFD, as encoding/json does.
	badUTF8 bool
	// dup: an object holds a key more than once (see dupKey).
	dup bool
	off int32 // byte offset of the value's first character (files are under 2 GiB)
	num float64
	str string
	// kids are the elements of an array (with empty keys) or the members of
	// an object, in document order.
	kids   []jmember
	coords *coordNode
}

type jmember struct {
	key string
	val jvalue
}

// get returns the first member named key, or the absent value.
func (v *jvalue) get(key string) *jvalue {
	if v.kind == jObject {
		for i := range v.kids {
			if v.kids[i].key == key {
				return &v.kids[i].val
			}
		}
	}
	return &absentValue
}

// absentValue is what get returns for a missing member. Never modified.
var absentValue jvalue

// present reports whether the value is there and not null.
func (v *jvalue) present() bool { return v.kind != jAbsent && v.kind != jNull }

// describe names the value for a message: `a string ("abc")`, `a number (5)`.
func (v *jvalue) describe() string {
	switch v.kind {
	case jString:
		s := v.str
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return fmt.Sprintf("a string (%q)", s)
	case jNumber:
		return fmt.Sprintf("a number (%g)", v.num)
	case jBool:
		return fmt.Sprintf("a boolean (%t)", v.b)
	}
	return v.kind.String()
}

// coordNode is a GeoJSON "coordinates" value: nested arrays whose innermost
// arrays are positions. Positions are checked for length here; their values
// are checked by Validate.
type coordNode struct {
	off int
	// depth: 1 a position, 2 an array of positions, 3 an array of arrays of
	// positions, and so on; 0 an empty array (fits any depth), or, when bad
	// is set, no array at all.
	depth int
	pos   orb.Point // depth 1
	// pts holds the positions of a depth-2 array; kids the elements of any
	// other array (including a depth-2 array whose first element was not a
	// position).
	pts  []orb.Point
	kids []coordNode
	// bad says what is wrong with the node itself; badPos what is wrong with
	// elements of pts (their entries in pts are zero).
	bad    string
	badPos []coordBad
}

type coordBad struct {
	index int
	msg   string
}

// jsonError is a syntax error at a byte offset.
type jsonError struct {
	off int
	msg string
}

// maxJSONDepth is the deepest nesting accepted, as in encoding/json.
const maxJSONDepth = 10000

type jparser struct {
	data  []byte
	pos   int
	err   *jsonError
	depth int
	stack []jmember   // scratch for the members of the objects being read
	pts   []orb.Point // scratch for the positions of the array being read
	nodes []coordNode // scratch for the elements of the coordinates arrays being read

	// Slabs that small slices are cut from: one allocation for many
	// objects, rings and nodes, which halves the time a large file takes.
	memberSlab slab[jmember]
	pointSlab  slab[orb.Point]
	nodeSlab   slab[coordNode]

	// badUTF8 is set by string when the string it read was not UTF-8.
	badUTF8 bool

	// offer, when set, is offered the arrays streamJSON may stream.
	offer func(partial *jvalue, key string) func(i int, v *jvalue) bool
}

// slab hands out small slices cut from large chunks.
type slab[T any] struct {
	buf  []T
	used int
	gen  int // counts chunks, so that rewind knows whether buf changed
}

// slabMark is a position in a slab to rewind to.
type slabMark struct{ gen, used int }

// cut returns a copy of src cut from the slab (a new chunk of chunk
// elements when the current one is short), or a fresh slice when src is
// large. The copy's capacity is its length, so appending to it never
// reaches a neighbour.
func (s *slab[T]) cut(src []T, chunk int) []T {
	n := len(src)
	if n == 0 {
		return nil
	}
	if n > chunk/8 {
		return append([]T(nil), src...)
	}
	if len(s.buf)-s.used < n {
		s.buf, s.used = make([]T, chunk), 0
		s.gen++
	}
	dst := s.buf[s.used : s.used+n : s.used+n]
	s.used += n
	copy(dst, src)
	return dst
}

func (s *slab[T]) mark() slabMark { return slabMark{s.gen, s.used} }

// rewind makes what was cut since m available again: nothing cut since m
// may be used afterwards. What is left in the reused memory is overwritten
// by later cuts (until then it keeps at most one chunk's referents alive).
func (s *slab[T]) rewind(m slabMark) {
	if m.gen == s.gen {
		s.used = m.used
	} else {
		s.used = 0 // the current chunk was begun after m
	}
}

// parseJSON parses a whole JSON document.
func parseJSON(data []byte) (jvalue, *jsonError) {
	return parseJSONWith(&jparser{data: data})
}

// streamJSON parses a whole JSON document as parseJSON does, but offers
// offer the arrays a large zone file keeps its zones in: the document
// itself when it is an array (key "", partial the array, without
// elements), and each array member of the top-level object (its key;
// partial the object with the members read before it and this one, without
// its elements; valid only during the call). When offer returns a function, the array's elements are handed
// to it one at a time, and not kept: each element's tree is valid only
// during the call, its memory reused for the next (what the function keeps
// must not point into it; coordinates may be kept). The array stays in the
// returned tree without elements. The function returns false to stop the
// parse, which then fails with errAbandoned.
func streamJSON(data []byte, offer func(partial *jvalue, key string) func(i int, v *jvalue) bool) (jvalue, *jsonError) {
	return parseJSONWith(&jparser{data: data, offer: offer})
}

// parseJSONWith parses the whole document of p.
func parseJSONWith(p *jparser) (jvalue, *jsonError) {
	v := p.value()
	if p.err == nil {
		p.ws()
		if p.pos < len(p.data) {
			p.fail("invalid character " + quoteChar(p.data[p.pos]) + " after top-level value")
		}
	}
	if p.err != nil {
		return jvalue{}, p.err
	}
	return v, nil
}

func (p *jparser) fail(msg string) {
	if p.err == nil {
		p.err = &jsonError{off: p.pos, msg: msg}
	}
}

func (p *jparser) ws() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, or 0 at the end.
func (p *jparser) peek() byte {
	p.ws()
	if p.pos < len(p.data) {
		return p.data[p.pos]
	}
	return 0
}

func (p *jparser) value() jvalue {
	c := p.peek()
	off := int32(p.pos)
	switch {
	case p.pos >= len(p.data):
		p.fail("unexpected end of JSON input")
	case c == '{':
		return p.object()
	case c == '[':
		if p.offer != nil && p.depth == 0 {
			v := jvalue{kind: jArray, off: off}
			if fn := p.offer(&v, ""); fn != nil {
				p.streamArray(fn)
				return v
			}
		}
		return p.array()
	case c == '"':
		p.badUTF8 = false
		s := p.string()
		return jvalue{kind: jString, off: off, str: s, badUTF8: p.badUTF8}
	case c == '-' || (c >= '0' && c <= '9'):
		return jvalue{kind: jNumber, off: off, num: p.number()}
	case c == 't':
		p.literal("true")
		return jvalue{kind: jBool, off: off, b: true}
	case c == 'f':
		p.literal("false")
		return jvalue{kind: jBool, off: off}
	case c == 'n':
		p.literal("null")
		return jvalue{kind: jNull, off: off}
	default:
		p.fail("invalid character " + quoteChar(c) + " looking for beginning of value")
	}
	return jvalue{}
}

func (p *jparser) literal(word string) {
	for i := 0; i < len(word); i++ {
		if p.pos >= len(p.data) {
			p.fail("unexpected end of JSON input")
			return
		}
		if p.data[p.pos] != word[i] {
			p.fail("invalid character " + quoteChar(p.data[p.pos]) + " in literal " + word)
			return
		}
		p.pos++
	}
}

func (p *jparser) enter() bool {
	p.depth++
	if p.depth > maxJSONDepth {
		p.fail("exceeded max depth")
		return false
	}
	return true
}

func (p *jparser) object() jvalue {
	v := jvalue{kind: jObject, off: int32(p.pos)}
	if !p.enter() {
		return v
	}
	defer func() { p.depth-- }()
	p.pos++ // '{'
	base := len(p.stack)
	if p.peek() == '}' {
		p.pos++
		return v
	}
	for p.err == nil {
		if c := p.peek(); c != '"' {
			if p.pos >= len(p.data) {
				p.fail("unexpected end of JSON input")
			} else {
				p.fail("invalid character " + quoteChar(c) + " looking for beginning of object key string")
			}
			break
		}
		key := p.string()
		if c := p.peek(); c != ':' {
			if p.pos >= len(p.data) {
				p.fail("unexpected end of JSON input")
			} else {
				p.fail("invalid character " + quoteChar(c) + " after object key")
			}
			break
		}
		p.pos++
		p.ws()
		off := int32(p.pos)
		var val jvalue
		var each func(i int, v *jvalue) bool
		if p.offer != nil && p.depth == 1 && p.peek() == '[' {
			// The members so far and this one, without elements (in the
			// scratch beyond p.stack's length, which the member's own entry
			// overwrites below).
			partial := jvalue{kind: jObject, off: v.off, kids: append(p.stack[base:], jmember{key: key, val: jvalue{kind: jArray, off: off}})}
			each = p.offer(&partial, key)
		}
		switch {
		case each != nil:
			p.streamArray(each)
			val = jvalue{kind: jArray, off: off} // streamed: the member stays, without its elements
		case key == "coordinates" && p.peek() == '[':
			val = jvalue{kind: jCoords, off: off}
			val.coords = &p.nodeSlab.cut([]coordNode{p.coords()}, 1024)[0]
		default:
			val = p.value()
		}
		p.stack = append(p.stack, jmember{key: key, val: val})
		c := p.peek()
		if c == ',' {
			p.pos++
			continue
		}
		if c == '}' {
			p.pos++
			break
		}
		if p.err == nil {
			if p.pos >= len(p.data) {
				p.fail("unexpected end of JSON input")
			} else {
				p.fail("invalid character " + quoteChar(c) + " after object key:value pair")
			}
		}
	}
	members := p.stack[base:]
	if p.err == nil {
		v.kids = p.memberSlab.cut(members, 4096)
		v.dup = dupKey(v.kids) != ""
	}
	clear(members) // let the collector have what the scratch held
	p.stack = p.stack[:base]
	return v
}

// dupKey returns a key that members hold more than once, or "".
func dupKey(members []jmember) string {
	if len(members) <= 16 {
		for i := 1; i < len(members); i++ {
			for j := 0; j < i; j++ {
				if members[i].key == members[j].key {
					return members[i].key
				}
			}
		}
		return ""
	}
	seen := make(map[string]bool, len(members))
	for i := range members {
		if seen[members[i].key] {
			return members[i].key
		}
		seen[members[i].key] = true
	}
	return ""
}

func (p *jparser) array() jvalue {
	v := jvalue{kind: jArray, off: int32(p.pos)}
	if !p.enter() {
		return v
	}
	defer func() { p.depth-- }()
	p.pos++ // '['
	base := len(p.stack)
	if p.peek() == ']' {
		p.pos++
		return v
	}
	for p.err == nil {
		p.stack = append(p.stack, jmember{val: p.value()})
		if !p.arrayNext() {
			break
		}
	}
	elems := p.stack[base:]
	if p.err == nil {
		v.kids = p.memberSlab.cut(elems, 4096)
	}
	clear(elems)
	p.stack = p.stack[:base]
	return v
}

// arrayNext consumes the ',' or ']' after an element and reports whether
// another element follows.
func (p *jparser) arrayNext() bool {
	if p.err != nil {
		return false
	}
	switch c := p.peek(); c {
	case ',':
		p.pos++
		return true
	case ']':
		p.pos++
		return false
	default:
		if p.pos >= len(p.data) {
			p.fail("unexpected end of JSON input")
		} else {
			p.fail("invalid character " + quoteChar(c) + " after array element")
		}
		return false
	}
}

// skip parses and discards a value.
func (p *jparser) skip() {
	base := len(p.stack)
	p.value()
	p.stack = p.stack[:base]
}

// errAbandoned is the parse error streamJSON returns when the function
// its elements went to stopped it.
const errAbandoned = "abandoned"

// streamArray parses the array at p.pos one element at a time and calls fn
// with each (see streamJSON).
func (p *jparser) streamArray(fn func(i int, v *jvalue) bool) {
	if !p.enter() {
		return
	}
	defer func() { p.depth-- }()
	p.pos++ // '['
	if p.peek() == ']' {
		p.pos++
		return
	}
	for i := 0; p.err == nil; i++ {
		mm, nm := p.memberSlab.mark(), p.nodeSlab.mark()
		v := p.value()
		if p.err != nil {
			return
		}
		if !fn(i, &v) {
			p.fail(errAbandoned)
			return
		}
		p.memberSlab.rewind(mm)
		p.nodeSlab.rewind(nm)
		if !p.arrayNext() {
			return
		}
	}
}

// coords reads the array at p.pos as GeoJSON coordinates.
func (p *jparser) coords() coordNode {
	n := coordNode{off: p.pos}
	if !p.enter() {
		return n
	}
	defer func() { p.depth-- }()
	p.pos++ // '['
	c := p.peek()
	switch {
	case c == ']':
		p.pos++
		return n
	case c == '-' || (c >= '0' && c <= '9'):
		p.position(&n)
		return n
	case c != '[':
		n.bad = "want an array of positions or of coordinates arrays, got " + p.peekKind()
		for p.err == nil {
			p.skip()
			if !p.arrayNext() {
				break
			}
		}
		return n
	}
	first := p.coords()
	if p.err != nil {
		return n
	}
	if first.depth == 1 && first.bad == "" {
		// An array of positions: the common case, read without a node per
		// position.
		n.depth = 2
		base := len(p.pts)
		p.pts = append(p.pts, first.pos)
		for i := 1; p.arrayNext(); i++ {
			if p.peek() != '[' {
				n.badPos = append(n.badPos, coordBad{i, "want a position [longitude, latitude], got " + p.peekKind()})
				p.pts = append(p.pts, orb.Point{})
				p.skip()
				continue
			}
			if pt, ok := p.fastPosition(); ok {
				p.pts = append(p.pts, pt)
				continue
			}
			if p.err != nil {
				break
			}
			e := p.coords()
			switch {
			case e.bad != "":
				n.badPos = append(n.badPos, coordBad{i, e.bad})
			case e.depth != 1:
				n.badPos = append(n.badPos, coordBad{i, "want a position [longitude, latitude], got an array of arrays or an empty array"})
			}
			p.pts = append(p.pts, e.pos)
		}
		if p.err == nil {
			n.pts = p.pointSlab.cut(p.pts[base:], 16384)
		}
		p.pts = p.pts[:base]
		return n
	}
	base := len(p.nodes)
	p.nodes = append(p.nodes, first)
	for p.arrayNext() {
		if p.peek() != '[' {
			bad := coordNode{off: p.pos, bad: "want an array, got " + p.peekKind()}
			p.skip()
			p.nodes = append(p.nodes, bad)
			continue
		}
		p.nodes = append(p.nodes, p.coords())
	}
	if p.err == nil {
		n.kids = p.nodeSlab.cut(p.nodes[base:], 1024)
	}
	clear(p.nodes[base:])
	p.nodes = p.nodes[:base]
	for i := range n.kids {
		n.depth = max(n.depth, n.kids[i].depth+1)
	}
	return n
}

// fastPosition reads a position of exactly two numbers, [x, y], at p.pos.
// When the array is anything else it leaves p.pos where it was and returns
// ok false, for coords to read it slowly.
func (p *jparser) fastPosition() (pt orb.Point, ok bool) {
	start := p.pos
	if p.depth >= maxJSONDepth {
		return pt, false
	}
	p.pos++ // '['
	for k := 0; k < 2; k++ {
		if c := p.peek(); c != '-' && (c < '0' || c > '9') {
			p.pos = start
			return pt, false
		}
		pt[k] = p.number()
		if p.err != nil {
			return pt, false
		}
		want := byte(',')
		if k == 1 {
			want = ']'
		}
		if p.peek() != want {
			p.pos = start
			return pt, false
		}
		p.pos++
	}
	return pt, true
}

// position reads the numbers of a position; p.pos is at the first number.
func (p *jparser) position(n *coordNode) {
	n.depth = 1
	count := 0
	for p.err == nil {
		if c := p.peek(); c == '-' || (c >= '0' && c <= '9') {
			f := p.number()
			if count < 2 {
				n.pos[count] = f
			}
		} else {
			if n.bad == "" {
				n.bad = fmt.Sprintf("position element %d is %s; want numbers [longitude, latitude]", count, p.peekKind())
			}
			p.skip()
		}
		count++
		if !p.arrayNext() {
			break
		}
	}
	if n.bad == "" && (count < 2 || count > 3) {
		n.bad = fmt.Sprintf("position has %d numbers; want [longitude, latitude] or [longitude, latitude, altitude]", count)
	}
}

// peekKind names the kind of the value at p.pos for a message.
func (p *jparser) peekKind() string {
	switch p.peek() {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// number reads a JSON number. Numbers too large for a float64 read as ±Inf,
// which validation refuses where a finite number is needed.
//
// Plain decimals of up to 15 digits, such as -4.7638890, the bulk of any
// zone file, convert exactly on the way (Clinger's fast path: the digits and
// the power of ten are exact floats, so one division rounds correctly);
// anything else goes to strconv.ParseFloat.
func (p *jparser) number() float64 {
	d := p.data
	start, i := p.pos, p.pos
	neg := d[i] == '-'
	if neg {
		i++
	}
	var mant uint64
	digits, frac := 0, 0
	switch {
	case i >= len(d):
		p.pos = i
		p.fail("unexpected end of JSON input")
		return 0
	case d[i] == '0':
		i++
	case d[i] >= '1' && d[i] <= '9':
		for ; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
			mant = mant*10 + uint64(d[i]-'0')
			digits++
		}
	default:
		p.pos = i
		p.fail("invalid character " + quoteChar(d[i]) + " in numeric literal")
		return 0
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			p.pos = i
			p.numberEnd()
			return 0
		}
		for ; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
			mant = mant*10 + uint64(d[i]-'0')
			digits++
			frac++
		}
	}
	exact := digits <= 15
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		exact = false
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			p.pos = i
			p.numberEnd()
			return 0
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	p.pos = i
	if exact {
		f := float64(mant)
		if frac > 0 {
			f /= exactPow10[frac]
		}
		if neg {
			f = -f
		}
		return f
	}
	f, _ := strconv.ParseFloat(string(d[start:i]), 64) // syntax checked above; range errors give ±Inf
	return f
}

func (p *jparser) numberEnd() {
	if p.pos >= len(p.data) {
		p.fail("unexpected end of JSON input")
		return
	}
	p.fail("invalid character " + quoteChar(p.data[p.pos]) + " in numeric literal")
}

// exactPow10 holds the powers of ten that a float64 represents exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15}

// string reads a JSON string; p.pos is at its opening quote.
func (p *jparser) string() string {
	d := p.data
	p.pos++
	start := p.pos
	for i := start; i < len(d); i++ {
		switch c := d[i]; {
		case c == '"':
			p.pos = i + 1
			s := internString(d[start:i])
			if !utf8.ValidString(s) {
				s = replaceInvalidUTF8(s)
				p.badUTF8 = true
			}
			return s
		case c == '\\':
			p.pos = i
			return p.stringEscaped(start)
		case c < 0x20:
			p.pos = i
			p.fail("invalid character " + quoteChar(c) + " in string literal")
			return ""
		}
	}
	p.pos = len(d)
	p.fail("unexpected end of JSON input")
	return ""
}

// stringEscaped reads the rest of a string that holds an escape; the
// string's contents start at start and p.pos is at the first backslash.
func (p *jparser) stringEscaped(start int) string {
	d := p.data
	buf := append([]byte(nil), d[start:p.pos]...)
	for p.pos < len(d) {
		c := d[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !utf8.Valid(buf) {
				p.badUTF8 = true
				return replaceInvalidUTF8(string(buf))
			}
			return string(buf)
		case c < 0x20:
			p.fail("invalid character " + quoteChar(c) + " in string literal")
			return ""
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		p.pos++ // '\\'
		if p.pos >= len(d) {
			break
		}
		e := d[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return ""
			}
			if utf16.IsSurrogate(r) {
				// A high surrogate pairs with a following \uDC00..\uDFFF;
				// anything else is replaced, as encoding/json does.
				r2 := rune(utf8.RuneError)
				if p.pos+1 < len(d) && d[p.pos] == '\\' && d[p.pos+1] == 'u' {
					save := p.pos
					p.pos += 2
					lo, ok := p.hex4()
					if !ok {
						return ""
					}
					if dec := utf16.DecodeRune(r, lo); dec != utf8.RuneError {
						r2 = dec
					} else {
						p.pos = save
					}
				}
				if r2 == utf8.RuneError {
					p.badUTF8 = true
				}
				r = r2
			}
			buf = utf8.AppendRune(buf, r)
		default:
			p.pos--
			p.fail("invalid character " + quoteChar(e) + " in string escape code")
			return ""
		}
	}
	p.fail("unexpected end of JSON input")
	return ""
}

// replaceInvalidUTF8 replaces each byte of s that is not part of valid
// UTF-8 with U+FFFD, as encoding/json does.
func replaceInvalidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func (p *jparser) hex4() (rune, bool) {
	var r rune
	for k := 0; k < 4; k++ {
		if p.pos >= len(p.data) {
			p.fail("unexpected end of JSON input")
			return 0, false
		}
		c := p.data[p.pos]
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			p.fail("invalid character " + quoteChar(c) + " in \\u hexadecimal character escape")
			return 0, false
		}
		p.pos++
	}
	return r, true
}

// internString returns the common keys and values of zone files without
// allocating.
func internString(b []byte) string {
	switch string(b) {
	case "type":
		return "type"
	case "Feature":
		return "Feature"
	case "properties":
		return "properties"
	case "geometry":
		return "geometry"
	case "coordinates":
		return "coordinates"
	case "Polygon":
		return "Polygon"
	case "MultiPolygon":
		return "MultiPolygon"
	case "Point":
		return "Point"
	case "id":
		return "id"
	case "name":
		return "name"
	case "lower_m":
		return "lower_m"
	case "upper_m":
		return "upper_m"
	case "restriction":
		return "restriction"
	case "radius_m":
		return "radius_m"
	case "identifier":
		return "identifier"
	case "layer":
		return "layer"
	case "upper":
		return "upper"
	case "lower":
		return "lower"
	case "upperReference":
		return "upperReference"
	case "lowerReference":
		return "lowerReference"
	case "uom":
		return "uom"
	case "AGL":
		return "AGL"
	case "AMSL":
		return "AMSL"
	case "m":
		return "m"
	case "text":
		return "text"
	case "lang":
		return "lang"
	case "country":
		return "country"
	case "reason":
		return "reason"
	case "variant":
		return "variant"
	case "zoneAuthority":
		return "zoneAuthority"
	case "REQ_AUTHORIZATION":
		return "REQ_AUTHORIZATION"
	case "PROHIBITED":
		return "PROHIBITED"
	}
	return string(b)
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

// syntaxProblemMsg describes why file is not JSON, for a file-level
// Problem; the JSON starts at byte base of file (after a byte order mark),
// and perr is the parser's error in file[base:]. It prefers encoding/json's account of the error (its message and
// offset), and falls back to the parser's own when encoding/json accepts the
// data (which only a parser bug would cause).
func syntaxProblemMsg(file []byte, base int, perr *jsonError) string {
	data := file[base:]
	off, msg := perr.off, perr.msg
	var serr *json.SyntaxError
	if err := json.Unmarshal(data, new(json.RawMessage)); errors.As(err, &serr) {
		// encoding/json's Offset counts the bytes read, including the
		// offending one.
		off, msg = int(serr.Offset)-1, serr.Error()
		if serr.Offset >= int64(len(data)) && strings.Contains(msg, "unexpected end") {
			off = len(data)
		}
	}
	off = base + max(0, min(off, len(data)))
	line, col := lineCol(file, off)
	return fmt.Sprintf("invalid JSON at byte offset %d (line %d, column %d): %s", off, line, col, msg)
}

// lineCol returns the 1-based line and column (in bytes) of offset off.
func lineCol(data []byte, off int) (line, col int) {
	off = max(0, min(off, len(data)))
	line = 1 + bytes.Count(data[:off], []byte{'\n'})
	col = off - (bytes.LastIndexByte(data[:off], '\n') + 1) + 1
	return line, col
}

// lineIndex answers lineCol for many offsets of one document.
type lineIndex struct {
	data   []byte
	starts []int // offsets of line starts, built on first use
}

func (x *lineIndex) at(off32 int32) string {
	off := int(off32)
	if x.starts == nil {
		x.starts = []int{0}
		for i, c := range x.data {
			if c == '\n' {
				x.starts = append(x.starts, i+1)
			}
		}
	}
	i := sort.SearchInts(x.starts, off+1) - 1
	i = max(i, 0)
	return fmt.Sprintf("line %d, column %d", i+1, off-x.starts[i]+1)
}
