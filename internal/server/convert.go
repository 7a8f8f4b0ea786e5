package server

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// This file converts geo values to their proto messages. Converting the other
// way is validation's job (validate.go), since every request field must be
// checked on the way in.

// The ...ToProto tables are arrays over every value of their (uint8) key:
// a look-up is an index with no bounds check, and a value with no entry
// gives the zero (UNSPECIFIED), as a map would. A map look-up cost a
// hash for every zone of every answer.

var restrictionToProto = [256]noflyv1.Restriction{
	geo.Prohibited:       noflyv1.Restriction_RESTRICTION_PROHIBITED,
	geo.ReqAuthorisation: noflyv1.Restriction_RESTRICTION_REQ_AUTHORISATION,
	geo.Conditional:      noflyv1.Restriction_RESTRICTION_CONDITIONAL,
	geo.NoRestriction:    noflyv1.Restriction_RESTRICTION_NO_RESTRICTION,
}

var refToProto = [256]noflyv1.VerticalReference{
	geo.AGL:   noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL,
	geo.AMSL:  noflyv1.VerticalReference_VERTICAL_REFERENCE_AMSL,
	geo.WGS84: noflyv1.VerticalReference_VERTICAL_REFERENCE_WGS84,
}

var refFromProto = map[noflyv1.VerticalReference]geo.VerticalRef{
	noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL:   geo.AGL,
	noflyv1.VerticalReference_VERTICAL_REFERENCE_AMSL:  geo.AMSL,
	noflyv1.VerticalReference_VERTICAL_REFERENCE_WGS84: geo.WGS84,
}

var exemptionsToProto = [256]noflyv1.RegulationExemption{
	geo.ExemptionsAllowed:    noflyv1.RegulationExemption_REGULATION_EXEMPTION_ALLOWED,
	geo.ExemptionsNotAllowed: noflyv1.RegulationExemption_REGULATION_EXEMPTION_NOT_ALLOWED,
}

// caveatKinds lists geo's caveats with their proto kinds.
var caveatKinds = []struct {
	c    geo.Caveat
	kind noflyv1.CaveatKind
}{
	{geo.CaveatNoAltitude, noflyv1.CaveatKind_CAVEAT_KIND_NO_ALTITUDE},
	{geo.CaveatReference, noflyv1.CaveatKind_CAVEAT_KIND_VERTICAL_REFERENCE},
	{geo.CaveatDaylight, noflyv1.CaveatKind_CAVEAT_KIND_DAYLIGHT},
}

func caveatsToProto(c geo.Caveat) []*noflyv1.Caveat {
	var out []*noflyv1.Caveat
	for _, k := range caveatKinds {
		if c&k.c != 0 {
			out = append(out, &noflyv1.Caveat{Kind: k.kind, Text: k.c.String()})
		}
	}
	return out
}

func position(p orb.Point) *noflyv1.Position {
	return &noflyv1.Position{Latitude: p[1], Longitude: p[0]}
}

func boundToProto(b orb.Bound) *noflyv1.BoundingBox {
	return &noflyv1.BoundingBox{
		MinLatitude: b.Min[1], MinLongitude: b.Min[0],
		MaxLatitude: b.Max[1], MaxLongitude: b.Max[0],
	}
}

