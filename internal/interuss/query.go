package interuss

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// impact is the resulting_operational_impact filter.
type impact uint8

const (
	impactAny impact = iota // not given: every feature counts
	impactBlock
	impactAdvise
	impactBlockOrAdvise
)

// selection is one filter set, read and checked: a feature is selected
// when it meets every filter.
type selection struct {
	// unsupported, when set, is why nofly cannot answer this filter set.
	unsupported string

	// volumes are area queries, one per volume4d; pos is a position as a
	// zero-length route (so that it has a time window too). A feature must
	// meet one of the volumes (when any) and the position (when given).
	volumes []geo.AreaQuery
	pos     *geo.RouteQuery
	// inVolumes says that volumes4d was given: then a feature must meet
	// one of volumes, and none does when every volume fell outside
	// after/before.
	inVolumes bool

	source       string // restriction_source; "" when not given
	category     geo.Category
	class        string // ed269.u_space_class, upper-cased; "" when not given
	restrictions []geo.Restriction
	impact       impact
}

// pathf formats a field path.
func pathf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// readChecks validates a query request and reads each check's filter sets.
// A request that does not follow the interface gets a *RequestError.
func readChecks(req *queryRequest) ([][]selection, error) {
	if req.Checks == nil {
		return nil, &RequestError{Field: "checks", Msg: "required"}
	}
	if n := len(*req.Checks); n > MaxChecks {
		return nil, &RequestError{Field: "checks", Msg: fmt.Sprintf("at most %d checks in one request, got %d", MaxChecks, n)}
	}
	out := make([][]selection, len(*req.Checks))
	for i, c := range *req.Checks {
		at := pathf("checks[%d]", i)
		if c.FilterSets == nil {
			return nil, &RequestError{Field: at + ".filter_sets", Msg: "required"}
		}
		if n := len(*c.FilterSets); n > MaxFilterSets {
			return nil, &RequestError{Field: at + ".filter_sets", Msg: fmt.Sprintf("at most %d filter sets in one check, got %d", MaxFilterSets, n)}
		}
		for j := range *c.FilterSets {
			s, err := readFilterSet(&(*c.FilterSets)[j], pathf("%s.filter_sets[%d]", at, j))
			if err != nil {
				return nil, err
			}
			out[i] = append(out[i], s)
		}
	}
	return out, nil
}

// Limits on one request, so that a valid request cannot hold a core long.
const (
	MaxChecks     = 100
	MaxFilterSets = 10
	MaxVolumes    = 10
	MaxVertices   = 1000
)

