package loadbench

import (
	"context"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// oldVerdictCounts is the reference: how the tool counted verdicts before
// they were counted by number, here on a full protobuf decode of each
// answer (the name of the verdict, without its VERDICT_ prefix, as a map
// key).
func oldVerdictCounts(t *testing.T, answers [][]byte) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for _, b := range answers {
		var resp noflyv1.CheckPositionResponse
		if err := proto.Unmarshal(b, &resp); err != nil {
			t.Fatal(err)
		}
		m[strings.TrimPrefix(resp.GetVerdict().String(), "VERDICT_")]++
	}
	return m
}

// randomAnswer is a CheckPositionResponse with any verdict (numbers no
// verdict has too), any of the other fields, the verdict anywhere in the
// bytes or twice (the last one wins).
func randomAnswer(rng *rand.Rand) []byte {
	verdicts := []int32{0, 1, 2, 3, 4, 7, 99, 1 << 20, -1, -5}
	resp := &noflyv1.CheckPositionResponse{Verdict: noflyv1.Verdict(verdicts[rng.IntN(len(verdicts))])}
	if rng.IntN(2) == 0 {
		resp.CheckedAt = timestamppb.New(time.Unix(rng.Int64N(4e9), 0))
	}
	for range rng.IntN(4) {
		resp.Conflicts = append(resp.Conflicts, &noflyv1.ZoneHit{Zone: &noflyv1.ZoneSummary{
			Id: strings.Repeat("Z", 1+rng.IntN(30)), Name: strings.Repeat("n", rng.IntN(300))}})
	}
	if rng.IntN(3) == 0 {
		resp.HeightLimit = &noflyv1.HeightLimit{Metres: rng.Float64() * 120, LimitedBy: "zone"}
	}
	b, err := proto.Marshal(resp)
	if err != nil {
		panic(err)
	}
	switch rng.IntN(4) {
	case 0: // the verdict after the rest
		rest := proto.Clone(resp).(*noflyv1.CheckPositionResponse)
		rest.Verdict = 0
		b, _ = proto.Marshal(rest)
		b = protowire.AppendVarint(protowire.AppendTag(b, 1, protowire.VarintType), uint64(int64(resp.Verdict)))
	case 1: // twice: an earlier one, then the real one
		early := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), uint64(rng.IntN(4)))
		b = append(early, b...)
		if resp.Verdict != 0 {
			break
		}
		// Zero is not encoded: say it again so that it wins.
		b = protowire.AppendVarint(protowire.AppendTag(b, 1, protowire.VarintType), 0)
	}
	return b
}

// TestVerdictCountMatchesOld: on 20,000 random answers, the verdicts
// counted by number (the answer's first field read alone, counted in an
// array, named once at the end) are the counts the tool gave when it named
// each answer's verdict from a full decode.
func TestVerdictCountMatchesOld(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 20 {
		answers := make([][]byte, 1+rng.IntN(2000))
		for i := range answers {
			answers[i] = randomAnswer(rng)
		}
		want := oldVerdictCounts(t, answers)
		// Several workers each counting a share, merged as Run merges.
		workers := make([]*worker, 1+rng.IntN(8))
		for i := range workers {
			workers[i] = &worker{hist: newHist(), codes: map[codes.Code]int64{}}
		}
		for i, b := range answers {
			var fe firstEnum
			if err := fe.unmarshal(b); err != nil {
				t.Fatalf("round %d answer %d: %v", round, i, err)
			}
			workers[i%len(workers)].tally(time.Millisecond, int64(fe.value), nil)
		}
		got := map[string]int64{}
		var ok int64
		for _, wk := range workers {
			wk.verdicts.addTo(got)
			ok += wk.ok
		}
		if !maps.Equal(got, want) || ok != int64(len(answers)) {
			t.Fatalf("round %d: counted %v (%d OK), the old way %v (%d answers)", round, got, ok, want, len(answers))
		}
	}
}