func timeToProto(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func windowToProto(w geo.TimeWindow) *noflyv1.TimeWindow {
	return &noflyv1.TimeWindow{Start: timeToProto(w.Start), End: timeToProto(w.End)}
}

func summaryToProto(z *geo.Zone) *noflyv1.ZoneSummary {
	return setSummary(new(noflyv1.ZoneSummary), z)
}

// setSummary sets s, a new message, to z's summary and returns it.
func setSummary(s *noflyv1.ZoneSummary, z *geo.Zone) *noflyv1.ZoneSummary {
	s.Id, s.Name, s.Restriction = z.ID, z.Name, restrictionToProto[z.Restriction]
	s.Reasons, s.Message, s.Authorities = slices.Clone(z.Reasons), z.Message, authoritiesToProto(z.Authorities)
	s.RegulationExemption, s.OperationCategories = exemptionsToProto[z.Exemptions], categoriesToProto(z.Categories)
	s.UspaceClass = slices.Clone(z.Class)
	return s
}

func authoritiesToProto(as []geo.Authority) []*noflyv1.Authority {
	out := make([]*noflyv1.Authority, 0, len(as))
	for _, a := range as {
		out = append(out, &noflyv1.Authority{
			Name: a.Name, Service: a.Service, Email: a.Email, ContactName: a.ContactName,
			SiteUrl: a.SiteURL, Phone: a.Phone, Purpose: a.Purpose, IntervalBefore: a.IntervalBefore,
		})
	}
	return out
}

// zoneToProto converts a zone; the BASIC view leaves out the volumes' shapes.
func zoneToProto(z *geo.Zone, view noflyv1.ZoneView) *noflyv1.Zone {
	pz := &noflyv1.Zone{
		Id:                  z.ID,
		Name:                z.Name,
		Country:             z.Country,
		Restriction:         restrictionToProto[z.Restriction],
		Reasons:             slices.Clone(z.Reasons),
		Message:             z.Message,
		Authorities:         authoritiesToProto(z.Authorities),
		RegulationExemption: exemptionsToProto[z.Exemptions],
		OperationCategories: categoriesToProto(z.Categories),
		UspaceClass:         slices.Clone(z.Class),
		Source: &noflyv1.ZoneSource{
			File: z.Source.File, Feature: int32(z.Source.Feature), Format: z.Source.Format,
		},
	}
	if len(z.Volumes) > 0 {
		pz.Bounds = boundToProto(z.Bound())
	}
	full := view == noflyv1.ZoneView_ZONE_VIEW_FULL
	for _, v := range z.Volumes {
		newVol := func() *noflyv1.Volume {
			return &noflyv1.Volume{Lower: limitToProto(v.Lower), Upper: limitToProto(v.Upper)}
		}
		switch v.Shape.Kind {
		case geo.ShapePolygon:
			// A multipolygon becomes one volume per polygon, each with the
			// same limits: the union is the same, and the count of volumes
			// does not depend on the view.
			for _, poly := range v.Shape.Polygons {
				pv := newVol()
				if full {
					pv.Shape = &noflyv1.Volume_Polygon{Polygon: polygonToProto(poly)}
				}
				pz.Volumes = append(pz.Volumes, pv)
			}
		default:
			pv := newVol()
			if full && v.Shape.Kind == geo.ShapeCircle {
				pv.Shape = &noflyv1.Volume_Circle{Circle: &noflyv1.Circle{
					Center: position(v.Shape.Center), RadiusM: v.Shape.Radius,
				}}
			}
			pz.Volumes = append(pz.Volumes, pv)
		}
	}
	for _, p := range z.Applicability.Periods {
		pp := &noflyv1.Period{Start: timeToProto(p.Start), End: timeToProto(p.End)}
		for _, d := range p.Schedule {
			pp.Schedule = append(pp.Schedule, dailyToProto(d))
		}
		pz.Applicability = append(pz.Applicability, pp)
	}
	return pz
}

func polygonToProto(poly orb.Polygon) *noflyv1.Polygon {
	pp := &noflyv1.Polygon{Rings: make([]*noflyv1.Ring, 0, len(poly))}
	for _, r := range poly {
		pr := &noflyv1.Ring{Positions: make([]*noflyv1.Position, 0, len(r))}
		for _, p := range r {
			pr.Positions = append(pr.Positions, position(p))
		}
		pp.Rings = append(pp.Rings, pr)
	}
	return pp
}

func limitToProto(l geo.Limit) *noflyv1.Limit {
	if l.Open {
		return nil
	}
	return &noflyv1.Limit{Metres: l.Metres, Reference: refToProto[l.Ref]}
}

// weekdayToProto maps time.Weekday (Sunday 0) to the proto's ISO order
// (Monday 1 .. Sunday 7).
func weekdayToProto(d time.Weekday) noflyv1.Weekday {
	if d == time.Sunday {
		return noflyv1.Weekday_WEEKDAY_SUNDAY
	}
	return noflyv1.Weekday(d)
}

func dailyToProto(d geo.DailyPeriod) *noflyv1.DailyPeriod {
	pd := &noflyv1.DailyPeriod{
		StartSeconds: d.Start, EndSeconds: d.End,
		StartEvent: d.StartEvent, EndEvent: d.EndEvent,
	}
	for _, wd := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if d.Days.Has(wd) {
			pd.Days = append(pd.Days, weekdayToProto(wd))
		}
	}
	if d.Loc != nil {
		pd.TimeZone = d.Loc.String()
	} else {
		off := d.Offset
		sign := '+'
		if off < 0 {
			sign, off = '-', -off
		}
		pd.TimeZone = fmt.Sprintf("%c%02d:%02d", sign, off/3600, off%3600/60)
	}
	return pd
}

