package main

import (
	"context"
	"fmt"
	"strconv"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// textOptions refuse, before it is sent, a request holding text that is
// not UTF-8 (a flag or a file in another encoding), naming the field:
// protobuf cannot encode it, and gRPC would say only that some string
// field could not be marshalled.
func textOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if err := checkTexts(req); err != nil {
				return err
			}
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			s, err := streamer(ctx, desc, cc, method, opts...)
			if err != nil {
				return nil, err
			}
			return textStream{s}, nil
		}),
	}
}

type textStream struct{ grpc.ClientStream }

func (s textStream) SendMsg(m any) error {
	if err := checkTexts(m); err != nil {
		return err
	}
	return s.ClientStream.SendMsg(m)
}

// checkTexts is an error naming the first text field of m that is not
// UTF-8, or nil.
func checkTexts(m any) error {
	pm, ok := m.(proto.Message)
	if !ok {
		return nil
	}
	if path := badText(pm.ProtoReflect(), ""); path != "" {
		return fmt.Errorf("invalid request: %s: not UTF-8 text", path)
	}
	return nil
}

// badText is the path of the first string field of m (at prefix) that is
// not valid UTF-8, or "".
func badText(m protoreflect.Message, prefix string) string {
	var bad string
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := prefix + string(fd.Name())
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && bad == ""; i++ {
				bad = badValue(fd, l.Get(i), name+"["+strconv.Itoa(i)+"]")
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if s, ok := k.Interface().(string); ok && !utf8.ValidString(s) {
					bad = name + " (a key)"
				} else {
					bad = badValue(fd.MapValue(), mv, name+"["+k.String()+"]")
				}
				return bad == ""
			})
		default:
			bad = badValue(fd, v, name)
		}
		return bad == ""
	})
	return bad
}

func badValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if !utf8.ValidString(v.String()) {
			return path
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return badText(v.Message(), path+".")
	}
	return ""
}
