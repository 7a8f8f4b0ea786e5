package server

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// apiFiles are the files of the API that define services or messages.
var apiFiles = []protoreflect.FileDescriptor{noflyv1.File_nofly_v1_geofence_service_proto, noflyv1.File_nofly_v1_exemption_service_proto,
	noflyv1.File_nofly_v1_fleet_proto, noflyv1.File_nofly_v1_zone_proto, noflyv1.File_nofly_v1_common_proto,
	noflyv1.File_nofly_v1_authorisation_service_proto, noflyv1.File_nofly_v1_report_service_proto}

// unaryResponseTypes are the message types the server sends as the answer
// of a unary method, every service of the API, sorted by name.
func unaryResponseTypes(t testing.TB) []protoreflect.MessageType {
	t.Helper()
	var out []protoreflect.MessageType
	for _, fd := range apiFiles {
		svcs := fd.Services()
		for i := range svcs.Len() {
			ms := svcs.Get(i).Methods()
			for j := range ms.Len() {
				m := ms.Get(j)
				if m.IsStreamingClient() || m.IsStreamingServer() {
					continue
				}
				mt, err := protoregistry.GlobalTypes.FindMessageByName(m.Output().FullName())
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(out, func(o protoreflect.MessageType) bool { return o.Descriptor() == mt.Descriptor() }) {
					out = append(out, mt)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b protoreflect.MessageType) int {
		return cmpName(a.Descriptor().FullName(), b.Descriptor().FullName())
	})
	return out
}

func cmpName(a, b protoreflect.FullName) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestVTMarshalResponses: every answer type of a unary method, filled at
// random 3,000 times (deeper than TestVTMarshalSameBytes: lists of hits
// with their zones, windows and refusals), is encoded by the server codec
// to proto.Marshal's bytes (not deterministic: the API has no maps).
func TestVTMarshalResponses(t *testing.T) {
	types := unaryResponseTypes(t)
	if len(types) < 20 {
		t.Fatalf("only %d answer types", len(types))
	}
	seen := map[protoreflect.FullName]bool{}
	for _, mt := range types {
		seen[mt.Descriptor().FullName()] = true
	}
	for _, want := range []protoreflect.FullName{"nofly.v1.CheckPositionResponse", "nofly.v1.CheckFlightPlanResponse"} {
		if !seen[want] {
			t.Fatalf("%s is not among the answer types", want)
		}
	}
	r := rand.New(rand.NewPCG(3000, 7))
	codec := newServerCodec()
	for _, mt := range types {
		name := string(mt.Descriptor().Name())
		nonEmpty := 0
		for i := range 3000 {
			m := mt.New()
			negZero := i%10 == 9
			fillRandom(r, m, 4, negZero)
			got, err := codec.Marshal(m.Interface())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if negZero {
				clearNegZeros(m) // the generated code leaves a float's negative zero out, as zero
			}
			want, err := proto.Marshal(m.Interface())
			if err != nil {
				t.Fatalf("%s: proto.Marshal: %v", name, err)
			}
			if b := got.Materialize(); !bytes.Equal(b, want) {
				t.Fatalf("%s #%d: codec\n%x\nproto.Marshal\n%x\n%v", name, i, b, want, m)
			}
			got.Free()
			if len(want) > 0 {
				nonEmpty++
			}
		}
		if nonEmpty < 1500 {
			t.Fatalf("%s: only %d of 3000 random answers had a field set", name, nonEmpty)
		}
	}
}

// FuzzMarshal decodes the input as one of the answer types (the first
// byte chooses which) and compares the server codec's encoding of it with
// proto.Marshal's: unknown fields, unknown enum numbers, NaN payloads and
// every field order the decoder accepts included. Two differences are
// known and allowed for: a float's negative zero is left out, as zero
// (clearNegZeros), and so are unknown fields inside a
// google.protobuf.Timestamp (the generated code for the well-known type
// does not keep them; the server's answers build their times afresh).
func FuzzMarshal(f *testing.F) {
	types := unaryResponseTypes(f)
	r := rand.New(rand.NewPCG(1, 2))
	for i, mt := range types {
		m := mt.New()
		fillRandom(r, m, 3, false)
		b, err := proto.Marshal(m.Interface())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{byte(i)}, b...))
	}
	f.Add([]byte{0, 0xfa, 0x07, 0x01, 0x00}) // an unknown field
	codec := newServerCodec()
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		mt := types[int(in[0])%len(types)]
		m := mt.New()
		if proto.Unmarshal(in[1:], m.Interface()) != nil {
			return
		}
		got, err := codec.Marshal(m.Interface())
		if err != nil {
			t.Fatalf("%s: %v", mt.Descriptor().Name(), err)
		}
		defer got.Free()
		clearNegZeros(m)
		clearTimestampUnknown(m)
		want, err := proto.Marshal(m.Interface())
		if err != nil {
			t.Fatal(err)
		}
		if b := got.Materialize(); !bytes.Equal(b, want) {
			t.Fatalf("%s: codec\n%x\nproto.Marshal\n%x\n%v", mt.Descriptor().Name(), b, want, m)
		}
	})
}

// clearTimestampUnknown drops the unknown fields of every
// google.protobuf.Timestamp in m.
func clearTimestampUnknown(m protoreflect.Message) {
	if m.Descriptor().FullName() == "google.protobuf.Timestamp" {
		m.SetUnknown(nil)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			for i := range v.List().Len() {
				clearTimestampUnknown(v.List().Get(i).Message())
			}
		case fd.Kind() == protoreflect.MessageKind && !fd.IsList():
			clearTimestampUnknown(v.Message())
		}
		return true
	})
}