func bandToProto(b geo.Band) *noflyv1.HeightBand { return new(bandMsg).set(b) }

func verdictToProto(v exemptions.Verdict) noflyv1.Verdict {
	switch v {
	case exemptions.Clear:
		return noflyv1.Verdict_VERDICT_CLEAR
	case exemptions.Denied:
		return noflyv1.Verdict_VERDICT_DENIED
	case exemptions.Exempted:
		return noflyv1.Verdict_VERDICT_EXEMPTED
	}
	return noflyv1.Verdict_VERDICT_UNSPECIFIED
}

// checkProto is a decision (exemptions.Decide) as both check responses
// carry it.
type checkProto struct {
	verdict    noflyv1.Verdict
	conflicts  []*noflyv1.ZoneHit
	advisories []*noflyv1.ZoneHit
	caveats    []*noflyv1.Caveat
	applied    []*noflyv1.AppliedExemption
}

// resultToProto converts a decision. Converting decides nothing: the
// verdict, the order, which exemption covers what and why none does are
// all r's.
//
// The hits' messages are allocated together (fullHit), their legs in one
// array and their refusals in another, and hits share their time window
// and caveats with the hit before when these are the same (a route's hits
// mostly have the route's window): a route's answer holds tens of hits,
// each of about ten messages, and every call paid for each on its own.
// The answer is the same message.
func resultToProto(r *exemptions.Result) checkProto {
	p := checkProto{verdict: verdictToProto(r.Verdict), caveats: caveatsToProto(r.Caveats)}
	if len(r.Applied) > 0 {
		p.applied = make([]*noflyv1.AppliedExemption, len(r.Applied))
		for i, ex := range r.Applied {
			p.applied[i] = appliedToProto(ex)
		}
	}
	n := len(r.Conflicts) + len(r.Advisories)
	if n == 0 {
		return p
	}
	var nLegs, nRefusals int
	for i := range r.Conflicts {
		nLegs += len(r.Conflicts[i].Hit.Legs)
		nRefusals += len(r.Conflicts[i].Reasons)
	}
	for _, h := range r.Advisories {
		nLegs += len(h.Legs)
	}
	var (
		hits     = make([]fullHit, n)
		ptrs     = make([]*noflyv1.ZoneHit, n)
		legs     []int32
		refusals []noflyv1.ExemptionRefusal
		refPtrs  []*noflyv1.ExemptionRefusal
		// The last time window and caveats converted, to share.
		lastWhen geo.TimeWindow
		lastWin  *noflyv1.TimeWindow
		lastCav  geo.Caveat
		lastCavs []*noflyv1.Caveat
	)
	if nLegs > 0 {
		legs = make([]int32, 0, nLegs)
	}
	if nRefusals > 0 {
		refusals, refPtrs = make([]noflyv1.ExemptionRefusal, nRefusals), make([]*noflyv1.ExemptionRefusal, nRefusals)
	}
	hit := func(i int, h *geo.Hit) *noflyv1.ZoneHit {
		fh := &hits[i]
		setSummary(&fh.zone, h.Zone)
		b := fh.band.set(h.Band)
		if lastWin == nil || !h.When.Start.Equal(lastWhen.Start) || !h.When.End.Equal(lastWhen.End) {
			lastWhen, lastWin = h.When, new(windowMsgs).set(h.When)
		}
		if h.Caveats != lastCav || (lastCavs == nil && h.Caveats != 0) {
			lastCav, lastCavs = h.Caveats, caveatsToProto(h.Caveats)
		}
		ph := &fh.hit
		ph.Zone, ph.ClosestApproachM, ph.Inside, ph.HeightBand = &fh.zone, h.Distance, h.Distance == 0, b
		ph.TimeWindow, ph.Caveats = lastWin, lastCavs
		if len(h.Legs) > 0 {
			start := len(legs)
			for _, l := range h.Legs {
				legs = append(legs, int32(l))
			}
			ph.Legs = legs[start:len(legs):len(legs)]
		}
		ptrs[i] = ph
		return ph
	}
	if len(r.Conflicts) > 0 {
		p.conflicts = ptrs[:len(r.Conflicts):len(r.Conflicts)]
	}
	for i := range r.Conflicts {
		c := &r.Conflicts[i]
		ph := hit(i, c.Hit)
		if c.By != nil {
			// The message of an applied exemption is shared with the list;
			// a DENIED check applies none, and its covered conflicts get
			// their own.
			if j := slices.Index(r.Applied, c.By); j >= 0 {
				ph.Exemption = p.applied[j]
			} else {
				ph.Exemption = appliedToProto(c.By)
			}
		}
		if k := len(c.Reasons); k > 0 {
			for j, why := range c.Reasons {
				refusals[j].ExemptionId, refusals[j].Reason = why.ExemptionID, why.Text
				refPtrs[j] = &refusals[j]
			}
			ph.NotCovered = refPtrs[:k:k]
			refusals, refPtrs = refusals[k:], refPtrs[k:]
		}
	}
	if len(r.Advisories) > 0 {
		p.advisories = ptrs[len(r.Conflicts):]
	}
	for i, h := range r.Advisories {
		hit(len(r.Conflicts)+i, h)
	}
	return p
}

