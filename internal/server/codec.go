package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	encproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// A request that does not decode is the client's mistake, but gRPC answers
// it INTERNAL ("grpc: error unmarshalling request"): its codec's error
// loses its kind on the way. Invalid UTF-8 in a string field is the common
// case (proto3 strings must be UTF-8, and Go's protobuf refuses them). So
// the server decodes its requests itself: each method's generated handler
// is given a decode function that hands the codec a decodeInto, which the
// codec fills with the message and the decode error; the error then goes
// through the interceptors (metrics, authorisation) as the handler's
// answer, INVALID_ARGUMENT naming the field.

// decodeInto carries a request and its decode error through the codec. It
// embeds the message, so that a codec that does not know it (a server
// built without serverCodec) decodes the message as before.
type decodeInto struct {
	proto.Message
	err error
}

// serverCodec is gRPC's protobuf codec, except that it decodes into a
// decodeInto without failing, and encodes nofly's own messages with their
// generated size and marshal code (vtMessage) into a pooled buffer.
type serverCodec struct{ encoding.CodecV2 }

func newServerCodec() serverCodec { return serverCodec{encoding.GetCodecV2(encproto.Name)} }

// vtMessage is a message of api/nofly/v1 with the size and marshal code
// protoc-gen-go-vtproto generates: the same bytes as proto.Marshal
// (TestVTMarshalSameBytes fills every message type at random and
// compares), without reflection. Every answer nofly sends is one.
type vtMessage interface {
	SizeVT() int
	MarshalToSizedBufferVT([]byte) (int, error)
}

func (c serverCodec) Marshal(v any) (mem.BufferSlice, error) {
	if p, ok := v.(*preEncoded); ok {
		data := p.data
		if p.data = nil; data == nil {
			return nil, errors.New("an answer encoded before is sent twice")
		}
		return data, nil
	}
	m, ok := v.(vtMessage)
	if !ok {
		return c.CodecV2.Marshal(v) // the health service's, reflection's
	}
	buf, err := marshalVT(m)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{buf}, nil
}

// marshalVT encodes m with its generated code into a pooled buffer.
func marshalVT(m vtMessage) (mem.Buffer, error) {
	size := m.SizeVT()
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	n, err := m.MarshalToSizedBufferVT((*buf)[:size])
	if err != nil {
		pool.Put(buf)
		return nil, err
	}
	if n != size { // the generated code fills the buffer from its end
		pool.Put(buf)
		return nil, fmt.Errorf("marshal %T: %d bytes of %d", m, n, size)
	}
	*buf = (*buf)[:size]
	return mem.NewBuffer(buf, pool), nil
}

// A position check's answer is a few kilobytes of messages, made many
// times a second. So that they are used again rather than allocated and
// collected, the answer is encoded as soon as the handler and the
// interceptors are done with it, before it is handed to gRPC: then nothing
// refers to it any more and it is given back (positionAnswer.release).
// gRPC is handed the encoded bytes (preEncoded), which serverCodec sends as
// they are. The handler leaves its answer in the call's answerSlot, found
// in its context (answerKey); a handler that finds none (a server made
// without NewGRPCServer, another codec) answers as before.
//
// gRPC's own observers (its tracing, binary log and stats handlers) would
// see the encoded bytes, not the message: NewGRPCServer installs none, and
// the answer is not encoded before when gRPC's tracing or binary log is
// turned on.

// answerKey is the context key of a call's *answerSlot.
type answerKey struct{}

// answerSlot is where a handler leaves the answer it returns, to be
// encoded before and given back.
type answerSlot struct{ a *positionAnswer }

// preEncoded is an answer encoded before it is handed to gRPC: data, the
// one buffer in buf (allocated with it).
type preEncoded struct {
	data mem.BufferSlice
	buf  [1]mem.Buffer
}

// offerAnswer leaves a, the answer the handler is about to return, in the
// call's answerSlot when it has one.
func offerAnswer(ctx context.Context, a *positionAnswer) {
	if slot, ok := ctx.Value(answerKey{}).(*answerSlot); ok {
		slot.a = a
	}
}

