package exemptions

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

var (
	t0   = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	zone = &geo.Zone{ID: "NL-EHAM", Country: "NLD", Restriction: geo.Prohibited, Reasons: []string{"AIR_TRAFFIC"}}
)

// square is a lon/lat square of side 2·half degrees around c.
func square(c orb.Point, half float64) *geo.Shape {
	return &geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{{{
		{c[0] - half, c[1] - half}, {c[0] + half, c[1] - half}, {c[0] + half, c[1] + half},
		{c[0] - half, c[1] + half}, {c[0] - half, c[1] - half},
	}}}}
}

// base is an exemption that covers baseHit for baseFlight; each test case
// changes one thing.
func base() *Exemption {
	return &Exemption{
		ID: "EX-000001", Holder: Holder{Unit: "AMS"}, ZoneIDs: []string{"NL-EHAM"},
		ValidFrom: t0, ValidUntil: t0.Add(4 * time.Hour),
		Ceiling:    Ceiling{Metres: 100, Ref: geo.AGL},
		Purposes:   []Purpose{PurposeForensic},
		Conditions: "call the tower 10 minutes before take-off", LegalBasis: "ILT/2026/123",
		IssuedBy: "admin", IssuedAt: t0.Add(-time.Hour),
	}
}

func baseHit() *geo.Hit {
	return &geo.Hit{
		Zone: zone,
		Band: geo.Band{Lower: 0, Upper: 80, Ref: geo.AGL},
		When: geo.TimeWindow{Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)},
	}
}

func baseFlight() Flight {
	return Flight{Unit: "AMS", Pilot: "P1", Drone: "D1", Purpose: PurposeForensic,
		Kind: FlightPosition, Point: orb.Point{4.76, 52.31}}
}

