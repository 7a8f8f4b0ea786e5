package geo

import (
	"fmt"
	"strings"

	"github.com/paulmach/orb"
)

// EUROCAE ED-269 JSON: a list of zones, each with its volumes in a
// "geometry" array. Three wrappers are seen in the wild: {"UASZoneList":
// [...]}, {"features": [...]} and a bare array. docs/zones.md maps every
// member to the Zone model.

// readED269 reads a list of ED-269 zones.
func (r *fileReader) readED269(items []jmember) {
	r.zones = make([]Zone, 0, len(items))
	for i := range items {
		r.zone(i).readED269(&items[i].val)
	}
}

// readED269 reads one ED-269 zone.
func (c *zoneReader) readED269(v *jvalue) {
	c.names = srcNames{id: "identifier", restriction: "restriction", volumes: "geometry",
		periods: "applicability", days: "day", start: "startTime", end: "endTime",
		vols: c.names.vols[:0], pers: c.names.pers[:0]}
	if v.kind != jObject {
		c.wrongType(v, "", "an ED-269 zone (an object)")
		return
	}
	c.z.ID = c.str(v.get("identifier"), "identifier")
	c.object(v, "")
	c.z.Name = c.text(v.get("name"), "name")
	c.z.Country = c.str(v.get("country"), "country")
	c.z.Restriction = c.restriction(v.get("restriction"), "restriction")
	c.z.Reasons = c.strList(v.get("reason"), "reason")
	c.z.Message = joinMessage(
		c.message(c.text, v.get("message"), "message"),
		c.message(c.conditions, v.get("restrictionConditions"), "restrictionConditions"),
		c.message(c.text, v.get("otherReasonInfo"), "otherReasonInfo"),
	)
	c.z.Exemptions = c.yesNo(v.get("regulationExemption"), "regulationExemption")
	c.uSpaceClass(v.get("uSpaceClass"), "uSpaceClass")
	c.z.Authorities = c.authorities(v.get("zoneAuthority"), "zoneAuthority")
	c.ed269Applicability(v.get("applicability"), "applicability")
	c.ed269Geometry(v.get("geometry"), "geometry")
	c.finish()
}

// ed269Applicability reads applicability[]: an item with permanent "YES"
// makes the zone always active (its other members are only checked); else
// startDateTime, endDateTime and daily periods under "schedule" or
// "dailyPeriod". Absent, null or empty means always.
func (c *zoneReader) ed269Applicability(v *jvalue, field string) {
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
		pv := a.get("permanent")
		permanent := false
		switch perm := strings.ToUpper(strings.TrimSpace(c.str(pv, af+".permanent"))); {
		case perm == "YES":
			permanent = true
		case perm == "NO" || perm == "":
			if pv.kind == jString && perm == "" {
				c.add(af+".permanent", `want "YES" or "NO", got an empty string`)
			}
		default:
			c.add(af+".permanent", fmt.Sprintf(`want "YES" or "NO", got %q`, perm))
		}
		p := Period{
			Start: c.dateTime(a.get("startDateTime"), af+".startDateTime"),
			End:   c.dateTime(a.get("endDateTime"), af+".endDateTime"),
		}
		pn := perNames{start: af + ".startDateTime", end: af + ".endDateTime"}
		for _, key := range []string{"schedule", "dailyPeriod"} {
			sched, _ := c.array(a.get(key), af+"."+key)
			for j := range sched {
				df := fieldIndex(af+"."+key, j)
				d := &sched[j].val
				if !c.object(d, df) {
					c.wrongType(d, df, "an object")
					continue
				}
				if ed269EmptyDaily(d) {
					// {"day": [], "startTime": null, "endTime": null}: a
					// placeholder some tools write; it narrows nothing.
					continue
				}
				var dp DailyPeriod
				dp.Days = c.days(d.get("day"), df+".day")
				c.dailyPeriod(&dp, d.get("startTime"), d.get("endTime"), df+".startTime", df+".endTime", nil, nil, "", "")
				p.Schedule = append(p.Schedule, dp)
				pn.sched = append(pn.sched, df)
			}
		}
		if permanent {
			// Always active, whatever the item's dates and daily periods
			// (read above only to report what is wrong in them): an
			// unbounded period without schedule, which finish turns into
			// Periods nil.
			p, pn = Period{}, perNames{start: af, end: af}
		}
		c.z.Applicability.Periods = append(c.z.Applicability.Periods, p)
		c.names.pers = append(c.names.pers, pn)
	}
}

// ed269EmptyDaily reports whether a daily period has no days and no times.
func ed269EmptyDaily(d *jvalue) bool {
	day := d.get("day")
	noDays := !day.present() || (day.kind == jArray && len(day.kids) == 0)
	return noDays && !d.get("startTime").present() && !d.get("endTime").present()
}