func readFilterSet(fs *filterSet, at string) (selection, error) {
	var s selection
	var after, before *time.Time
	for _, t := range []struct {
		name string
		v    *string
		dst  **time.Time
	}{{"after", fs.After, &after}, {"before", fs.Before, &before}} {
		if t.v == nil {
			continue
		}
		tt, err := parseTime(*t.v)
		if err != nil {
			return s, &RequestError{Field: at + "." + t.name, Msg: err.Error()}
		}
		*t.dst = &tt
	}
	if after != nil && before != nil && before.Before(*after) {
		return s, &RequestError{Field: at + ".before", Msg: fmt.Sprintf("%s is before after %s", before.Format(time.RFC3339), after.Format(time.RFC3339))}
	}
	whole := geo.TimeWindow{Start: geo.MinTime, End: geo.MaxTime}
	if after != nil {
		whole.Start = *after
	}
	if before != nil {
		whole.End = *before
	}

	if fs.OperationRuleSet != nil {
		c, err := geo.ParseCategory(*fs.OperationRuleSet)
		if err != nil {
			s.unsupported = fmt.Sprintf("operation_rule_set %q: nofly knows the categories of operation OPEN, SPECIFIC and CERTIFIED (EU 2019/947) as rule sets", *fs.OperationRuleSet)
		}
		s.category = c
	}
	if fs.ResultingOperationalImpact != nil {
		switch *fs.ResultingOperationalImpact {
		case "Block":
			s.impact = impactBlock
		case "Advise":
			s.impact = impactAdvise
		case "BlockOrAdvise":
			s.impact = impactBlockOrAdvise
		default:
			return s, &RequestError{Field: at + ".resulting_operational_impact", Msg: fmt.Sprintf("%q: want Block, Advise or BlockOrAdvise", *fs.ResultingOperationalImpact)}
		}
	}
	if fs.RestrictionSource != nil {
		if *fs.RestrictionSource == "" {
			return s, &RequestError{Field: at + ".restriction_source", Msg: "empty"}
		}
		s.source = *fs.RestrictionSource
	}
	if e := fs.ED269; e != nil {
		if e.USpaceClass != nil {
			c := strings.ToUpper(strings.TrimSpace(*e.USpaceClass))
			if c == "" || len(c) > 100 {
				return s, &RequestError{Field: at + ".ed269.u_space_class", Msg: "want 1 to 100 characters"}
			}
			s.class = c
		}
		for k, r := range e.AcceptableRestrictions {
			switch r {
			case "PROHIBITED", "REQ_AUTHORISATION", "CONDITIONAL", "NO_RESTRICTION":
			default:
				return s, &RequestError{Field: pathf("%s.ed269.acceptable_restrictions[%d]", at, k), Msg: fmt.Sprintf("%q: want PROHIBITED, REQ_AUTHORISATION, CONDITIONAL or NO_RESTRICTION", r)}
			}
			gr, _ := geo.ParseRestriction(r)
			s.restrictions = append(s.restrictions, gr)
		}
	}

	if n := len(fs.Volumes4D); n > MaxVolumes {
		return s, &RequestError{Field: at + ".volumes4d", Msg: fmt.Sprintf("at most %d volumes, got %d", MaxVolumes, n)}
	}
	s.inVolumes = len(fs.Volumes4D) > 0
	for k := range fs.Volumes4D {
		q, ok, err := readVolume(&fs.Volumes4D[k], pathf("%s.volumes4d[%d]", at, k), whole)
		if err != nil {
			return s, err
		}
		if ok { // a volume whose times miss the filter's selects nothing
			q.Category = s.category
			s.volumes = append(s.volumes, q)
		}
	}
	if p := fs.Position; p != nil {
		pt, err := readPoint(p.Location, at+".position.location")
		if err != nil {
			return s, err
		}
		q := geo.RouteQuery{Waypoints: []geo.Waypoint{{Point: pt}, {Point: pt}}, Window: whole, Category: s.category}
		if p.Altitude != nil {
			m, ref, err := readAltitude(p.Altitude, at+".position.altitude")
			if err != nil {
				return s, err
			}
			q.AltRef = ref
			q.Waypoints[0].Alt, q.Waypoints[1].Alt = m, m
		}
		s.pos = &q
	}
	if len(fs.Volumes4D) == 0 && fs.Position == nil && s.unsupported == "" {
		s.unsupported = "a filter set without volumes4d or position: nofly selects features where a flight would be, not the whole map"
	}
	return s, nil
}

// parseTime reads an RFC 3339 instant within the times geo checks.
func parseTime(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, fmt.Errorf("%q is not an RFC 3339 time", v)
	}
	if t.Before(geo.MinTime) || t.After(geo.MaxTime) {
		return t, fmt.Errorf("%s is outside %s to %s", v, geo.MinTime.Format(time.RFC3339), geo.MaxTime.Format(time.RFC3339))
	}
	return t.UTC(), nil
}

func readWireTime(t *wireTime, at string) (time.Time, error) {
	if t.Format != "" && t.Format != "RFC3339" {
		return time.Time{}, &RequestError{Field: at + ".format", Msg: fmt.Sprintf("%q: want RFC3339", t.Format)}
	}
	v, err := parseTime(t.Value)
	if err != nil {
		return v, &RequestError{Field: at + ".value", Msg: err.Error()}
	}
	return v, nil
}