// preEncode encodes resp, the method's answer, when it is the answer a
// that the handler left in its slot, gives a back, and returns the bytes
// in resp's place; anything else is returned as it is.
func preEncode(resp any, err error, a *positionAnswer) (any, error) {
	if a == nil || err != nil || resp != any(&a.resp) || grpc.EnableTracing {
		return resp, err
	}
	buf, merr := marshalVT(&a.resp)
	if merr != nil {
		return resp, err // the codec tries again, and says why it fails
	}
	a.release()
	p := &preEncoded{buf: [1]mem.Buffer{buf}}
	p.data = p.buf[:]
	return p, nil
}

func (c serverCodec) Unmarshal(data mem.BufferSlice, v any) error {
	d, ok := v.(*decodeInto)
	if !ok {
		return c.CodecV2.Unmarshal(data, v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	if decodeFast(buf.ReadOnlyData(), d.Message) {
		return nil
	}
	if err := proto.Unmarshal(buf.ReadOnlyData(), d.Message); err != nil {
		d.err = decodeError(buf.ReadOnlyData(), d.Message.ProtoReflect().Descriptor(), err)
	}
	return nil
}

// decodeFast decodes b into m with the generated code of m's type
// (vtproto's UnmarshalVT, no reflection) and reports whether it did: only
// for the checks that come many a second, and only for a message that
// proto.Unmarshal decodes alike. That is one made of the type's own fields
// alone, with valid UTF-8 in every text (proto3 strings must be) and no
// varint of ten bytes or more (the generated code keeps the low 64 bits of
// an overlong one, where protobuf-go refuses it). Such a message decodes
// to the same fields either way. Anything else (an unknown field, a field
// of the wrong wire type, a text that is not UTF-8, a decode error) leaves
// m empty and reports false: proto.Unmarshal then decodes it as for any
// other request, and names what is wrong. FuzzDecodeFast compares both.
func decodeFast(b []byte, m proto.Message) bool {
	r, ok := m.(*noflyv1.CheckPositionRequest)
	if !ok || longVarint(b) {
		return false
	}
	if r.UnmarshalVT(b) != nil || !plainPositionRequest(r) || r.At != nil && !plainTimestamps(b, 3) {
		r.Reset()
		return false
	}
	return true
}

// plainTimestamps reports whether every field num of message b (a
// google.protobuf.Timestamp) holds its two fields alone, as varints: the
// generated code of a Timestamp drops the fields it does not know, where
// proto.Unmarshal keeps them.
func plainTimestamps(b []byte, num protowire.Number) bool {
	for len(b) > 0 {
		n, typ, k := protowire.ConsumeTag(b)
		if k < 0 {
			return false
		}
		b = b[k:]
		if n != num {
			if k = protowire.ConsumeFieldValue(n, typ, b); k < 0 {
				return false
			}
			b = b[k:]
			continue
		}
		ts, k := protowire.ConsumeBytes(b)
		if typ != protowire.BytesType || k < 0 {
			return false
		}
		b = b[k:]
		for len(ts) > 0 {
			n, typ, k := protowire.ConsumeTag(ts)
			if k < 0 || typ != protowire.VarintType || n != 1 && n != 2 {
				return false
			}
			ts = ts[k:]
			if _, k = protowire.ConsumeVarint(ts); k < 0 {
				return false
			}
			ts = ts[k:]
		}
	}
	return true
}

// longVarint reports whether b may hold a varint of ten bytes or more:
// nine bytes in a row with the high bit set.
func longVarint(b []byte) bool {
	run := 0
	for _, c := range b {
		if c < 0x80 {
			run = 0
		} else if run++; run == 9 {
			return true
		}
	}
	return false
}

// plainPositionRequest reports whether r, as UnmarshalVT decoded it, holds
// no unknown field and only valid UTF-8, in itself and in every message it
// holds. TestDecodeFastEveryField sets each string field of the request to
// text that is not UTF-8, and an unknown field into each message.
func plainPositionRequest(r *noflyv1.CheckPositionRequest) bool {
	return noUnknown(r) && noUnknown(r.Position) && noUnknown(r.Altitude) && noUnknown(r.At) && noUnknown(r.Operator) &&
		utf8.ValidString(r.ClientReference) && utf8.ValidString(r.Classification) &&
		utf8.ValidString(r.Operator.GetUnit()) && utf8.ValidString(r.Operator.GetPilotId()) &&
		utf8.ValidString(r.Operator.GetDroneSerial())
}

// noUnknown reports whether m (nil: absent) holds no unknown fields.
func noUnknown[M interface {
	comparable
	proto.Message
}](m M) bool {
	var none M
	return m == none || len(m.ProtoReflect().GetUnknown()) == 0
}

// decodeError is the status for a request that did not decode: the field
// with invalid UTF-8 when there is one.
func decodeError(b []byte, md protoreflect.MessageDescriptor, err error) error {
	if field, ok := badUTF8Field(b, md, ""); ok {
		return withDetails(codes.InvalidArgument, field+": not valid UTF-8", &errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: "not valid UTF-8"}}})
	}
	return withDetails(codes.InvalidArgument, "the request is not a valid "+string(md.FullName())+" message: "+err.Error())
}