// fullHit is a full answer's hit with the messages it holds: the zone's
// summary, and the height band and its heights.
type fullHit struct {
	hit  noflyv1.ZoneHit
	zone noflyv1.ZoneSummary
	band bandMsg
}

// basicProto is basicResultToProto's answer built for the unary check,
// where every call pays for it: the messages of the hits are allocated
// together (basicHit), in room (the first time window and height band, and
// the list of a few hits) when they fit, and the hits share their time
// window, height band and caveats when these are the same (a position's
// hits all have its instant, and most its height). The answer is the same
// message.
func basicProto(r *exemptions.Result, room *basicRoom) checkProto {
	p := checkProto{verdict: verdictToProto(r.Verdict), caveats: caveatsToProto(r.Caveats)}
	n := len(r.Conflicts) + len(r.Advisories)
	if n == 0 && len(r.Applied) == 0 {
		return p
	}
	var (
		hits = room.msgs
		ptrs []*noflyv1.ZoneHit
		// The last time window and caveats converted, to share.
		lastWhen geo.TimeWindow
		lastWin  *noflyv1.TimeWindow
		lastCav  geo.Caveat
		lastCavs []*noflyv1.Caveat
		winRoom  = &room.window
		// The last height band converted, to share.
		lastBand    geo.Band
		lastBandMsg *noflyv1.HeightBand
		bandRoom    = &room.band
	)
	if len(hits) < n {
		hits = make([]basicHit, n)
	}
	if n <= len(room.hits) {
		ptrs = room.hits[:n:n]
	} else if n <= len(room.ptrs) {
		ptrs = room.ptrs[:n:n]
	} else {
		ptrs = make([]*noflyv1.ZoneHit, n)
	}
	hit := func(i int, h *geo.Hit) *noflyv1.ZoneHit {
		bh := &hits[i]
		s := &bh.zone
		s.Id, s.Restriction, s.RegulationExemption = h.Zone.ID, restrictionToProto[h.Zone.Restriction], exemptionsToProto[h.Zone.Exemptions]
		if lastBandMsg == nil || !sameBand(h.Band, lastBand) {
			// As bandToProto: the first in room, any other of its own.
			bm := bandRoom
			if bm == nil {
				bm = new(bandMsg)
			}
			bandRoom = nil
			lastBand, lastBandMsg = h.Band, bm.set(h.Band)
		}
		if lastWin == nil || !h.When.Start.Equal(lastWhen.Start) || !h.When.End.Equal(lastWhen.End) {
			// As windowToProto: the first in room, any other of its own.
			w := winRoom
			if w == nil {
				w = new(windowMsgs)
			}
			winRoom = nil
			lastWhen, lastWin = h.When, w.set(h.When)
		}
		if h.Caveats != lastCav || (lastCavs == nil && h.Caveats != 0) {
			lastCav, lastCavs = h.Caveats, caveatsToProto(h.Caveats)
		}
		ph := &bh.hit
		ph.Zone, ph.ClosestApproachM, ph.Inside, ph.HeightBand = s, h.Distance, h.Distance == 0, lastBandMsg
		ph.TimeWindow, ph.Caveats = lastWin, lastCavs
		ptrs[i] = ph
		return ph
	}
	applied := func(ex *exemptions.Exemption) *noflyv1.AppliedExemption {
		return &noflyv1.AppliedExemption{Id: ex.ID, ValidUntil: timeToProto(ex.ValidUntil), CeilingM: ex.Ceiling.Metres,
			CeilingReference: refToProto[ex.Ceiling.Ref]}
	}
	for _, ex := range r.Applied {
		p.applied = append(p.applied, applied(ex))
	}
	if len(r.Conflicts) > 0 {
		p.conflicts = ptrs[:len(r.Conflicts):len(r.Conflicts)]
	}
	for i := range r.Conflicts {
		c := &r.Conflicts[i]
		ph := hit(i, c.Hit)
		if c.By != nil {
			if j := slices.Index(r.Applied, c.By); j >= 0 {
				ph.Exemption = p.applied[j]
			} else {
				ph.Exemption = applied(c.By)
			}
		}
		switch k := len(c.Reasons); {
		case k == 1 && c.Reasons[0].ExemptionID == "": // the usual: none of the unit's records names the zone
			ph.NotCovered = noRecordRefusals
		case k == 1:
			ph.NotCovered = []*noflyv1.ExemptionRefusal{{ExemptionId: c.Reasons[0].ExemptionID}}
		case k > 1:
			refs := make([]noflyv1.ExemptionRefusal, k)
			ph.NotCovered = make([]*noflyv1.ExemptionRefusal, k)
			for j, why := range c.Reasons {
				refs[j].ExemptionId = why.ExemptionID
				ph.NotCovered[j] = &refs[j]
			}
		}
	}
	if len(r.Advisories) > 0 {
		p.advisories = ptrs[len(r.Conflicts):]
	}
	for i, h := range r.Advisories {
		hit(len(r.Conflicts)+i, h)
	}
	return p
}