func TestCover(t *testing.T) {
	now := t0.Add(30 * time.Minute)
	tests := []struct {
		name   string
		ex     func(e *Exemption)
		hit    func(h *geo.Hit)
		flight func(f *Flight)
		// want: "" when covered, else a fragment of the (only) reason.
		want string
	}{
		{name: "covers"},
		{name: "flight ends exactly when the exemption does",
			hit: func(h *geo.Hit) { h.When.End = t0.Add(4 * time.Hour) }},
		{name: "flight starts exactly when the exemption does",
			hit: func(h *geo.Hit) { h.When.Start = t0 }},
		{name: "ceiling equal to the planned height",
			hit: func(h *geo.Hit) { h.Band.Upper = 100 }},
		{name: "ends before the flight does",
			hit:  func(h *geo.Hit) { h.When.End = t0.Add(5*time.Hour + 30*time.Minute) },
			want: "EX-000001: ends 2026-05-01 14:00Z, the flight ends 2026-05-01 15:30Z"},
		{name: "ends one second before the flight does",
			hit:  func(h *geo.Hit) { h.When.End = t0.Add(4*time.Hour + time.Second) },
			want: "ends 2026-05-01 14:00Z, the flight ends 2026-05-01 14:00:01Z"},
		{name: "starts after the flight enters",
			hit:  func(h *geo.Hit) { h.When.Start = t0.Add(-time.Minute) },
			want: "starts 2026-05-01 10:00Z, the flight is in the zone from 2026-05-01 09:59Z"},
		{name: "ceiling below the planned height",
			ex:   func(e *Exemption) { e.Ceiling.Metres = 60 },
			hit:  func(h *geo.Hit) { h.Band.Upper = 100 },
			want: "ceiling 60 m AGL, planned 100 m AGL"},
		{name: "ceiling a centimetre below",
			hit:  func(h *geo.Hit) { h.Band.Upper = 100.01 },
			want: "ceiling 100 m AGL, planned 100 m AGL"},
		{name: "height not known",
			hit:  func(h *geo.Hit) { h.Band = geo.Band{Ref: geo.RefUnknown} },
			want: "the flight's height is not known"},
		{name: "no upper bound",
			hit:  func(h *geo.Hit) { h.Band.Upper = math.Inf(1) },
			want: "highest point in the zone is not bounded"},
		{name: "other vertical reference",
			hit:  func(h *geo.Hit) { h.Band.Ref = geo.AMSL },
			want: "the flight's heights are AMSL and cannot be compared"},
		{name: "revoked",
			ex: func(e *Exemption) {
				e.Revocation = &Revocation{By: "chief", At: t0.Add(10 * time.Minute), Reason: "mission cancelled"}
			},
			want: "revoked on 2026-05-01 10:10Z by chief: mission cancelled"},
		{name: "revocation after now has not taken effect",
			ex: func(e *Exemption) {
				e.Revocation = &Revocation{By: "chief", At: now.Add(time.Minute), Reason: "later"}
			}},
		{name: "superseded",
			ex:   func(e *Exemption) { e.SupersededBy = "EX-000002" },
			want: "superseded by EX-000002"},
		{name: "other unit",
			flight: func(f *Flight) { f.Unit = "RTM" },
			want:   "no exemption of unit RTM names this zone"},
		{name: "no unit",
			flight: func(f *Flight) { f.Unit = "" },
			want:   "no exemption of unit (none given) names this zone"},
		{name: "zone not named",
			ex:   func(e *Exemption) { e.ZoneIDs = []string{"NL-OTHER"} },
			want: "no exemption of unit AMS names this zone"},
		{name: "pilot named",
			ex: func(e *Exemption) { e.Holder.Pilots = []string{"P1", "P2"} }},
		{name: "other pilot",
			ex:   func(e *Exemption) { e.Holder.Pilots = []string{"P2", "P3"} },
			want: "for pilots P2, P3, not P1"},
		{name: "no pilot given",
			ex:     func(e *Exemption) { e.Holder.Pilots = []string{"P2"} },
			flight: func(f *Flight) { f.Pilot = "" },
			want:   "for pilot P2, not none given"},
		{name: "other drone",
			ex:   func(e *Exemption) { e.Holder.Drones = []string{"D9"} },
			want: "for drone D9, not D1"},
		{name: "drone named",
			ex: func(e *Exemption) { e.Holder.Drones = []string{"D1"} }},
		{name: "other purpose",
			flight: func(f *Flight) { f.Purpose = PurposeTraining },
			want:   "allows purpose FORENSIC, not TRAINING"},
		{name: "no purpose given",
			flight: func(f *Flight) { f.Purpose = "" },
			want:   "allows purpose FORENSIC, not none given"},
		{name: "any purpose",
			ex:     func(e *Exemption) { e.Purposes = nil },
			flight: func(f *Flight) { f.Purpose = "" }},
		{name: "selector picks the zone",
			ex: func(e *Exemption) {
				e.ZoneIDs = nil
				e.Selector = Selector{Country: "NLD", Reasons: []string{"AIR_TRAFFIC"}, Restrictions: []geo.Restriction{geo.Prohibited}}
			}},
		{name: "selector of another country",
			ex: func(e *Exemption) {
				e.ZoneIDs = nil
				e.Selector = Selector{Country: "BEL"}
			},
			want: "no exemption of unit AMS names this zone"},
		{name: "selector of another reason",
			ex: func(e *Exemption) {
				e.ZoneIDs = nil
				e.Selector = Selector{Country: "NLD", Reasons: []string{"PRIVACY"}}
			},
			want: "no exemption of unit AMS names this zone"},
		{name: "selector of another restriction",
			ex: func(e *Exemption) {
				e.ZoneIDs = nil
				e.Selector = Selector{Restrictions: []geo.Restriction{geo.ReqAuthorisation}}
			},
			want: "no exemption of unit AMS names this zone"},
		{name: "zone allows no exemption",
			hit: func(h *geo.Hit) {
				h.Zone = &geo.Zone{ID: "NL-EHAM", Restriction: geo.Prohibited, Exemptions: geo.ExemptionsNotAllowed}
			},
			want: "zone NL-EHAM allows no exemption (regulationExemption NO)"},
		{name: "zone allows no exemption, named and overriding",
			ex: func(e *Exemption) { e.Override = true },
			hit: func(h *geo.Hit) {
				h.Zone = &geo.Zone{ID: "NL-EHAM", Restriction: geo.Prohibited, Exemptions: geo.ExemptionsNotAllowed}
			}},
		{name: "zone allows no exemption, overriding but only selected",
			ex: func(e *Exemption) {
				e.Override, e.ZoneIDs, e.Selector = true, []string{"NL-OTHER"}, Selector{Country: "NLD"}
			},
			hit: func(h *geo.Hit) {
				h.Zone = &geo.Zone{ID: "NL-EHAM", Country: "NLD", Restriction: geo.Prohibited, Exemptions: geo.ExemptionsNotAllowed}
			},
			want: "allows no exemption"},
		{name: "zone allows exemptions explicitly",
			hit: func(h *geo.Hit) {
				h.Zone = &geo.Zone{ID: "NL-EHAM", Restriction: geo.Prohibited, Exemptions: geo.ExemptionsAllowed}
			}},
		{name: "position inside the area",
			ex: func(e *Exemption) { e.Area = square(orb.Point{4.76, 52.31}, 0.01) }},
		{name: "position outside the area",
			ex:   func(e *Exemption) { e.Area = square(orb.Point{4.80, 52.31}, 0.01) },
			want: "the position is not inside the exemption's area"},
		{name: "position on the area's edge",
			ex:   func(e *Exemption) { e.Area = square(orb.Point{4.77, 52.31}, 0.01) },
			want: "the position is not inside the exemption's area"},
		{name: "position inside a circular area",
			ex: func(e *Exemption) {
				e.Area = &geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.761, 52.31}, Radius: 500}
			}},
		{name: "position outside a circular area",
			ex: func(e *Exemption) {
				e.Area = &geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.77, 52.31}, Radius: 500}
			},
			want: "the position is not inside"},
		{name: "several failures in one reason",
			ex:   func(e *Exemption) { e.Ceiling.Metres = 50; e.ValidUntil = t0.Add(90 * time.Minute) },
			want: "EX-000001: ends 2026-05-01 11:30Z, the flight ends 2026-05-01 12:00Z; ceiling 50 m AGL, planned 80 m AGL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex, hit, f := base(), baseHit(), baseFlight()
			if tc.ex != nil {
				tc.ex(ex)
			}
			if tc.hit != nil {
				tc.hit(hit)
			}
			if tc.flight != nil {
				tc.flight(&f)
			}
			if err := ex.Validate(nil); err != nil {
				t.Fatalf("test exemption invalid: %v", err)
			}
			d := Cover(hit, f, []*Exemption{ex}, now)
			s := &situation{hit: hit, f: f, now: now}
			if candidate(ex, hit.Zone, &f) && covers(ex, s) != (len(explain(ex, s).Rules) == 0) {
				t.Fatalf("covers and explain disagree: %+v", explain(ex, s))
			}
			if tc.want == "" {
				if !d.Covered() || d.By != ex {
					t.Fatalf("not covered: %v", d.Reasons)
				}
				return
			}
			if d.Covered() {
				t.Fatalf("covered, want %q", tc.want)
			}
			if len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0].String(), tc.want) {
				t.Fatalf("reasons %q, want one containing %q", d.Reasons, tc.want)
			}
		})
	}
}

