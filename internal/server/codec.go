package server

import (
	"context"
	"fmt"
	"strconv"
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
	m, ok := v.(vtMessage)
	if !ok {
		return c.CodecV2.Marshal(v) // the health service's, reflection's
	}
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
		return nil, fmt.Errorf("marshal %T: %d bytes of %d", v, n, size)
	}
	*buf = (*buf)[:size]
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

func (c serverCodec) Unmarshal(data mem.BufferSlice, v any) error {
	d, ok := v.(*decodeInto)
	if !ok {
		return c.CodecV2.Unmarshal(data, v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	if err := proto.Unmarshal(buf.ReadOnlyData(), d.Message); err != nil {
		d.err = decodeError(buf.ReadOnlyData(), d.Message.ProtoReflect().Descriptor(), err)
	}
	return nil
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
// error, after the interceptors, instead of gRPC's INTERNAL.
func decodeChecked(sd *grpc.ServiceDesc) *grpc.ServiceDesc {
	out := *sd
	out.Methods = make([]grpc.MethodDesc, len(sd.Methods))
	for i, m := range sd.Methods {
		out.Methods[i] = grpc.MethodDesc{MethodName: m.MethodName, Handler: checkedHandler(m.Handler)}
	}
	return &out
}

func checkedHandler(h grpc.MethodHandler) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		var bad error
		decode := func(v any) error {
			m, ok := v.(proto.Message)
			if !ok {
				return dec(v)
			}
			d := &decodeInto{Message: m}
			if err := dec(d); err != nil {
				return err
			}
			if d.err != nil && ic == nil {
				return d.err // no interceptors to pass it through
			}
			if d.err != nil {
				// The interceptors judge the caller and the method, not
				// half a message.
				proto.Reset(m)
			}
			bad = d.err
			return nil
		}
		if ic == nil {
			return h(srv, ctx, decode, nil)
		}
		return h(srv, ctx, decode, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			if bad != nil {
				handler = func(context.Context, any) (any, error) { return nil, bad }
			}
			return ic(ctx, req, info, handler)
		})
	}
}