// badUTF8Field finds, in the encoded message b of type md, the first string
// field that is not UTF-8, as a field path below prefix.
func badUTF8Field(b []byte, md protoreflect.MessageDescriptor, prefix string) (string, bool) {
	seen := map[protowire.Number]int{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", false
		}
		b = b[n:]
		fd := md.Fields().ByNumber(num)
		if typ != protowire.BytesType || fd == nil || fd.IsMap() ||
			(fd.Kind() != protoreflect.StringKind && fd.Kind() != protoreflect.MessageKind) {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return "", false
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return "", false
		}
		b = b[n:]
		path := prefix + string(fd.Name())
		if fd.IsList() {
			path += "[" + strconv.Itoa(seen[num]) + "]"
			seen[num]++
		}
		if fd.Kind() == protoreflect.StringKind {
			if !utf8.Valid(v) {
				return path, true
			}
			continue
		}
		if p, ok := badUTF8Field(v, fd.Message(), path+"."); ok {
			return p, true
		}
	}
	return "", false
}

// decodeChecked is sd with each method's handler decoding through a
// decodeInto: a request that does not decode is answered with its decode
// error, after the interceptors, instead of gRPC's INTERNAL. The methods
// named in encodeBefore have their answers encoded before they are handed
// to gRPC (preEncode); only for a server whose codec is serverCodec.
func decodeChecked(sd *grpc.ServiceDesc, encodeBefore ...string) *grpc.ServiceDesc {
	out := *sd
	out.Methods = make([]grpc.MethodDesc, len(sd.Methods))
	for i, m := range sd.Methods {
		out.Methods[i] = grpc.MethodDesc{MethodName: m.MethodName,
			Handler: checkedHandler(m.Handler, slices.Contains(encodeBefore, m.MethodName))}
	}
	return &out
}

func checkedHandler(h grpc.MethodHandler, encodeBefore bool) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		c := checkedCalls.Get().(*checkedCall)
		c.dec, c.ic = dec, ic
		intercept := c.interceptFn
		if ic == nil {
			intercept = nil
		}
		if encodeBefore {
			ctx = context.WithValue(ctx, answerKey{}, &c.slot)
		}
		resp, err := h(srv, ctx, c.decodeFn, intercept)
		a := c.slot.a
		*c = checkedCall{decodeFn: c.decodeFn, interceptFn: c.interceptFn}
		checkedCalls.Put(c)
		return preEncode(resp, err, a)
	}
}

// checkedCall is one call of a checkedHandler: gRPC's decode function and
// interceptor for it, and the request's decode error. Calls come many a
// second, so the functions handed to the method's handler (decodeFn,
// interceptFn: c.decode and c.intercept) are made once for each
// checkedCall, which is used again call after call (checkedCalls): the
// handler uses them only until it returns.
type checkedCall struct {
	dec         func(any) error
	ic          grpc.UnaryServerInterceptor
	bad         error
	decodeFn    func(any) error
	interceptFn grpc.UnaryServerInterceptor
	into        decodeInto
	slot        answerSlot
}

var checkedCalls = sync.Pool{New: func() any {
	c := new(checkedCall)
	c.decodeFn, c.interceptFn = c.decode, c.intercept
	return c
}}

func (c *checkedCall) decode(v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return c.dec(v)
	}
	d := &c.into
	*d = decodeInto{Message: m}
	err := c.dec(d)
	bad := d.err
	*d = decodeInto{}
	if err != nil {
		return err
	}
	if bad != nil && c.ic == nil {
		return bad // no interceptors to pass it through
	}
	if bad != nil {
		// The interceptors judge the caller and the method, not half a
		// message.
		proto.Reset(m)
	}
	c.bad = bad
	return nil
}

func (c *checkedCall) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if bad := c.bad; bad != nil {
		handler = func(context.Context, any) (any, error) { return nil, bad }
	}
	return c.ic(ctx, req, info, handler)
}
