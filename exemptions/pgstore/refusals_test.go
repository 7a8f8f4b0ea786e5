package pgstore_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/internal/pgtest"
)

// TestPostgresReplicasRefusalsRace: two replicas on one database add
// refusal counts, seal ended days and read the unsealed counts at once.
// Every read sees each count once, in the log up to its head or among the
// unsealed, never both; in the end the log holds every count, and the log
// verifies.
func TestPostgresReplicasRefusalsRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.New(t)
	a, b := openPostgresURL(t, url), openPostgresURL(t, url)
	defer a.Close()
	defer b.Close()
	stores := []exemptions.Store{a, b}
	days := []string{"2026-03-01", "2026-03-02", "2026-03-03"}
	var (
		done, started atomic.Int64 // counts added, and being added
		stop          atomic.Bool
		wg            sync.WaitGroup
	)
	for w := range 4 {
		s := stores[w%2].(exemptions.RefusalStore)
		wg.Go(func() {
			for i := range 60 {
				c := exemptions.RefusalCount{Day: days[i%len(days)], Unit: []string{"AMS", "RTM"}[(i/3)%2],
					Kind: exemptions.RefusedAirspace, Count: int64(1 + w)}
				started.Add(c.Count)
				if err := s.AddRefusals(ctx, []exemptions.RefusalCount{c}); err != nil {
					t.Error(err)
					return
				}
				done.Add(c.Count)
			}
		})
	}
	sealed := func(s exemptions.Store, head int64) int64 {
		es, _, err := s.Audit(ctx, exemptions.AuditFilter{Action: exemptions.ActionRefusals})
		if err != nil {
			t.Error(err)
			return 0
		}
		var n int64
		for _, e := range es {
			if e.Seq > head {
				continue
			}
			var seal exemptions.RefusalSeal
			if err := json.Unmarshal(e.Detail, &seal); err != nil {
				t.Error(err)
			}
			for _, c := range seal.Counts {
				n += c.Count
			}
		}
		return n
	}
	for r := range 2 {
		s := stores[r]
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				before := days[i%len(days)]
				if _, _, err := s.(exemptions.RefusalStore).SealRefusals(ctx, before, "noflyd", time.Now()); err != nil {
					t.Error(err)
					return
				}
				lo := done.Load()
				unsealed, head, err := s.(exemptions.RefusalStore).UnsealedRefusals(ctx, "2026-01-01", "2027-01-01")
				hi := started.Load()
				if err != nil {
					t.Error(err)
					return
				}
				n := sealed(s, head)
				for _, c := range unsealed {
					n += c.Count
				}
				if n < lo || n > hi {
					t.Errorf("at head %d: %d counted (log and unsealed), want %d to %d", head, n, lo, hi)
					return
				}
			}
		})
	}
	for done.Load() < 60*(1+2+3+4) { // every adder has finished
		time.Sleep(10 * time.Millisecond)
		if t.Failed() {
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	if _, _, err := a.SealRefusals(ctx, "2027-01-01", "noflyd", time.Now()); err != nil {
		t.Fatal(err)
	}
	if n, want := sealed(a, 1<<62), done.Load(); n != want {
		t.Errorf("the log sealed %d, %d were added", n, want)
	}
	if v, err := b.VerifyAudit(ctx); err != nil || !v.OK() {
		t.Errorf("verify: %v %v", v.Problems, err)
	}
}

// TestPostgresSealLeavesMalformedCounters: a counter noflyd would not keep
// (written beside it) is not sealed into the append-only log: it stays
// unsealed, and verify reports it.
func TestPostgresSealLeavesMalformedCounters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.New(t)
	s := openPostgresURL(t, url)
	defer s.Close()
	if err := s.AddRefusals(ctx, []exemptions.RefusalCount{{Day: "2026-03-01", Unit: "AMS", Kind: exemptions.RefusedAirspace, Count: 3}}); err != nil {
		t.Fatal(err)
	}
	if _, err := rawPG(t, url).Exec(ctx, "INSERT INTO refusals VALUES ('2025', 'AMS', '', 'airspace', false, 2, 0)"); err != nil {
		t.Fatal(err)
	}
	e, sealed, err := s.SealRefusals(ctx, "2026-03-02", "noflyd", time.Date(2026, 3, 2, 0, 0, 5, 0, time.UTC))
	if err != nil || !sealed {
		t.Fatalf("seal: %v %v", sealed, err)
	}
	var seal exemptions.RefusalSeal
	if err := json.Unmarshal(e.Detail, &seal); err != nil || len(seal.Counts) != 1 || seal.Counts[0].Day != "2026-03-01" {
		t.Errorf("sealed %s (%v), want the one counter of 2026-03-01", e.Detail, err)
	}
	v, err := s.VerifyAudit(ctx)
	if err != nil || len(v.Problems) != 1 || !strings.Contains(v.Problems[0], `refusal counter "2025"`) {
		t.Errorf("verify: %q %v", v.Problems, err)
	}
}
