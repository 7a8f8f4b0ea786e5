package geo

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	// Schedules may name IANA time zones; embed the database so that they
	// load on machines without zoneinfo files (about 450 kB).
	_ "time/tzdata"
)

// nofly's own GeoJSON schema, for people who draw zones in QGIS or
// geojson.io. docs/zones.md describes every property; in short:
//
//	{"type": "Feature",
//	 "geometry": {"type": "Polygon", "coordinates": [...]},   // or MultiPolygon, or Point with radius_m
//	 "properties": {"id": "NL-1", "name": "...", "restriction": "PROHIBITED",
//	   "lower_m": 0, "upper_m": 120, "lower_ref": "AGL", "upper_ref": "AGL",
//	   "active": [{"start": "2025-06-01T00:00:00Z", "end": "2025-06-30T00:00:00Z",
//	     "schedule": [{"days": ["SAT", "SUN"], "start": "08:00", "end": "18:00", "tz": "Europe/Amsterdam"}]}]}}

const noflyGeometries = "Polygon, MultiPolygon or Point (a circle with properties.radius_m)"

// readNofly reads one feature of nofly's schema.
func (c *zoneReader) readNofly(f *jvalue) {
	c.names = srcNames{id: "properties.id", restriction: "properties.restriction", volumes: "geometry",
		periods: "properties.active", days: "days", start: "start", end: "end",
		vols: c.names.vols[:0], pers: c.names.pers[:0]}
	if f.kind != jObject {
		c.wrongType(f, "", "a GeoJSON Feature (an object)")
		return
	}
	props := f.get("properties")
	c.z.ID = c.noflyID(f, props)
	c.object(f, "")
	if t := f.get("type"); t.kind != jString || t.str != "Feature" {
		c.add("type", `want "Feature", got `+t.describe())
	}
	if !c.object(props, "properties") && !props.present() {
		c.add("properties", "required: a zone needs at least properties.id")
	}
	c.z.Name = c.str(props.get("name"), "properties.name")
	c.z.Country = c.str(props.get("country"), "properties.country")
	c.z.Restriction = Prohibited // a zone file lists no-fly zones: a zone that does not say blocks
	if r := props.get("restriction"); r.present() {
		c.z.Restriction = c.restriction(r, "properties.restriction")
	}
	c.z.Reasons = c.strList(props.get("reasons"), "properties.reasons")
	c.z.Message = c.message(c.str, props.get("message"), "properties.message")
	c.z.Exemptions = c.yesNo(props.get("exemptions"), "properties.exemptions")
	c.z.Authorities = c.noflyAuthorities(props.get("authority"), "properties.authority")

	vol := Volume{}
	var vn volNames
	vol.Lower, vn.lower, vn.lowerRef = c.noflyLimit(props, "lower")
	vol.Upper, vn.upper, vn.upperRef = c.noflyLimit(props, "upper")
	vn.radius = "properties.radius_m"
	radius, hasRadius := c.num(props.get("radius_m"), vn.radius)
	g := f.get("geometry")
	switch {
	case !g.present():
		c.add("geometry", "required: "+noflyGeometries)
	case c.object(g, "geometry"):
		shape, gvn, _ := c.geoJSONShape(g, "geometry", noflyGeometries)
		vn.shape, vn.multi, vn.center = gvn.shape, gvn.multi, gvn.center
		switch shape.Kind {
		case ShapeCircle:
			if !props.get("radius_m").present() {
				c.add(vn.radius, "required for a Point geometry: the circle's radius in metres")
			}
			shape.Radius = radius
		case ShapePolygon:
			if hasRadius {
				c.add(vn.radius, "only a Point geometry has a radius; remove it or make the geometry a Point")
			}
		}
		if shape.Kind != 0 {
			vol.Shape = shape
			c.z.Volumes = append(c.z.Volumes, vol)
			c.names.vols = append(c.names.vols, vn)
		}
	}
	c.noflyActive(props.get("active"), "properties.active")
	c.finish()
}

// noflyID reads properties.id, or else the Feature's own id: a string, or an
// integer (QGIS and geojson.io number features), written in decimal.
func (c *zoneReader) noflyID(f, props *jvalue) string {
	v, field := props.get("id"), "properties.id"
	if !v.present() {
		v, field = f.get("id"), "id"
	}
	switch v.kind {
	case jString:
		return c.str(v, field)
	case jNumber:
		if v.num == math.Trunc(v.num) && math.Abs(v.num) < 1<<53 {
			return strconv.FormatInt(int64(v.num), 10)
		}
	case jAbsent, jNull:
		return ""
	}
	c.wrongType(v, field, "a string or an integer")
	return ""
}

