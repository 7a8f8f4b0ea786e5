package geo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/paulmach/orb"
)

// Writing zones: nofly's own GeoJSON schema and ED-318, so that what nofly
// understood of a source (through a mapping, from KML) can be inspected and
// published. Each writer refuses a zone that its format cannot hold
// whole — it never drops a part silently — and what it writes reads back
// as the same zones (TestWriteReadBack, TestConvertChecksProperty).

// WriteNofly writes zones as a GeoJSON FeatureCollection in nofly's own
// schema (docs/zones.md): one Feature per volume, the features of one zone
// sharing its ID (which the reader merges back into one zone). It refuses,
// with a *LoadError naming each zone and field, what the schema cannot
// hold: a U-space class (variants for categories of operation), an
// authority's purpose or notice interval, and daylight events in
// schedules; WriteED318 holds the last two.
func WriteNofly(w io.Writer, zones []Zone) error {
	var probs []Problem
	fc := featureCollection{Type: "FeatureCollection", Features: []any{}}
	for i := range zones {
		z := &zones[i]
		add := func(field, msg string) {
			probs = append(probs, Problem{File: z.Source.File, Feature: z.Source.Feature, ZoneID: z.ID, Field: field, Msg: msg})
		}
		if len(z.Class) > 0 {
			add("class", fmt.Sprintf("U-space class %q: nofly's schema has no variants for categories of operation", z.Class))
		}
		p := noflyProps{ID: z.ID, Name: z.Name, Country: z.Country, Restriction: z.Restriction.String(),
			Reasons: z.Reasons, Message: z.Message}
		if z.Exemptions != ExemptionsUnspecified {
			p.Exemptions = z.Exemptions.String()
		}
		for j, a := range z.Authorities {
			if a.Purpose != "" || a.IntervalBefore != "" {
				add(fieldIndex("authorities", j), "purpose and interval before: nofly's schema has no place for them; write ED-318")
			}
			p.Authority = append(p.Authority, noflyAuthority{Name: a.Name, Service: a.Service, ContactName: a.ContactName,
				Email: a.Email, Phone: a.Phone, SiteURL: a.SiteURL})
		}
		for j, per := range z.Applicability.Periods {
			np := noflyPeriod{Start: writeTime(per.Start), End: writeTime(per.End)}
			for k, d := range per.Schedule {
				if d.StartEvent != "" || d.EndEvent != "" {
					add(fmt.Sprintf("applicability.periods[%d].schedule[%d]", j, k),
						"a daylight event: nofly's schema has none; write ED-318")
				}
				ns := noflyDaily{Days: dayList(d.Days), Start: writeDayTime(d.Start, d.Offset, d.Loc != nil),
					End: writeDayTime(d.End, d.Offset, d.Loc != nil)}
				if d.Loc != nil {
					ns.TZ = d.Loc.String()
				}
				np.Schedule = append(np.Schedule, ns)
			}
			p.Active = append(p.Active, np)
		}
		for _, v := range z.Volumes {
			vp := p
			vp.LowerM, vp.LowerRef = limitValue(v.Lower)
			vp.UpperM, vp.UpperRef = limitValue(v.Upper)
			var g geometry
			if v.Shape.Kind == ShapeCircle {
				g = geometry{Type: "Point", Coordinates: v.Shape.Center}
				r := v.Shape.Radius
				vp.RadiusM = &r
			} else {
				g = polygonGeometry(v.Shape.Polygons)
			}
			fc.Features = append(fc.Features, feature{Type: "Feature", Properties: vp, Geometry: g})
		}
	}
	if len(probs) > 0 {
		return &LoadError{Problems: probs}
	}
	return writeJSON(w, fc)
}

