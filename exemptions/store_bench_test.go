package exemptions_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/pgstore"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/exemptions/storetest"
	"github.com/nofly-project/nofly/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// benchStores opens an empty store of each kind. PostgreSQL is the one of
// NOFLY_TEST_POSTGRES, or a throwaway cluster (run with fsync off: compare
// writes against a server configured as in production).
func benchStores(b *testing.B) map[string]func(b *testing.B) exemptions.Store {
	return map[string]func(b *testing.B) exemptions.Store{
		"sqlite": func(b *testing.B) exemptions.Store {
			s, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "nofly.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func(b *testing.B) exemptions.Store {
			s, err := pgstore.Open(context.Background(), pgtest.New(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
	}
}

// BenchmarkStoreCreate is one administrator issuing records one after the
// other: each is durable (and its audit entry appended) when Create
// returns.
// With request ids each write first looks its id up (and stores it): the
// cost of idempotent writes.
func BenchmarkStoreCreate(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		for _, ids := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/request_ids=%v", name, ids), func(b *testing.B) {
				s := benchStores(b)[name](b)
				ctx := context.Background()
				ex := storetest.Record("AMS", "NL-A")
				b.ReportAllocs()
				start := time.Now()
				n := 0
				for b.Loop() {
					var req exemptions.Request
					if ids {
						n++
						req = exemptions.Request{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), Digest: "d"}
					}
					if _, err := s.Create(ctx, req, ex); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
			})
		}
	}
}

// BenchmarkStoreRecordCheck is the audit entry of one EXEMPTED check after
// another, each relying on one record (which the store reads to see that it
// is still in force).
func BenchmarkStoreRecordCheck(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s := benchStores(b)[name](b)
			ctx := context.Background()
			ex, err := s.Create(ctx, exemptions.Request{}, storetest.Record("AMS", "NL-A"))
			if err != nil {
				b.Fatal(err)
			}
			c := exemptions.CheckRecord{At: storetest.T0, Unit: "AMS", Pilot: "P1", ExemptionIDs: []string{ex.ID},
				ZoneIDs: []string{"NL-A"}, Verdict: "EXEMPTED"}
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if _, err := s.RecordCheck(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
		})
	}
}

// BenchmarkStoreCreateParallel is many writers at once (several
// administrators, several replicas): they take turns on the audit chain,
// so the total is what one database sustains.
func BenchmarkStoreCreateParallel(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s := benchStores(b)[name](b)
			ctx := context.Background()
			b.SetParallelism(4) // 4 × GOMAXPROCS writers
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				ex := storetest.Record("AMS", "NL-A")
				for pb.Next() {
					if _, err := s.Create(ctx, exemptions.Request{}, ex); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
		})
	}
}

// BenchmarkCacheRefreshAfterChange is what a replica's cache does when a
// record of 10,000 changed: read the version, the changed record, and
// index a new snapshot.
func BenchmarkCacheRefreshAfterChange(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s := benchStores(b)[name](b)
			ctx := context.Background()
			var ids []string
			for i := range 10_000 {
				ex, err := s.Create(ctx, exemptions.Request{}, storetest.Record(fmt.Sprintf("U-%d", i%100), fmt.Sprintf("Z-%d", i%500)))
				if err != nil {
					b.Fatal(err)
				}
				ids = append(ids, ex.ID)
			}
			c, err := exemptions.NewCache(ctx, s, time.Now)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				b.StopTimer()
				if _, err := s.Revoke(ctx, exemptions.Request{}, ids[i%len(ids)], exemptions.Revocation{By: "b", At: storetest.T0, Reason: "bench"}); err != nil {
					b.Fatal(err)
				}
				i++
				b.StartTimer()
				if err := c.Refresh(ctx); err != nil {
					b.Fatal(err)
				}
			}
			if c.Snapshot().Len != len(ids) {
				b.Fatalf("cache holds %d records", c.Snapshot().Len)
			}
		})
	}
}
