package server

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// hitToProtoEach converts a hit with each message on its own: what
// resultToProto built before it allocated the hits' messages together.
func hitToProtoEach(h *geo.Hit) *noflyv1.ZoneHit {
	ph := &noflyv1.ZoneHit{
		Zone:             summaryToProto(h.Zone),
		ClosestApproachM: h.Distance,
		Inside:           h.Distance == 0,
		HeightBand:       bandToProto(h.Band),
		TimeWindow:       windowToProto(h.When),
		Caveats:          caveatsToProto(h.Caveats),
	}
	for _, l := range h.Legs {
		ph.Legs = append(ph.Legs, int32(l))
	}
	return ph
}

// resultToProtoEach is resultToProto with every message on its own.
func resultToProtoEach(r *exemptions.Result) checkProto {
	p := checkProto{verdict: verdictToProto(r.Verdict), caveats: caveatsToProto(r.Caveats)}
	for _, ex := range r.Applied {
		p.applied = append(p.applied, appliedToProto(ex))
	}
	for i := range r.Conflicts {
		c := &r.Conflicts[i]
		ph := hitToProtoEach(c.Hit)
		if c.By != nil {
			ph.Exemption = appliedToProto(c.By)
		}
		for _, why := range c.Reasons {
			ph.NotCovered = append(ph.NotCovered, &noflyv1.ExemptionRefusal{ExemptionId: why.ExemptionID, Reason: why.Text})
		}
		p.conflicts = append(p.conflicts, ph)
	}
	for _, h := range r.Advisories {
		p.advisories = append(p.advisories, hitToProtoEach(h))
	}
	return p
}

// randomResult is a decision on up to 40 hits of random zones, heights,
// windows, caveats and legs, some covered and some with refusals.
func randomResult(r *rand.Rand) exemptions.Result {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	pick := func(xs ...float64) float64 { return xs[r.IntN(len(xs))] }
	exs := []*exemptions.Exemption{
		{ID: "EX-1", Ceiling: exemptions.Ceiling{Metres: 90, Ref: geo.AGL}, ValidUntil: t0.Add(time.Hour)},
		{ID: "EX-2"},
	}
	res := exemptions.Result{Verdict: exemptions.Verdict(r.IntN(4)), Caveats: geo.Caveat(r.IntN(8))}
	if r.IntN(3) == 0 {
		res.Applied = exs[:1+r.IntN(2)]
	}
	n := r.IntN(41)
	hits := make([]geo.Hit, n)
	for i := range hits {
		z := &geo.Zone{ID: "Z-" + string(rune('A'+r.IntN(26))), Name: []string{"", "a zone"}[r.IntN(2)],
			Restriction: geo.Restriction(r.IntN(5)), Exemptions: geo.Exemptions(r.IntN(3)), Categories: geo.Category(r.IntN(8))}
		if r.IntN(4) == 0 {
			z.Reasons, z.Class = []string{"AIR_TRAFFIC", "PRIVACY"}[:1+r.IntN(2)], []string{"OPEN"}
			z.Authorities = []geo.Authority{{Name: "ATC", Phone: "+31"}}
		}
		h := geo.Hit{Zone: z, Distance: pick(0, 0, 3.5, 49.99),
			Band:    geo.Band{Lower: pick(0, 60, math.Inf(-1), math.NaN()), Upper: pick(120, 60, math.Inf(1)), Ref: geo.VerticalRef(r.IntN(4))},
			Caveats: geo.Caveat(r.IntN(8) * r.IntN(2))}
		switch r.IntN(4) {
		case 0: // no window
		case 1:
			h.When = geo.TimeWindow{Start: t0, End: t0.Add(time.Duration(r.IntN(2)) * time.Hour)}
		default:
			h.When = geo.TimeWindow{Start: t0, End: t0.Add(30 * time.Minute)}
		}
		for l := range r.IntN(5) {
			h.Legs = append(h.Legs, 2*l+r.IntN(2))
		}
		hits[i] = h
	}
	nc := 0
	if n > 0 {
		nc = r.IntN(n + 1)
	}
	for i := range hits[:nc] {
		c := exemptions.Conflict{Hit: &hits[i]}
		switch r.IntN(4) {
		case 0:
			c.By = exs[r.IntN(len(exs))]
		case 1:
			for k := range 1 + r.IntN(3) {
				c.Reasons = append(c.Reasons, exemptions.Reason{ExemptionID: exs[k%2].ID, Text: "ends before"})
			}
		case 2:
			c.Reasons = []exemptions.Reason{{ExemptionID: ""}}
		}
		res.Conflicts = append(res.Conflicts, c)
	}
	for i := range hits[nc:] {
		res.Advisories = append(res.Advisories, &hits[nc+i])
	}
	return res
}

// TestResultToProtoAsEach: resultToProto, which allocates the hits'
// messages together and shares equal windows and caveats, answers the same
// message, to the byte, as converting each message on its own.
func TestResultToProtoAsEach(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	det := proto.MarshalOptions{Deterministic: true}
	for i := range 3000 {
		res := randomResult(r)
		got, want := resultToProto(&res), resultToProtoEach(&res)
		if got.verdict != want.verdict || len(got.conflicts) != len(want.conflicts) || len(got.advisories) != len(want.advisories) ||
			len(got.applied) != len(want.applied) || len(got.caveats) != len(want.caveats) {
			t.Fatalf("result %d: lists differ: got %v, want %v", i, got, want)
		}
		// As the check responses carry them.
		wrap := func(p checkProto) *noflyv1.CheckFlightPlanResponse {
			return &noflyv1.CheckFlightPlanResponse{Verdict: p.verdict, Conflicts: p.conflicts, Advisories: p.advisories,
				Caveats: p.caveats, Exemptions: p.applied}
		}
		g, w := wrap(got), wrap(want)
		if !proto.Equal(g, w) {
			t.Fatalf("result %d: got\n%v\nwant\n%v", i, g, w)
		}
		gb, err1 := det.Marshal(g)
		wb, err2 := det.Marshal(w)
		if err1 != nil || err2 != nil || string(gb) != string(wb) {
			t.Fatalf("result %d: encodings differ (%v, %v)", i, err1, err2)
		}
	}
}
