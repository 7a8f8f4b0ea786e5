package geo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/paulmach/orb"
)

// MaxRadius is the largest circle radius a zone may have, in metres. Larger
// circles are almost certainly a unit mistake (feet or centimetres).
const MaxRadius = 1_000_000

// Validate reports every problem of z that would make a check against it
// wrong or meaningless. Every reader applies it to each zone it reads, and
// NewIndex to each zone it is given. It checks that:
//   - ID is not empty and Restriction is known;
//   - every text (ID, name, country, reasons, message, authorities) is
//     UTF-8 without control characters (see CheckText);
//   - there is at least one volume, and each has a shape: polygons with at
//     least one ring each, every ring closed (first position equals last)
//     with at least 4 positions, every coordinate finite and within
//     longitude -180..180, latitude -90..90; or a circle with such a center
//     and a finite radius in (0, MaxRadius] metres; no ring edge spans more
//     than MaxEdgeLongitude degrees of longitude and no ring encloses zero
//     area (see CheckRing);
//   - every closed limit is a finite height with a known reference, and a
//     lower limit is not above the upper one when both are closed and use
//     the same reference (limits in different references cannot be compared
//     without terrain and geoid data, so they pass);
//   - no period ends before it starts, and each daily period has days,
//     Start and End within 0..86400 s, an Offset under a day, and only known
//     daylight events.
//
// It does not check that holes lie inside their outer ring, that rings do
// not cross themselves, or ring orientation: checks count a point inside
// when the even-odd rule puts it inside, whatever the drawing.
//
// Problems carry z.Source.File, z.Source.Feature and z.ID, and name model
// fields such as "volumes[0].shape.polygons[0][1]" or "volumes[1].lower".
func Validate(z *Zone) []Problem {
	var probs []Problem
	add := func(field, msg string) {
		probs = append(probs, Problem{File: z.Source.File, Feature: z.Source.Feature, ZoneID: z.ID, Field: field, Msg: msg})
	}
	validateWith(z, nil, add)
	validateText(z, add)
	return probs
}

// srcNames names a zone's parts as its source file spells them, so that
// Validate's problems point into the file. A nil *srcNames gives model names.
type srcNames struct {
	id, restriction string
	// volumes names the list of volumes; vols each volume, in Zone.Volumes
	// order.
	volumes string
	vols    []volNames
	// periods names the list of periods; pers each period.
	periods string
	pers    []perNames
	// days, start and end name the members of a daily period.
	days, start, end string
}

type volNames struct {
	// shape names the polygons: ring r of polygon p is shape[p][r], or
	// shape[r] when multi is false (a source Polygon).
	shape           string
	multi           bool
	center, radius  string
	lower, lowerRef string
	upper, upperRef string
}

type perNames struct {
	start, end string
	sched      []string // each daily period
}

func (n *srcNames) idName() string {
	if n == nil {
		return "id"
	}
	return n.id
}

func (n *srcNames) restrictionName() string {
	if n == nil {
		return "restriction"
	}
	return n.restriction
}

func (n *srcNames) volumesName() string {
	if n == nil {
		return "volumes"
	}
	return n.volumes
}

func (n *srcNames) vol(i int) volNames {
	if n != nil && i < len(n.vols) {
		return n.vols[i]
	}
	v := "volumes[" + strconv.Itoa(i) + "]"
	return volNames{
		shape: v + ".shape.polygons", multi: true,
		center: v + ".shape.center", radius: v + ".shape.radius",
		lower: v + ".lower", lowerRef: v + ".lower.ref",
		upper: v + ".upper", upperRef: v + ".upper.ref",
	}
}

func (n *srcNames) per(i int) perNames {
	if n != nil && i < len(n.pers) {
		return n.pers[i]
	}
	p := "applicability.periods[" + strconv.Itoa(i) + "]"
	return perNames{start: p + ".start", end: p + ".end"}
}

