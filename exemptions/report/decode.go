package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
	"unicode/utf8"

	"github.com/nofly-project/nofly/exemptions"
)

// decoder checks and decodes entries, one goroutine's: a hasher and
// buffers used again for each entry, and the strings seen.
type decoder struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
	hex [2 * sha256.Size]byte
	in  interner
}

func newDecoder() *decoder {
	return &decoder{h: sha256.New(), in: interner{lists: map[string][]string{}}}
}

// hashes reports whether entry, after the entry hashing to prev, hashes to
// want.
func (d *decoder) hashes(prev string, entry []byte, want string) bool {
	d.h.Reset()
	d.buf = append(d.buf[:0], prev...)
	d.h.Write(d.buf)
	d.h.Write(entry)
	hex.Encode(d.hex[:], d.h.Sum(d.sum[:0]))
	return string(d.hex[:]) == want
}

// A report reads every entry of the log, and most of its time went to
// encoding/json. decodeEntry reads the entries noflyd writes (checks and
// authorisations, which are nearly all of them) in one pass over the
// bytes, keeping only the fields the report needs, with their strings
// interned (units, drones, zones repeat); anything it does not handle (an
// escape in a kept string, a null, a selector, refusal counts, a nesting
// deeper than maxDepth) it leaves to encoding/json. Where it does decode,
// it decodes as json.Unmarshal would (FuzzDecodeEntry checks that): it
// validates the values it skips, matches keys case-insensitively and lets
// a later key win.

// maxDepth bounds the nesting decodeEntry skips; deeper goes to
// encoding/json.
const maxDepth = 64

// interner returns one string for equal byte slices, and one list of
// strings for equal JSON arrays (lists are shared: read only).
type interner struct {
	strs  map[string]string
	lists map[string][]string
}

func (in *interner) str(b []byte) string {
	if s, ok := in.strs[string(b)]; ok {
		return s
	}
	if in.strs == nil {
		in.strs = map[string]string{}
	}
	s := string(b)
	in.strs[s] = s
	return s
}

// entryParser reads one entry.
type entryParser struct {
	b  []byte
	i  int
	in *interner
}

// decodeEntry decodes b into e, or returns false, having perhaps set some
// of e, when encoding/json must.
//
// prev is the previous hash the entry should name: it is not copied when
// the entry names it (hashes are not interned: each is named once).
func decodeEntry(b []byte, e *storedEntry, in *interner, prev string) bool {
	p := entryParser{b: b, in: in}
	p.ws()
	ok := p.object(func(key []byte) bool {
		switch {
		case fold(key, "seq"):
			return p.int64(&e.Seq)
		case fold(key, "action"):
			s := string(e.Action) // a null leaves it as it was
			if !p.str(&s) {
				return false
			}
			e.Action = exemptions.Action(s)
			return true
		case fold(key, "prev_hash"):
			if p.null() {
				return true
			}
			s, ok := p.plain()
			if !ok {
				return false
			}
			if string(s) == prev {
				e.PrevHash = prev
			} else {
				e.PrevHash = string(s)
			}
			return true
		case fold(key, "detail"):
			return p.null() || p.detail(&e.Detail)
		}
		return p.skip(0)
	})
	p.ws()
	return ok && p.i == len(p.b)
}

func (p *entryParser) detail(d *entryDetail) bool {
	return p.object(func(key []byte) bool {
		switch {
		case fold(key, "id"):
			return p.str(&d.ID)
		case fold(key, "zone_ids"):
			return p.strs(&d.ExZoneIDs)
		case fold(key, "legal_basis"):
			return p.str(&d.LegalBasis)
		case fold(key, "selector"), fold(key, "counts"):
			return false
		case fold(key, "At"):
			return p.time(&d.At)
		case fold(key, "ValidFrom"):
			return p.time(&d.ValidFrom)
		case fold(key, "IssuedAt"):
			return p.time(&d.IssuedAt)
		case fold(key, "ValidUntil"):
			return p.time(&d.ValidUntil)
		case fold(key, "Unit"):
			return p.str(&d.Unit)
		case fold(key, "Pilot"):
			return p.str(&d.Pilot)
		case fold(key, "Drone"):
			return p.str(&d.Drone)
		case fold(key, "Purpose"):
			s := string(d.Purpose) // a null leaves it as it was
			if !p.str(&s) {
				return false
			}
			d.Purpose = exemptions.Purpose(s)
			return true
		case fold(key, "ExemptionIDs"):
			return p.strs(&d.ExemptionIDs)
		case fold(key, "ZoneIDs"):
			return p.strs(&d.ZoneIDs)
		}
		return p.skip(0)
	})
}