// WriteED318 writes zones as an ED-318 GeoJSON FeatureCollection: one
// Feature per zone, its volumes a GeometryCollection when there are
// several, each geometry with its layer (limits in metres; an open upper
// limit is 99999, an open lower limit null). It refuses, with a *LoadError,
// what ED-318 cannot hold: a U-space class, and a schedule in an IANA time
// zone (ED-318 times carry UTC offsets; write nofly's schema).
func WriteED318(w io.Writer, zones []Zone) error {
	var probs []Problem
	fc := featureCollection{Type: "FeatureCollection", Features: []any{}}
	for i := range zones {
		z := &zones[i]
		add := func(field, msg string) {
			probs = append(probs, Problem{File: z.Source.File, Feature: z.Source.Feature, ZoneID: z.ID, Field: field, Msg: msg})
		}
		if len(z.Class) > 0 {
			add("class", fmt.Sprintf("U-space class %q: ED-318 has no variants for categories of operation", z.Class))
		}
		restriction := z.Restriction.String()
		if z.Restriction == ReqAuthorisation {
			restriction = "REQ_AUTHORIZATION" // ED-318's spelling
		}
		p := ed318Props{Identifier: z.ID, Name: z.Name, Country: z.Country, Type: restriction,
			Reason: z.Reasons, Message: z.Message}
		if z.Exemptions != ExemptionsUnspecified {
			p.RegulationExemption = z.Exemptions.String()
		}
		for _, a := range z.Authorities {
			p.ZoneAuthority = append(p.ZoneAuthority, ed318Authority{Name: a.Name, Service: a.Service, ContactName: a.ContactName,
				Email: a.Email, Phone: a.Phone, SiteURL: a.SiteURL, Purpose: a.Purpose, IntervalBefore: a.IntervalBefore})
		}
		for j, per := range z.Applicability.Periods {
			ep := ed318Period{StartDateTime: writeTime(per.Start), EndDateTime: writeTime(per.End)}
			for k, d := range per.Schedule {
				if d.Loc != nil {
					add(fmt.Sprintf("applicability.periods[%d].schedule[%d]", j, k),
						fmt.Sprintf("times in time zone %s: ED-318 gives UTC offsets, which do not follow daylight saving time; write nofly's schema", d.Loc))
				}
				es := ed318Daily{Day: dayList(d.Days), StartEvent: d.StartEvent, EndEvent: d.EndEvent}
				if d.StartEvent == "" {
					es.StartTime = writeDayTime(d.Start, d.Offset, false)
				}
				if d.EndEvent == "" {
					es.EndTime = writeDayTime(d.End, d.Offset, false)
				}
				ep.Schedule = append(ep.Schedule, es)
			}
			p.LimitedApplicability = append(p.LimitedApplicability, ep)
		}
		var geoms []ed318Geometry
		for _, v := range z.Volumes {
			g := ed318Geometry{Layer: ed318Layer{UOM: "m"}}
			if v.Shape.Kind == ShapeCircle {
				g.geometry = geometry{Type: "Point", Coordinates: v.Shape.Center}
				g.Extent = &ed318Extent{SubType: "Circle", Radius: v.Shape.Radius}
			} else {
				g.geometry = polygonGeometry(v.Shape.Polygons)
			}
			g.Layer.Lower, g.Layer.LowerReference = limitValue(v.Lower)
			g.Layer.Upper, g.Layer.UpperReference = limitValue(v.Upper)
			if v.Upper.Open {
				noCeiling := float64(ed318NoCeiling)
				g.Layer.Upper = &noCeiling
			}
			geoms = append(geoms, g)
		}
		f := feature{Type: "Feature", Properties: p}
		if len(geoms) == 1 {
			f.Geometry = geoms[0]
		} else {
			f.Geometry = struct {
				Type       string          `json:"type"`
				Geometries []ed318Geometry `json:"geometries"`
			}{"GeometryCollection", geoms}
		}
		fc.Features = append(fc.Features, f)
	}
	if len(probs) > 0 {
		return &LoadError{Problems: probs}
	}
	return writeJSON(w, fc)
}

// writeJSON writes a FeatureCollection with one feature a line: readable,
// and a change to a zone is a change to its lines.
func writeJSON(w io.Writer, fc featureCollection) error {
	var b bytes.Buffer
	b.WriteString(`{"type": "FeatureCollection", "features": [`)
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for i, f := range fc.Features {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
		if err := enc.Encode(f); err != nil {
			return err
		}
		b.Truncate(b.Len() - 1) // Encode's new line
	}
	b.WriteString("\n]}\n")
	_, err := w.Write(b.Bytes())
	return err
}

type featureCollection struct {
	Type     string `json:"type"`
	Features []any  `json:"features"`
}

type feature struct {
	Type       string `json:"type"`
	Properties any    `json:"properties"`
	Geometry   any    `json:"geometry"`
}

type geometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

func polygonGeometry(mp orb.MultiPolygon) geometry {
	if len(mp) == 1 {
		return geometry{Type: "Polygon", Coordinates: mp[0]}
	}
	return geometry{Type: "MultiPolygon", Coordinates: mp}
}