func (n *srcNames) sched(pn perNames, i, j int) string {
	if n != nil && j < len(pn.sched) {
		return pn.sched[j]
	}
	return "applicability.periods[" + strconv.Itoa(i) + "].schedule[" + strconv.Itoa(j) + "]"
}

func (n *srcNames) dailyNames() (days, start, end string) {
	if n == nil {
		return "days", "start", "end"
	}
	return n.days, n.start, n.end
}

// validateWith validates z, naming fields by names, and reports through add.
func validateWith(z *Zone, names *srcNames, add func(field, msg string)) {
	if z.ID == "" {
		add(names.idName(), "required: a zone needs a non-empty ID")
	}
	if z.Restriction == RestrictionUnknown || z.Restriction > NoRestriction {
		add(names.restrictionName(), "required: PROHIBITED, REQ_AUTHORISATION, CONDITIONAL or NO_RESTRICTION")
	}
	if len(z.Volumes) == 0 {
		add(names.volumesName(), "required: a zone needs at least one volume")
	}
	for i := range z.Volumes {
		validateVolume(&z.Volumes[i], names.vol(i), add)
	}
	days, start, end := names.dailyNames()
	for i := range z.Applicability.Periods {
		p := &z.Applicability.Periods[i]
		pn := names.per(i)
		if !p.Start.IsZero() && !p.End.IsZero() && p.End.Before(p.Start) {
			add(pn.end, fmt.Sprintf("end %s before start %s", p.End.Format(time.RFC3339), p.Start.Format(time.RFC3339)))
		}
		for j := range p.Schedule {
			d := &p.Schedule[j]
			prefix := names.sched(pn, i, j)
			switch {
			case d.Days == 0:
				add(prefix+"."+days, "no days: want one or more of MON, TUE, WED, THU, FRI, SAT, SUN, or ANY")
			case d.Days&^AllDays != 0:
				add(prefix+"."+days, fmt.Sprintf("unknown days in set %#x", uint8(d.Days)))
			}
			if d.Start < 0 || d.Start > daySeconds {
				add(prefix+"."+start, fmt.Sprintf("%d s after midnight is outside 0..86400", d.Start))
			}
			if d.End < 0 || d.End > daySeconds {
				add(prefix+"."+end, fmt.Sprintf("%d s after midnight is outside 0..86400", d.End))
			}
			if d.Offset <= -daySeconds || d.Offset >= daySeconds {
				add(prefix+"."+start, fmt.Sprintf("UTC offset %d s is a day or more", d.Offset))
			}
			if !knownDaylightEvent(d.StartEvent) {
				add(prefix+"."+start, fmt.Sprintf("unknown daylight event %q (want BMCT, SR, SS or EECT)", d.StartEvent))
			}
			if !knownDaylightEvent(d.EndEvent) {
				add(prefix+"."+end, fmt.Sprintf("unknown daylight event %q (want BMCT, SR, SS or EECT)", d.EndEvent))
			}
		}
	}
}

// knownDaylightEvent reports whether e is empty or an ED-318 daylight event:
// begin of morning civil twilight, sunrise, sunset, end of evening civil
// twilight.
func knownDaylightEvent(e string) bool {
	switch e {
	case "", "BMCT", "SR", "SS", "EECT":
		return true
	}
	return false
}

