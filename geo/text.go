package geo

import (
	"fmt"
	"unicode/utf8"
)

// Texts of zone data (identifiers, names, messages, authorities) reach a
// pilot's screen. A control character in one can rewrite what the screen
// shows: ESC starts a terminal command (ESC [2K clears the line), CR returns
// to its start, BEL rings. The readers refuse them, as they refuse any other
// value they cannot show as published.

// CheckText reports why s cannot be shown as it is: invalid UTF-8, or a
// control character (C0 U+0000–U+001F, DEL U+007F, C1 U+0080–U+009F),
// except that when lines is true a line feed and a tab are allowed (a
// message may have several lines). It returns "" for a good text.
func CheckText(s string, lines bool) string {
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 0x20 && b < 0x7f:
			continue
		case b < 0x80:
			if lines && (b == '\n' || b == '\t') {
				continue
			}
			return controlProblem(rune(b), i, lines)
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return fmt.Sprintf("invalid UTF-8 at byte %d: write the text in UTF-8", i)
		}
		if r >= 0x80 && r <= 0x9f {
			return controlProblem(r, i, lines)
		}
		i += n - 1
	}
	return ""
}

var controlNames = map[rune]string{
	0x00: "NUL", 0x07: "BEL", 0x08: "backspace", 0x09: "tab", 0x0a: "line feed", 0x0b: "vertical tab",
	0x0c: "form feed", 0x0d: "carriage return", 0x1b: "ESC", 0x7f: "DEL", 0x9b: "CSI",
}

func controlProblem(r rune, at int, lines bool) string {
	name := ""
	if n, ok := controlNames[r]; ok {
		name = " (" + n + ")"
	}
	hint := "remove it"
	if lines {
		hint = "remove it; a line feed (\\n) breaks lines"
	}
	return fmt.Sprintf("control character %U%s at byte %d: it could rewrite what a pilot's screen shows; %s", r, name, at, hint)
}

// validateText reports each text of z that CheckText refuses, naming model
// fields.
func validateText(z *Zone, add func(field, msg string)) {
	check := func(field, s string, lines bool) {
		if msg := CheckText(s, lines); msg != "" {
			add(field, msg)
		}
	}
	check("id", z.ID, false)
	check("name", z.Name, false)
	check("country", z.Country, false)
	for i, r := range z.Reasons {
		check(fieldIndex("reasons", i), r, false)
	}
	check("message", z.Message, true)
	for i := range z.Authorities {
		a := &z.Authorities[i]
		f := fieldIndex("authorities", i)
		for _, t := range []struct{ name, s string }{{"name", a.Name}, {"service", a.Service}, {"email", a.Email},
			{"contact_name", a.ContactName}, {"site_url", a.SiteURL}, {"phone", a.Phone}, {"purpose", a.Purpose},
			{"interval_before", a.IntervalBefore}} {
			check(f+"."+t.name, t.s, false)
		}
	}
}