func TestCoverPicksFirstCoveringAndListsTheOthers(t *testing.T) {
	short, good, other := base(), base(), base()
	short.ID, short.ValidUntil = "EX-000001", t0.Add(90*time.Minute)
	good.ID = "EX-000002"
	other.ID, other.Holder.Unit = "EX-000003", "RTM"
	d := Cover(baseHit(), baseFlight(), []*Exemption{other, short, good}, t0)
	if d.By != good {
		t.Fatalf("covered by %v, want EX-000002", d.By)
	}
	d = Cover(baseHit(), baseFlight(), []*Exemption{other, short}, t0)
	if d.Covered() || len(d.Reasons) != 1 || d.Reasons[0].ExemptionID != "EX-000001" {
		t.Fatalf("got %+v, want one reason for EX-000001 (EX-000003 is another unit's)", d)
	}
}

// The route runs west to east through the zone; legs 1 and 2 meet it.
//
//	0 ──── 1 ════ 2 ════ 3 ──── 4      ═ legs in the zone
//	         [ exemption area ]
func TestCoverRouteArea(t *testing.T) {
	route := []orb.Point{{4.70, 52.3}, {4.75, 52.3}, {4.80, 52.3}, {4.85, 52.3}, {4.90, 52.3}}
	hit := baseHit()
	hit.Legs = []int{1, 2}
	f := baseFlight()
	f.Kind, f.Route = FlightRoute, route
	tests := []struct {
		name   string
		area   *geo.Shape
		buffer float64
		legs   []int
		covers bool
	}{
		{name: "area holds the legs in the zone", area: square(orb.Point{4.80, 52.3}, 0.06), covers: true},
		{name: "area misses the end of leg 2", area: square(orb.Point{4.80, 52.3}, 0.04)},
		{name: "leg end on the area's edge", area: square(orb.Point{4.80, 52.3}, 0.05)},
		{name: "buffer fits", area: square(orb.Point{4.80, 52.3}, 0.06), buffer: 500, covers: true},
		{name: "buffer reaches the edge", area: square(orb.Point{4.80, 52.3}, 0.06), buffer: 800},
		{name: "circle holds the legs", area: &geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.80, 52.3}, Radius: 4000}, covers: true},
		{name: "circle too small", area: &geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.80, 52.3}, Radius: 3000}},
		{name: "all legs when none are listed", area: square(orb.Point{4.80, 52.3}, 0.06), legs: []int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex, h, fl := base(), *hit, f
			ex.Area, fl.Buffer = tc.area, tc.buffer
			if tc.legs != nil {
				h.Legs = tc.legs
			}
			d := Cover(&h, fl, []*Exemption{ex}, t0)
			if d.Covered() != tc.covers {
				t.Fatalf("covered %v, want %v (%v)", d.Covered(), tc.covers, d.Reasons)
			}
			if !tc.covers && !strings.Contains(d.Reasons[0].Text, "the route's legs in the zone") {
				t.Fatalf("reason %q does not name the legs", d.Reasons[0].Text)
			}
		})
	}
}