func validateVolume(v *Volume, vn volNames, add func(field, msg string)) {
	s := &v.Shape
	switch s.Kind {
	case ShapePolygon:
		validateRings(add, vn.shape, s.Polygons, vn.multi)
	case ShapeCircle:
		validatePosition(add, vn.center, s.Center)
		switch {
		case !isFinite(s.Radius):
			add(vn.radius, fmt.Sprintf("radius %v is not a finite number of metres", s.Radius))
		case s.Radius <= 0:
			add(vn.radius, fmt.Sprintf("radius %v m: want more than 0", s.Radius))
		case s.Radius > MaxRadius:
			add(vn.radius, fmt.Sprintf("radius %v m is over the %d m maximum", s.Radius, MaxRadius))
		}
	default:
		add(vn.shape, "no shape: want polygons or a circle")
	}
	lowerOK := validateLimit(add, vn.lower, vn.lowerRef, v.Lower)
	upperOK := validateLimit(add, vn.upper, vn.upperRef, v.Upper)
	if lowerOK && upperOK && !v.Lower.Open && !v.Upper.Open && v.Lower.Ref == v.Upper.Ref && v.Lower.Metres > v.Upper.Metres {
		add(vn.lower, fmt.Sprintf("lower limit %s is above upper limit %s", v.Lower, v.Upper))
	}
}

func validateLimit(add func(field, msg string), field, refField string, l Limit) bool {
	if l.Open {
		return true
	}
	ok := true
	if !isFinite(l.Metres) {
		add(field, fmt.Sprintf("height %v m is not a finite number", l.Metres))
		ok = false
	}
	if l.Ref == RefUnknown || l.Ref > WGS84 {
		add(refField, "required for a closed limit: AGL, AMSL or WGS84")
		ok = false
	}
	return ok
}

// validatePolygons reports each problem of mp through add: no polygons, a
// polygon without rings, a ring that is not closed or has fewer than 4
// positions, a coordinate that is not finite or out of range. Ring r of
// polygon p is named field[p][r], its position k field[p][r][k].
func validatePolygons(add func(field, msg string), field string, mp orb.MultiPolygon) {
	validateRings(add, field, mp, true)
}

// validateRings is validatePolygons; when multi is false, mp holds one
// polygon whose rings are named field[r].
func validateRings(add func(field, msg string), field string, mp orb.MultiPolygon, multi bool) {
	if len(mp) == 0 {
		add(field, "no polygons")
		return
	}
	for p, poly := range mp {
		pf := field
		if multi {
			pf = fieldIndex(field, p)
		}
		if len(poly) == 0 {
			add(pf, "polygon has no rings: want an outer ring, then any holes")
			continue
		}
		for r, ring := range poly {
			finite := true
			for k, pt := range ring {
				if !positionOK(pt) {
					validatePosition(add, fieldIndex(fieldIndex(pf, r), k), pt)
					finite = false
				}
			}
			if len(ring) < 4 {
				add(fieldIndex(pf, r), fmt.Sprintf("ring has %d positions: want at least 4, the last repeating the first", len(ring)))
				continue
			}
			if finite && ring[0] != ring[len(ring)-1] {
				add(fieldIndex(pf, r), fmt.Sprintf("ring not closed: last position %v differs from first %v", ring[len(ring)-1], ring[0]))
				continue
			}
			if e := CheckRing(ring); finite && e != nil {
				f := fieldIndex(pf, r)
				if e.Edge >= 0 {
					f = fieldIndex(f, e.Edge)
				}
				add(f, e.Msg)
			}
		}
	}
}

// positionOK reports whether pt is a finite longitude/latitude in range.
// NaN fails every comparison, so it fails here too.
func positionOK(pt orb.Point) bool {
	return pt[0] >= -180 && pt[0] <= 180 && pt[1] >= -90 && pt[1] <= 90
}

// validatePosition reports a coordinate that is not finite or out of range.
func validatePosition(add func(field, msg string), field string, pt orb.Point) bool {
	ok := true
	if lon := pt[0]; !isFinite(lon) || lon < -180 || lon > 180 {
		add(field, fmt.Sprintf("longitude %v outside -180..180", lon))
		ok = false
	}
	if lat := pt[1]; !isFinite(lat) || lat < -90 || lat > 90 {
		add(field, fmt.Sprintf("latitude %v outside -90..90", lat))
		ok = false
	}
	return ok
}

// fieldIndex returns field[i].
func fieldIndex(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}
