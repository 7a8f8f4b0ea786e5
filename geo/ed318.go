package geo

import (
	"fmt"
	"strings"
)

// EUROCAE ED-318 GeoJSON: a FeatureCollection whose features carry the zone
// in properties and its vertical limits in a non-standard geometry member
// "layer". docs/zones.md maps every member to the Zone model.

const ed318Geometries = "Polygon, MultiPolygon, Point with extent {subType: Circle, radius}, or a GeometryCollection of these"

// ed318Marker says why features read as ED-318 rather than nofly's schema,
// such as "feature 0 has properties.identifier", or "" when nothing marks
// them.
func ed318Marker(feats []jmember) string {
	for i := range feats {
		f := &feats[i].val
		p := f.get("properties")
		if p.get("identifier").kind != jAbsent {
			return fmt.Sprintf("feature %d has properties.identifier", i)
		}
		if t := p.get("type"); t.kind == jString && isED318Type(t.str) {
			return fmt.Sprintf("feature %d has properties.type %q", i, t.str)
		}
		g := f.get("geometry")
		if g.get("layer").kind != jAbsent {
			return fmt.Sprintf("feature %d has geometry.layer", i)
		}
		if g.get("extent").kind != jAbsent {
			return fmt.Sprintf("feature %d has geometry.extent", i)
		}
		if gs := g.get("geometries"); gs.kind == jArray {
			for j := range gs.kids {
				m := &gs.kids[j].val
				if m.get("layer").kind != jAbsent || m.get("extent").kind != jAbsent {
					return fmt.Sprintf("feature %d has a layer or extent in geometry.geometries[%d]", i, j)
				}
			}
		}
	}
	return ""
}

// isED318Type reports whether s is an ED-318 zone type (or ED-269's spelling
// REQ_AUTHORISATION).
func isED318Type(s string) bool {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "USPACE", "PROHIBITED", "REQ_AUTHORIZATION", "REQ_AUTHORISATION", "CONDITIONAL", "NO_RESTRICTION":
		return true
	}
	return false
}

// checkED318Metadata checks the collection's metadata: validFrom, validTo
// and issued must be RFC 3339 date-times. nofly does not narrow zones to the
// metadata's validity (that could only hide them); it refuses a file whose
// metadata it cannot read, as a sign the file is not what it claims.
func (r *fileReader) checkED318Metadata(root *jvalue) {
	md := root.get("metadata")
	switch md.kind {
	case jAbsent, jNull:
		return
	case jObject:
	default:
		r.fileProblem("metadata", fmt.Sprintf("want an object, got %s (%s)", md.describe(), r.lines.at(md.off)))
		return
	}
	if md.dup {
		r.fileProblem("metadata."+dupKey(md.kids), "member given more than once")
	}
	for _, k := range []string{"validFrom", "validTo", "issued"} {
		if msg := r.dateTimeProblem(md.get(k)); msg != "" {
			r.fileProblem("metadata."+k, msg)
		}
	}
	from, _ := parseZoneDateTime(md.get("validFrom").str)
	to, _ := parseZoneDateTime(md.get("validTo").str)
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		r.fileProblem("metadata.validTo", "before metadata.validFrom")
	}
}

// dateTimeProblem says what is wrong with a value meant to be an RFC 3339
// date-time, or "" when it is one or is absent.
func (r *fileReader) dateTimeProblem(v *jvalue) string {
	switch v.kind {
	case jAbsent, jNull:
		return ""
	case jString:
		if _, err := parseZoneDateTime(v.str); err != nil {
			return err.Error()
		}
		return ""
	}
	return fmt.Sprintf(`want a date-time string such as "2025-06-01T08:00:00Z" (RFC 3339), got %s (%s)`, v.describe(), r.lines.at(v.off))
}

// readED318 reads one ED-318 feature. why says what made the file ED-318,
// for the message when a feature lacks its identifier.
func (c *zoneReader) readED318(f *jvalue, why string) {
	c.names = srcNames{id: "properties.identifier", restriction: "properties.type", volumes: "geometry",
		periods: "properties.limitedApplicability", days: "day", start: "startTime", end: "endTime",
		vols: c.names.vols[:0], pers: c.names.pers[:0]}
	if f.kind != jObject {
		c.wrongType(f, "", "a GeoJSON Feature (an object)")
		return
	}
	props := f.get("properties")
	idv := props.get("identifier")
	c.z.ID = c.str(idv, "properties.identifier")
	if !idv.present() && props.get("id").present() {
		c.add("properties.identifier", fmt.Sprintf("required: ED-318 names a zone by properties.identifier (this file reads as ED-318 because %s; nofly's own format uses properties.id)", why))
	}
	c.object(f, "")
	if t := f.get("type"); t.kind != jString || t.str != "Feature" {
		c.add("type", `want "Feature", got `+t.describe())
	}
	if !c.object(props, "properties") && !props.present() {
		c.add("properties", "required: an ED-318 zone needs at least properties.identifier and properties.type")
	}
	c.z.Name = c.text(props.get("name"), "properties.name")
	c.z.Country = c.str(props.get("country"), "properties.country")
	c.z.Restriction = c.restriction(props.get("type"), "properties.type")
	c.z.Reasons = c.strList(props.get("reason"), "properties.reason")
	c.z.Message = joinMessage(
		c.message(c.text, props.get("message"), "properties.message"),
		c.message(c.conditions, props.get("restrictionConditions"), "properties.restrictionConditions"),
		c.message(c.text, props.get("otherReasonInfo"), "properties.otherReasonInfo"),
	)
	c.z.Exemptions = c.yesNo(props.get("regulationExemption"), "properties.regulationExemption")
	c.z.Authorities = c.authorities(props.get("zoneAuthority"), "properties.zoneAuthority")
	if ds := props.get("dataSource"); c.object(ds, "properties.dataSource") {
		for _, k := range []string{"creationDate", "updateDateTime"} {
			if msg := c.r.dateTimeProblem(ds.get(k)); msg != "" {
				c.add("properties.dataSource."+k, msg)
			}
		}
	}
	c.ed318Applicability(props.get("limitedApplicability"), "properties.limitedApplicability")
	c.ed318Geometry(f.get("geometry"), "geometry")
	c.finish()
}

