package server

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/paulmach/orb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/data"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// memStore is a Store that only holds records in memory, for benchmarks of
// the checks: they read the cache and must not wait for a disk.
type memStore struct {
	exemptions.Store // nil: only the methods below are called
	records          []exemptions.Exemption
}

func (m *memStore) All(context.Context) ([]exemptions.Exemption, int64, error) {
	return m.records, 1, nil
}
func (m *memStore) Changed(context.Context, int64) ([]exemptions.Exemption, int64, error) {
	return m.records, 1, nil
}
func (m *memStore) Version(context.Context) (int64, error) { return 1, nil }
func (m *memStore) RecordCheck(context.Context, exemptions.CheckRecord) (exemptions.AuditEvent, error) {
	return exemptions.AuditEvent{}, nil
}

// benchRecords makes n records: units U-0 … U-99 hold n/100 each, spread
// over the sample zones; every 50th also has a selector (all AIR_TRAFFIC
// zones in NLD). The benchmark's unit U-7 holds its share like any other.
func benchRecords(n int, zones []geo.Zone, from time.Time) []exemptions.Exemption {
	out := make([]exemptions.Exemption, n)
	for i := range out {
		ex := exemptions.Exemption{
			ID:        fmt.Sprintf("EX-%06d", i+1),
			Holder:    exemptions.Holder{Unit: fmt.Sprintf("U-%d", i%100), Pilots: []string{"P1", "P2"}},
			ZoneIDs:   []string{zones[i%len(zones)].ID, zones[(i*7)%len(zones)].ID},
			ValidFrom: from, ValidUntil: from.Add(time.Duration(1+i%48) * time.Hour),
			Ceiling:    exemptions.Ceiling{Metres: float64(30 + i%100), Ref: geo.AGL},
			Purposes:   []exemptions.Purpose{exemptions.PurposeForensic},
			LegalBasis: "ILT/BENCH", IssuedBy: "bench", IssuedAt: from,
		}
		if i%50 == 0 {
			ex.Selector = exemptions.Selector{Country: "NLD", Reasons: []string{"AIR_TRAFFIC"}}
		}
		if i%3 == 0 {
			ex.Revocation = &exemptions.Revocation{By: "bench", At: from, Reason: "bench"}
		}
		out[i] = ex
	}
	return out
}

// BenchmarkCheckPositionExemptions compares a check at Schiphol (sample
// zones) without an exemption store, and with an empty one (which adds the
// "no exemption" explanation to the response), with the same check against
// 10,000 records: for a unit without records (same answer as the empty
// store), for a flight that one record covers (EXEMPTED), and for one that
// none of its unit's records covers (DENIED, each candidate explained).
func BenchmarkCheckPositionExemptions(b *testing.B) {
	zones, err := geo.ReadFS(data.FS)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	records := benchRecords(10_000, zones, now.Add(-time.Hour))
	// The flight's unit holds one record that covers the check.
	records = append(records, exemptions.Exemption{ID: "EX-999999", Holder: exemptions.Holder{Unit: "U-7"},
		ZoneIDs: []string{"NL-EHAM-CTR"}, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour),
		Ceiling: exemptions.Ceiling{Metres: 120, Ref: geo.AGL}, LegalBasis: "ILT/BENCH", IssuedBy: "bench", IssuedAt: now})
	newServer := func(store exemptions.Store) *Server {
		cfg := Config{Load: func(context.Context) ([]geo.Zone, error) { return zones, nil },
			Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
		if store != nil {
			cfg.Exemptions = store
		}
		s, err := New(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	req := func(unit string, altM float64) *noflyv1.CheckPositionRequest {
		p := orb.Point{4.76, 52.31}
		return &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: p[1], Longitude: p[0]},
			Altitude: &noflyv1.Altitude{Metres: altM, Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL},
			Operator: &noflyv1.Operator{Unit: unit, PilotId: "P1"}, Purpose: noflyv1.Purpose_PURPOSE_FORENSIC}
	}
	for _, bc := range []struct {
		name    string
		store   exemptions.Store
		req     *noflyv1.CheckPositionRequest
		verdict noflyv1.Verdict
	}{
		{"none", nil, req("U-7", 50), noflyv1.Verdict_VERDICT_DENIED},
		{"0/unit-without-records", &memStore{}, req("U-7", 50), noflyv1.Verdict_VERDICT_DENIED},
		{"10k/exempted", &memStore{records: records}, req("U-7", 50), noflyv1.Verdict_VERDICT_EXEMPTED},
		{"10k/denied-with-reasons", &memStore{records: records}, req("U-7", 150), noflyv1.Verdict_VERDICT_DENIED},
		{"10k/unit-without-records", &memStore{records: records}, req("U-X", 50), noflyv1.Verdict_VERDICT_DENIED},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newServer(bc.store)
			ctx := context.Background()
			resp, err := s.CheckPosition(ctx, bc.req)
			if err != nil || resp.GetVerdict() != bc.verdict {
				b.Fatalf("verdict %v (%v), want %v", resp.GetVerdict(), err, bc.verdict)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.CheckPosition(ctx, bc.req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
