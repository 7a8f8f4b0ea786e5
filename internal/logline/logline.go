// Package logline is slog's JSON or text handler with a second way in for
// the log lines a server writes on every call (noflyd's check lines): a
// Line appends its attributes straight into a pooled buffer, in exactly
// the text slog's own handler writes for the same attributes (same keys,
// order, escaping and number formats; tested byte for byte, and fuzzed,
// against slog), without a slog.Record, without boxing the attributes and
// without encoding/json (which slog's JSON handler calls for every float
// and every list).
//
// Every other line goes through slog's handler as before. The two share
// one lock around the destination, so lines never interleave.
package logline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Handler is a slog.Handler (slog's own JSON or text handler) that also
// makes Lines.
type Handler struct {
	slog.Handler
	w     *lockedWriter
	json  bool
	level slog.Leveler
	// fast: Lines are written; false when the options change what slog
	// writes (ReplaceAttr, AddSource), so that a Line could not match it.
	fast bool
}

// NewJSON returns a handler writing JSON lines to w, as
// slog.NewJSONHandler(w, opts).
func NewJSON(w io.Writer, opts *slog.HandlerOptions) *Handler { return newHandler(w, opts, true) }

// NewText returns a handler writing key=value lines to w, as
// slog.NewTextHandler(w, opts).
func NewText(w io.Writer, opts *slog.HandlerOptions) *Handler { return newHandler(w, opts, false) }

func newHandler(w io.Writer, opts *slog.HandlerOptions, json bool) *Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	lw := &lockedWriter{w: w}
	h := &Handler{w: lw, json: json, level: opts.Level, fast: opts.ReplaceAttr == nil && !opts.AddSource}
	if h.level == nil {
		h.level = slog.LevelInfo
	}
	if json {
		h.Handler = slog.NewJSONHandler(lw, opts)
	} else {
		h.Handler = slog.NewTextHandler(lw, opts)
	}
	return h
}

// lockedWriter serialises the writes of slog's handler and of Lines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Line is one log line being written. Add its attributes in order with
// its methods, then Write it; a Line is not used after Write.
type Line struct {
	h   *Handler
	buf []byte
	sep bool // an attribute has been written: the next needs a separator
}

var linePool = sync.Pool{New: func() any { return &Line{buf: make([]byte, 0, 1024)} }}

// maxPooled: larger buffers are left to the collector rather than kept.
const maxPooled = 16 << 10

// Line starts a line of level with message msg, stamped now, or returns
// nil when the level is not enabled or the handler's options make slog
// write something a Line does not (then log through slog as usual).
func (h *Handler) Line(ctx context.Context, level slog.Level, msg string) *Line {
	if !h.fast || !h.Enabled(ctx, level) {
		return nil
	}
	return h.lineAt(time.Now(), level, msg)
}

func (h *Handler) lineAt(t time.Time, level slog.Level, msg string) *Line {
	l := linePool.Get().(*Line)
	l.h, l.buf, l.sep = h, l.buf[:0], false
	if h.json {
		l.buf = append(l.buf, '{')
	}
	l.Time(slog.TimeKey, t)
	l.String(slog.LevelKey, level.String())
	l.String(slog.MessageKey, msg)
	return l
}

// Enabled reports whether lines of level are written.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// Write ends the line and writes it out.
func (l *Line) Write() error {
	if l.h.json {
		l.buf = append(l.buf, '}')
	}
	l.buf = append(l.buf, '\n')
	_, err := l.h.w.Write(l.buf)
	if cap(l.buf) <= maxPooled {
		l.h = nil
		linePool.Put(l)
	}
	return err
}

func (l *Line) key(k string) {
	if l.h.json && plainASCII(k) {
		// The usual key: nothing in it to escape.
		if l.sep {
			l.buf = append(l.buf, ',', '"')
		} else {
			l.buf = append(l.buf, '"')
		}
		l.sep = true
		l.buf = append(l.buf, k...)
		l.buf = append(l.buf, '"', ':')
		return
	}
	if l.sep {
		if l.h.json {
			l.buf = append(l.buf, ',')
		} else {
			l.buf = append(l.buf, ' ')
		}
	}
	l.sep = true
	l.str(k)
	if l.h.json {
		l.buf = append(l.buf, ':')
	} else {
		l.buf = append(l.buf, '=')
	}
}

// str appends s as slog writes a string: quoted and escaped in JSON,
// quoted in text only when it needs to be.
func (l *Line) str(s string) {
	if l.h.json {
		l.buf = append(l.buf, '"')
		l.buf = appendEscapedJSONString(l.buf, s, false)
		l.buf = append(l.buf, '"')
	} else if needsQuoting(s) {
		l.buf = strconv.AppendQuote(l.buf, s)
	} else {
		l.buf = append(l.buf, s...)
	}
}

// String adds a string attribute (slog.String).
func (l *Line) String(key, v string) {
	l.key(key)
	l.str(v)
}

// Int adds an integer attribute (slog.Int).
func (l *Line) Int(key string, v int) {
	l.key(key)
	l.buf = strconv.AppendInt(l.buf, int64(v), 10)
}

