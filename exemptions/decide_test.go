package exemptions

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

var updateDoc = flag.Bool("update", false, "rewrite the generated rules in docs/exemptions.md")

// ruleCase is one rule of the table tried both ways, each from base(),
// baseHit() and baseFlight(), which meet every rule: holds changes them so
// that the rule is met at its edge, breaks so that it is broken, and only
// it. why is the explanation of breaks, or a part of it.
type ruleCase struct {
	holds, breaks func(ex *Exemption, h *geo.Hit, f *Flight)
	why           string
}

// checkedAt is the instant at which the rule cases are decided.
var checkedAt = t0.Add(30 * time.Minute)

var ruleCases = map[string]ruleCase{
	"not-revoked": {
		holds: func(ex *Exemption, _ *geo.Hit, _ *Flight) {
			ex.Revocation = &Revocation{By: "chief", At: checkedAt.Add(time.Second), Reason: "later"}
		},
		breaks: func(ex *Exemption, _ *geo.Hit, _ *Flight) {
			ex.Revocation = &Revocation{By: "chief", At: checkedAt, Reason: "mission cancelled"}
		},
		why: "revoked on 2026-05-01 10:30Z by chief: mission cancelled",
	},
	"not-superseded": {
		holds:  func(ex *Exemption, _ *geo.Hit, _ *Flight) { ex.Supersedes = "EX-000000" },
		breaks: func(ex *Exemption, _ *geo.Hit, _ *Flight) { ex.SupersededBy = "EX-000002" },
		why:    "superseded by EX-000002",
	},
	"pilot": {
		holds:  func(ex *Exemption, _ *geo.Hit, _ *Flight) { ex.Holder.Pilots = []string{"P2", "P1"} },
		breaks: func(ex *Exemption, _ *geo.Hit, _ *Flight) { ex.Holder.Pilots = []string{"P2", "P3"} },
		why:    "for pilots P2, P3, not P1",
	},
	"drone": {
		holds:  func(ex *Exemption, _ *geo.Hit, _ *Flight) { ex.Holder.Drones = []string{"D1"} },
		breaks: func(ex *Exemption, _ *geo.Hit, f *Flight) { ex.Holder.Drones, f.Drone = []string{"D9"}, "" },
		why:    "for drone D9, not none given",
	},
	"purpose": {
		holds:  func(ex *Exemption, _ *geo.Hit, f *Flight) { ex.Purposes, f.Purpose = nil, "" },
		breaks: func(_ *Exemption, _ *geo.Hit, f *Flight) { f.Purpose = PurposeTraining },
		why:    "allows purpose FORENSIC, not TRAINING",
	},
	"zone-allows-exemptions": {
		holds: func(ex *Exemption, h *geo.Hit, _ *Flight) {
			ex.Override = true
			h.Zone = &geo.Zone{ID: "NL-EHAM", Restriction: geo.Prohibited, Exemptions: geo.ExemptionsNotAllowed}
		},
		breaks: func(ex *Exemption, h *geo.Hit, _ *Flight) {
			// Overriding, but the zone is only selected, not named.
			ex.Override, ex.ZoneIDs, ex.Selector = true, []string{"NL-OTHER"}, Selector{Country: "NLD"}
			h.Zone = &geo.Zone{ID: "NL-EHAM", Country: "NLD", Restriction: geo.Prohibited, Exemptions: geo.ExemptionsNotAllowed}
		},
		why: "zone NL-EHAM allows no exemption (regulationExemption NO): only an exemption that names it and overrides covers it",
	},
	"validity": {
		holds: func(ex *Exemption, h *geo.Hit, _ *Flight) {
			h.When = geo.TimeWindow{Start: ex.ValidFrom, End: ex.ValidUntil}
		},
		breaks: func(ex *Exemption, h *geo.Hit, _ *Flight) {
			h.When.End = ex.ValidUntil.Add(90 * time.Minute)
		},
		why: "ends 2026-05-01 14:00Z, the flight ends 2026-05-01 15:30Z",
	},
	"ceiling": {
		holds:  func(ex *Exemption, h *geo.Hit, _ *Flight) { h.Band.Upper = ex.Ceiling.Metres },
		breaks: func(ex *Exemption, h *geo.Hit, _ *Flight) { ex.Ceiling.Metres, h.Band.Upper = 60, 100 },
		why:    "ceiling 60 m AGL, planned 100 m AGL",
	},
	"area": {
		holds: func(ex *Exemption, _ *geo.Hit, f *Flight) { ex.Area = square(f.Point, 0.01) },
		breaks: func(ex *Exemption, _ *geo.Hit, f *Flight) {
			ex.Area = square(orb.Point{f.Point[0] + 0.05, f.Point[1]}, 0.01)
		},
		why: "the position is not inside the exemption's area",
	},
}

