package loadbench

import (
	"fmt"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// firstEnum is a response of which the tool reads only field 1, an enum:
// the verdict of a check, the status of a health check. Decoding the rest
// (zones, messages, exemptions) would spend the client's CPU, which shares
// the machine with the server, on what the benchmark does not look at; the
// server still builds and sends every byte.
type firstEnum struct {
	value int32
	size  int // bytes received
}

// codec marshals requests as protobuf and reads responses into *firstEnum
// (or *streamAnswer). Its name is "proto", so the wire format and content
// type are gRPC's usual ones. It is a gRPC CodecV2: it reads the buffers
// the transport received in place, where an older codec would have them
// copied into one new slice a call first, and sends a request encoded
// before the run without boxing or wrapping it again.
type codec struct{}

func (codec) Name() string { return "proto" }

// request is a request marshalled once, before the run: the codec sends
// its bytes as they are, so that every call (the health check's as much as
// a check's) costs the client no marshalling on the machine it shares with
// the server. Read only: calls in flight send the same bytes. gRPC frees
// what Marshal returns once sent; a SliceBuffer's Free does nothing, so the
// bytes stay for the next call.
type request struct {
	data mem.BufferSlice
}

// encode marshals m once for the codec to send as it is.
func encode(m proto.Message) *request {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("loadbench: a request the tool built does not marshal: %v", err)) // a bug here
	}
	return &request{data: mem.BufferSlice{mem.SliceBuffer(b)}}
}

func (codec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(*request); ok {
		return r.data, nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("loadbench codec: cannot marshal %T", v)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (codec) Unmarshal(data mem.BufferSlice, v any) error {
	// A small answer arrives in one buffer: read it where it is. One split
	// over several (a large answer, several HTTP/2 frames) is copied into
	// one slice first.
	var b []byte
	if len(data) == 1 {
		b = data[0].ReadOnlyData()
	} else {
		b = data.Materialize()
	}
	switch out := v.(type) {
	case *firstEnum:
		return out.unmarshal(b)
	case *streamAnswer:
		return out.unmarshal(b)
	case proto.Message:
		return proto.Unmarshal(b, out)
	}
	return fmt.Errorf("loadbench codec: cannot unmarshal into %T", v)
}

func (out *firstEnum) unmarshal(data []byte) error {
	*out = firstEnum{size: len(data)}
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("response: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if num == 1 && typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("response field 1: %w", protowire.ParseError(n))
			}
			out.value = int32(v) // the last one wins, as in protobuf
			b = b[n:]
			continue
		}
		// Other fields are skipped, not decoded: a length-delimited one
		// (the zones, the messages) costs a jump.
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return fmt.Errorf("response field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return nil // field 1 absent: its zero value
}

// streamAnswer is what the tool reads of a MonitorFlightResponse: why it
// was sent (field 1), the verdict (3) and how many positions it answers
// besides the newest (5).
type streamAnswer struct {
	reason, verdict int32
	skipped         int64
}

func (sa *streamAnswer) unmarshal(data []byte) error {
	*sa = streamAnswer{}
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("answer: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.VarintType && (num == 1 || num == 3 || num == 5) {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("answer field %d: %w", num, protowire.ParseError(n))
			}
			switch num {
			case 1:
				sa.reason = int32(v)
			case 3:
				sa.verdict = int32(v)
			case 5:
				sa.skipped = int64(v)
			}
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return fmt.Errorf("answer field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return nil
}
