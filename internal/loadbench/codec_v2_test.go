package loadbench

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// oneBuffer is data as the transport hands over a small answer.
func oneBuffer(b []byte) mem.BufferSlice { return mem.BufferSlice{mem.SliceBuffer(b)} }

// split is data as the transport hands over an answer received in pieces:
// cut at the given offsets (in order, within b), empty pieces included.
func split(b []byte, cuts []int) mem.BufferSlice {
	var out mem.BufferSlice
	prev := 0
	for _, c := range cuts {
		out = append(out, mem.SliceBuffer(b[prev:c]))
		prev = c
	}
	return append(out, mem.SliceBuffer(b[prev:]))
}

func randomCuts(r *rand.Rand, n int) []int {
	cuts := make([]int, r.IntN(4))
	for i := range cuts {
		cuts[i] = r.IntN(n + 1)
	}
	for i := 1; i < len(cuts); i++ { // in order
		for j := i; j > 0 && cuts[j] < cuts[j-1]; j-- {
			cuts[j], cuts[j-1] = cuts[j-1], cuts[j]
		}
	}
	return cuts
}

// v1Unmarshal is the codec's reading before it became a CodecV2 (the
// reference): the answer copied into one slice by gRPC, field 1 read from
// it, the rest skipped.
func v1Unmarshal(data []byte, v any) error {
	out, ok := v.(*firstEnum)
	if !ok {
		m, ok := v.(proto.Message)
		if !ok {
			return fmt.Errorf("loadbench codec: cannot unmarshal into %T", v)
		}
		return proto.Unmarshal(data, m)
	}
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
			out.value = int32(v)
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return fmt.Errorf("response field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return nil
}

// randomWireAnswer is one answer of the kinds the tool reads: a position
// check's, a flight plan check's or a health check's, with verdicts and
// statuses beyond the known ones (a newer server's) and the texts, zones
// and times the tool skips.
func randomWireAnswer(r *rand.Rand) proto.Message {
	enum := func() int32 {
		if r.IntN(8) == 0 {
			return int32(r.IntN(300)) - 10 // unknown, negative ones too
		}
		return int32(r.IntN(4))
	}
	text := func() string {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte('a' + r.IntN(26))
		}
		return string(b)
	}
	hits := func() []*noflyv1.ZoneHit {
		hs := make([]*noflyv1.ZoneHit, r.IntN(4))
		for i := range hs {
			hs[i] = &noflyv1.ZoneHit{Zone: &noflyv1.ZoneSummary{Id: text(), Name: text()}, Legs: []int32{int32(r.IntN(20))}, ClosestApproachM: r.Float64() * 100, Inside: r.IntN(2) == 0}
		}
		return hs
	}
	ts := func() *timestamppb.Timestamp {
		if r.IntN(2) == 0 {
			return nil
		}
		return timestamppb.New(time.Unix(r.Int64N(4e9), r.Int64N(1e9)))
	}
	switch r.IntN(3) {
	case 0:
		return &noflyv1.CheckPositionResponse{Verdict: noflyv1.Verdict(enum()), Conflicts: hits(), Advisories: hits(),
			At: ts(), CheckedAt: ts(), ExemptionsStale: r.IntN(2) == 0, Warnings: []string{text()}}
	case 1:
		return &noflyv1.CheckFlightPlanResponse{Verdict: noflyv1.Verdict(enum()), Conflicts: hits(),
			ClientReference: text(), CheckedAt: ts()}
	}
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_ServingStatus(enum())}
}

