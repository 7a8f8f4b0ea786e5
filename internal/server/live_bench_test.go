package server

import (
	"context"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// The live benchmarks run a stream's positions and a batch without the
// network, on the shared 50,000-zone set (NOFLY_BENCH_DATA), with the
// fleet rules and the general ceiling as noflyd runs them, so that every
// position is answered with its height limit: what nofly itself costs per
// position. The stream is a flight from one of the set's points east at
// 15 m/s, ten positions a second, each answered on its own.

func liveBenchServer(b *testing.B, zones []geo.Zone) *Server {
	b.Helper()
	s, err := New(context.Background(), Config{Load: func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Now: time.Now,
		Fleet: &FleetConfig{Registry: exemptions.RegistryEnforced, Ceiling: exemptions.DefaultCeiling}})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkMonitorPositions(b *testing.B) {
	zones, set := sharedBenchSet(b)
	s := liveBenchServer(b, zones)
	ctx := context.Background()
	m, err := s.startMonitor(ctx, &noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Start{Start: &noflyv1.MonitorFlightStart{
		Flight: &noflyv1.LiveFlight{Purpose: noflyv1.Purpose_PURPOSE_FORENSIC, AltitudeReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}}}})
	if err != nil {
		b.Fatal(err)
	}
	pts := set.Points
	t0 := time.Now().Truncate(time.Minute)
	var one [1]livePosition
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		// A new flight from the next point every 1,000 positions (1.5 km).
		o := pts[(k/1000)%len(pts)]
		step := k % 1000
		one[0] = livePosition{q: geo.PositionQuery{Point: [2]float64{o[0] + float64(step)*1.5/(111_320*math.Cos(o[1]*math.Pi/180)), o[1]},
			Alt: geo.Altitude{Metres: 60, Ref: geo.AGL}, At: t0.Add(time.Duration(k) * 100 * time.Millisecond)}, speed: 15, track: 90}
		resp, err := m.positions(ctx, one[:])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := proto.Marshal(resp); err != nil {
			b.Fatal(err)
		}
		k++
	}
}

func BenchmarkCheckPositionsBatch(b *testing.B) {
	zones, set := sharedBenchSet(b)
	s := liveBenchServer(b, zones)
	ctx := context.Background()
	at := time.Now().Truncate(time.Minute)
	const size = 1000
	var reqs []*noflyv1.CheckPositionsRequest
	for i := 0; i+size <= len(set.Points) && len(reqs) < 20; i += size {
		req := &noflyv1.CheckPositionsRequest{Flight: &noflyv1.LiveFlight{Purpose: noflyv1.Purpose_PURPOSE_FORENSIC,
			AltitudeReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}}
		for _, p := range set.Points[i : i+size] {
			req.Positions = append(req.Positions, telemetry(at, p[1], p[0], 60))
		}
		reqs = append(reqs, req)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		resp, err := s.CheckPositions(ctx, reqs[i%len(reqs)])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := proto.Marshal(resp); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i*size), "ns/position")
}