// TestRulesBothWays walks every rule of the table: met at its edge, the
// record covers; broken, the record does not cover, and the refusal names
// that rule alone and explains it.
func TestRulesBothWays(t *testing.T) {
	if len(ruleCases) != len(rules) {
		t.Errorf("%d rule cases for %d rules", len(ruleCases), len(rules))
	}
	for _, r := range Rules() {
		t.Run(r.Name, func(t *testing.T) {
			tc, ok := ruleCases[r.Name]
			if !ok {
				t.Fatalf("no case for rule %s: add one to ruleCases", r.Name)
			}
			ex, hit, f := base(), baseHit(), baseFlight()
			tc.holds(ex, hit, &f)
			s := &situation{hit: hit, f: f, now: checkedAt}
			if !r.holds(ex, s) {
				t.Fatalf("holds: the rule is broken: %s", r.why(ex, s))
			}
			if d := Cover(hit, f, []*Exemption{ex}, checkedAt); d.By != ex {
				t.Fatalf("holds: not covered: %v", d.Reasons)
			}

			ex, hit, f = base(), baseHit(), baseFlight()
			tc.breaks(ex, hit, &f)
			s = &situation{hit: hit, f: f, now: checkedAt}
			if r.holds(ex, s) {
				t.Fatal("breaks: the rule holds")
			}
			if got := r.why(ex, s); !strings.Contains(got, tc.why) {
				t.Errorf("breaks: explained as %q, want %q", got, tc.why)
			}
			d := Cover(hit, f, []*Exemption{ex}, checkedAt)
			if d.Covered() || len(d.Reasons) != 1 {
				t.Fatalf("breaks: %+v, want one refusal", d)
			}
			if got := d.Reasons[0]; got.ExemptionID != ex.ID || !slices.Equal(got.Rules, []string{r.Name}) || got.Text != r.why(ex, s) {
				t.Errorf("breaks: refusal %+v, want %s breaking %s alone", got, ex.ID, r.Name)
			}
		})
	}
}

// A record that breaks several rules is refused with all of them, in the
// table's order.
func TestRefusalNamesEveryBrokenRule(t *testing.T) {
	ex, hit, f := base(), baseHit(), baseFlight()
	for _, name := range []string{"area", "pilot", "ceiling"} {
		ruleCases[name].breaks(ex, hit, &f)
	}
	d := Cover(hit, f, []*Exemption{ex}, checkedAt)
	want := Reason{ExemptionID: ex.ID, Rules: []string{"pilot", "ceiling", "area"},
		Text: "for pilots P2, P3, not P1; ceiling 60 m AGL, planned 100 m AGL; the position is not inside the exemption's area"}
	if len(d.Reasons) != 1 || !cmp.Equal(d.Reasons[0], want) {
		t.Fatalf("reasons %+v, want %+v", d.Reasons, want)
	}
}

// hitIn is a hit of a zone with the given restriction, from baseHit.
func hitIn(id string, r geo.Restriction, c geo.Caveat) geo.Hit {
	h := *baseHit()
	h.Zone = &geo.Zone{ID: id, Country: "NLD", Restriction: r}
	h.Caveats = c
	return h
}