func TestCoverOperatingArea(t *testing.T) {
	// An exemption area with a hole in its middle (a square ring).
	withHole := square(orb.Point{4.8, 52.3}, 0.1)
	hole := square(orb.Point{4.8, 52.3}, 0.01).Polygons[0][0]
	withHole.Polygons[0] = append(withHole.Polygons[0], orb.Ring{hole[0], hole[3], hole[2], hole[1], hole[0]})
	tests := []struct {
		name   string
		exArea *geo.Shape
		area   geo.Shape
		covers bool
	}{
		{name: "square in square", exArea: square(orb.Point{4.8, 52.3}, 0.1), area: *square(orb.Point{4.8, 52.3}, 0.05), covers: true},
		{name: "square across the edge", exArea: square(orb.Point{4.8, 52.3}, 0.1), area: *square(orb.Point{4.9, 52.3}, 0.05)},
		{name: "square around the hole", exArea: withHole, area: *square(orb.Point{4.8, 52.3}, 0.05)},
		{name: "square beside the hole", exArea: withHole, area: *square(orb.Point{4.86, 52.3}, 0.03), covers: true},
		{name: "circle in square", exArea: square(orb.Point{4.8, 52.3}, 0.1),
			area: geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.8, 52.3}, Radius: 5000}, covers: true},
		{name: "circle wider than square", exArea: square(orb.Point{4.8, 52.3}, 0.1),
			area: geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.8, 52.3}, Radius: 12000}},
		{name: "circle in circle", exArea: &geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.8, 52.3}, Radius: 2000},
			area: geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.8, 52.3}, Radius: 1500}, covers: true},
		{name: "circle equal to circle", exArea: &geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.8, 52.3}, Radius: 2000},
			area: geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.8, 52.3}, Radius: 2000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex := base()
			ex.Area = tc.exArea
			f := baseFlight()
			f.Kind, f.Area = FlightArea, tc.area
			d := Cover(baseHit(), f, []*Exemption{ex}, t0)
			if d.Covered() != tc.covers {
				t.Fatalf("covered %v, want %v (%v)", d.Covered(), tc.covers, d.Reasons)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	known := func(id string) bool { return id == "NL-EHAM" || id == "NL-EHRD" }
	tests := []struct {
		name  string
		ex    func(e *Exemption)
		field string
		want  string
	}{
		{name: "valid"},
		{name: "unknown zones", ex: func(e *Exemption) { e.ZoneIDs = []string{"NL-EHAM", "X1", "X2"} },
			field: "zone_ids", want: "unknown zones: X1, X2"},
		{name: "no zones", ex: func(e *Exemption) { e.ZoneIDs = nil }, field: "zone_ids", want: "required"},
		{name: "selector alone", ex: func(e *Exemption) { e.ZoneIDs, e.Selector = nil, Selector{Country: "NLD"} }},
		{name: "until equal to from", ex: func(e *Exemption) { e.ValidUntil = e.ValidFrom },
			field: "valid_until", want: "is not after valid_from"},
		{name: "until before from", ex: func(e *Exemption) { e.ValidUntil = e.ValidFrom.Add(-time.Hour) },
			field: "valid_until", want: "is not after valid_from"},
		{name: "no from", ex: func(e *Exemption) { e.ValidFrom = time.Time{} }, field: "valid_from", want: "required"},
		{name: "no until", ex: func(e *Exemption) { e.ValidUntil = time.Time{} }, field: "valid_until", want: "required"},
		{name: "no legal basis", ex: func(e *Exemption) { e.LegalBasis = " " }, field: "legal_basis", want: "required"},
		{name: "zero ceiling", ex: func(e *Exemption) { e.Ceiling.Metres = 0 }, field: "ceiling.metres", want: "not positive"},
		{name: "negative ceiling", ex: func(e *Exemption) { e.Ceiling.Metres = -5 }, field: "ceiling.metres", want: "not positive"},
		{name: "NaN ceiling", ex: func(e *Exemption) { e.Ceiling.Metres = math.NaN() }, field: "ceiling.metres", want: "not positive"},
		{name: "no ceiling reference", ex: func(e *Exemption) { e.Ceiling.Ref = geo.RefUnknown }, field: "ceiling.ref", want: "required"},
		{name: "no unit", ex: func(e *Exemption) { e.Holder.Unit = "" }, field: "holder.unit", want: "required"},
		{name: "empty pilot", ex: func(e *Exemption) { e.Holder.Pilots = []string{"P1", ""} }, field: "holder.pilots[1]", want: "empty"},
		{name: "unknown purpose", ex: func(e *Exemption) { e.Purposes = []Purpose{"FUN"} }, field: "purposes[0]", want: "unknown purpose"},
		{name: "override by selector", ex: func(e *Exemption) { e.Override, e.ZoneIDs, e.Selector = true, nil, Selector{Country: "NLD"} },
			field: "override", want: "must name its zones by id"},
		{name: "bad area", ex: func(e *Exemption) { e.Area = &geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4, 52}, Radius: -1} },
			field: "area", want: "radius"},
		{name: "no issuer", ex: func(e *Exemption) { e.IssuedBy = "" }, field: "issued_by", want: "required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex := base()
			if tc.ex != nil {
				tc.ex(ex)
			}
			err := ex.Validate(known)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			ve, ok := err.(*ValidationError)
			if !ok {
				t.Fatalf("error %v, want a *ValidationError", err)
			}
			for _, p := range ve.Problems {
				if p.Path() == tc.field && strings.Contains(p.Msg, tc.want) {
					return
				}
			}
			t.Fatalf("problems %+v, want %s: …%s…", ve.Problems, tc.field, tc.want)
		})
	}
}