// TestCodecV2MatchesV1: on 20,000 recorded answers, whole or damaged
// (truncated, a byte changed, bytes appended), and handed over in one
// buffer or in pieces, the codec reads the same verdict or status, the
// same size, and fails on exactly the answers the codec before it failed
// on; where protobuf decodes an answer, field 1 is protobuf's.
func TestCodecV2MatchesV1(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	var damaged, failed int
	for i := range 20_000 {
		m := randomWireAnswer(r)
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		switch r.IntN(4) {
		case 1:
			if len(b) > 0 {
				b = b[:r.IntN(len(b))]
				damaged++
			}
		case 2:
			if len(b) > 0 {
				b[r.IntN(len(b))] = byte(r.Uint32())
				damaged++
			}
		case 3:
			extra := make([]byte, 1+r.IntN(6))
			for j := range extra {
				extra[j] = byte(r.Uint32())
			}
			b = append(b, extra...)
			damaged++
		}
		var want firstEnum
		wantErr := v1Unmarshal(b, &want)
		var got firstEnum
		data := oneBuffer(b)
		if r.IntN(2) == 0 {
			data = split(b, randomCuts(r, len(b)))
		}
		gotErr := codec{}.Unmarshal(data, &got)
		if (gotErr != nil) != (wantErr != nil) || gotErr == nil && got != want {
			t.Fatalf("answer %d (%x, in %d pieces): read %+v, %v; before %+v, %v", i, b, len(data), got, gotErr, want, wantErr)
		}
		if gotErr != nil {
			failed++
			continue
		}
		whole := m.ProtoReflect().Type().New().Interface()
		if proto.Unmarshal(b, whole) == nil {
			f := whole.ProtoReflect().Descriptor().Fields().ByNumber(1)
			if pv := int32(whole.ProtoReflect().Get(f).Enum()); pv != got.value {
				t.Fatalf("answer %d (%x): read %d, protobuf %d", i, b, got.value, pv)
			}
		}
	}
	// The damaged answers must have exercised both outcomes.
	if failed == 0 || failed == damaged {
		t.Fatalf("%d of %d damaged answers failed: the damage is not testing anything", failed, damaged)
	}
}

// TestCodecV2ReadsStreamAnswersInPieces: a MonitorFlight answer handed
// over in pieces reads as in one buffer.
func TestCodecV2ReadsStreamAnswersInPieces(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for i := range 2_000 {
		m := &noflyv1.MonitorFlightResponse{Reason: noflyv1.MonitorReason(r.IntN(4)), Verdict: noflyv1.Verdict(r.IntN(4)),
			SkippedPositions: r.Int64N(1000), Events: []*noflyv1.FlightEvent{{ZoneId: fmt.Sprint(r.Uint64())}}}
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var whole, pieces streamAnswer
		if err := whole.unmarshal(b); err != nil {
			t.Fatal(err)
		}
		if err := (codec{}).Unmarshal(split(b, randomCuts(r, len(b))), &pieces); err != nil || pieces != whole {
			t.Fatalf("answer %d: in pieces %+v (%v), whole %+v", i, pieces, err, whole)
		}
	}
}

// FuzzCodecV2: any bytes, cut anywhere, read as the codec before it read
// them whole: the same field 1, size and failure.
func FuzzCodecV2(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		b, _ := proto.Marshal(randomWireAnswer(r))
		f.Add(b, uint16(len(b)/2), uint16(len(b)/3))
	}
	f.Fuzz(func(t *testing.T, b []byte, c1, c2 uint16) {
		cuts := []int{int(c1) % (len(b) + 1), int(c2) % (len(b) + 1)}
		if cuts[1] < cuts[0] {
			cuts[0], cuts[1] = cuts[1], cuts[0]
		}
		var want, got firstEnum
		wantErr := v1Unmarshal(b, &want)
		gotErr := codec{}.Unmarshal(split(b, cuts), &got)
		if (gotErr != nil) != (wantErr != nil) || gotErr == nil && got != want {
			t.Fatalf("read %+v, %v; before %+v, %v", got, gotErr, want, wantErr)
		}
	})
}

// BenchmarkCodecUnmarshal: reading a BASIC answer as the transport hands
// it over (one buffer), and as the codec before (copied into one new slice
// first).
func BenchmarkCodecUnmarshal(b *testing.B) {
	resp, err := proto.Marshal(&noflyv1.CheckPositionResponse{Verdict: noflyv1.Verdict_VERDICT_DENIED,
		Conflicts: []*noflyv1.ZoneHit{{Zone: &noflyv1.ZoneSummary{Id: "NL-EHAM-CTR", Name: "Schiphol CTR"}}},
		CheckedAt: timestamppb.Now(), At: timestamppb.Now()})
	if err != nil {
		b.Fatal(err)
	}
	data := oneBuffer(resp)
	var out firstEnum
	b.Run("v2", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := (codec{}).Unmarshal(data, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("v1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := v1Unmarshal(data.Materialize(), &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