// Float adds a number attribute (slog.Float64): in JSON as encoding/json
// writes it, in text as strconv's shortest 'g'.
func (l *Line) Float(key string, v float64) {
	l.key(key)
	if !l.h.json {
		l.buf = strconv.AppendFloat(l.buf, v, 'g', -1, 64)
		return
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		// slog writes encoding/json's refusal in the value's place.
		_, err := json.Marshal(v)
		l.str(fmt.Sprintf("!ERROR:%v", err))
		return
	}
	// A whole number below 2⁵³ (an altitude in metres, a count) is written
	// as its digits: the shortest 'f' form of a float without a fraction,
	// where floats are at most one apart, is the integer itself. Not
	// negative zero, which 'f' writes "-0".
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 && (v != 0 || !math.Signbit(v)) {
		l.buf = strconv.AppendInt(l.buf, int64(v), 10)
		return
	}
	// As encoding/json's floatEncoder: 'f' but for very small or large
	// magnitudes, whose exponent loses a leading zero.
	format := byte('f')
	if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	l.buf = strconv.AppendFloat(l.buf, v, format, -1, 64)
	if format == 'e' {
		n := len(l.buf)
		if n >= 4 && l.buf[n-4] == 'e' && l.buf[n-3] == '-' && l.buf[n-2] == '0' {
			l.buf[n-2] = l.buf[n-1]
			l.buf = l.buf[:n-1]
		}
	}
}

// Time adds a time attribute (slog.Time): in JSON to the nanosecond
// (RFC 3339), in text to the millisecond.
func (l *Line) Time(key string, t time.Time) {
	l.key(key)
	t = t.Round(0) // no monotonic reading, as slog.Time
	if !l.h.json {
		l.buf = appendRFC3339Millis(l.buf, t)
		return
	}
	if y := t.Year(); y < 0 || y >= 10000 {
		// slog writes the error, then the time all the same.
		l.str("!ERROR:time.Time year outside of range [0,9999]")
	}
	l.buf = append(l.buf, '"')
	l.buf = t.AppendFormat(l.buf, time.RFC3339Nano)
	l.buf = append(l.buf, '"')
}

// Strings adds a list of strings (slog.Any of a []string): a JSON array
// (null for a nil list), in text as fmt's %+v, quoted when it needs to be.
func (l *Line) Strings(key string, v []string) {
	l.strings(key, v == nil, len(v), func(i int) string { return v[i] })
}

// StringsOf adds the list of n strings at(0) … at(n-1), as Strings adds
// a non-nil list of them, without the list.
func (l *Line) StringsOf(key string, n int, at func(int) string) {
	l.strings(key, false, n, at)
}

func (l *Line) strings(key string, isNil bool, n int, at func(int) string) {
	l.key(key)
	if l.h.json {
		if isNil {
			l.buf = append(l.buf, "null"...)
			return
		}
		l.buf = append(l.buf, '[')
		for i := range n {
			if i > 0 {
				l.buf = append(l.buf, ',')
			}
			l.buf = append(l.buf, '"')
			l.buf = appendEscapedJSONString(l.buf, at(i), true)
			l.buf = append(l.buf, '"')
		}
		l.buf = append(l.buf, ']')
		return
	}
	// "[a b c]", then quoted as a whole when needed: build it after the
	// line and move it into place.
	start := len(l.buf)
	l.buf = append(l.buf, '[')
	for i := range n {
		if i > 0 {
			l.buf = append(l.buf, ' ')
		}
		l.buf = append(l.buf, at(i)...)
	}
	l.buf = append(l.buf, ']')
	if s := string(l.buf[start:]); needsQuoting(s) {
		l.buf = strconv.AppendQuote(l.buf[:start], s)
	}
}

// plainASCII reports whether s is printable ASCII without '"' or '\\':
// written in a JSON string as it is.
func plainASCII(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// appendRFC3339Millis is slog's text time: RFC 3339 with exactly three
// decimals.
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...) // drop the 4th digit
}

// appendEscapedJSONString is slog's (encoding/json's without HTML
// escaping): s escaped for a JSON string, without the quotes. With bf,
// backspace and form feed are written \b and \f, as encoding/json writes
// them (slog's JSON handler writes lists with it, but strings itself).
func appendEscapedJSONString(buf []byte, s string, bf bool) []byte {
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if safeSet[b] {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\')
			switch b {
			case '\\', '"':
				buf = append(buf, b)
			case '\n':
				buf = append(buf, 'n')
			case '\r':
				buf = append(buf, 'r')
			case '\t':
				buf = append(buf, 't')
			case '\b':
				if bf {
					buf = append(buf, 'b')
				} else {
					buf = append(buf, 'u', '0', '0', '0', '8')
				}
			case '\f':
				if bf {
					buf = append(buf, 'f')
				} else {
					buf = append(buf, 'u', '0', '0', '0', 'c')
				}
			default:
				buf = append(buf, 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript.
		if c == '\u2028' || c == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(buf, s[start:]...)
}

const hex = "0123456789abcdef"

// needsQuoting is slog's text rule: empty, or any byte JSON would escape
// (but a backslash), a space, '=', invalid UTF-8, or a rune that is space
// or not printable.
func needsQuoting(s string) bool {
	if len(s) == 0 {
		return true
	}
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b != '\\' && (b == ' ' || b == '=' || !safeSet[b]) {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// safeSet: the ASCII bytes a JSON string holds as they are (slog's, from
// encoding/json): every printable byte but '"' and '\\'.
var safeSet = func() (s [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		s[b] = b != '"' && b != '\\'
	}
	return s
}()
