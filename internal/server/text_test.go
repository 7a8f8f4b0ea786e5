package server

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// stringField is one string field reachable in a request, as the path of
// fields from the request down to it.
type stringField []protoreflect.FieldDescriptor

func (p stringField) path() string {
	var b strings.Builder
	for i, fd := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(string(fd.Name()))
		if fd.IsList() {
			b.WriteString("[0]")
		}
	}
	return b.String()
}

// stringFields lists every string field under md, following message fields
// (each message type once on a path, so that a recursive type ends).
func stringFields(md protoreflect.MessageDescriptor, above stringField, seen map[protoreflect.FullName]bool) []stringField {
	if seen[md.FullName()] {
		return nil
	}
	seen[md.FullName()] = true
	defer delete(seen, md.FullName())
	var out []stringField
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		p := append(append(stringField(nil), above...), fd)
		switch {
		case fd.IsMap():
			panic("maps are not covered: " + fd.FullName())
		case fd.Kind() == protoreflect.StringKind:
			out = append(out, p)
		case fd.Kind() == protoreflect.MessageKind:
			out = append(out, stringFields(fd.Message(), p, seen)...)
		}
	}
	return out
}

// withText is a new request of type md with only the field at p set to v.
func withText(md protoreflect.MessageDescriptor, p stringField, v string) proto.Message {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
	if err != nil {
		panic(err)
	}
	root := mt.New()
	m := root
	for _, fd := range p[:len(p)-1] {
		if fd.IsList() {
			l := m.Mutable(fd).List()
			e := l.NewElement()
			l.Append(e)
			m = e.Message()
		} else {
			m = m.Mutable(fd).Message()
		}
	}
	last := p[len(p)-1]
	if last.IsList() {
		m.Mutable(last).List().Append(protoreflect.ValueOfString(v))
	} else {
		m.Set(last, protoreflect.ValueOfString(v))
	}
	return root.Interface()
}

// violationAt is the description of the field violation at field in err, or
// "" when there is none.
func violationAt(err error, field string) string {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return v.GetDescription()
				}
			}
		}
	}
	return ""
}

// TestTextLimitsCoverEveryField sets each string field of each request of
// each RPC, one at a time, over a real connection: one byte over its limit
// must be refused naming the field and the limit, the limit itself must
// not be refused for its length, and a control character must be refused.
func TestTextLimitsCoverEveryField(t *testing.T) {
	f := newExFixture(t)
	ctx := context.Background()
	var n int
	for _, sd := range []protoreflect.ServiceDescriptor{
		noflyv1.File_nofly_v1_geofence_service_proto.Services().ByName("GeofenceService"),
		noflyv1.File_nofly_v1_exemption_service_proto.Services().ByName("ExemptionService"),
		noflyv1.File_nofly_v1_fleet_proto.Services().ByName("DroneService"),
	} {
		methods := sd.Methods()
		for i := range methods.Len() {
			md := methods.Get(i)
			full := fmt.Sprintf("/%s/%s", sd.FullName(), md.Name())
			out, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range stringFields(md.Input(), nil, map[protoreflect.FullName]bool{}) {
				n++
				field, limit := p.path(), textLimit(p[len(p)-1])
				call := func(v string) error {
					return f.conn.Invoke(ctx, full, withText(md.Input(), p, v), out.New().Interface())
				}
				t.Run(string(md.Name())+"/"+field, func(t *testing.T) {
					err := call(strings.Repeat("x", limit+1))
					want := fmt.Sprintf("%d bytes is longer than the limit of %d bytes", limit+1, limit)
					if status.Code(err) != codes.InvalidArgument || violationAt(err, field) != want {
						t.Errorf("%d bytes: got %v (violation at %s: %q), want INVALID_ARGUMENT %q", limit+1, err, field, violationAt(err, field), want)
					}
					if err := call(strings.Repeat("x", limit)); strings.Contains(violationAt(err, field), "longer") {
						t.Errorf("%d bytes, the limit: refused: %v", limit, err)
					}
					if err := call("call tower\r\x1b[2K"); !strings.HasPrefix(violationAt(err, field), "control character U+000D at byte 10") {
						t.Errorf("control characters: got %v", err)
					}
				})
			}
		}
	}
	if n < 30 {
		t.Fatalf("only %d string fields found in the requests", n)
	}
}