// basicHit is a BASIC answer's hit with the zone's summary. The hits of
// an answer share their height band when it is the same (a position's
// hits mostly are at its height), and a conflict that no record of the
// unit names says so with noRecordRefusals.
type basicHit struct {
	hit  noflyv1.ZoneHit
	zone noflyv1.ZoneSummary
}

// noRecordRefusals is the refusals of a BASIC answer's conflict that no
// record of the unit names (one, naming none), shared by every answer: it
// must not be changed.
var noRecordRefusals = []*noflyv1.ExemptionRefusal{{}}[:1:1]

// bandMsg is a height band with its heights.
type bandMsg struct {
	band         noflyv1.HeightBand
	lower, upper float64
}

// set makes m the message of b and returns it: the reference, and each
// limit that is a height (not open, not unknown) when the heights are
// known at all; a band whose heights are not known counts every height.
func (m *bandMsg) set(b geo.Band) *noflyv1.HeightBand {
	m.band.Reference = refToProto[b.Ref]
	if b.Ref == geo.RefUnknown {
		return &m.band
	}
	if !math.IsInf(b.Lower, -1) && !math.IsNaN(b.Lower) {
		m.lower = b.Lower
		m.band.LowerM = &m.lower
	}
	if !math.IsInf(b.Upper, 1) && !math.IsNaN(b.Upper) {
		m.upper = b.Upper
		m.band.UpperM = &m.upper
	}
	return &m.band
}

// sameBand reports whether a and b convert to the same height band: the
// same reference and, bit for bit, heights.
func sameBand(a, b geo.Band) bool {
	return a.Ref == b.Ref && math.Float64bits(a.Lower) == math.Float64bits(b.Lower) &&
		math.Float64bits(a.Upper) == math.Float64bits(b.Upper)
}

// windowMsgs is a time window with its times.
type windowMsgs struct {
	window     noflyv1.TimeWindow
	start, end timestamppb.Timestamp
}

// set makes w the message of when, as windowToProto does, and returns it.
func (w *windowMsgs) set(when geo.TimeWindow) *noflyv1.TimeWindow {
	if !when.Start.IsZero() {
		w.window.Start = setTimestamp(&w.start, when.Start)
	}
	if !when.End.IsZero() {
		w.window.End = setTimestamp(&w.end, when.End)
	}
	return &w.window
}

// basicRoom is room in an answer for what most BASIC answers hold: one
// time window, one height band, and the list of a few hits.
type basicRoom struct {
	window windowMsgs
	band   bandMsg
	hits   [4]*noflyv1.ZoneHit
	// msgs and ptrs are room for the hits' messages, zeroed, and for more
	// than four hits' list, each used when there is enough of it
	// (newPositionAnswer allocates them with the answer).
	msgs []basicHit
	ptrs []*noflyv1.ZoneHit
}