// TestCallerMatchesFullDecode: against a real server on loopback, the
// verdict each position's call counts (BASIC and FULL view) is the verdict
// a generated client decodes in full from the same request; failed calls
// count no verdict; the health check says SERVING.
func TestCallerMatchesFullDecode(t *testing.T) {
	addr := serveZones(t, `{"type":"FeatureCollection","features":[
	  {"type":"Feature","properties":{"id":"T-P","restriction":"PROHIBITED","lower_m":0,"lower_ref":"AGL","upper_m":120,"upper_ref":"AGL","radius_m":500},
	   "geometry":{"type":"Point","coordinates":[4.5,52.0]}},
	  {"type":"Feature","properties":{"id":"T-H","restriction":"PROHIBITED","lower_m":100,"lower_ref":"AGL","upper_m":300,"upper_ref":"AGL","radius_m":800},
	   "geometry":{"type":"Point","coordinates":[4.6,52.1]}},
	  {"type":"Feature","properties":{"id":"T-C","restriction":"CONDITIONAL","lower_m":0,"lower_ref":"AGL","upper_m":120,"upper_ref":"AGL","radius_m":2000},
	   "geometry":{"type":"Point","coordinates":[4.7,52.2]}}]}`)
	ctx := context.Background()

	tool, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(fast))
	if err != nil {
		t.Fatal(err)
	}
	defer tool.Close()
	plain, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	client := noflyv1.NewGeofenceServiceClient(plain)

	rng := rand.New(rand.NewPCG(3, 5))
	var points []orb.Point
	for range 300 {
		points = append(points, orb.Point{4.45 + 0.3*rng.Float64(), 51.95 + 0.3*rng.Float64()})
	}
	seen := map[noflyv1.Verdict]int{}
	for _, mode := range []string{ModePosition, ModeBasic} {
		for _, alt := range []float64{50, 110} {
			c := Config{Mode: mode, Points: points, AltM: alt}
			call := c.requests().caller(tool)
			for i, p := range points {
				got, err := call(ctx, i)
				if err != nil {
					t.Fatalf("%s point %d: %v", mode, i, err)
				}
				req := &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: p[1], Longitude: p[0]},
					Altitude: &noflyv1.Altitude{Metres: alt, Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL},
					Purpose:  noflyv1.Purpose_PURPOSE_FORENSIC}
				if mode == ModeBasic {
					req.View = noflyv1.CheckView_CHECK_VIEW_BASIC
				}
				want, err := client.CheckPosition(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if got != int64(want.GetVerdict()) {
					t.Fatalf("%s point %d at %v m: the tool counts %d, a full decode says %v", mode, i, alt, got, want.GetVerdict())
				}
				seen[want.GetVerdict()]++
			}
		}
	}
	if seen[noflyv1.Verdict_VERDICT_CLEAR] == 0 || seen[noflyv1.Verdict_VERDICT_DENIED] == 0 {
		t.Errorf("verdicts %v: want both CLEAR and DENIED among the answers", seen)
	}

	health := (&Config{Mode: ModeHealth}).requests().caller(tool)
	if v, err := health(ctx, 0); err != nil || v != noVerdict {
		t.Errorf("health: %d, %v; want no verdict, no error", v, err)
	}
	// A failed call: its verdict is not counted.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	call := (&Config{Mode: ModeBasic, Points: points, AltM: 50}).requests().caller(tool)
	_, err = call(cctx, 0)
	wk := &worker{hist: newHist(), codes: map[codes.Code]int64{}}
	wk.tally(time.Millisecond, int64(noflyv1.Verdict_VERDICT_DENIED), err)
	if err == nil || wk.fail != 1 || wk.ok != 0 {
		t.Fatalf("cancelled call: err %v, %d failed, %d OK", err, wk.fail, wk.ok)
	}
	got := map[string]int64{}
	wk.verdicts.addTo(got)
	if len(got) != 0 {
		t.Errorf("a failed call counted verdicts %v", got)
	}
}

// TestMeasureCPUScalesALateRead: CPU time read over a span shorter than
// the run (the first read late) is scaled to the run's duration; a span
// short of half the duration measures nothing.
func TestMeasureCPUScalesALateRead(t *testing.T) {
	t0 := time.Now()
	c := Config{ServerCPU: func() (time.Duration, error) { return time.Since(t0), nil }} // a server busy all the time
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		late, rest time.Duration // the first read's lateness, the time left until end
		want       time.Duration // zero: not measured
	}{
		{"on time", 0, 300 * time.Millisecond, 300 * time.Millisecond},
		{"late by a third", 200 * time.Millisecond, 400 * time.Millisecond, 600 * time.Millisecond},
		{"late by most", 600 * time.Millisecond, 200 * time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now().Add(-tc.late)
			end := time.Now().Add(tc.rest)
			got := c.measureCPU(ctx, start, end)[0]
			if tc.want == 0 {
				if got != 0 {
					t.Errorf("server CPU %v, want none measured", got)
				}
				return
			}
			if got < tc.want*9/10 || got > tc.want*12/10 {
				t.Errorf("server CPU %v over a run of %v, want about %v", got, end.Sub(start), tc.want)
			}
		})
	}
}
