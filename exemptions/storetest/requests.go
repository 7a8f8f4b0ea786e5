package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nofly-project/nofly/exemptions"
)

// counts returns how many records and audit entries s holds, and its
// version.
func counts(t *testing.T, s exemptions.Store) (records, entries int, version int64) {
	t.Helper()
	ctx := context.Background()
	all, v, err := s.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok := ""
	for {
		page, next, err := s.Audit(ctx, exemptions.AuditFilter{PageSize: exemptions.MaxPageSize, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		entries += len(page)
		if tok = next; tok == "" {
			return len(all), entries, v
		}
	}
}

// testIdempotentWrites: a write retried under its request id writes
// nothing and returns the first answer, whatever happened to the record
// since; another write under a used id is refused.
func testIdempotentWrites(t *testing.T, s exemptions.Store) {
	ctx := context.Background()
	same := func(t *testing.T, what string, first, again exemptions.Exemption, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s retried: %v", what, err)
		}
		if d := cmp.Diff(first, again); d != "" {
			t.Errorf("%s retried answered otherwise (-first +retry):\n%s", what, d)
		}
	}
	unchanged := func(t *testing.T, what string, records, entries int, version int64) {
		t.Helper()
		r, e, v := counts(t, s)
		if r != records || e != entries || v != version {
			t.Errorf("%s retried: %d records, %d audit entries, version %d; want %d, %d, %d (nothing written)",
				what, r, e, v, records, entries, version)
		}
	}

	create := exemptions.Request{ID: "00000000-0000-4000-8000-000000000001", Digest: "create-a"}
	a, err := s.Create(ctx, create, Record("AMS", "NL-A"))
	if err != nil {
		t.Fatal(err)
	}
	r, e, v := counts(t, s)
	if r != 1 || e != 1 {
		t.Fatalf("after one create: %d records, %d entries", r, e)
	}
	// The retry carries a later server stamp: the first answer wins.
	retry := Record("AMS", "NL-A")
	retry.IssuedAt = T0.Add(time.Minute)
	again, err := s.Create(ctx, create, retry)
	same(t, "create", a, again, err)
	unchanged(t, "create", r, e, v)

	page, _, err := s.Audit(ctx, exemptions.AuditFilter{})
	if err != nil || len(page) != 1 || page[0].RequestID != create.ID || page[0].RequestDigest != create.Digest {
		t.Errorf("the create's audit entry: %+v, %v; want request %+v in it", page, err, create)
	}

	for _, tc := range []struct {
		name  string
		write func() error
	}{
		{"create with other content", func() error {
			_, err := s.Create(ctx, exemptions.Request{ID: create.ID, Digest: "create-b"}, Record("RTM", "NL-A"))
			return err
		}},
		{"revoke under a create's id", func() error {
			_, err := s.Revoke(ctx, exemptions.Request{ID: create.ID, Digest: create.Digest}, a.ID,
				exemptions.Revocation{By: "chief", At: T0, Reason: "r"})
			return err
		}},
		{"supersede under a create's id", func() error {
			_, err := s.Supersede(ctx, exemptions.Request{ID: create.ID, Digest: create.Digest}, a.ID, Record("AMS", "NL-A"))
			return err
		}},
	} {
		err := tc.write()
		if !errors.Is(err, exemptions.ErrRequestReused) {
			t.Errorf("%s: %v, want ErrRequestReused", tc.name, err)
		}
		unchanged(t, tc.name, r, e, v)
	}

	sup := exemptions.Request{ID: "00000000-0000-4000-8000-000000000002", Digest: "supersede"}
	repl := Record("AMS", "NL-A")
	repl.Ceiling.Metres = 60
	b, err := s.Supersede(ctx, sup, a.ID, repl)
	if err != nil {
		t.Fatal(err)
	}
	r, e, v = counts(t, s)
	// The record it replaced is superseded now: a retry is still answered.
	again, err = s.Supersede(ctx, sup, a.ID, repl)
	same(t, "supersede", b, again, err)
	unchanged(t, "supersede", r, e, v)

	rev := exemptions.Request{ID: "00000000-0000-4000-8000-000000000003", Digest: "revoke"}
	revoked, err := s.Revoke(ctx, rev, b.ID, exemptions.Revocation{By: "chief", At: T0.Add(time.Hour), Reason: "done"})
	if err != nil {
		t.Fatal(err)
	}
	r, e, v = counts(t, s)
	again, err = s.Revoke(ctx, rev, b.ID, exemptions.Revocation{By: "chief", At: T0.Add(2 * time.Hour), Reason: "done"})
	same(t, "revoke", revoked, again, err)
	unchanged(t, "revoke", r, e, v)

	// The first answers stay the first answers: the create's record was
	// superseded and its replacement revoked since.
	again, err = s.Create(ctx, create, Record("AMS", "NL-A"))
	same(t, "create, after its record was superseded", a, again, err)
	again, err = s.Supersede(ctx, sup, a.ID, repl)
	same(t, "supersede, after its record was revoked", b, again, err)
	unchanged(t, "the first writes", r, e, v)

	// Without a request id every write is a new one.
	mustCreate(t, s, Record("AMS", "NL-A"))
	mustCreate(t, s, Record("AMS", "NL-A"))
	if r2, _, _ := counts(t, s); r2 != r+2 {
		t.Errorf("two creates without a request id made %d records, want 2", r2-r)
	}
}

// RaceRetries sends the same create under one request id from racers
// goroutines at once, spread over stores (replicas of one database), as a
// client retrying while its first attempt is still running would: one
// record, one audit entry, and every answer names it.
func RaceRetries(t *testing.T, stores []exemptions.Store, racers int) {
	ctx := context.Background()
	req := exemptions.Request{ID: "00000000-0000-4000-8000-0000000000aa", Digest: "race"}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got = map[string]int{}
	)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ex, err := stores[i%len(stores)].Create(ctx, req, Record("AMS", "NL-A"))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				got[fmt.Sprintf("error: %v", err)]++
				return
			}
			got[ex.ID]++
		}()
	}
	wg.Wait()
	if len(got) != 1 {
		t.Errorf("%d racing retries answered %v, want one record for all", racers, got)
	}
	if r, e, _ := counts(t, stores[0]); r != 1 || e != 1 {
		t.Errorf("%d racing retries left %d records and %d audit entries, want 1 and 1", racers, r, e)
	}
}