const ed269Projections = `"Polygon" (with coordinates) or "Circle" (with center and radius)`

// ed269Geometry reads geometry[]: the zone's volumes.
func (c *zoneReader) ed269Geometry(v *jvalue, field string) {
	elems, ok := c.array(v, field)
	if !ok && !v.present() {
		c.add(field, "required: an array of volumes")
		return
	}
	for i := range elems {
		gf := fieldIndex(field, i)
		g := &elems[i].val
		if !c.object(g, gf) {
			if g.kind == jNull {
				c.wrongType(g, gf, "an object")
			}
			continue
		}
		c.ed269Volume(g, gf)
	}
}

// ed269Volume reads one volume: uomDimensions M or FT, lowerLimit and
// upperLimit (numbers, numeric strings, or null for open) with their
// vertical references, and the horizontal projection.
func (c *zoneReader) ed269Volume(g *jvalue, gf string) {
	var vn volNames
	vol := Volume{Lower: OpenLimit, Upper: OpenLimit}
	uf := gf + ".uomDimensions"
	u, uomOK := unitMetres, false
	uv := g.get("uomDimensions")
	switch s := strings.ToUpper(strings.TrimSpace(c.str(uv, uf))); {
	case s == "M":
		uomOK = true
	case s == "FT":
		u, uomOK = unitFeet, true
	case uv.kind == jString:
		c.add(uf, fmt.Sprintf(`unknown unit %q: want "M" or "FT"`, c.str(uv, uf)))
		uomOK = true // reported
	case uv.present():
		uomOK = true // reported as the wrong type
	}
	limit := func(which string) (Limit, string, string) {
		f := gf + "." + which + "Limit"
		rf := gf + "." + which + "VerticalReference"
		h, open, ok := c.height(g.get(which+"Limit"), f, true)
		ref := c.verticalRef(g.get(which+"VerticalReference"), rf) // checked even for an open limit
		if !ok || open {
			return OpenLimit, f, rf
		}
		if !uomOK {
			// Reading feet as metres would lower a floor: refuse.
			c.add(uf, `required for a closed limit: "M" or "FT"`)
			uomOK = true
		}
		return Limit{Metres: u.toMetres(h), Ref: ref}, f, rf
	}
	vol.Lower, vn.lower, vn.lowerRef = limit("lower")
	vol.Upper, vn.upper, vn.upperRef = limit("upper")

	hf := gf + ".horizontalProjection"
	hp := g.get("horizontalProjection")
	if !hp.present() {
		c.add(hf, "required: "+ed269Projections)
		return
	}
	if !c.object(hp, hf) {
		return
	}
	tf := hf + ".type"
	typ := c.str(hp.get("type"), tf)
	switch typ {
	case "Polygon":
		cf := hf + ".coordinates"
		vn.shape = cf
		cv := hp.get("coordinates")
		if cv.kind != jCoords {
			if cv.present() {
				c.wrongType(cv, cf, "an array of rings")
			} else {
				c.add(cf, "required for a Polygon")
			}
			return
		}
		poly, _ := c.polygon(cv.coords, cf)
		vol.Shape = Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{poly}}
	case "Circle":
		vn.center, vn.radius = hf+".center", hf+".radius"
		center, _ := c.position(hp.get("center"), vn.center)
		radius, ok := c.num(hp.get("radius"), vn.radius)
		if !ok && !hp.get("radius").present() {
			c.add(vn.radius, "required for a Circle: the radius in metres")
		}
		vol.Shape = Shape{Kind: ShapeCircle, Center: center, Radius: radius}
	default:
		if hp.get("type").kind == jString {
			c.add(tf, fmt.Sprintf("unsupported horizontal projection %q: want %s", typ, ed269Projections))
		} else if !hp.get("type").present() {
			c.add(tf, "required: "+ed269Projections)
		}
		return
	}
	c.z.Volumes = append(c.z.Volumes, vol)
	c.names.vols = append(c.names.vols, vn)
}

// uSpaceClass reads uSpaceClass, seen as a string and as a list: a U-space
// class (EUROCONTROL, CORUS) or categories of operation (OPEN, SPECIFIC,
// CERTIFIED, also written "SPECIFIC, CERTIFIED"). It sets the zone's Class,
// and its Categories when every element names one.
func (c *zoneReader) uSpaceClass(v *jvalue, field string) {
	if v.present() && v.kind != jString && v.kind != jArray {
		c.wrongType(v, field, "a string or an array of strings")
		return
	}
	var class []string
	for _, s := range c.strList(v, field) {
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				class = append(class, part)
			}
		}
	}
	var cats Category
	for _, s := range class {
		k, err := ParseCategory(s)
		if err != nil {
			cats = 0
			break
		}
		cats |= k
	}
	c.z.Class, c.z.Categories = class, cats
}