// fold reports whether key is name, ASCII case-insensitively (keys are
// ASCII here: others go to encoding/json).
func fold(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i := range len(key) {
		a, b := key[i], name[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

func (p *entryParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *entryParser) next(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// object reads an object, calling field for each key with the parser at
// its value.
func (p *entryParser) object(field func(key []byte) bool) bool {
	if !p.next('{') {
		return false
	}
	if p.next('}') {
		return true
	}
	for {
		p.ws()
		key, ok := p.plain()
		if !ok {
			return false
		}
		for _, c := range key {
			if c >= utf8.RuneSelf {
				return false
			}
		}
		if !p.next(':') {
			return false
		}
		p.ws()
		if !field(key) {
			return false
		}
		if p.next(',') {
			continue
		}
		return p.next('}')
	}
}

// plain reads a string without escapes and returns its bytes; false for
// one with an escape, a control character or invalid UTF-8.
func (p *entryParser) plain() ([]byte, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false
	}
	start := p.i + 1
	ascii := true
	for i := start; i < len(p.b); i++ {
		switch c := p.b[i]; {
		case c == '"':
			p.i = i + 1
			s := p.b[start:i]
			return s, ascii || utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// null reads a null, which json.Unmarshal takes as leaving a string, a
// number, a time or a struct as it was, and a slice nil.
func (p *entryParser) null() bool {
	if bytes.HasPrefix(p.b[p.i:], []byte("null")) {
		p.i += 4
		return true
	}
	return false
}

func (p *entryParser) str(dst *string) bool {
	if p.null() {
		return true
	}
	s, ok := p.plain()
	if ok {
		*dst = p.in.str(s)
	}
	return ok
}

func (p *entryParser) strs(dst *[]string) bool {
	if p.null() {
		*dst = nil
		return true
	}
	p.ws()
	start := p.i
	if !p.next('[') {
		return false
	}
	if in := p.in.lists; in != nil {
		if end := bytes.IndexByte(p.b[p.i:], ']'); end >= 0 {
			if l, ok := in[string(p.b[start:p.i+end+1])]; ok {
				p.i += end + 1
				*dst = l
				return true
			}
		}
	}
	out := make([]string, 0, 2)
	if !p.next(']') {
		for {
			p.ws()
			s, ok := p.plain() // a null element is left to encoding/json
			if !ok {
				return false
			}
			out = append(out, p.in.str(s))
			if p.next(',') {
				continue
			}
			if !p.next(']') {
				return false
			}
			break
		}
	}
	if p.in.lists != nil {
		p.in.lists[string(p.b[start:p.i])] = out
	}
	*dst = out
	return true
}

func (p *entryParser) int64(dst *int64) bool {
	if p.null() {
		return true
	}
	start := p.i
	if !p.number() {
		return false
	}
	lit := p.b[start:p.i]
	for i, c := range lit {
		if (c < '0' || c > '9') && (i > 0 || c != '-') {
			return false // a fraction or exponent: json.Unmarshal refuses it for an int64
		}
	}
	n, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil {
		return false
	}
	*dst = n
	return true
}

// time reads a string as time.Time.UnmarshalJSON does, from its literal.
func (p *entryParser) time(dst interface{ UnmarshalJSON([]byte) error }) bool {
	start := p.i
	if !p.null() {
		if _, ok := p.plain(); !ok {
			return false
		}
	}
	return dst.UnmarshalJSON(p.b[start:p.i]) == nil
}

// number reads a JSON number.
func (p *entryParser) number() bool {
	b, i := p.b, p.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	p.i = i
	return true
}

// skip reads any JSON value, checking it as encoding/json would.
func (p *entryParser) skip(depth int) bool {
	p.ws()
	if p.i >= len(p.b) || depth > maxDepth {
		return false
	}
	switch c := p.b[p.i]; c {
	case '"':
		return p.skipString()
	case '{':
		return p.object(func([]byte) bool { return p.skip(depth + 1) })
	case '[':
		p.i++
		if p.next(']') {
			return true
		}
		for {
			if !p.skip(depth + 1) {
				return false
			}
			if p.next(',') {
				continue
			}
			return p.next(']')
		}
	case 't':
		return p.literal("true")
	case 'f':
		return p.literal("false")
	case 'n':
		return p.literal("null")
	}
	return p.number()
}

func (p *entryParser) literal(s string) bool {
	if bytes.HasPrefix(p.b[p.i:], []byte(s)) {
		p.i += len(s)
		return true
	}
	return false
}

// skipString reads a string with any escapes (encoding/json takes
// invalid UTF-8 in a string, replacing it).
func (p *entryParser) skipString() bool {
	b := p.b
	for i := p.i + 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			p.i = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			i++
			if i >= len(b) {
				return false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return false
				}
				for _, h := range b[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				i += 4
			default:
				return false
			}
		}
	}
	return false
}
