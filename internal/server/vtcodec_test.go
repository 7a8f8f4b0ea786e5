package server

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// fillRandom sets fields of m at random, every kind of value the API has
// (zero, negative zero when negZero, empty and long strings, unknown enum numbers,
// optional fields set to zero, nested and repeated messages), to depth.
func fillRandom(r *rand.Rand, m protoreflect.Message, depth int, negZero bool) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if r.IntN(4) == 0 {
			continue // left unset
		}
		switch {
		case fd.IsMap():
			panic("the API has no maps: " + fd.FullName())
		case fd.IsList():
			l := m.Mutable(fd).List()
			for range r.IntN(4) {
				if fd.Kind() == protoreflect.MessageKind {
					if depth > 0 {
						e := l.NewElement()
						fillRandom(r, e.Message(), depth-1, negZero)
						l.Append(e)
					}
					continue
				}
				l.Append(randomScalar(r, fd, negZero))
			}
		case fd.Kind() == protoreflect.MessageKind:
			if depth > 0 {
				fillRandom(r, m.Mutable(fd).Message(), depth-1, negZero)
			}
		default:
			m.Set(fd, randomScalar(r, fd, negZero))
		}
	}
}

func randomScalar(r *rand.Rand, fd protoreflect.FieldDescriptor, negZero bool) protoreflect.Value {
	floats := []float64{0, 1, -1.5, 52.3123456789, 1e300, math.SmallestNonzeroFloat64, math.Inf(1), math.NaN()}
	if negZero {
		floats = []float64{0, math.Copysign(0, -1), 1.5} // no NaN: proto.Equal compares the read back
	}
	ints := []int64{0, 1, -1, 127, 128, 300, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.IntN(2) == 0)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(r.IntN(fd.Enum().Values().Len() + 2)))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(ints[r.IntN(len(ints))]))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(ints[r.IntN(len(ints))])
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(ints[r.IntN(len(ints))]))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(ints[r.IntN(len(ints))]))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(floats[r.IntN(len(floats))]))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(floats[r.IntN(len(floats))])
	case protoreflect.StringKind:
		return protoreflect.ValueOfString([]string{"", "EHAM-CTR", "Zürich 🚁", string(make([]byte, 200))}[r.IntN(4)])
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([][]byte{nil, {}, {0, 1, 2}}[r.IntN(3)])
	}
	panic("kind " + fd.Kind().String())
}

// TestVTMarshalSameBytes: the server codec's encoding of every message of
// the API (generated size and marshal code) is proto.Marshal's, byte for
// byte, for messages filled at random. The one difference: a float field
// (without presence) holding negative zero is left out, as zero is, where
// proto.Marshal writes it; it is read back as zero, equal to it.
func TestVTMarshalSameBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 4))
	codec := newServerCodec()
	compare := func(name string, m proto.Message) {
		t.Helper()
		want, err := proto.Marshal(m)
		if err != nil {
			t.Fatalf("%s: proto.Marshal: %v", name, err)
		}
		if _, ok := m.(vtMessage); !ok {
			t.Fatalf("%s has no generated marshal code", name)
		}
		got, err := codec.Marshal(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := got.Materialize(); !bytes.Equal(b, want) {
			t.Fatalf("%s: codec\n%x\nproto.Marshal\n%x\n%v", name, b, want, m)
		}
		got.Free()
	}
	types := 0
	for _, fd := range []protoreflect.FileDescriptor{noflyv1.File_nofly_v1_geofence_service_proto, noflyv1.File_nofly_v1_exemption_service_proto,
		noflyv1.File_nofly_v1_fleet_proto, noflyv1.File_nofly_v1_zone_proto, noflyv1.File_nofly_v1_common_proto,
		noflyv1.File_nofly_v1_authorisation_service_proto, noflyv1.File_nofly_v1_report_service_proto} {
		msgs := fd.Messages()
		for i := range msgs.Len() {
			md := msgs.Get(i)
			mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
			if err != nil {
				t.Fatal(err)
			}
			types++
			compare(string(md.Name())+" (empty)", mt.New().Interface())
			for range 200 {
				m := mt.New()
				fillRandom(r, m, 3, false)
				compare(string(md.Name()), m.Interface())
			}
			for range 50 {
				m := mt.New()
				fillRandom(r, m, 3, true)
				got, err := codec.Marshal(m.Interface())
				if err != nil {
					t.Fatal(err)
				}
				clearNegZeros(m)
				want, err := proto.Marshal(m.Interface())
				if b := got.Materialize(); err != nil || !bytes.Equal(b, want) {
					t.Fatalf("%s with negative zeros: codec\n%x\nproto.Marshal with them zero\n%x", md.Name(), b, want)
				}
			}
		}
	}
	if types < 50 {
		t.Fatalf("only %d message types", types)
	}
	// A message of another package goes through protobuf's codec.
	if _, ok := any(&mem.SliceBuffer{}).(vtMessage); ok {
		t.Fatal("not a message")
	}
}

// clearNegZeros sets every float field without presence that holds
// negative zero in m to zero (unset), as the generated code writes it.
func clearNegZeros(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			for i := range v.List().Len() {
				clearNegZeros(v.List().Get(i).Message())
			}
		case fd.Kind() == protoreflect.MessageKind && !fd.IsList():
			clearNegZeros(v.Message())
		case !fd.IsList() && !fd.HasPresence() && (fd.Kind() == protoreflect.DoubleKind || fd.Kind() == protoreflect.FloatKind):
			if f := v.Float(); f == 0 && math.Signbit(f) {
				m.Clear(fd)
			}
		}
		return true
	})
}
