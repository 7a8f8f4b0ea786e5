package server

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// resultToProto carries the decision over as it is: verdict, order, cover
// and refusals are the Result's, none made again.
func TestResultToProto(t *testing.T) {
	a, b, c := &geo.Zone{ID: "Z-A", Restriction: geo.Prohibited}, &geo.Zone{ID: "Z-B", Restriction: geo.Prohibited},
		&geo.Zone{ID: "Z-C", Restriction: geo.Conditional}
	ex := &exemptions.Exemption{ID: "EX-1", LegalBasis: "L", Conditions: "call"}
	hits := []geo.Hit{{Zone: a}, {Zone: b, Distance: 3}, {Zone: c}}
	refusal := exemptions.Reason{ExemptionID: "EX-2", Rules: []string{"validity"}, Text: "ends …"}

	denied := exemptions.Result{Verdict: exemptions.Denied,
		Conflicts: []exemptions.Conflict{
			{Hit: &hits[1], Decision: exemptions.Decision{Reasons: []exemptions.Reason{refusal}}},
			{Hit: &hits[0], Decision: exemptions.Decision{By: ex}}},
		Advisories: []*geo.Hit{&hits[2]}, Caveats: geo.CaveatNoAltitude}
	p := resultToProto(&denied)
	if p.verdict != noflyv1.Verdict_VERDICT_DENIED || len(p.applied) != 0 {
		t.Errorf("verdict %v, applied %v", p.verdict, p.applied)
	}
	if got := []string{p.conflicts[0].GetZone().GetId(), p.conflicts[1].GetZone().GetId()}; got[0] != "Z-B" || got[1] != "Z-A" {
		t.Errorf("conflicts in order %v, want the result's", got)
	}
	want := []*noflyv1.ExemptionRefusal{{ExemptionId: "EX-2", Reason: "ends …"}}
	if d := cmp.Diff(want, p.conflicts[0].GetNotCovered(), protocmp.Transform()); d != "" {
		t.Errorf("refusals (-want +got):\n%s", d)
	}
	if p.conflicts[1].GetExemption().GetId() != "EX-1" || len(p.advisories) != 1 || len(p.caveats) != 1 {
		t.Errorf("covered conflict %v, advisories %v, caveats %v", p.conflicts[1], p.advisories, p.caveats)
	}

	exempted := exemptions.Result{Verdict: exemptions.Exempted, Applied: []*exemptions.Exemption{ex},
		Conflicts: []exemptions.Conflict{{Hit: &hits[0], Decision: exemptions.Decision{By: ex}},
			{Hit: &hits[1], Decision: exemptions.Decision{By: ex}}}}
	p = resultToProto(&exempted)
	if p.verdict != noflyv1.Verdict_VERDICT_EXEMPTED || len(p.applied) != 1 ||
		p.conflicts[0].GetExemption() != p.applied[0] || p.conflicts[1].GetExemption() != p.applied[0] {
		t.Errorf("an applied exemption is one message, shared: %v", p)
	}
}

// TestCopyZoneSetInfo: the answers' copy of the zone set's description
// (copyZoneSetInfo, written without reflection) holds every field, set
// here by reflection, so that a field added to the message is not left out.
func TestCopyZoneSetInfo(t *testing.T) {
	info := &noflyv1.ZoneSetInfo{}
	m := info.ProtoReflect()
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.StringKind:
			l := m.Mutable(fd).List()
			l.Append(protoreflect.ValueOfString("a"))
			l.Append(protoreflect.ValueOfString("b"))
		case fd.Kind() == protoreflect.StringKind:
			m.Set(fd, protoreflect.ValueOfString("v-"+string(fd.Name())))
		case fd.Kind() == protoreflect.Int32Kind:
			m.Set(fd, protoreflect.ValueOfInt32(int32(7+i)))
		case fd.Message() != nil && fd.Message().FullName() == "google.protobuf.Timestamp":
			m.Set(fd, protoreflect.ValueOfMessage((&timestamppb.Timestamp{Seconds: 1777636800, Nanos: 5}).ProtoReflect()))
		default:
			t.Fatalf("field %s of a kind this test does not set: add it here and to copyZoneSetInfo", fd.FullName())
		}
	}
	got := copyZoneSetInfo(new(noflyv1.ZoneSetInfo), new(timestamppb.Timestamp), info)
	if !proto.Equal(got, info) {
		t.Errorf("copy %v, want %v", got, info)
	}
	got.Sources = append(got.Sources, "c")
	got.LoadedAt.Seconds++
	if len(info.Sources) != 2 || info.LoadedAt.Seconds != 1777636800 {
		t.Errorf("changing the copy changed the original: %v", info)
	}
	if copyZoneSetInfo(new(noflyv1.ZoneSetInfo), new(timestamppb.Timestamp), nil) != nil {
		t.Error("a copy of none")
	}
}