func readPoint(p *latLng, at string) (orb.Point, error) {
	switch {
	case p == nil:
		return orb.Point{}, &RequestError{Field: at, Msg: "required"}
	case p.Lat == nil:
		return orb.Point{}, &RequestError{Field: at + ".lat", Msg: "required"}
	case p.Lng == nil:
		return orb.Point{}, &RequestError{Field: at + ".lng", Msg: "required"}
	case !(*p.Lat >= -90 && *p.Lat <= 90):
		return orb.Point{}, &RequestError{Field: at + ".lat", Msg: fmt.Sprintf("%v outside -90..90", *p.Lat)}
	case !(*p.Lng >= -180 && *p.Lng <= 180):
		return orb.Point{}, &RequestError{Field: at + ".lng", Msg: fmt.Sprintf("%v outside -180..180", *p.Lng)}
	}
	return orb.Point{*p.Lng, *p.Lat}, nil
}

// readAltitude returns the height in metres and its reference: W84 is
// geo.WGS84, SFC (the surface) geo.AGL.
func readAltitude(a *altitude, at string) (float64, geo.VerticalRef, error) {
	if a.Value == nil {
		return 0, 0, &RequestError{Field: at + ".value", Msg: "required"}
	}
	var ref geo.VerticalRef
	switch a.Reference {
	case "W84":
		ref = geo.WGS84
	case "SFC":
		ref = geo.AGL
	default:
		return 0, 0, &RequestError{Field: at + ".reference", Msg: fmt.Sprintf("%q: want W84 or SFC", a.Reference)}
	}
	m := *a.Value
	switch a.Units {
	case "M":
	case "FT":
		m = geo.FeetToMetres(m)
	default:
		return 0, 0, &RequestError{Field: at + ".units", Msg: fmt.Sprintf("%q: want M or FT", a.Units)}
	}
	if !(*a.Value >= -8000 && *a.Value <= 100_000) {
		return 0, 0, &RequestError{Field: at + ".value", Msg: fmt.Sprintf("%v outside -8000..100000", *a.Value)}
	}
	// geo checks heights from -1000 m: a lower bound beneath that is the
	// same bound for every zone.
	return max(m, -1000), ref, nil
}