// text reads an ED-318 multilingual text, an array of {text, lang}: the
// first English text (lang "en", "en-GB", ...), else the first. A plain
// string (as ED-269 writes it) is read as is.
func (c *zoneReader) text(v *jvalue, field string) string {
	switch v.kind {
	case jAbsent, jNull:
		return ""
	case jString:
		return c.str(v, field)
	case jArray:
		first, en, haveEn := "", "", false
		for i := range v.kids {
			ef := fieldIndex(field, i)
			e := &v.kids[i].val
			if !c.object(e, ef) {
				if e.kind == jNull {
					c.wrongType(e, ef, "an object {text, lang}")
				}
				continue
			}
			t := c.str(e.get("text"), ef+".text")
			lang := c.str(e.get("lang"), ef+".lang")
			if i == 0 {
				first = t
			}
			if !haveEn && strings.HasPrefix(strings.ToLower(lang), "en") {
				en, haveEn = t, true
			}
		}
		if haveEn {
			return en
		}
		return first
	}
	c.wrongType(v, field, "a string or an array of {text, lang}")
	return ""
}

// conditions reads restrictionConditions: a string, an array of strings
// (joined by new lines) or a multilingual text.
func (c *zoneReader) conditions(v *jvalue, field string) string {
	if v.kind != jArray || (len(v.kids) > 0 && v.kids[0].val.kind == jObject) {
		return c.text(v, field)
	}
	return joinMessage(c.strList(v, field)...)
}

// joinMessage joins the non-empty parts by new lines.
func joinMessage(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p)
	}
	return b.String()
}

