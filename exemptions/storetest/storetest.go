// Package storetest is the behaviour suite every exemptions.Store must
// pass. An implementation's test calls Run with a function that opens an
// empty store.
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
	"github.com/nofly-project/nofly/geo"
)

// T0 is the instant the suite's records are issued.
var T0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// Record returns a valid record of unit for zones, issued at T0 and valid
// for 8 hours from T0.
func Record(unit string, zones ...string) exemptions.Exemption {
	return exemptions.Exemption{
		Holder:     exemptions.Holder{Unit: unit, Pilots: []string{"P1"}},
		ZoneIDs:    zones,
		ValidFrom:  T0,
		ValidUntil: T0.Add(8 * time.Hour),
		Ceiling:    exemptions.Ceiling{Metres: 120, Ref: geo.AGL},
		Purposes:   []exemptions.Purpose{exemptions.PurposeForensic},
		Conditions: "call the tower 10 minutes before take-off",
		LegalBasis: "ILT/2026/0042",
		IssuedBy:   "admin-1",
		IssuedAt:   T0,
	}
}

// Run runs the suite. open returns a new, empty store; Run closes it.
func Run(t *testing.T, open func(t *testing.T) exemptions.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s exemptions.Store)
	}{
		{"CreateGet", testCreateGet},
		{"GetUnknown", testGetUnknown},
		{"Supersede", testSupersede},
		{"Revoke", testRevoke},
		{"List", testList},
		{"Paging", testPaging},
		{"AuditChain", testAuditChain},
		{"ConcurrentWrites", testConcurrentWrites},
		{"ConcurrentRevokes", testConcurrentRevokes},
		{"CheckNotInForce", testCheckNotInForce},
		{"ChecksRaceRevokes", func(t *testing.T, s exemptions.Store) { RaceChecks(t, []exemptions.Store{s}, 8) }},
		{"IdempotentWrites", testIdempotentWrites},
		{"AuditPagesByBytes", testAuditPagesByBytes},
		{"AuditEntries", testAuditEntries},
		{"RetriesRace", func(t *testing.T, s exemptions.Store) { RaceRetries(t, []exemptions.Store{s}, 8) }},
		{"Authorisations", testAuthorisations},
		{"Drones", testDrones},
		{"Refusals", testRefusals},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each on a store of its own
			s := open(t)
			defer s.Close()
			tc.fn(t, s)
		})
	}
}

func mustCreate(t *testing.T, s exemptions.Store, ex exemptions.Exemption) exemptions.Exemption {
	t.Helper()
	got, err := s.Create(context.Background(), exemptions.Request{}, ex)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return got
}

