package geo

import (
	"fmt"

	"github.com/paulmach/orb"
)

// Reading GeoJSON geometry: polygons, rings and positions.

// geoJSONShape reads a GeoJSON Polygon, MultiPolygon or Point (whose circle
// radius the caller sets). It returns ok false, after reporting why, when
// the geometry cannot give a shape.
func (c *zoneReader) geoJSONShape(g *jvalue, field string, allowed string) (s Shape, vn volNames, ok bool) {
	typField := subField(field, "type")
	typ := c.str(g.get("type"), typField)
	cv := g.get("coordinates")
	cf := subField(field, "coordinates")
	vn.shape, vn.center = cf, cf
	if g.get("type").kind == jAbsent {
		c.add(typField, "required: want "+allowed)
		return s, vn, false
	}
	switch typ {
	case "Polygon", "MultiPolygon", "Point":
	default:
		if g.get("type").kind == jString {
			c.add(typField, fmt.Sprintf("unsupported geometry type %q: want %s", typ, allowed))
		}
		return s, vn, false
	}
	if cv.kind != jCoords {
		if cv.kind == jAbsent || cv.kind == jNull {
			c.add(cf, "required")
		} else {
			c.wrongType(cv, cf, "an array")
		}
		return s, vn, false
	}
	n := cv.coords
	switch typ {
	case "Polygon":
		poly, ok := c.polygon(n, cf)
		return Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{poly}}, vn, ok
	case "MultiPolygon":
		vn.multi = true
		if n.bad != "" {
			c.add(cf, n.bad)
			return s, vn, false
		}
		if n.depth == 1 || n.depth == 2 || n.depth == 3 && len(n.kids) > 0 && n.kids[0].depth == 2 {
			c.add(cf, fmt.Sprintf("want an array of polygons (each an array of rings), got %s", depthName(n.depth)))
			return s, vn, false
		}
		mp := make(orb.MultiPolygon, 0, len(n.kids))
		ok := true
		for i := range n.kids {
			poly, pok := c.polygon(&n.kids[i], fieldIndex(cf, i))
			ok = ok && pok
			mp = append(mp, poly)
		}
		return Shape{Kind: ShapePolygon, Polygons: mp}, vn, ok
	}
	// Point
	if n.bad != "" {
		c.add(cf, n.bad)
		return s, vn, false
	}
	if n.depth != 1 {
		c.add(cf, fmt.Sprintf("want a position [longitude, latitude], got %s", depthName(n.depth)))
		return s, vn, false
	}
	return Shape{Kind: ShapeCircle, Center: n.pos}, vn, true
}

// depthName describes a coordinates array of the given depth.
func depthName(depth int) string {
	switch depth {
	case 0:
		return "an empty array"
	case 1:
		return "a position"
	case 2:
		return "an array of positions"
	case 3:
		return "an array of arrays of positions"
	}
	return "arrays nested too deep"
}

// polygon reads a GeoJSON polygon: an array of rings.
func (c *zoneReader) polygon(n *coordNode, field string) (orb.Polygon, bool) {
	if n.bad != "" {
		c.add(field, n.bad)
		return nil, false
	}
	if n.depth == 1 || n.depth == 2 {
		c.add(field, fmt.Sprintf("want a polygon (an array of rings, each an array of positions), got %s", depthName(n.depth)))
		return nil, false
	}
	poly := make(orb.Polygon, 0, len(n.kids))
	ok := true
	for i := range n.kids {
		ring, rok := c.ring(&n.kids[i], field, i)
		ok = ok && rok
		poly = append(poly, ring)
	}
	return poly, ok
}

// ring reads an array of positions, element i of parent.
func (c *zoneReader) ring(n *coordNode, parent string, i int) (orb.Ring, bool) {
	if n.pts != nil && len(n.badPos) == 0 {
		return orb.Ring(n.pts), true
	}
	field := fieldIndex(parent, i)
	if n.bad != "" {
		c.add(field, n.bad)
		return nil, false
	}
	switch {
	case n.depth == 0:
		return orb.Ring{}, true
	case n.depth == 1:
		c.add(field, "want a ring (an array of positions), got a single position")
		return nil, false
	case n.pts != nil:
		for _, b := range n.badPos {
			c.add(fieldIndex(field, b.index), b.msg)
		}
		return orb.Ring(n.pts), len(n.badPos) == 0
	}
	// Read slowly: the first element was not a position.
	ring := make(orb.Ring, 0, len(n.kids))
	ok := true
	for i := range n.kids {
		k := &n.kids[i]
		switch {
		case k.bad != "":
			c.add(fieldIndex(field, i), k.bad)
			ok = false
		case k.depth != 1:
			c.add(fieldIndex(field, i), "want a position [longitude, latitude], got "+depthName(k.depth))
			ok = false
		}
		ring = append(ring, k.pos)
	}
	return ring, ok
}

// position reads a [longitude, latitude] array that is not under a
// "coordinates" member (the ED-269 circle center).
func (c *zoneReader) position(v *jvalue, field string) (orb.Point, bool) {
	elems, ok := c.array(v, field)
	if !ok {
		if v.kind == jAbsent || v.kind == jNull {
			c.add(field, "required: a position [longitude, latitude]")
		}
		return orb.Point{}, false
	}
	if len(elems) < 2 || len(elems) > 3 {
		c.add(field, fmt.Sprintf("position has %d numbers; want [longitude, latitude] or [longitude, latitude, altitude]", len(elems)))
		return orb.Point{}, false
	}
	var pt orb.Point
	for i := range elems {
		e := &elems[i].val
		if e.kind != jNumber {
			c.wrongType(e, fieldIndex(field, i), "a number")
			return orb.Point{}, false
		}
		if i < 2 {
			pt[i] = e.num
		}
	}
	return pt, true
}

// subField returns field.member, or member when field is empty.
func subField(field, member string) string {
	switch field {
	case "":
		return member
	case "geometry":
		// Constant names for what every zone of a large file asks.
		switch member {
		case "type":
			return "geometry.type"
		case "coordinates":
			return "geometry.coordinates"
		}
	}
	return field + "." + member
}