// authorities reads zoneAuthority, in ED-318 (multilingual names) or ED-269
// (plain strings).
func (c *zoneReader) authorities(v *jvalue, field string) []Authority {
	elems, _ := c.array(v, field)
	out := make([]Authority, 0, len(elems))
	for i := range elems {
		af := fieldIndex(field, i)
		a := &elems[i].val
		if !c.object(a, af) {
			if a.kind == jNull {
				c.wrongType(a, af, "an object")
			}
			continue
		}
		out = append(out, Authority{
			Name:           c.text(a.get("name"), af+".name"),
			Service:        c.text(a.get("service"), af+".service"),
			ContactName:    c.text(a.get("contactName"), af+".contactName"),
			Email:          c.str(a.get("email"), af+".email"),
			Phone:          c.str(a.get("phone"), af+".phone"),
			SiteURL:        c.str(a.get("siteURL"), af+".siteURL"),
			Purpose:        c.str(a.get("purpose"), af+".purpose"),
			IntervalBefore: c.str(a.get("intervalBefore"), af+".intervalBefore"),
		})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// ed318Applicability reads limitedApplicability; absent, null or empty
// means always active.
func (c *zoneReader) ed318Applicability(v *jvalue, field string) {
	c.periods(v, field, "startDateTime", "endDateTime", func(d *jvalue, df string) DailyPeriod {
		var dp DailyPeriod
		dp.Days = c.days(d.get("day"), df+".day")
		c.dailyPeriod(&dp, d.get("startTime"), d.get("endTime"), df+".startTime", df+".endTime",
			d.get("startEvent"), d.get("endEvent"), df+".startEvent", df+".endEvent")
		return dp
	})
}

// periods reads a list of periods, each an object with a start and an end
// date-time (named startKey and endKey) and a "schedule" list of daily
// periods, which daily reads; it appends them to the zone's applicability.
func (c *zoneReader) periods(v *jvalue, field, startKey, endKey string, daily func(d *jvalue, df string) DailyPeriod) {
	elems, _ := c.array(v, field)
	for i := range elems {
		af := fieldIndex(field, i)
		a := &elems[i].val
		if !c.object(a, af) {
			if a.kind == jNull {
				c.wrongType(a, af, "an object")
			}
			continue
		}
		p := Period{
			Start: c.dateTime(a.get(startKey), af+"."+startKey),
			End:   c.dateTime(a.get(endKey), af+"."+endKey),
		}
		pn := perNames{start: af + "." + startKey, end: af + "." + endKey}
		sched, _ := c.array(a.get("schedule"), af+".schedule")
		for j := range sched {
			df := fieldIndex(af+".schedule", j)
			d := &sched[j].val
			if !c.object(d, df) {
				c.wrongType(d, df, "an object")
				continue
			}
			p.Schedule = append(p.Schedule, daily(d, df))
			pn.sched = append(pn.sched, df)
		}
		c.z.Applicability.Periods = append(c.z.Applicability.Periods, p)
		c.names.pers = append(c.names.pers, pn)
	}
}

// ed318Geometry reads the feature's geometry: one volume per geometry, or
// per member of a GeometryCollection.
func (c *zoneReader) ed318Geometry(g *jvalue, field string) {
	if !g.present() {
		c.add(field, "required: "+ed318Geometries)
		return
	}
	if !c.object(g, field) {
		return
	}
	if t := g.get("type"); t.kind != jString || t.str != "GeometryCollection" {
		c.ed318Volume(g, field, nil, "")
		return
	}
	gf := field + ".geometries"
	gs := g.get("geometries")
	members, ok := c.array(gs, gf)
	if !ok && !gs.present() {
		c.add(gf, "required for a GeometryCollection")
	}
	for i := range members {
		mf := fieldIndex(gf, i)
		m := &members[i].val
		if !c.object(m, mf) {
			if m.kind == jNull {
				c.wrongType(m, mf, "a geometry object")
			}
			continue
		}
		if t := m.get("type"); t.kind == jString && t.str == "GeometryCollection" {
			c.add(mf+".type", "a GeometryCollection inside a GeometryCollection is not supported: want "+ed318Geometries)
			continue
		}
		c.ed318Volume(m, mf, g.get("layer"), field+".layer")
	}
}

// ed318Volume reads one geometry with its layer. A geometry without layer
// takes the collection's (inherited), else it is open at both ends: a
// layer only ever narrows a zone.
func (c *zoneReader) ed318Volume(g *jvalue, field string, inherited *jvalue, inheritedField string) {
	shape, vn, _ := c.geoJSONShape(g, field, ed318Geometries)
	ext, ef := g.get("extent"), field+".extent"
	vn.radius = ef + ".radius"
	switch shape.Kind {
	case ShapeCircle:
		if !ext.present() {
			c.add(ef, `required for a Point: {"subType": "Circle", "radius": metres}`)
			break
		}
		if !c.object(ext, ef) {
			break
		}
		st := ext.get("subType")
		if s := c.str(st, ef+".subType"); st.kind != jString || !strings.EqualFold(strings.TrimSpace(s), "Circle") {
			if st.kind == jString || !st.present() {
				c.add(ef+".subType", fmt.Sprintf(`want "Circle", got %s`, st.describe()))
			}
		}
		if r, ok := c.num(ext.get("radius"), vn.radius); ok {
			shape.Radius = r
		} else if !ext.get("radius").present() {
			c.add(vn.radius, "required: the circle's radius in metres")
		}
	case ShapePolygon:
		if ext.present() {
			c.add(ef, "only a Point geometry has an extent")
		}
	}
	layer, lf := g.get("layer"), field+".layer"
	if !layer.present() && inherited != nil && inherited.present() {
		layer, lf = inherited, inheritedField
	}
	vol := Volume{Shape: shape, Lower: OpenLimit, Upper: OpenLimit}
	vn.lower, vn.lowerRef = lf+".lower", lf+".lowerReference"
	vn.upper, vn.upperRef = lf+".upper", lf+".upperReference"
	if c.object(layer, lf) {
		vol.Lower, vol.Upper = c.ed318Layer(layer, lf)
	}
	if shape.Kind != 0 {
		c.z.Volumes = append(c.z.Volumes, vol)
		c.names.vols = append(c.names.vols, vn)
	}
}

// ed318NoCeiling is the upper limit ED-318 writes for "no ceiling", in the
// layer's unit.
const ed318NoCeiling = 99999

// ed318Layer reads a layer {upper, upperReference, lower, lowerReference,
// uom}: uom "m" (the default) or "ft"; a missing or null limit is open, and
// so is an upper of 99999.
func (c *zoneReader) ed318Layer(l *jvalue, lf string) (lower, upper Limit) {
	u := unitMetres
	if uv := l.get("uom"); uv.present() {
		s := c.str(uv, lf+".uom")
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "m":
		case "ft":
			u = unitFeet
		default:
			if uv.kind == jString {
				c.add(lf+".uom", fmt.Sprintf(`unknown unit %q: want "m" or "ft"`, s))
			}
		}
	}
	limit := func(which string) Limit {
		h, open, ok := c.height(l.get(which), lf+"."+which, false)
		ref := c.verticalRef(l.get(which+"Reference"), lf+"."+which+"Reference") // checked even for an open limit
		if !ok || open || (which == "upper" && h == ed318NoCeiling) {
			return OpenLimit
		}
		return Limit{Metres: u.toMetres(h), Ref: ref}
	}
	return limit("lower"), limit("upper")
}