// TestBasicProtoRoom: the BASIC answer built in an answer's room
// (basicProto) is basicResultToProto's, with more hits than the room
// holds, several time windows and caveats, open and unknown heights, and
// covered and uncovered conflicts.
func TestBasicProtoRoom(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ex := &exemptions.Exemption{ID: "EX-1", ValidUntil: at.Add(time.Hour), Ceiling: exemptions.Ceiling{Metres: 90, Ref: geo.AGL}}
	var hits []geo.Hit
	for i := range 7 {
		h := geo.Hit{Zone: &geo.Zone{ID: fmt.Sprintf("Z-%d", i), Restriction: geo.Prohibited, Exemptions: geo.ExemptionsAllowed},
			Distance: float64(i % 2), Band: geo.Band{Lower: 0, Upper: 120, Ref: geo.AGL}, When: geo.Instant(at)}
		switch i {
		case 2:
			h.Band = geo.Band{Lower: math.Inf(-1), Upper: math.Inf(1), Ref: geo.AMSL}
		case 3:
			h.Band = geo.Band{}
			h.Caveats = geo.CaveatNoAltitude
		case 4:
			h.When = geo.TimeWindow{Start: at, End: at.Add(time.Hour)}
			h.Caveats = geo.CaveatNoAltitude
		case 5:
			h.When = geo.TimeWindow{Start: at}
			h.Caveats = geo.CaveatDaylight
		}
		hits = append(hits, h)
	}
	results := map[string]exemptions.Result{
		"none": {Verdict: exemptions.Clear},
		"one":  {Verdict: exemptions.Clear, Advisories: []*geo.Hit{&hits[1]}},
		"many": {Verdict: exemptions.Denied, Caveats: geo.CaveatNoAltitude | geo.CaveatDaylight,
			Conflicts: []exemptions.Conflict{{Hit: &hits[0], Decision: exemptions.Decision{By: ex}},
				{Hit: &hits[2], Decision: exemptions.Decision{Reasons: []exemptions.Reason{{ExemptionID: "EX-2", Text: "t"}, {ExemptionID: "EX-3"}}}},
				{Hit: &hits[3]}, {Hit: &hits[4]}},
			Advisories: []*geo.Hit{&hits[5], &hits[6], &hits[1]}},
		"exempted": {Verdict: exemptions.Exempted, Applied: []*exemptions.Exemption{ex},
			Conflicts: []exemptions.Conflict{{Hit: &hits[0], Decision: exemptions.Decision{By: ex}}}},
	}
	wrap := func(p checkProto) *noflyv1.CheckPositionResponse {
		return &noflyv1.CheckPositionResponse{Verdict: p.verdict, Conflicts: p.conflicts, Advisories: p.advisories, Caveats: p.caveats, Exemptions: p.applied}
	}
	for name, r := range results {
		got, want := wrap(basicProto(&r, new(basicRoom))), wrap(basicResultToProto(&r))
		if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
			t.Errorf("%s (-basicResultToProto +basicProto):\n%s", name, d)
		}
		// In the room of an answer made for that many hits, too few and
		// too many, the same.
		n := len(r.Conflicts) + len(r.Advisories)
		for _, m := range []int{n, n - 1, n + 1} {
			room := &newPositionAnswer(true, m).basic
			got := wrap(basicProto(&r, room))
			if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
				t.Errorf("%s, room for %d hits (-basicResultToProto +basicProto):\n%s", name, m, d)
			}
			msgs, list := len(room.msgs), len(room.ptrs)
			if (msgs > 0) != (m >= 1 && m <= 8) || msgs > 0 && (msgs < m || msgs > m+1) ||
				(list > 0) != (m > 4 && m <= 8) || list > 0 && list != msgs {
				t.Errorf("%s: an answer made for %d hits has room for %d hits, a list of %d", name, m, len(room.msgs), len(room.ptrs))
			}
			if n >= 1 && len(room.msgs) >= n {
				all := append(slices.Clone(got.Conflicts), got.Advisories...)
				if all[0] != &room.msgs[0].hit {
					t.Errorf("%s: %d hits not built in the answer's room for %d", name, n, m)
				}
				if n > 4 && len(got.Conflicts) > 0 && &got.Conflicts[:1][0] != &room.ptrs[0] {
					t.Errorf("%s: %d hits' list not built in the answer's room for %d", name, n, m)
				}
			}
		}
	}
}