func testCreateGet(t *testing.T, s exemptions.Store) {
	ctx := context.Background()
	in := Record("AMS", "NL-B", "NL-A")
	in.Area = &geo.Shape{Kind: geo.ShapeCircle, Radius: 500}
	in.Area.Center[0], in.Area.Center[1] = 4.76, 52.31
	in.Selector = exemptions.Selector{Country: "NLD", Restrictions: []geo.Restriction{geo.Prohibited}}
	got := mustCreate(t, s, in)
	if got.ID == "" {
		t.Fatal("no id")
	}
	want := in
	want.ID, want.ZoneIDs = got.ID, []string{"NL-A", "NL-B"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Create returned (-want +got):\n%s", d)
	}
	back, err := s.Get(ctx, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(got, back); d != "" {
		t.Errorf("Get (-created +got):\n%s", d)
	}
	second := mustCreate(t, s, Record("AMS", "NL-A"))
	if second.ID == got.ID {
		t.Errorf("two records with id %s", got.ID)
	}
}

func testGetUnknown(t *testing.T, s exemptions.Store) {
	if _, err := s.Get(context.Background(), "EX-999999"); !errors.Is(err, exemptions.ErrNotFound) {
		t.Fatalf("Get unknown: %v, want ErrNotFound", err)
	}
	_, err := s.Revoke(context.Background(), exemptions.Request{}, "EX-999999", exemptions.Revocation{By: "a", At: T0, Reason: "r"})
	if !errors.Is(err, exemptions.ErrNotFound) {
		t.Fatalf("Revoke unknown: %v, want ErrNotFound", err)
	}
}

func testSupersede(t *testing.T, s exemptions.Store) {
	ctx := context.Background()
	old := mustCreate(t, s, Record("AMS", "NL-A"))
	repl := Record("AMS", "NL-A")
	repl.Ceiling.Metres = 60
	repl.IssuedAt = T0.Add(time.Hour)
	nw, err := s.Supersede(ctx, exemptions.Request{}, old.ID, repl)
	if err != nil {
		t.Fatal(err)
	}
	if nw.Supersedes != old.ID || nw.ID == old.ID || nw.Ceiling.Metres != 60 {
		t.Errorf("new record %+v", nw)
	}
	o, _ := s.Get(ctx, old.ID)
	if o.SupersededBy != nw.ID {
		t.Errorf("old record superseded by %q, want %s", o.SupersededBy, nw.ID)
	}
	if _, err := s.Supersede(ctx, exemptions.Request{}, old.ID, repl); !errors.Is(err, exemptions.ErrSuperseded) {
		t.Errorf("superseding twice: %v, want ErrSuperseded", err)
	}
	if _, err := s.Revoke(ctx, exemptions.Request{}, old.ID, exemptions.Revocation{By: "a", At: T0, Reason: "r"}); !errors.Is(err, exemptions.ErrSuperseded) {
		t.Errorf("revoking a superseded record: %v, want ErrSuperseded", err)
	}
}

func testRevoke(t *testing.T, s exemptions.Store) {
	ctx := context.Background()
	ex := mustCreate(t, s, Record("AMS", "NL-A"))
	v0, _ := s.Version(ctx)
	rev := exemptions.Revocation{By: "chief", At: T0.Add(2 * time.Hour), Reason: "mission cancelled"}
	got, err := s.Revoke(ctx, exemptions.Request{}, ex.ID, rev)
	if err != nil {
		t.Fatal(err)
	}
	if got.Revocation == nil || *got.Revocation != rev {
		t.Errorf("revocation %+v, want %+v", got.Revocation, rev)
	}
	v1, _ := s.Version(ctx)
	if v1 == v0 {
		t.Error("version did not change")
	}
	changed, v2, err := s.Changed(ctx, v0)
	if err != nil || v2 != v1 || len(changed) != 1 || changed[0].ID != ex.ID || changed[0].Revocation == nil {
		t.Errorf("Changed since the revocation's version: %+v, version %d (want %d), %v", changed, v2, v1, err)
	}
	if changed, _, _ := s.Changed(ctx, v1); len(changed) != 0 {
		t.Errorf("Changed since the current version: %+v", changed)
	}
	back, _ := s.Get(ctx, ex.ID)
	if d := cmp.Diff(got, back); d != "" {
		t.Errorf("Get after revoke (-revoked +got):\n%s", d)
	}
	_, err = s.Revoke(ctx, exemptions.Request{}, ex.ID, rev)
	if !errors.Is(err, exemptions.ErrRevoked) || !exemptions.IsFailedPrecondition(err) {
		t.Errorf("revoking twice: %v, want ErrRevoked", err)
	}
	if _, err := s.Supersede(ctx, exemptions.Request{}, ex.ID, Record("AMS", "NL-A")); !errors.Is(err, exemptions.ErrRevoked) {
		t.Errorf("superseding a revoked record: %v, want ErrRevoked", err)
	}
}

func ids(exs []exemptions.Exemption) []string {
	out := []string{}
	for _, e := range exs {
		out = append(out, e.ID)
	}
	return out
}

func testList(t *testing.T, s exemptions.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, Record("AMS", "NL-A"))
	b := mustCreate(t, s, Record("AMS", "NL-B"))
	later := Record("RTM", "NL-A")
	later.ValidFrom, later.ValidUntil = T0.Add(24*time.Hour), T0.Add(30*time.Hour)
	c := mustCreate(t, s, later)
	d := mustCreate(t, s, Record("AMS", "NL-A"))
	if _, err := s.Revoke(ctx, exemptions.Request{}, d.ID, exemptions.Revocation{By: "x", At: T0.Add(time.Hour), Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    exemptions.ListFilter
		want []string
	}{
		{"all in force", exemptions.ListFilter{}, []string{a.ID, b.ID, c.ID}},
		{"with revoked", exemptions.ListFilter{IncludeRevoked: true}, []string{a.ID, b.ID, c.ID, d.ID}},
		{"unit", exemptions.ListFilter{Unit: "AMS"}, []string{a.ID, b.ID}},
		{"zone", exemptions.ListFilter{ZoneID: "NL-A", IncludeRevoked: true}, []string{a.ID, c.ID, d.ID}},
		{"active at T0", exemptions.ListFilter{ActiveAt: T0, IncludeRevoked: true}, []string{a.ID, b.ID, d.ID}},
		{"active after the revocation", exemptions.ListFilter{ActiveAt: T0.Add(2 * time.Hour), IncludeRevoked: true}, []string{a.ID, b.ID}},
		{"active at the last instant", exemptions.ListFilter{ActiveAt: T0.Add(8 * time.Hour)}, []string{a.ID, b.ID}},
		{"active the next day", exemptions.ListFilter{ActiveAt: T0.Add(25 * time.Hour)}, []string{c.ID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, next, err := s.List(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if next != "" {
				t.Errorf("next page token %q on a short list", next)
			}
			if d := cmp.Diff(tc.want, ids(got)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func testPaging(t *testing.T, s exemptions.Store) {
	ctx := context.Background()
	var want []string
	for i := range 7 {
		want = append(want, mustCreate(t, s, Record("AMS", fmt.Sprintf("NL-%d", i))).ID)
	}
	var got []string
	tok := ""
	for pages := 0; ; pages++ {
		page, next, err := s.List(ctx, exemptions.ListFilter{PageSize: 3, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(page)...)
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		tok = next
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if _, _, err := s.List(ctx, exemptions.ListFilter{PageToken: "garbage"}); err == nil {
		t.Error("a made-up page token was accepted")
	}
	events, next, err := s.Audit(ctx, exemptions.AuditFilter{PageSize: 5})
	if err != nil || len(events) != 5 || next == "" {
		t.Fatalf("audit page: %d events, next %q, %v", len(events), next, err)
	}
	rest, next, err := s.Audit(ctx, exemptions.AuditFilter{PageSize: 5, PageToken: next})
	if err != nil || len(rest) != 2 || next != "" || rest[0].Seq != events[4].Seq+1 {
		t.Fatalf("second audit page: %+v, next %q, %v", rest, next, err)
	}
}

func testAuditChain(t *testing.T, s exemptions.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, Record("AMS", "NL-A"))
	b, err := s.Supersede(ctx, exemptions.Request{}, a.ID, Record("AMS", "NL-A"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(ctx, exemptions.Request{}, b.ID, exemptions.Revocation{By: "chief", At: T0.Add(time.Hour), Reason: "done"}); err != nil {
		t.Fatal(err)
	}
	c := mustCreate(t, s, Record("RTM", "NL-B"))
	chk, err := s.RecordCheck(ctx, exemptions.CheckRecord{At: T0.Add(2 * time.Hour), Unit: "RTM", Pilot: "P1",
		Purpose: exemptions.PurposeForensic, ClientReference: "M-7", ExemptionIDs: []string{c.ID}, ZoneIDs: []string{"NL-B"}, Verdict: "EXEMPTED"})
	if err != nil {
		t.Fatal(err)
	}
	if chk.Hash == "" || chk.PrevHash == "" {
		t.Errorf("check entry not chained: %+v", chk)
	}
	// An authenticated caller is the actor, whatever the unit and pilot.
	chk, err = s.RecordCheck(ctx, exemptions.CheckRecord{At: T0.Add(3 * time.Hour), Actor: "CN=pilot 1,O=Politie",
		Unit: "RTM", Pilot: "P1", ExemptionIDs: []string{c.ID}, ZoneIDs: []string{"NL-B"}, Verdict: "EXEMPTED"})
	if err != nil {
		t.Fatal(err)
	}
	events, _, err := s.Audit(ctx, exemptions.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	prev := ""
	for _, e := range events {
		got = append(got, fmt.Sprintf("%d %s %s %v", e.Seq, e.Action, e.Actor, e.ExemptionIDs))
		if e.PrevHash != prev {
			t.Errorf("entry %d: prev hash %q, want %q", e.Seq, e.PrevHash, prev)
		}
		prev = e.Hash
	}
	want := []string{
		fmt.Sprintf("1 create admin-1 [%s]", a.ID),
		fmt.Sprintf("2 supersede admin-1 [%s %s]", b.ID, a.ID),
		fmt.Sprintf("3 revoke chief [%s]", b.ID),
		fmt.Sprintf("4 create admin-1 [%s]", c.ID),
		fmt.Sprintf("5 check RTM/P1 [%s]", c.ID),
		fmt.Sprintf("6 check CN=pilot 1,O=Politie [%s]", c.ID),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("audit log (-want +got):\n%s", d)
	}
	for _, tc := range []struct {
		name string
		f    exemptions.AuditFilter
		want int
	}{
		{"by exemption", exemptions.AuditFilter{ExemptionID: a.ID}, 2},
		{"by action", exemptions.AuditFilter{Action: exemptions.ActionCheck}, 2},
		{"by actor", exemptions.AuditFilter{Actor: "chief"}, 1},
		{"by authenticated actor", exemptions.AuditFilter{Actor: "CN=pilot 1,O=Politie"}, 1},
	} {
		evs, _, err := s.Audit(ctx, tc.f)
		if err != nil || len(evs) != tc.want {
			t.Errorf("%s: %d entries, want %d (%v)", tc.name, len(evs), tc.want, err)
		}
	}
	v, err := s.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK() || v.Entries != 6 || v.Records != 3 || v.HeadHash != chk.Hash {
		t.Errorf("verification %+v", v)
	}
}

// testConcurrentWrites creates and revokes from several goroutines: every
// write lands once, and the chain stays whole.
func testConcurrentWrites(t *testing.T, s exemptions.Store) {
	ctx := context.Background()
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				ex, err := s.Create(ctx, exemptions.Request{}, Record(fmt.Sprintf("U%d", w), "NL-A"))
				if err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					if _, err := s.Revoke(ctx, exemptions.Request{}, ex.ID, exemptions.Revocation{By: "x", At: T0, Reason: "r"}); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, _, err := s.All(ctx)
	if err != nil || len(all) != workers*each {
		t.Fatalf("%d records, want %d (%v)", len(all), workers*each, err)
	}
	v, err := s.VerifyAudit(ctx)
	if err != nil || !v.OK() || v.Entries != workers*each*3/2 {
		t.Fatalf("verification %+v, %v", v, err)
	}
}

// testConcurrentRevokes races revocations and supersessions of the same
// records from many goroutines: exactly one change of each record wins,
// every other fails as a precondition (ErrRevoked or ErrSuperseded), and
// the chain stays whole.
func testConcurrentRevokes(t *testing.T, s exemptions.Store) {
	RaceRevokes(t, []exemptions.Store{s}, 8, 5)
}

// RaceRevokes creates records records through the first store, then has
// racers goroutines per record, spread over stores (several handles on
// one database are several replicas), revoke or supersede each at once.
// It checks that exactly one change per record won, that every loser got
// ErrRevoked or ErrSuperseded, and that the audit log verifies.
func RaceRevokes(t *testing.T, stores []exemptions.Store, racers, records int) {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for range records {
		ids = append(ids, mustCreate(t, stores[0], Record("AMS", "NL-A")).ID)
	}
	type outcome struct {
		id  string
		err error
	}
	out := make(chan outcome, racers*records)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers * records {
		s, id := stores[i%len(stores)], ids[i%records]
		wg.Go(func() {
			<-start
			var err error
			if i%3 == 2 {
				_, err = s.Supersede(ctx, exemptions.Request{}, id, Record("AMS", "NL-A"))
			} else {
				_, err = s.Revoke(ctx, exemptions.Request{}, id, exemptions.Revocation{By: fmt.Sprintf("admin-%d", i), At: T0, Reason: "race"})
			}
			out <- outcome{id, err}
		})
	}
	close(start)
	wg.Wait()
	close(out)
	wins := map[string]int{}
	for o := range out {
		switch {
		case o.err == nil:
			wins[o.id]++
		case exemptions.IsFailedPrecondition(o.err):
		default:
			t.Errorf("%s: %v, want success or a failed precondition", o.id, o.err)
		}
	}
	for _, id := range ids {
		if wins[id] != 1 {
			t.Errorf("%s: %d changes won, want exactly 1", id, wins[id])
		}
	}
	v, err := stores[len(stores)-1].VerifyAudit(ctx)
	if err != nil || !v.OK() {
		t.Fatalf("verification %+v, %v", v, err)
	}
	if want := int64(2 * records); v.Entries != want {
		t.Errorf("%d audit entries, want %d (a create and a winning change per record)", v.Entries, want)
	}
}

// testCheckNotInForce: a check that relied on a revoked, superseded or
// unknown record is refused and leaves no entry.
func testCheckNotInForce(t *testing.T, s exemptions.Store) {
	ctx := context.Background()
	revoked := mustCreate(t, s, Record("AMS", "NL-A"))
	if _, err := s.Revoke(ctx, exemptions.Request{}, revoked.ID, exemptions.Revocation{By: "chief", At: T0, Reason: "done"}); err != nil {
		t.Fatal(err)
	}
	old := mustCreate(t, s, Record("AMS", "NL-A"))
	repl, err := s.Supersede(ctx, exemptions.Request{}, old.ID, Record("AMS", "NL-A"))
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ids  []string
	}{
		{"revoked", []string{revoked.ID}},
		{"superseded", []string{old.ID}},
		{"unknown", []string{"EX-999999"}},
		{"one of two revoked", []string{repl.ID, revoked.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.RecordCheck(ctx, exemptions.CheckRecord{At: T0.Add(time.Hour), Unit: "AMS", Pilot: "P1",
				ExemptionIDs: tc.ids, ZoneIDs: []string{"NL-A"}, Verdict: "EXEMPTED"})
			if !errors.Is(err, exemptions.ErrNotInForce) {
				t.Fatalf("RecordCheck(%v): %v, want ErrNotInForce", tc.ids, err)
			}
		})
	}
	after, err := s.VerifyAudit(ctx)
	if err != nil || !after.OK() {
		t.Fatalf("verification %+v, %v", after, err)
	}
	if after.Entries != before.Entries {
		t.Errorf("%d audit entries after the refused checks, want %d", after.Entries, before.Entries)
	}
	if _, err := s.RecordCheck(ctx, exemptions.CheckRecord{At: T0.Add(time.Hour), Unit: "AMS", Pilot: "P1",
		ExemptionIDs: []string{repl.ID}, ZoneIDs: []string{"NL-A"}, Verdict: "EXEMPTED"}); err != nil {
		t.Errorf("check on the record in force: %v", err)
	}
}

// RaceChecks creates records through the first store, then has checkers
// record checks relying on them through every store while each record is
// revoked: every check either is refused with ErrNotInForce or comes before
// the revocation in the audit log, never after it.
func RaceChecks(t *testing.T, stores []exemptions.Store, records int) {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for range records {
		ids = append(ids, mustCreate(t, stores[0], Record("AMS", "NL-A")).ID)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, id := range ids {
		s := stores[i%len(stores)]
		wg.Go(func() {
			<-start
			if _, err := s.Revoke(ctx, exemptions.Request{}, id, exemptions.Revocation{By: "chief", At: T0, Reason: "race"}); err != nil {
				t.Errorf("revoke %s: %v", id, err)
			}
		})
		for j := range 4 {
			s := stores[(i+j+1)%len(stores)]
			wg.Go(func() {
				<-start
				_, err := s.RecordCheck(ctx, exemptions.CheckRecord{At: T0, Unit: "AMS", ExemptionIDs: []string{id},
					ZoneIDs: []string{"NL-A"}, Verdict: "EXEMPTED"})
				if err != nil && !errors.Is(err, exemptions.ErrNotInForce) {
					t.Errorf("check on %s: %v, want success or ErrNotInForce", id, err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	revokedAt := map[string]int64{}
	var token string
	for {
		events, next, err := stores[len(stores)-1].Audit(ctx, exemptions.AuditFilter{PageToken: token, PageSize: exemptions.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			for _, id := range e.ExemptionIDs {
				switch e.Action {
				case exemptions.ActionRevoke:
					revokedAt[id] = e.Seq
				case exemptions.ActionCheck:
					if r, ok := revokedAt[id]; ok {
						t.Errorf("check entry %d relies on %s, revoked in entry %d", e.Seq, id, r)
					}
				}
			}
		}
		if next == "" {
			break
		}
		token = next
	}
	if len(revokedAt) != records {
		t.Errorf("%d revocations in the audit log, want %d", len(revokedAt), records)
	}
}