// readVolume reads a Volume4D as an area query whose window is the
// volume's times within whole. ok is false when they do not overlap.
func readVolume(v *volume4D, at string, whole geo.TimeWindow) (q geo.AreaQuery, ok bool, err error) {
	if v.Volume == nil {
		return q, false, &RequestError{Field: at + ".volume", Msg: "required"}
	}
	vol := v.Volume
	at3 := at + ".volume"
	switch {
	case vol.OutlineCircle != nil && vol.OutlinePolygon != nil:
		return q, false, &RequestError{Field: at3, Msg: "both outline_circle and outline_polygon: want exactly one"}
	case vol.OutlineCircle != nil:
		c := vol.OutlineCircle
		pt, err := readPoint(c.Center, at3+".outline_circle.center")
		if err != nil {
			return q, false, err
		}
		if c.Radius == nil || c.Radius.Value == nil {
			return q, false, &RequestError{Field: at3 + ".outline_circle.radius.value", Msg: "required"}
		}
		if c.Radius.Units != "M" {
			return q, false, &RequestError{Field: at3 + ".outline_circle.radius.units", Msg: fmt.Sprintf("%q: want M", c.Radius.Units)}
		}
		r := *c.Radius.Value
		if !(r > 0 && r <= geo.MaxBuffer) {
			return q, false, &RequestError{Field: at3 + ".outline_circle.radius.value", Msg: fmt.Sprintf("%v m outside (0, %d]", r, geo.MaxBuffer)}
		}
		q.Area = geo.Shape{Kind: geo.ShapeCircle, Center: pt, Radius: r}
	case vol.OutlinePolygon != nil:
		vs := vol.OutlinePolygon.Vertices
		if len(vs) < 3 || len(vs) > MaxVertices {
			return q, false, &RequestError{Field: at3 + ".outline_polygon.vertices", Msg: fmt.Sprintf("want 3 to %d vertices, got %d", MaxVertices, len(vs))}
		}
		ring := make(orb.Ring, 0, len(vs)+1)
		for k := range vs {
			pt, err := readPoint(&vs[k], pathf("%s.outline_polygon.vertices[%d]", at3, k))
			if err != nil {
				return q, false, err
			}
			ring = append(ring, pt)
		}
		if ring[0] != ring[len(ring)-1] { // the interface leaves rings open
			ring = append(ring, ring[0])
		}
		q.Area = geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{{ring}}}
	default:
		return q, false, &RequestError{Field: at3, Msg: "no outline: want outline_circle or outline_polygon"}
	}

	// Heights: a missing bound is open. Bounds in different references
	// cannot be compared without terrain data: every height then counts
	// (geo.CaveatNoAltitude), which only ever selects more.
	var lo, hi float64
	var loRef, hiRef geo.VerticalRef
	if vol.AltitudeLower != nil {
		if lo, loRef, err = readAltitude(vol.AltitudeLower, at3+".altitude_lower"); err != nil {
			return q, false, err
		}
	}
	if vol.AltitudeUpper != nil {
		if hi, hiRef, err = readAltitude(vol.AltitudeUpper, at3+".altitude_upper"); err != nil {
			return q, false, err
		}
	}
	switch {
	case loRef != 0 && hiRef != 0 && loRef != hiRef:
		// left unknown
	case loRef != 0 && hiRef != 0:
		if lo > hi {
			return q, false, &RequestError{Field: at3 + ".altitude_lower", Msg: fmt.Sprintf("%g m above altitude_upper %g m", lo, hi)}
		}
		q.Band = geo.Band{Lower: lo, Upper: hi, Ref: loRef}
	case loRef != 0:
		q.Band = geo.Band{Lower: lo, Upper: 100_000, Ref: loRef}
	case hiRef != 0:
		q.Band = geo.Band{Lower: -1000, Upper: hi, Ref: hiRef}
	}

	q.Window = whole
	if v.TimeStart != nil {
		t, err := readWireTime(v.TimeStart, at+".time_start")
		if err != nil {
			return q, false, err
		}
		q.Window.Start = maxTime(q.Window.Start, t)
	}
	if v.TimeEnd != nil {
		t, err := readWireTime(v.TimeEnd, at+".time_end")
		if err != nil {
			return q, false, err
		}
		q.Window.End = minTime(q.Window.End, t)
	}
	if v.TimeStart != nil && v.TimeEnd != nil {
		s, _ := readWireTime(v.TimeStart, "")
		e, _ := readWireTime(v.TimeEnd, "")
		if e.Before(s) {
			return q, false, &RequestError{Field: at + ".time_end", Msg: "before time_start"}
		}
	}
	if q.Window.End.Before(q.Window.Start) {
		return q, false, nil
	}
	if err := q.Validate(); err != nil {
		return q, false, &RequestError{Field: at, Msg: err.Error()}
	}
	return q, true, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// layer is one set of zones that queries search: the zones noflyd serves
// (source names are their files), or a data source loaded through this
// interface (its source name is its id).
type layer struct {
	idx *geo.Index
	// id is the data source's id; "" for the zones noflyd serves.
	id string
}

// names reports whether z, of layer l, comes from the source named name: a
// data source by its id, a zone file by its path or its file name.
func (l layer) from(z *geo.Zone, name string) bool {
	if l.id != "" {
		return l.id == name
	}
	f := z.Source.File
	return f == name || path.Base(f) == name || strings.TrimPrefix(f, "embedded:") == name
}

// knows reports whether any layer has a source named name.
func knows(layers []layer, name string) bool {
	for _, l := range layers {
		if l.id == name {
			return true
		}
		if l.id == "" {
			for _, z := range l.idx.Zones() {
				if l.from(z, name) {
					return true
				}
			}
		}
	}
	return false
}

