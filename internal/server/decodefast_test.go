package server

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// fullPositionRequest is a position check with every field set.
func fullPositionRequest() *noflyv1.CheckPositionRequest {
	req := positionReq(52.31, 4.76)
	req.At = &timestamppb.Timestamp{Seconds: 1_777_000_000, Nanos: 5}
	req.Operator.DroneSerial = "SN-1"
	req.ClientReference, req.Classification = "ticket 7 Zürich 🚁", "regular"
	req.OperationCategory = noflyv1.OperationCategory_OPERATION_CATEGORY_SPECIFIC
	req.View = noflyv1.CheckView_CHECK_VIEW_BASIC
	return req
}

// sameDecode fails t unless decodeFast decodes b as proto.Unmarshal does,
// or declines it leaving the message empty; and the server's codec then
// answers b as before: the message proto.Unmarshal makes, or an error
// where it fails. It reports whether decodeFast decoded b.
func sameDecode(t *testing.T, b []byte) bool {
	t.Helper()
	want := new(noflyv1.CheckPositionRequest)
	werr := proto.Unmarshal(b, want)
	got := new(noflyv1.CheckPositionRequest)
	fast := decodeFast(b, got)
	if fast {
		if werr != nil {
			t.Fatalf("decodeFast decoded %x, which proto.Unmarshal refuses: %v", b, werr)
		}
		same(t, b, got, want)
	} else if !proto.Equal(got, new(noflyv1.CheckPositionRequest)) {
		t.Fatalf("decodeFast declined %x but left %v", b, got)
	}
	d := &decodeInto{Message: new(noflyv1.CheckPositionRequest)}
	if err := newServerCodec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, d); err != nil {
		t.Fatal(err)
	}
	switch {
	case (d.err == nil) != (werr == nil):
		t.Fatalf("%x: the codec's error %v, proto.Unmarshal's %v", b, d.err, werr)
	case werr == nil:
		same(t, b, d.Message, want)
	}
	return fast
}

// same fails t unless got and want hold the same fields, bit for bit
// (proto.Equal takes NaN for NaN and -0 for 0).
func same(t *testing.T, b []byte, got, want proto.Message) {
	t.Helper()
	opts := proto.MarshalOptions{Deterministic: true}
	gb, err1 := opts.Marshal(got)
	wb, err2 := opts.Marshal(want)
	if !proto.Equal(got, want) || err1 != nil || err2 != nil || !bytes.Equal(gb, wb) {
		t.Fatalf("%x decoded to\n%v\nproto.Unmarshal's\n%v", b, got, want)
	}
}

// TestDecodeFastEveryField: a text that is not UTF-8 in any string field
// of the position check, at any depth, and an unknown field in any of its
// messages, are left to proto.Unmarshal (which refuses the one and keeps
// the other); the same request with plain text is decoded fast, the same.
// A string field added to the request and not checked by
// plainPositionRequest fails here.
func TestDecodeFastEveryField(t *testing.T) {
	base, err := proto.Marshal(fullPositionRequest())
	if err != nil {
		t.Fatal(err)
	}
	if !sameDecode(t, base) {
		t.Fatal("a plain position check is not decoded fast")
	}
	// wrap encodes inner as the message at path (field numbers, outermost
	// first) appended to base: a message field given again merges.
	wrap := func(path []protowire.Number, inner []byte) []byte {
		for i := len(path) - 1; i >= 0; i-- {
			inner = protowire.AppendBytes(protowire.AppendTag(nil, path[i], protowire.BytesType), inner)
		}
		return append(bytes.Clone(base), inner...)
	}
	strings, messages := 0, 0
	var walk func(md protoreflect.MessageDescriptor, path []protowire.Number, name string)
	walk = func(md protoreflect.MessageDescriptor, path []protowire.Number, name string) {
		messages++
		unknown := protowire.AppendVarint(protowire.AppendTag(nil, 999, protowire.VarintType), 1)
		if sameDecode(t, wrap(path, unknown)) {
			t.Errorf("%s: an unknown field is decoded fast", name)
		}
		wrongType := protowire.AppendVarint(protowire.AppendTag(nil, md.Fields().Get(0).Number(), protowire.StartGroupType+4), 1)
		sameDecode(t, wrap(path, wrongType))
		for i := range md.Fields().Len() {
			fd := md.Fields().Get(i)
			fpath := append(append([]protowire.Number(nil), path...), fd.Number())
			switch fd.Kind() {
			case protoreflect.StringKind:
				strings++
				tag := protowire.AppendTag(nil, fd.Number(), protowire.BytesType)
				if sameDecode(t, wrap(path, protowire.AppendBytes(tag, []byte{'a', 0xff, 'b'}))) {
					t.Errorf("%s%s: text that is not UTF-8 is decoded fast", name, fd.Name())
				}
				if !sameDecode(t, wrap(path, protowire.AppendString(tag, "plain ✓"))) {
					t.Errorf("%s%s: plain text is not decoded fast", name, fd.Name())
				}
			case protoreflect.MessageKind:
				walk(fd.Message(), fpath, name+string(fd.Name())+".")
			}
		}
	}
	walk(new(noflyv1.CheckPositionRequest).ProtoReflect().Descriptor(), nil, "")
	if strings < 5 || messages < 5 {
		t.Fatalf("walked %d string fields in %d messages", strings, messages)
	}
	// An overlong varint (ten bytes, the last above 1) is refused by
	// proto.Unmarshal; the generated code would keep its low bits.
	long := append(bytes.Clone(base), protowire.AppendTag(nil, 17, protowire.VarintType)...)
	long = append(long, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f)
	if sameDecode(t, long) {
		t.Fatal("an overlong varint is decoded fast")
	}
}

// TestDecodeFastRandom compares decodeFast with proto.Unmarshal on position
// checks filled at random, and on their bytes cut and changed.
func TestDecodeFastRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	fast := 0
	for i := range 3000 {
		m := new(noflyv1.CheckPositionRequest)
		fillRandom(r, m.ProtoReflect(), 3, i%2 == 0)
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if sameDecode(t, b) {
			fast++
		}
		if len(b) > 0 {
			c := bytes.Clone(b)
			c[r.IntN(len(c))] ^= byte(1 + r.IntN(255))
			sameDecode(t, c)
			sameDecode(t, b[:r.IntN(len(b))])
		}
	}
	if fast < 1000 {
		t.Fatalf("only %d of 3000 random checks decoded fast", fast)
	}
}

// FuzzDecodeFast: decodeFast decodes what proto.Unmarshal decodes, the
// same, or leaves it to it.
func FuzzDecodeFast(f *testing.F) {
	for _, m := range []*noflyv1.CheckPositionRequest{fullPositionRequest(), positionReq(-33.9, 151.2), {}} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { sameDecode(t, b) })
}