func TestDecide(t *testing.T) {
	named := func(id string, zones ...string) Exemption {
		ex := *base()
		ex.ID, ex.ZoneIDs = id, zones
		return ex
	}
	tests := []struct {
		name    string
		hits    []geo.Hit
		records []Exemption // nil: no snapshot (no exemptions kept)
		flight  func(f *Flight)
		verdict Verdict
		// conflicts: zone id, then "by ID", "refused" or "" (no reasons).
		conflicts  [][2]string
		advisories []string
		applied    []string
		caveats    geo.Caveat
	}{
		{name: "no hits", verdict: Clear},
		{name: "advisories only", verdict: Clear,
			hits:       []geo.Hit{hitIn("Z-B", geo.NoRestriction, 0), hitIn("Z-A", geo.Conditional, geo.CaveatDaylight)},
			advisories: []string{"Z-A", "Z-B"}, caveats: geo.CaveatDaylight},
		{name: "a conflict and no exemptions kept", verdict: Denied,
			hits:      []geo.Hit{hitIn("Z-A", geo.Prohibited, 0)},
			conflicts: [][2]string{{"Z-A", ""}}},
		{name: "a conflict and no record", verdict: Denied, records: []Exemption{},
			hits:      []geo.Hit{hitIn("Z-A", geo.Prohibited, 0)},
			conflicts: [][2]string{{"Z-A", "refused"}}},
		{name: "an unknown restriction blocks", verdict: Denied, records: []Exemption{},
			hits:      []geo.Hit{hitIn("Z-A", geo.RestrictionUnknown, 0)},
			conflicts: [][2]string{{"Z-A", "refused"}}},
		{name: "covered", verdict: Exempted, records: []Exemption{named("EX-1", "Z-A")},
			hits:      []geo.Hit{hitIn("Z-A", geo.ReqAuthorisation, 0), hitIn("Z-C", geo.NoRestriction, 0)},
			conflicts: [][2]string{{"Z-A", "by EX-1"}}, advisories: []string{"Z-C"}, applied: []string{"EX-1"}},
		{name: "one record covers two zones, applied once", verdict: Exempted,
			records:   []Exemption{named("EX-1", "Z-A", "Z-B")},
			hits:      []geo.Hit{hitIn("Z-B", geo.Prohibited, 0), hitIn("Z-A", geo.Prohibited, 0)},
			conflicts: [][2]string{{"Z-A", "by EX-1"}, {"Z-B", "by EX-1"}}, applied: []string{"EX-1"}},
		{name: "two records, applied in id order", verdict: Exempted,
			records:   []Exemption{named("EX-2", "Z-A"), named("EX-1", "Z-B")},
			hits:      []geo.Hit{hitIn("Z-A", geo.Prohibited, 0), hitIn("Z-B", geo.Prohibited, 0)},
			conflicts: [][2]string{{"Z-A", "by EX-2"}, {"Z-B", "by EX-1"}}, applied: []string{"EX-1", "EX-2"}},
		{name: "the lowest id of two covering records", verdict: Exempted,
			records:   []Exemption{named("EX-2", "Z-A"), named("EX-1", "Z-A")},
			hits:      []geo.Hit{hitIn("Z-A", geo.Prohibited, 0)},
			conflicts: [][2]string{{"Z-A", "by EX-1"}}, applied: []string{"EX-1"}},
		{name: "partly covered: denied, nothing applied", verdict: Denied,
			records:   []Exemption{named("EX-1", "Z-A")},
			hits:      []geo.Hit{hitIn("Z-B", geo.Prohibited, 0), hitIn("Z-A", geo.Prohibited, 0)},
			conflicts: [][2]string{{"Z-A", "by EX-1"}, {"Z-B", "refused"}}},
		{name: "the flight's caveats join the hits'", verdict: Clear,
			hits:   []geo.Hit{hitIn("Z-A", geo.Conditional, geo.CaveatReference)},
			flight: func(f *Flight) { f.Caveats = geo.CaveatNoAltitude }, advisories: []string{"Z-A"},
			caveats: geo.CaveatNoAltitude | geo.CaveatReference},
		{name: "another unit's record", verdict: Denied, records: []Exemption{named("EX-1", "Z-A")},
			hits: []geo.Hit{hitIn("Z-A", geo.Prohibited, 0)}, flight: func(f *Flight) { f.Unit = "RTM" },
			conflicts: [][2]string{{"Z-A", "refused"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := baseFlight()
			if tc.flight != nil {
				tc.flight(&f)
			}
			var snap *Snapshot
			if tc.records != nil {
				snap = NewSnapshot(slices.Clone(tc.records), 1)
			}
			hits := slices.Clone(tc.hits)
			r := Decide(hits, f, snap, checkedAt)
			if r.Verdict != tc.verdict {
				t.Errorf("verdict %v, want %v", r.Verdict, tc.verdict)
			}
			var conflicts [][2]string
			for _, c := range r.Conflicts {
				got := ""
				switch {
				case c.By != nil:
					got = "by " + c.By.ID
				case len(c.Reasons) > 0:
					got = "refused"
				}
				conflicts = append(conflicts, [2]string{c.Hit.Zone.ID, got})
			}
			if d := cmp.Diff(tc.conflicts, conflicts); d != "" {
				t.Errorf("conflicts (-want +got):\n%s", d)
			}
			var adv []string
			for _, h := range r.Advisories {
				adv = append(adv, h.Zone.ID)
			}
			if !slices.Equal(adv, tc.advisories) {
				t.Errorf("advisories %v, want %v", adv, tc.advisories)
			}
			if got := r.AppliedIDs(); !slices.Equal(got, tc.applied) {
				t.Errorf("applied %v, want %v", got, tc.applied)
			}
			if r.Caveats != tc.caveats {
				t.Errorf("caveats %v, want %v", r.Caveats, tc.caveats)
			}
			for i := range hits {
				if hits[i].Zone != tc.hits[i].Zone {
					t.Fatalf("Decide reordered its input")
				}
			}
			// Invariant 1, whatever the case: a conflict that no record
			// covers is never CLEAR or EXEMPTED.
			for _, c := range r.Conflicts {
				if c.By == nil && r.Verdict.MayFly() {
					t.Fatalf("%v with conflict %s uncovered", r.Verdict, c.Hit.Zone.ID)
				}
			}
		})
	}
}

// The snapshot finds candidates through its index by unit, zone and
// selector; it must decide exactly as Cover does over every record, which
// applies candidate() to each.
func TestSnapshotAgreesWithCover(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []*geo.Zone{
		{ID: "Z-1", Country: "NLD", Restriction: geo.Prohibited, Reasons: []string{"AIR_TRAFFIC"}},
		{ID: "Z-2", Country: "NLD", Restriction: geo.ReqAuthorisation, Reasons: []string{"PRIVACY"}},
		{ID: "Z-3", Country: "BEL", Restriction: geo.Prohibited, Exemptions: geo.ExemptionsNotAllowed},
	}
	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	advised := 0 // probes compared where there were advisories to leave out
	for round := range 200 {
		var records []Exemption
		n, allRevoked := rng.IntN(12), round%10 == 0
		if allRevoked {
			n = 6 * MaxReasons // more refused candidates than are explained
		}
		for i := range n {
			ex := *base()
			ex.ID = fmt.Sprintf("EX-%06d", rng.IntN(100)*100+i)
			ex.Holder.Unit = pick([]string{"AMS", "RTM"})
			ex.ZoneIDs = nil
			for _, z := range zones {
				if rng.IntN(3) == 0 {
					ex.ZoneIDs = append(ex.ZoneIDs, z.ID)
				}
			}
			switch rng.IntN(4) {
			case 0:
				ex.Selector = Selector{Country: pick([]string{"NLD", "BEL"})}
			case 1:
				ex.Selector = Selector{Reasons: []string{"privacy"}}
			}
			ex.Ceiling.Metres = float64(50 + rng.IntN(100))
			ex.Override = rng.IntN(4) == 0
			if rng.IntN(5) == 0 || allRevoked {
				ex.Revocation = &Revocation{By: "c", At: t0, Reason: "r"}
			}
			records = append(records, ex)
		}
		snap := NewSnapshot(slices.Clone(records), 1)
		all := make([]*Exemption, len(records))
		for i := range records {
			all[i] = &records[i]
		}
		slices.SortFunc(all, func(a, b *Exemption) int { return strings.Compare(a.ID, b.ID) })
		var hits []geo.Hit
		for _, z := range zones {
			h := baseHit()
			h.Zone = z
			got, want := snap.Cover(h, baseFlight(), checkedAt), Cover(h, baseFlight(), all, checkedAt)
			if got.Covered() != want.Covered() || got.Covered() && got.By.ID != want.By.ID ||
				!cmp.Equal(got.Reasons, want.Reasons) {
				t.Fatalf("round %d, zone %s: snapshot %+v, Cover %+v", round, z.ID, got, want)
			}
			hits = append(hits, *h)
		}
		// Zones that only inform, before and among the conflicts (they are
		// advisories: listed by every decision but a probe's).
		for i, z := range []*geo.Zone{{ID: "Z-0", Restriction: geo.Conditional}, {ID: "Z-25", Restriction: geo.NoRestriction}} {
			h := baseHit()
			h.Zone = z
			if rng.IntN(2) == 0 {
				at := min(2*i, len(hits))
				hits = slices.Insert(hits, at, *h)
			}
		}
		// Brief decides as DecideFleet, without the reasons.
		f := baseFlight()
		f.Unit = pick([]string{"AMS", "RTM", "UTR"})
		full, brief := DecideFleet(hits, f, snap, nil, checkedAt), DecideFleetBrief(hits, f, snap, nil, checkedAt)
		// IDs decides as DecideFleet, its reasons naming the same records
		// without words.
		ids := DecideFleetIDs(hits, f, snap, nil, checkedAt)
		named := full
		named.Conflicts = slices.Clone(full.Conflicts)
		for i := range named.Conflicts {
			var rs []Reason
			for _, why := range named.Conflicts[i].Reasons {
				rs = append(rs, Reason{ExemptionID: why.ExemptionID})
			}
			named.Conflicts[i].Reasons = rs
		}
		if !reflect.DeepEqual(named, ids) {
			t.Fatalf("round %d: DecideFleetIDs %+v, DecideFleet %+v", round, ids, full)
		}
		for i := range full.Conflicts {
			if full.Conflicts[i].By == nil && len(full.Conflicts[i].Reasons) == 0 {
				t.Fatalf("round %d: DecideFleet gives no reason for %s", round, full.Conflicts[i].Hit.Zone.ID)
			}
			full.Conflicts[i].Reasons = nil
		}
		if !reflect.DeepEqual(full, brief) {
			t.Fatalf("round %d: DecideFleetBrief %+v, DecideFleet %+v", round, brief, full)
		}
		// A height limit's probes decide as Brief, in room of their own
		// when it is large enough, and without the advisories.
		briefNoAdvisories := brief
		briefNoAdvisories.Advisories = nil
		for _, size := range []int{0, 1, len(hits)} {
			room := make([]Conflict, 0, size)
			in := decideFleetIn(hits, f, snap, nil, checkedAt, noReasons, room, true)
			if !reflect.DeepEqual(in, brief) {
				t.Fatalf("round %d, room %d: %+v, DecideFleetBrief %+v", round, size, in, brief)
			}
			if len(brief.Advisories) > 0 {
				advised++
			}
			probe := decideFleetIn(hits, f, snap, nil, checkedAt, noReasons, make([]Conflict, 0, size), false)
			if !reflect.DeepEqual(probe, briefNoAdvisories) {
				t.Fatalf("round %d, room %d: probe %+v, DecideFleetBrief without advisories %+v", round, size, probe, briefNoAdvisories)
			}
			shared := len(in.Conflicts) > 0 && cap(room) > 0 && &in.Conflicts[:1][0] == &room[:1][0]
			if shared != (len(in.Conflicts) > 0 && size >= len(in.Conflicts)) {
				t.Fatalf("round %d, room %d: %d conflicts built in the room: %v", round, size, len(in.Conflicts), shared)
			}
		}
	}
	if advised < 100 {
		t.Fatalf("only %d probes compared with advisories to leave out", advised)
	}
}

// The rules as docs/exemptions.md lists them, between these markers.
const (
	docPath     = "../docs/exemptions.md"
	docBegin    = "<!-- Generated from the rule table (exemptions/rules.go); go test ./exemptions -run TestRulesDoc -update rewrites it. -->\n"
	docEnd      = "<!-- End of the generated rules. -->\n"
	docColumns  = 100
	docListIndt = "   "
)

// renderRules is the doc's block: the candidates, then each rule of the
// table with its statement and its refusal in the rule case that breaks
// it.
func renderRules(t *testing.T) string {
	var b strings.Builder
	b.WriteString(docBegin)
	b.WriteString(wrap(CandidateDoc, "", docColumns))
	b.WriteString("\n\nA candidate covers the conflict when it meets every one of these rules (`exemptions.Rules`; a refusal\nnames each rule the candidate breaks and explains it, as in the examples):\n\n")
	for i, r := range Rules() {
		tc, ok := ruleCases[r.Name]
		if !ok {
			t.Fatalf("no case for rule %s", r.Name)
		}
		ex, hit, f := base(), baseHit(), baseFlight()
		tc.breaks(ex, hit, &f)
		why := r.why(ex, &situation{hit: hit, f: f, now: checkedAt})
		item := fmt.Sprintf("%d. `%s`: %s. Refused as: \"%s\"", i+1, r.Name, r.Doc, why)
		b.WriteString(strings.Replace(wrap(item, docListIndt, docColumns), docListIndt, "", 1))
		b.WriteString("\n")
	}
	b.WriteString(docEnd)
	return b.String()
}

// wrap breaks s into lines of at most width columns (unless a word is
// longer), each starting with indent.
func wrap(s, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, w := range strings.Fields(s) {
		if len(line) > len(indent) && len([]rune(line))+1+len([]rune(w)) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	b.WriteString(line)
	return b.String()
}

// TestRulesDoc fails when docs/exemptions.md does not list the rules as the
// table has them; -update rewrites the block.
func TestRulesDoc(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, docBegin), strings.Index(doc, docEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no block of generated rules (%q … %q)", docPath, docBegin, docEnd)
	}
	want := renderRules(t)
	got := doc[i : j+len(docEnd)]
	if got == want {
		return
	}
	if *updateDoc {
		if err := os.WriteFile(docPath, []byte(doc[:i]+want+doc[j+len(docEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s lists other rules than the table (-doc +table); go test ./exemptions -run TestRulesDoc -update:\n%s",
		docPath, cmp.Diff(got, want))
}
