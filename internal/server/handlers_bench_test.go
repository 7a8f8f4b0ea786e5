package server

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/data"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/benchdata"
	"github.com/nofly-project/nofly/internal/logline"
)

// The handler benchmarks call the check handlers directly, without the
// network, and marshal each response as gRPC would (the server's codec): what nofly itself costs
// per call. The server logs JSON to io.Discard through noflyd's handler
// (logline), as noflyd logs a line for every check. With NOFLY_BENCH_DATA set they also run on the shared
// 50,000-zone set, cycling through its points and routes (60 m AGL).

// handlerBenchServer serves zones with a JSON log into io.Discard and the
// fleet rules as noflyd keeps them by default (the default policy, the
// general ceiling of 120 m AGL): every answer has its height limit.
func handlerBenchServer(b *testing.B, zones []geo.Zone, now time.Time) *Server {
	return handlerBenchServerWith(b, zones, now, nil)
}

// handlerBenchServerStore is handlerBenchServer with an exemption store
// (SQLite, empty), as noflyd always has: every conflict is then decided
// against the unit's records, of which there are none.
func handlerBenchServerStore(b *testing.B, zones []geo.Zone, now time.Time) *Server {
	store, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "nofly.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	return handlerBenchServerWith(b, zones, now, store)
}

func handlerBenchServerWith(b *testing.B, zones []geo.Zone, now time.Time, store exemptions.Store) *Server {
	b.Helper()
	s, err := New(context.Background(), Config{Load: func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log: slog.New(logline.NewJSON(io.Discard, nil)), Now: func() time.Time { return now },
		Fleet: &FleetConfig{Ceiling: exemptions.DefaultCeiling}, Exemptions: store})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// sharedBenchSet returns the shared set's 50,000 zones and its queries, or
// skips when there is none.
func sharedBenchSet(b *testing.B) ([]geo.Zone, *benchdata.Shared) {
	b.Helper()
	dir, err := benchdata.SharedDir()
	if err != nil {
		b.Skip(err)
	}
	set, err := benchdata.SharedSet(dir)
	if err != nil {
		b.Fatal(err)
	}
	zones, err := geo.ReadFile(set.ZonesPath(50_000))
	if err != nil {
		b.Fatal(err)
	}
	return zones, set
}

// reportCPU starts counting the process's CPU time; the function it
// returns reports it per call as cpu-ns/op, which on a machine shared with
// other work is steadier than the wall clock's ns/op.
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		if end, ok2 := processCPU(); ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func positionReq(lat, lon float64) *noflyv1.CheckPositionRequest {
	return &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: lat, Longitude: lon},
		Altitude: &noflyv1.Altitude{Metres: 60, Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL},
		Operator: &noflyv1.Operator{Unit: "U-07", PilotId: "P1"}, Purpose: noflyv1.Purpose_PURPOSE_FORENSIC}
}

func BenchmarkCheckPositionHandler(b *testing.B) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	run := func(b *testing.B, s *Server, reqs []*noflyv1.CheckPositionRequest) {
		// As NewGRPCServer's method handler (checkedHandler): the answer
		// is left in the call's slot and encoded before (preEncode).
		var slot answerSlot
		ctx := context.WithValue(context.Background(), answerKey{}, &slot)
		codec := newServerCodec()
		b.ReportAllocs()
		defer reportCPU(b)()
		i := 0
		for b.Loop() {
			resp, err := s.CheckPosition(ctx, reqs[i%len(reqs)])
			resp2, err := preEncode(resp, err, slot.a)
			slot.a = nil
			if err != nil {
				b.Fatal(err)
			}
			data, err := codec.Marshal(resp2)
			if err != nil {
				b.Fatal(err)
			}
			data.Free()
			i++
		}
	}
	b.Run("sample/schiphol", func(b *testing.B) {
		zones, err := geo.ReadFS(data.FS)
		if err != nil {
			b.Fatal(err)
		}
		run(b, handlerBenchServer(b, zones, now), []*noflyv1.CheckPositionRequest{positionReq(52.31, 4.76)})
	})
	b.Run("shared50k/points", func(b *testing.B) {
		zones, set := sharedBenchSet(b)
		reqs := make([]*noflyv1.CheckPositionRequest, 0, 4096)
		for _, p := range set.Points[:min(len(set.Points), cap(reqs))] {
			reqs = append(reqs, positionReq(p[1], p[0]))
		}
		run(b, handlerBenchServer(b, zones, now), reqs)
	})
	b.Run("shared50k/points/basic", func(b *testing.B) {
		zones, set := sharedBenchSet(b)
		reqs := make([]*noflyv1.CheckPositionRequest, 0, 4096)
		for _, p := range set.Points[:min(len(set.Points), cap(reqs))] {
			req := positionReq(p[1], p[0])
			req.View = noflyv1.CheckView_CHECK_VIEW_BASIC
			reqs = append(reqs, req)
		}
		run(b, handlerBenchServer(b, zones, now), reqs)
	})
	b.Run("shared50k/store/points/basic", func(b *testing.B) {
		zones, set := sharedBenchSet(b)
		reqs := make([]*noflyv1.CheckPositionRequest, 0, 4096)
		for _, p := range set.Points[:min(len(set.Points), cap(reqs))] {
			req := positionReq(p[1], p[0])
			req.View = noflyv1.CheckView_CHECK_VIEW_BASIC
			reqs = append(reqs, req)
		}
		run(b, handlerBenchServerStore(b, zones, now), reqs)
	})
}

func BenchmarkCheckFlightPlanHandler(b *testing.B) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	zones, set := sharedBenchSet(b)
	var reqs []*noflyv1.CheckFlightPlanRequest
	for _, r := range set.Routes {
		if len(r) < 20 {
			continue
		}
		var wps []*noflyv1.Waypoint
		for _, p := range r[:20] {
			wps = append(wps, wp(p[1], p[0], 60))
		}
		reqs = append(reqs, &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{
			Geometry: route(wps...), BufferM: 50, Purpose: noflyv1.Purpose_PURPOSE_FORENSIC,
			Operator: &noflyv1.Operator{Unit: "U-07"}}})
		if len(reqs) == 1024 {
			break
		}
	}
	s := handlerBenchServer(b, zones, now)
	ctx := context.Background()
	codec := newServerCodec()
	b.ReportAllocs()
	defer reportCPU(b)()
	i := 0
	for b.Loop() {
		resp, err := s.CheckFlightPlan(ctx, reqs[i%len(reqs)])
		if err != nil {
			b.Fatal(err)
		}
		data, err := codec.Marshal(resp)
		if err != nil {
			b.Fatal(err)
		}
		data.Free()
		i++
	}
}