// evaluate answers one check: Present when any filter set selects a
// feature. A filter set nofly cannot answer makes the check
// UnsupportedFilter (never Absent: that would claim an empty map where
// nofly did not look); an error in geo makes it Error.
//
// Each filter set asks geo for the zones its volumes and position meet (the
// same conservative checks as gRPC: a volume that may meet a zone does),
// drops the zones the other filters exclude, and has exemptions.Decide
// split the rest into blocking conflicts and advisories, as it does for
// every check. No exemption applies: the interface asks what a user of the
// map would see, and exemptions belong to units and pilots.
func evaluate(sets []selection, layers []layer, now time.Time, stop func() error) checkResult {
	var unsupported []string
	for _, s := range sets {
		if s.unsupported != "" {
			unsupported = append(unsupported, s.unsupported)
			continue
		}
		if s.source != "" && !knows(layers, s.source) {
			unsupported = append(unsupported, fmt.Sprintf("restriction_source %q names no source nofly serves (zone files by name, data sources by id)", s.source))
			continue
		}
		hits, err := s.hits(layers, stop)
		if err != nil {
			return checkResult{Outcome: OutcomeError, Message: err.Error()}
		}
		r := exemptions.Decide(hits, s.flight(), nil, now)
		var selected bool
		switch s.impact {
		case impactAny:
			selected = len(hits) > 0
		case impactBlock:
			selected = len(r.Conflicts) > 0
		case impactAdvise:
			selected = len(r.Advisories) > 0
		case impactBlockOrAdvise:
			selected = len(r.Conflicts)+len(r.Advisories) > 0
		}
		if selected {
			return checkResult{Outcome: Present}
		}
	}
	if len(unsupported) > 0 {
		return checkResult{Outcome: UnsupportedFilter, Message: strings.Join(unsupported, "; ")}
	}
	return checkResult{Outcome: Absent}
}

// flight is the filter set as the flight exemptions.Decide is told of.
func (s *selection) flight() exemptions.Flight {
	if len(s.volumes) > 0 {
		return exemptions.Flight{Kind: exemptions.FlightArea, Area: s.volumes[0].Area}
	}
	if s.pos != nil {
		return exemptions.Flight{Kind: exemptions.FlightPosition, Point: s.pos.Waypoints[0].Point}
	}
	return exemptions.Flight{}
}

// hits are the zones of every layer the filter set selects before the
// operational impact: met by a volume (when there are volumes) and by the
// position (when there is one), from the source, of the class and with an
// acceptable restriction. Each zone once.
func (s *selection) hits(layers []layer, stop func() error) ([]geo.Hit, error) {
	var out []geo.Hit
	if s.inVolumes && len(s.volumes) == 0 {
		return nil, nil // every volume fell outside after/before
	}
	for _, l := range layers {
		var found []geo.Hit
		seen := map[*geo.Zone]bool{}
		for _, q := range s.volumes {
			q.Stop = stop
			hs, err := l.idx.CheckArea(q)
			if err != nil {
				return nil, err
			}
			for _, h := range hs {
				if !seen[h.Zone] {
					seen[h.Zone] = true
					found = append(found, h)
				}
			}
		}
		if s.pos != nil {
			q := *s.pos
			q.Stop = stop
			hs, err := l.idx.CheckRoute(q)
			if err != nil {
				return nil, err
			}
			if !s.inVolumes {
				found = hs
			} else {
				at := map[*geo.Zone]bool{}
				for _, h := range hs {
					at[h.Zone] = true
				}
				found = slices.DeleteFunc(found, func(h geo.Hit) bool { return !at[h.Zone] })
			}
		}
		for _, h := range found {
			if s.keeps(l, h.Zone) {
				out = append(out, h)
			}
		}
	}
	return out, nil
}

// keeps applies the filters on a zone's attributes.
func (s *selection) keeps(l layer, z *geo.Zone) bool {
	if s.source != "" && !l.from(z, s.source) {
		return false
	}
	if len(s.restrictions) > 0 && !slices.Contains(s.restrictions, z.Restriction) {
		return false
	}
	// A zone published without uSpaceClass applies to every class, as it
	// applies to every category of operation.
	if s.class != "" && len(z.Class) > 0 && !slices.ContainsFunc(z.Class, func(c string) bool { return strings.EqualFold(c, s.class) }) {
		return false
	}
	return true
}