type noflyProps struct {
	ID          string           `json:"id"`
	Name        string           `json:"name,omitempty"`
	Country     string           `json:"country,omitempty"`
	Restriction string           `json:"restriction"`
	Reasons     []string         `json:"reasons,omitempty"`
	Message     string           `json:"message,omitempty"`
	Exemptions  string           `json:"exemptions,omitempty"`
	LowerM      *float64         `json:"lower_m"`
	LowerRef    string           `json:"lower_ref,omitempty"`
	UpperM      *float64         `json:"upper_m"`
	UpperRef    string           `json:"upper_ref,omitempty"`
	RadiusM     *float64         `json:"radius_m,omitempty"`
	Authority   []noflyAuthority `json:"authority,omitempty"`
	Active      []noflyPeriod    `json:"active,omitempty"`
}

type noflyAuthority struct {
	Name        string `json:"name,omitempty"`
	Service     string `json:"service,omitempty"`
	ContactName string `json:"contact_name,omitempty"`
	Email       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`
	SiteURL     string `json:"site_url,omitempty"`
}

type noflyPeriod struct {
	Start    string       `json:"start,omitempty"`
	End      string       `json:"end,omitempty"`
	Schedule []noflyDaily `json:"schedule,omitempty"`
}

type noflyDaily struct {
	Days  []string `json:"days"`
	Start string   `json:"start"`
	End   string   `json:"end"`
	TZ    string   `json:"tz,omitempty"`
}

type ed318Props struct {
	Identifier           string           `json:"identifier"`
	Name                 string           `json:"name,omitempty"`
	Country              string           `json:"country,omitempty"`
	Type                 string           `json:"type"`
	Reason               []string         `json:"reason,omitempty"`
	Message              string           `json:"message,omitempty"`
	RegulationExemption  string           `json:"regulationExemption,omitempty"`
	ZoneAuthority        []ed318Authority `json:"zoneAuthority,omitempty"`
	LimitedApplicability []ed318Period    `json:"limitedApplicability,omitempty"`
}

type ed318Authority struct {
	Name           string `json:"name,omitempty"`
	Service        string `json:"service,omitempty"`
	ContactName    string `json:"contactName,omitempty"`
	Email          string `json:"email,omitempty"`
	Phone          string `json:"phone,omitempty"`
	SiteURL        string `json:"siteURL,omitempty"`
	Purpose        string `json:"purpose,omitempty"`
	IntervalBefore string `json:"intervalBefore,omitempty"`
}

type ed318Period struct {
	StartDateTime string       `json:"startDateTime,omitempty"`
	EndDateTime   string       `json:"endDateTime,omitempty"`
	Schedule      []ed318Daily `json:"schedule,omitempty"`
}

type ed318Daily struct {
	Day        []string `json:"day"`
	StartTime  string   `json:"startTime,omitempty"`
	EndTime    string   `json:"endTime,omitempty"`
	StartEvent string   `json:"startEvent,omitempty"`
	EndEvent   string   `json:"endEvent,omitempty"`
}

type ed318Geometry struct {
	geometry
	Extent *ed318Extent `json:"extent,omitempty"`
	Layer  ed318Layer   `json:"layer"`
}

type ed318Extent struct {
	SubType string  `json:"subType"`
	Radius  float64 `json:"radius"`
}

type ed318Layer struct {
	Upper          *float64 `json:"upper"`
	UpperReference string   `json:"upperReference,omitempty"`
	Lower          *float64 `json:"lower"`
	LowerReference string   `json:"lowerReference,omitempty"`
	UOM            string   `json:"uom"`
}

// limitValue is a limit's metres (nil when open) and reference.
func limitValue(l Limit) (*float64, string) {
	if l.Open {
		return nil, ""
	}
	m := l.Metres
	return &m, l.Ref.String()
}

func writeTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// writeDayTime writes seconds after midnight as HH:MM:SS, with the UTC
// offset unless the times are in a named time zone.
func writeDayTime(sec, offset int32, inZone bool) string {
	if sec == daySeconds {
		s := "24:00:00"
		if !inZone && offset != 0 {
			s += fmtUTCOffset(offset)
		}
		return s
	}
	s := fmt.Sprintf("%02d:%02d:%02d", sec/3600, sec/60%60, sec%60)
	if !inZone && offset != 0 {
		s += fmtUTCOffset(offset)
	}
	return s
}

// dayList names the days of w, in the week's order from Monday.
func dayList(w Weekdays) []string {
	if w == AllDays {
		return []string{"ANY"}
	}
	var out []string
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if w.Has(d) {
			out = append(out, dayAbbrev(d))
		}
	}
	return out
}

func dayAbbrev(d time.Weekday) string {
	return [...]string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}[d]
}
