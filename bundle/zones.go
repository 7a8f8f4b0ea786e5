package bundle

import (
	"fmt"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// The zones travel in a JSON shape of their own that carries every field of
// geo.Zone that says what the zone is (all that geo.Zone.AppendCanonical
// encodes, and the source for the pilot's eyes), enumerations by name, so
// that a bundle does not depend on how geo numbers its constants. A test
// reads the sample and the Swiss ED-318 sets through it and compares the
// canonical encodings: the round trip loses nothing.

type zoneJSON struct {
	ID          string          `json:"id"`
	Name        string          `json:"name,omitempty"`
	Country     string          `json:"country,omitempty"`
	Restriction string          `json:"restriction"`
	Reasons     []string        `json:"reasons,omitempty"`
	Message     string          `json:"message,omitempty"`
	Authorities []geo.Authority `json:"authorities,omitempty"`
	Exemptions  string          `json:"exemptions,omitempty"`
	Volumes     []volumeJSON    `json:"volumes"`
	Active      []periodJSON    `json:"active,omitempty"`
	Class       []string        `json:"class,omitempty"`
	Categories  []string        `json:"categories,omitempty"`
	Source      *geo.Source     `json:"source,omitempty"`
}

type volumeJSON struct {
	// Polygons: rings of [lon, lat] (GeoJSON order); or Center and RadiusM.
	Polygons orb.MultiPolygon `json:"polygons,omitempty"`
	Center   *orb.Point       `json:"center,omitempty"`
	RadiusM  float64          `json:"radius_m,omitempty"`
	Lower    *limitJSON       `json:"lower,omitempty"` // absent: open
	Upper    *limitJSON       `json:"upper,omitempty"`
}

type limitJSON struct {
	Metres float64 `json:"m"`
	Ref    string  `json:"ref"`
}

type periodJSON struct {
	Start    *time.Time  `json:"start,omitempty"`
	End      *time.Time  `json:"end,omitempty"`
	Schedule []dailyJSON `json:"schedule,omitempty"`
}

type dailyJSON struct {
	Days       uint8  `json:"days"`  // bit d for time.Weekday d (Sunday 0)
	Start      int32  `json:"start"` // seconds after midnight
	End        int32  `json:"end"`
	Offset     int32  `json:"offset,omitempty"` // seconds east of UTC, when TZ is empty
	TZ         string `json:"tz,omitempty"`     // IANA name
	StartEvent string `json:"start_event,omitempty"`
	EndEvent   string `json:"end_event,omitempty"`
}

func limitOut(l geo.Limit) *limitJSON {
	if l.Open {
		return nil
	}
	return &limitJSON{Metres: l.Metres, Ref: l.Ref.String()}
}

func timeOut(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func zoneOut(z *geo.Zone) zoneJSON {
	out := zoneJSON{ID: z.ID, Name: z.Name, Country: z.Country, Restriction: z.Restriction.String(),
		Reasons: z.Reasons, Message: z.Message, Authorities: z.Authorities, Class: z.Class,
		Categories: z.Categories.Names()}
	if z.Exemptions != geo.ExemptionsUnspecified {
		out.Exemptions = z.Exemptions.String()
	}
	if z.Source != (geo.Source{}) {
		src := z.Source
		out.Source = &src
	}
	for _, v := range z.Volumes {
		vj := volumeJSON{Lower: limitOut(v.Lower), Upper: limitOut(v.Upper)}
		switch v.Shape.Kind {
		case geo.ShapePolygon:
			vj.Polygons = v.Shape.Polygons
		case geo.ShapeCircle:
			c := v.Shape.Center
			vj.Center, vj.RadiusM = &c, v.Shape.Radius
		}
		out.Volumes = append(out.Volumes, vj)
	}
	for _, p := range z.Applicability.Periods {
		pj := periodJSON{Start: timeOut(p.Start), End: timeOut(p.End)}
		for _, d := range p.Schedule {
			dj := dailyJSON{Days: uint8(d.Days), Start: d.Start, End: d.End, Offset: d.Offset,
				StartEvent: d.StartEvent, EndEvent: d.EndEvent}
			if d.Loc != nil {
				dj.TZ = d.Loc.String()
			}
			pj.Schedule = append(pj.Schedule, dj)
		}
		out.Active = append(out.Active, pj)
	}
	return out
}

// zoneIn converts a zone back. Errors name the field; geo.NewIndex then
// validates the zone as it validates any zone file's.
func zoneIn(zj *zoneJSON) (geo.Zone, error) {
	z := geo.Zone{ID: zj.ID, Name: zj.Name, Country: zj.Country, Reasons: zj.Reasons, Message: zj.Message,
		Authorities: zj.Authorities, Class: zj.Class}
	var err error
	if z.Restriction, err = geo.ParseRestriction(zj.Restriction); err != nil {
		return z, fmt.Errorf("restriction: %w", err)
	}
	switch zj.Exemptions {
	case "":
	case "YES":
		z.Exemptions = geo.ExemptionsAllowed
	case "NO":
		z.Exemptions = geo.ExemptionsNotAllowed
	default:
		return z, fmt.Errorf("exemptions: %q: want YES or NO", zj.Exemptions)
	}
	for _, c := range zj.Categories {
		cat, err := geo.ParseCategory(c)
		if err != nil {
			return z, fmt.Errorf("categories: %w", err)
		}
		z.Categories |= cat
	}
	if zj.Source != nil {
		z.Source = *zj.Source
	}
	if len(zj.Volumes) == 0 {
		return z, fmt.Errorf("volumes: none")
	}
	limit := func(l *limitJSON, field string) (geo.Limit, error) {
		if l == nil {
			return geo.OpenLimit, nil
		}
		ref, err := geo.ParseVerticalRef(l.Ref)
		if err != nil {
			return geo.Limit{}, fmt.Errorf("%s.ref: %w", field, err)
		}
		return geo.Limit{Metres: l.Metres, Ref: ref}, nil
	}
	for i, vj := range zj.Volumes {
		var v geo.Volume
		switch {
		case len(vj.Polygons) > 0 && vj.Center == nil:
			v.Shape = geo.Shape{Kind: geo.ShapePolygon, Polygons: vj.Polygons}
		case len(vj.Polygons) == 0 && vj.Center != nil:
			v.Shape = geo.Shape{Kind: geo.ShapeCircle, Center: *vj.Center, Radius: vj.RadiusM}
		default:
			return z, fmt.Errorf("volumes[%d]: want polygons or a center and radius_m", i)
		}
		if v.Lower, err = limit(vj.Lower, fmt.Sprintf("volumes[%d].lower", i)); err != nil {
			return z, err
		}
		if v.Upper, err = limit(vj.Upper, fmt.Sprintf("volumes[%d].upper", i)); err != nil {
			return z, err
		}
		z.Volumes = append(z.Volumes, v)
	}
	for i, pj := range zj.Active {
		var p geo.Period
		if pj.Start != nil {
			p.Start = pj.Start.UTC()
		}
		if pj.End != nil {
			p.End = pj.End.UTC()
		}
		for j, dj := range pj.Schedule {
			d := geo.DailyPeriod{Days: geo.Weekdays(dj.Days), Start: dj.Start, End: dj.End, Offset: dj.Offset,
				StartEvent: dj.StartEvent, EndEvent: dj.EndEvent}
			if dj.TZ != "" {
				if dj.TZ == "Local" {
					return z, fmt.Errorf("active[%d].schedule[%d].tz: \"Local\" depends on the machine", i, j)
				}
				loc, err := time.LoadLocation(dj.TZ)
				if err != nil {
					return z, fmt.Errorf("active[%d].schedule[%d].tz: %w", i, j, err)
				}
				d.Loc = loc
			}
			p.Schedule = append(p.Schedule, d)
		}
		z.Applicability.Periods = append(z.Applicability.Periods, p)
	}
	return z, nil
}