// noflyLimit reads which ("lower" or "upper"): which_m or which_ft in
// metres or feet, a number or null (open), absent meaning open; and
// which_ref, AGL by default.
func (c *zoneReader) noflyLimit(props *jvalue, which string) (l Limit, field, refField string) {
	// Constant names: this runs for every zone of large files.
	mf, ftf, refField := "properties.lower_m", "properties.lower_ft", "properties.lower_ref"
	if which == "upper" {
		mf, ftf, refField = "properties.upper_m", "properties.upper_ft", "properties.upper_ref"
	}
	mv, ftv := props.get(mf[len("properties."):]), props.get(ftf[len("properties."):])
	v, field, u := mv, mf, unitMetres
	switch {
	case mv.kind != jAbsent && ftv.kind != jAbsent:
		c.add(ftf, fmt.Sprintf("give %s_m or %s_ft, not both", which, which))
	case ftv.kind != jAbsent:
		v, field, u = ftv, ftf, unitFeet
	}
	h, open, ok := c.height(v, field, false)
	ref := AGL
	if rv := props.get(refField[len("properties."):]); rv.present() {
		ref = c.verticalRef(rv, refField) // checked even for an open limit
	}
	if !ok || open {
		return OpenLimit, field, refField
	}
	return Limit{Metres: u.toMetres(h), Ref: ref}, field, refField
}

// noflyAuthorities reads properties.authority: one object or an array of
// them, each {name, service, contact_name, email, phone, site_url}.
func (c *zoneReader) noflyAuthorities(v *jvalue, field string) []Authority {
	one := func(a *jvalue, f string) Authority {
		if !c.object(a, f) {
			if a.kind == jNull {
				c.wrongType(a, f, "an object")
			}
			return Authority{}
		}
		return Authority{
			Name:        c.str(a.get("name"), f+".name"),
			Service:     c.str(a.get("service"), f+".service"),
			ContactName: c.str(a.get("contact_name"), f+".contact_name"),
			Email:       c.str(a.get("email"), f+".email"),
			Phone:       c.str(a.get("phone"), f+".phone"),
			SiteURL:     c.str(a.get("site_url"), f+".site_url"),
		}
	}
	switch v.kind {
	case jAbsent, jNull:
		return nil
	case jObject:
		return []Authority{one(v, field)}
	case jArray:
		out := make([]Authority, 0, len(v.kids))
		for i := range v.kids {
			out = append(out, one(&v.kids[i].val, fieldIndex(field, i)))
		}
		return out
	}
	c.wrongType(v, field, "an object or an array of objects")
	return nil
}

// noflyActive reads properties.active: when the zone is active. Absent,
// null or empty means always.
func (c *zoneReader) noflyActive(v *jvalue, field string) {
	c.periods(v, field, "start", "end", func(d *jvalue, df string) DailyPeriod {
		var dp DailyPeriod
		if dv := d.get("days"); dv.present() {
			dp.Days = c.days(dv, df+".days")
		} else {
			dp.Days = AllDays
		}
		hasOff := c.dailyPeriod(&dp, d.get("start"), d.get("end"), df+".start", df+".end", nil, nil, "", "")
		if tzv := d.get("tz"); tzv.present() {
			name := c.str(tzv, df+".tz")
			switch loc, err := loadZoneLocation(name); {
			case err != nil:
				c.add(df+".tz", err.Error())
			case hasOff:
				c.add(df+".tz", "give a time zone or UTC offsets in start and end, not both")
			default:
				dp.Loc = loc
			}
		}
		return dp
	})
}

// loadZoneLocation loads an IANA time zone such as "Europe/Amsterdam".
// "Local" is refused: it would depend on the machine.
func loadZoneLocation(name string) (*time.Location, error) {
	n := strings.TrimSpace(name)
	if n == "" || strings.EqualFold(n, "Local") {
		return nil, fmt.Errorf("want an IANA time zone name such as \"Europe/Amsterdam\" or \"UTC\", got %q", name)
	}
	loc, err := time.LoadLocation(n)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: want an IANA name such as \"Europe/Amsterdam\" or \"UTC\"", name)
	}
	return loc, nil
}