func TestCoverBoundsTheReasons(t *testing.T) {
	var cands []*Exemption
	for i := range MaxReasons + 5 {
		ex := base()
		ex.ID, ex.Ceiling.Metres = fmt.Sprintf("EX-%06d", i+1), 10
		cands = append(cands, ex)
	}
	d := Cover(baseHit(), baseFlight(), cands, t0)
	if d.Covered() || len(d.Reasons) != MaxReasons+1 || d.Reasons[MaxReasons].Text != "and 5 more exemptions of unit AMS for this zone, none of which covers the flight" {
		t.Fatalf("%d reasons, last %v", len(d.Reasons), d.Reasons[len(d.Reasons)-1])
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, area := range []*geo.Shape{nil, square(orb.Point{4.8, 52.3}, 0.1),
		{Kind: geo.ShapeCircle, Center: orb.Point{4.8, 52.3}, Radius: 500}} {
		ex := base()
		ex.Area = area
		ex.Selector = Selector{Country: "NLD", Restrictions: []geo.Restriction{geo.Prohibited, geo.ReqAuthorisation}}
		ex.Revocation = &Revocation{By: "c", At: t0, Reason: "r"}
		b, err := json.Marshal(ex)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"ref":"AGL"`, `"restrictions":["PROHIBITED","REQ_AUTHORISATION"]`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %s", b, want)
			}
		}
		var back Exemption
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(*ex, back); d != "" {
			t.Errorf("round trip (-want +got):\n%s\n%s", d, b)
		}
	}
}

func FuzzExemptionJSON(f *testing.F) {
	b, _ := json.Marshal(base())
	f.Add(b)
	f.Add([]byte(`{"area":{"center":[4,52],"radius_m":5},"ceiling":{"metres":1,"ref":"AMSL"},"selector":{"restrictions":["PROHIBITED"]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ex Exemption
		if json.Unmarshal(b, &ex) != nil {
			return
		}
		again, err := json.Marshal(ex)
		if err != nil {
			return // e.g. NaN from a huge number: not a record the store wrote
		}
		var back Exemption
		if err := json.Unmarshal(again, &back); err != nil {
			t.Fatalf("%s does not read back: %v", again, err)
		}
	})
}
