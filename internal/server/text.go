package server

import (
	"context"
	"fmt"
	"strconv"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// Every text a request carries is checked here, before any handler sees it:
// its length against its field's limit (limits.go), and its characters.
// Texts end up in the audit log, in logs and on pilots' screens; they are
// one line of printable characters.

// maxTextViolations stops the walk of a hostile request with thousands of
// bad texts: a client needs the first few to fix it.
const maxTextViolations = 20

// textUnary refuses a request with a text that is too long or holds a
// character checkText refuses, naming the field.
func (s *Server) textUnary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if m, ok := req.(proto.Message); ok && !plainRequest(req) {
			var b badRequest
			checkTexts(&b, "", m.ProtoReflect())
			if err := b.err(); err != nil {
				return nil, s.toStatus(ctx, err)
			}
		}
		return handler(ctx, req)
	}
}

// plainRequest reports whether req is a check, many of which come a
// second, whose every text is plain (plainText within its field's limit),
// read without reflection: checkTexts would pass it. Any other request,
// and a check with a text that is not plain, is walked by checkTexts,
// which names the field. (TestTextLimitsCoverEveryField sets each text of
// each request over its limit and with a control character, through the
// server: a text this misses, or a limit it gets wrong, fails there.)
func plainRequest(req any) bool {
	switch r := req.(type) {
	case *noflyv1.CheckPositionRequest:
		return plainText(r.ClientReference, MaxReferenceBytes) && plainText(r.Classification, MaxIDBytes) &&
			plainOperator(r.Operator)
	case *noflyv1.CheckFlightPlanRequest:
		fp := r.FlightPlan
		return fp == nil || plainText(fp.ClientReference, MaxReferenceBytes) && plainText(fp.Classification, MaxIDBytes) &&
			plainOperator(fp.Operator)
	}
	return false
}

func plainOperator(op *noflyv1.Operator) bool {
	return op == nil || plainText(op.Unit, MaxIDBytes) && plainText(op.PilotId, MaxIDBytes) && plainText(op.DroneSerial, MaxIDBytes)
}

// checkTexts checks every string field set in m, and in the messages it
// holds, at field paths below prefix ("flight_plan.operator.unit",
// "exemption.holder.pilot_ids[2]").
func checkTexts(b *badRequest, prefix string, m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if len(b.violations) >= maxTextViolations {
			return false
		}
		switch {
		case fd.IsMap():
			// The API has no maps; should one come, its keys and values
			// are texts too.
			path := prefix + string(fd.Name())
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				p := path + "[" + strconv.Quote(clip(k.String(), 32)) + "]"
				if fd.MapKey().Kind() == protoreflect.StringKind {
					checkText(b, p, k.String(), textLimit(fd))
				}
				checkValue(b, fd.MapValue(), p, mv, textLimit(fd))
				return len(b.violations) < maxTextViolations
			})
		case fd.IsList():
			if !holdsText(fd) {
				return true
			}
			path := prefix + string(fd.Name())
			l := v.List()
			for i := range l.Len() {
				checkValue(b, fd, path+"["+strconv.Itoa(i)+"]", l.Get(i), textLimit(fd))
				if len(b.violations) >= maxTextViolations {
					break
				}
			}
		case fd.Kind() == protoreflect.StringKind:
			// Most texts are short and printable ASCII: passed without
			// building their field path.
			if limit := textLimit(fd); !plainText(v.String(), limit) {
				checkText(b, prefix+string(fd.Name()), v.String(), limit)
			}
		case holdsText(fd):
			checkValue(b, fd, prefix+string(fd.Name()), v, textLimit(fd))
		}
		return true
	})
}

// holdsText reports whether a field's values are, or may hold, texts.
func holdsText(fd protoreflect.FieldDescriptor) bool {
	switch fd.Kind() {
	case protoreflect.StringKind, protoreflect.MessageKind, protoreflect.GroupKind:
		return true
	}
	return false
}

// plainText reports whether s is at most limit bytes of printable ASCII,
// which checkText passes.
func plainText(s string, limit int) bool {
	if len(s) > limit {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

func checkValue(b *badRequest, fd protoreflect.FieldDescriptor, path string, v protoreflect.Value, limit int) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		checkText(b, path, v.String(), limit)
	case protoreflect.MessageKind, protoreflect.GroupKind:
		checkTexts(b, path+".", v.Message())
	}
}

// checkText refuses a text longer than limit bytes, one that is not UTF-8,
// and one with a character that could change what a terminal or a log
// shows (forbiddenRune). The text itself is not echoed back.
func checkText(b *badRequest, field, s string, limit int) {
	if len(s) > limit {
		b.add(field, "%d bytes is longer than the limit of %d bytes", len(s), limit)
		return
	}
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				b.add(field, "not valid UTF-8 at byte %d", i)
				return
			}
		}
		if forbiddenRune(r) {
			b.add(field, "%s at byte %d is not allowed: texts are one line of printable characters", runeName(r), i)
			return
		}
	}
}

// forbiddenRune reports a control character: C0 (tab and newline
// included), DEL, C1, the line and paragraph separators, and the
// bidirectional embeddings, overrides and isolates (U+202A..U+202E,
// U+2066..U+2069) that reorder what a reader sees.
func forbiddenRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// runeName names a refused character for an error message.
func runeName(r rune) string {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return fmt.Sprintf("control character U+%04X", r)
	case r == 0x2028, r == 0x2029:
		return fmt.Sprintf("line separator U+%04X", r)
	default:
		return fmt.Sprintf("bidirectional control U+%04X", r)
	}
}

// clip shortens an input echoed in a message to at most n bytes (on a rune
// boundary), marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + fmt.Sprintf("…(%d bytes)", len(s))
}