func TestTextCharacters(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"plain", "call tower on 118.1 MHz, max 50 m — Ä ok", ""},
		{"escape", "ok\x1b[32m", "control character U+001B at byte 2"},
		{"bell", "\a", "control character U+0007 at byte 0"},
		{"tab", "a\tb", "control character U+0009 at byte 1"},
		{"newline", "a\nb", "control character U+000A at byte 1"},
		{"delete", "a\x7f", "control character U+007F at byte 1"},
		{"C1 CSI", "a\u009b2K", "control character U+009B at byte 1"},
		{"right-to-left override", "abc\u202Efed", "bidirectional control U+202E at byte 3"},
		{"isolate", "\u2066x\u2069", "bidirectional control U+2066 at byte 0"},
		{"line separator", "a\u2028b", "line separator U+2028 at byte 1"},
		{"invalid UTF-8", "a\xffb", "not valid UTF-8 at byte 1"},
		{"replacement character itself is fine", "a\uFFFDb", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b badRequest
			checkText(&b, "conditions", tc.text, MaxFreeTextBytes)
			var got string
			if len(b.violations) > 0 {
				got = b.violations[0].Description
			}
			if !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestHostileTexts replays the attacks of the hostile test: a reference of
// 1 MB on an exempted check (stored twice in the audit log), a holder unit
// of 900,000 bytes, and conditions that rewrite a pilot's terminal line.
func TestHostileTexts(t *testing.T) {
	f := newExFixture(t)
	ctx := context.Background()
	f.create(t, record())
	before, err := f.admin.ListAuditEvents(ctx, &noflyv1.ListAuditEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}

	req := positionIn(50, clock)
	req.Operator = &noflyv1.Operator{Unit: "AMS", PilotId: "P1"}
	req.Purpose = noflyv1.Purpose_PURPOSE_FORENSIC
	if resp, err := f.checks.CheckPosition(ctx, req); err != nil || resp.GetVerdict() != noflyv1.Verdict_VERDICT_EXEMPTED {
		t.Fatalf("the check without a reference: %v, %v; want EXEMPTED", resp.GetVerdict(), err)
	}
	req.ClientReference = strings.Repeat("R", 1<<20-200)
	_, err = f.checks.CheckPosition(ctx, req)
	if status.Code(err) != codes.InvalidArgument || violationAt(err, "client_reference") != "1048376 bytes is longer than the limit of 256 bytes" {
		t.Errorf("1 MB reference: %v", err)
	}
	if len(status.Convert(err).Message()) > 200 {
		t.Errorf("the refusal echoes the input: %d bytes", len(status.Convert(err).Message()))
	}
	after, err := f.admin.ListAuditEvents(ctx, &noflyv1.ListAuditEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.GetEvents()) != len(before.GetEvents())+1 {
		t.Errorf("audit entries: %d before, %d after one exempted check and one refused", len(before.GetEvents()), len(after.GetEvents()))
	}

	ex := record()
	ex.Holder.Unit = strings.Repeat("U", 900_000)
	_, err = f.admin.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: ex})
	if d := violationAt(err, "exemption.holder.unit"); d != "900000 bytes is longer than the limit of 256 bytes" {
		t.Errorf("900,000-byte unit: %v", err)
	}

	ex = record()
	ex.Conditions = "call tower\r\x1b[2K\x1b[1A\x1b[32mNO CONDITIONS - FLY FREELY"
	_, err = f.admin.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: ex})
	if d := violationAt(err, "exemption.conditions"); d != "control character U+000D at byte 10 is not allowed: texts are one line of printable characters" {
		t.Errorf("escape codes in conditions: %v", err)
	}
}
