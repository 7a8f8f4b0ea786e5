package server

import (
	"encoding/base64"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/geo"
)

// Limits on requests, beyond geo's own.
const (
	// MaxAreaVertices bounds the vertices of an area polygon, all rings
	// together, so that one request cannot occupy a server for long.
	MaxAreaVertices = 10_000
	// DefaultPageSize and MaxPageSize bound ListZones pages, in zones.
	DefaultPageSize = 100
	MaxPageSize     = 1000
	// DefaultFlightDuration is the length of a flight plan without an end.
	DefaultFlightDuration = time.Hour
	// Heights outside this range, in metres, are mistakes (the same bounds
	// geo applies).
	minHeight, maxHeight = -1000, 100_000
)

// This file turns requests into geo queries, checking every field on the
// way. Each problem is a field violation at the proto field path, so that a
// client can point at the offending input; geo's own Validate runs last as
// a guard against anything these checks miss.

func checkLatLon(b *badRequest, field string, lat, lon float64) {
	// The field paths are put together only for a problem.
	if p := degreesWrong(lat, 90); p != "" {
		b.add(field+"latitude", "%s", p)
	}
	if p := degreesWrong(lon, 180); p != "" {
		b.add(field+"longitude", "%s", p)
	}
}

func checkDegrees(b *badRequest, field string, v, limit float64) {
	if p := degreesWrong(v, limit); p != "" {
		b.add(field, "%s", p)
	}
}

// degreesWrong says what is wrong with v as degrees within ±limit, or ""
// when nothing is.
func degreesWrong(v, limit float64) string {
	switch {
	case math.IsNaN(v):
		return "not a number"
	case v < -limit || v > limit:
		return fmt.Sprintf("%v is outside -%v..%v degrees", v, limit, limit)
	}
	return ""
}

func checkHeight(b *badRequest, field string, m float64) {
	if p := heightWrong(m); p != "" {
		b.add(field, "%s", p)
	}
}

// heightWrong says what is wrong with m as a height in metres, or "" when
// nothing is.
func heightWrong(m float64) string {
	switch {
	case math.IsNaN(m):
		return "not a number"
	case m < minHeight || m > maxHeight:
		return fmt.Sprintf("%v m is outside %d..%d m", m, minHeight, maxHeight)
	}
	return ""
}

// checkEnum reports a value that the enum does not define (a newer client's,
// or a mistake).
func checkEnum(b *badRequest, field string, e protoreflect.Enum) bool {
	if e.Descriptor().Values().ByNumber(e.Number()) == nil {
		b.add(field, "unknown value %d", e.Number())
		return false
	}
	return true
}

// checkRef checks a vertical reference that must be given.
func checkRef(b *badRequest, field string, r noflyv1.VerticalReference) geo.VerticalRef {
	if !checkEnum(b, field, r) {
		return geo.RefUnknown
	}
	if r == noflyv1.VerticalReference_VERTICAL_REFERENCE_UNSPECIFIED {
		b.add(field, "required: AGL, AMSL or WGS84")
	}
	return refFromProto[r]
}

// checkTimestamp returns ts as a time, def when ts is absent.
func checkTimestamp(b *badRequest, field string, ts *timestamppb.Timestamp, def time.Time) time.Time {
	if ts == nil {
		return def
	}
	if ts.CheckValid() != nil {
		// CheckValid's own text embeds the message in an unstable format.
		b.add(field, "not a valid timestamp: want years 0001 to 9999 and nanos 0 to 999999999")
		return def
	}
	t := ts.AsTime()
	if t.Before(geo.MinTime) || t.After(geo.MaxTime) {
		// Times nearer the ends than a flight's length would overflow
		// what follows from them (an end an hour after the start).
		b.add(field, "%s is outside the times nofly checks, %s to %s", t.Format(time.RFC3339),
			geo.MinTime.Format(time.RFC3339), geo.MaxTime.Format(time.RFC3339))
		return def
	}
	return t
}

func checkBuffer(b *badRequest, field string, m float64) {
	switch {
	case math.IsNaN(m):
		b.add(field, "not a number")
	case m < 0:
		b.add(field, "%v m is negative", m)
	case m > geo.MaxBuffer:
		b.add(field, "%v m is more than %d m", m, geo.MaxBuffer)
	}
}

// guard runs geo's validation after the server's. It fails only for
// problems the server's checks do not know about; they are reported at
// field.
func guard(b *badRequest, field string, err error) { b.addErr(field, err) }

// positionQuery turns a CheckPositionRequest into a geo query. now is the
// instant checked when the request has none. noAlt says that the request
// gave no altitude.
func positionQuery(req *noflyv1.CheckPositionRequest, now time.Time) (q geo.PositionQuery, noAlt bool, err error) {
	var b badRequest
	if req.GetPosition() == nil {
		b.add("position", "required")
	} else {
		checkLatLon(&b, "position.", req.Position.Latitude, req.Position.Longitude)
		q.Point = orb.Point{req.Position.Longitude, req.Position.Latitude}
	}
	if a := req.GetAltitude(); a != nil {
		q.Alt.Ref = checkRef(&b, "altitude.reference", a.Reference)
		checkHeight(&b, "altitude.metres", a.Metres)
		q.Alt.Metres = a.Metres
	}
	q.At = checkTimestamp(&b, "at", req.GetAt(), now).UTC()
	// The operator is free text here; auth.go binds it to the caller.
	checkEnum(&b, "purpose", req.GetPurpose())
	q.Category = checkCategory(&b, "operation_category", req.GetOperationCategory())
	checkEnum(&b, "view", req.GetView())
	if err := b.err(); err != nil {
		return q, false, err
	}
	guard(&b, "position", q.Validate())
	return q, req.GetAltitude() == nil, b.err()
}

// planQuery is a flight plan as geo queries: exactly one of route and area
// is set.
type planQuery struct {
	route  *geo.RouteQuery
	area   *geo.AreaQuery
	window geo.TimeWindow
	noAlt  bool
}

// flightPlanQuery turns a CheckFlightPlanRequest into a geo query. A plan
// without start starts now; without end it lasts DefaultFlightDuration.
func flightPlanQuery(req *noflyv1.CheckFlightPlanRequest, now time.Time) (planQuery, error) {
	var b badRequest
	fp := req.GetFlightPlan()
	if fp == nil {
		b.add("flight_plan", "required")
		return planQuery{}, b.err()
	}
	const f = "flight_plan."
	checkEnum(&b, f+"purpose", fp.GetPurpose())
	start := checkTimestamp(&b, f+"start", fp.GetStart(), now).UTC()
	end := checkTimestamp(&b, f+"end", fp.GetEnd(), start.Add(DefaultFlightDuration)).UTC()
	if fp.GetEnd() == nil && end.After(geo.MaxTime) {
		b.add(f+"end", "%s is after %s, the last time nofly checks (the end is the start plus an hour unless given)",
			end.Format(time.RFC3339), geo.MaxTime.Format(time.RFC3339))
	}
	if end.Before(start) {
		b.add(f+"end", "%s is before start %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	checkBuffer(&b, f+"buffer_m", fp.GetBufferM())
	pq := planQuery{window: geo.TimeWindow{Start: start, End: end}}

	switch g := fp.GetGeometry().(type) {
	case *noflyv1.FlightPlan_Route:
		pq.route = routeQuery(&b, f+"route", g.Route)
		if pq.route != nil {
			pq.route.Buffer, pq.route.Window = fp.GetBufferM(), pq.window
			pq.noAlt = pq.route.AltRef == geo.RefUnknown
		}
	case *noflyv1.FlightPlan_Area:
		pq.area = areaQuery(&b, f+"area", g.Area)
		if pq.area != nil {
			pq.area.Buffer, pq.area.Window = fp.GetBufferM(), pq.window
			pq.noAlt = pq.area.Band.Ref == geo.RefUnknown
		}
	default:
		b.add(f+"geometry", "required: a route or an area")
	}
	if err := b.err(); err != nil {
		return pq, err
	}
	category := checkCategory(&b, f+"operation_category", fp.GetOperationCategory())
	switch {
	case pq.route != nil:
		pq.route.Category = category
		guard(&b, f+"route", pq.route.Validate())
	case pq.area != nil:
		pq.area.Category = category
		guard(&b, f+"area", pq.area.Validate())
	}
	return pq, b.err()
}

func routeQuery(b *badRequest, field string, r *noflyv1.Route) *geo.RouteQuery {
	if r == nil {
		b.add(field, "required")
		return nil
	}
	wps := r.GetWaypoints()
	switch n := len(wps); {
	case n < 2:
		b.add(field+".waypoints", "a route needs at least 2 waypoints, got %d", n)
		return nil
	case n > geo.MaxWaypoints:
		// Checking each of them would only make a long error.
		b.add(field+".waypoints", "at most %d waypoints, got %d", geo.MaxWaypoints, n)
		return nil
	}
	q := &geo.RouteQuery{Waypoints: make([]geo.Waypoint, len(wps))}
	refField := field + ".altitude_reference"
	if checkEnum(b, refField, r.AltitudeReference) {
		q.AltRef = refFromProto[r.AltitudeReference]
	}
	for i, w := range wps {
		q.Waypoints[i].Point = orb.Point{w.Longitude, w.Latitude}
		// The waypoint's field path is made only for a problem.
		wf := func(leaf string) string { return fmt.Sprintf("%s.waypoints[%d].%s", field, i, leaf) }
		if p := degreesWrong(w.Latitude, 90); p != "" {
			b.add(wf("latitude"), "%s", p)
		}
		if p := degreesWrong(w.Longitude, 180); p != "" {
			b.add(wf("longitude"), "%s", p)
		}
		switch {
		case w.AltitudeM == nil && q.AltRef != geo.RefUnknown:
			b.add(wf("altitude_m"), "required when altitude_reference is set")
		case w.AltitudeM != nil && q.AltRef == geo.RefUnknown:
			b.add(wf("altitude_m"), "given but altitude_reference is not set: say what the heights are measured from")
		case w.AltitudeM != nil:
			if p := heightWrong(*w.AltitudeM); p != "" {
				b.add(wf("altitude_m"), "%s", p)
			}
			q.Waypoints[i].Alt = *w.AltitudeM
		}
	}
	return q
}

func areaQuery(b *badRequest, field string, a *noflyv1.Area) *geo.AreaQuery {
	if a == nil {
		b.add(field, "required")
		return nil
	}
	q := &geo.AreaQuery{}
	switch s := a.GetShape().(type) {
	case *noflyv1.Area_Polygon:
		q.Area = geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{polygonFromProto(b, field+".polygon", s.Polygon)}}
	case *noflyv1.Area_Circle:
		cf := field + ".circle"
		c := s.Circle
		if c.GetCenter() == nil {
			b.add(cf+".center", "required")
		} else {
			checkLatLon(b, cf+".center.", c.Center.Latitude, c.Center.Longitude)
		}
		switch r := c.GetRadiusM(); {
		case math.IsNaN(r):
			b.add(cf+".radius_m", "not a number")
		case r <= 0:
			b.add(cf+".radius_m", "%v m is not positive", r)
		case r > geo.MaxBuffer:
			b.add(cf+".radius_m", "%v m is more than %d m", r, geo.MaxBuffer)
		}
		q.Area = geo.Shape{Kind: geo.ShapeCircle, Radius: c.GetRadiusM(),
			Center: orb.Point{c.GetCenter().GetLongitude(), c.GetCenter().GetLatitude()}}
	default:
		b.add(field+".shape", "required: a polygon or a circle")
	}
	if band := a.GetBand(); band != nil {
		bf := field + ".band"
		q.Band.Ref = checkRef(b, bf+".reference", band.Reference)
		checkHeight(b, bf+".lower_m", band.LowerM)
		checkHeight(b, bf+".upper_m", band.UpperM)
		if band.LowerM > band.UpperM {
			b.add(bf+".upper_m", "%v m is below lower_m %v m", band.UpperM, band.LowerM)
		}
		q.Band.Lower, q.Band.Upper = band.LowerM, band.UpperM
	}
	return q
}

// polygonFromProto converts a polygon, closing rings that are not closed.
func polygonFromProto(b *badRequest, field string, p *noflyv1.Polygon) orb.Polygon {
	rings := p.GetRings()
	if len(rings) == 0 {
		b.add(field+".rings", "a polygon needs an outer ring")
		return nil
	}
	var total int
	for _, r := range rings {
		total += len(r.GetPositions())
	}
	if total > MaxAreaVertices {
		b.add(field+".rings", "at most %d vertices in all, got %d", MaxAreaVertices, total)
		return nil
	}
	poly := make(orb.Polygon, 0, len(rings))
	for i, r := range rings {
		rf := fmt.Sprintf("%s.rings[%d]", field, i)
		ring := make(orb.Ring, 0, len(r.GetPositions())+1)
		for j, pos := range r.GetPositions() {
			checkLatLon(b, fmt.Sprintf("%s.positions[%d].", rf, j), pos.Latitude, pos.Longitude)
			ring = append(ring, orb.Point{pos.Longitude, pos.Latitude})
		}
		if len(ring) > 0 && ring[0] != ring[len(ring)-1] {
			ring = append(ring, ring[0])
		}
		if len(ring) < 4 {
			b.add(rf+".positions", "a ring needs at least 3 distinct positions")
		}
		poly = append(poly, ring)
	}
	return poly
}

// Page tokens are opaque to clients: the last id of the previous page,
// base64url-encoded behind a version prefix so that the format can change.
const pageTokenPrefix = "z1:"

func encodePageToken(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pageTokenPrefix + lastID))
}

func decodePageToken(b *badRequest, tok string) (lastID string) {
	if tok == "" {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(raw), pageTokenPrefix) {
		b.add("page_token", "not a token from a previous ListZones response")
		return ""
	}
	return strings.TrimPrefix(string(raw), pageTokenPrefix)
}

// listQuery checks a ListZonesRequest.
func listQuery(req *noflyv1.ListZonesRequest) (bbox *orb.Bound, pageSize int, after string, view noflyv1.ZoneView, err error) {
	var b badRequest
	if bb := req.GetBbox(); bb != nil {
		checkDegrees(&b, "bbox.min_latitude", bb.MinLatitude, 90)
		checkDegrees(&b, "bbox.max_latitude", bb.MaxLatitude, 90)
		checkDegrees(&b, "bbox.min_longitude", bb.MinLongitude, 180)
		checkDegrees(&b, "bbox.max_longitude", bb.MaxLongitude, 180)
		if bb.MinLatitude > bb.MaxLatitude {
			b.add("bbox.max_latitude", "%v is south of min_latitude %v", bb.MaxLatitude, bb.MinLatitude)
		}
		if bb.MinLongitude > bb.MaxLongitude {
			b.add("bbox.max_longitude", "%v is west of min_longitude %v (boxes across the antimeridian are not supported)", bb.MaxLongitude, bb.MinLongitude)
		}
		bbox = &orb.Bound{Min: orb.Point{bb.MinLongitude, bb.MinLatitude}, Max: orb.Point{bb.MaxLongitude, bb.MaxLatitude}}
	}
	switch ps := req.GetPageSize(); {
	case ps < 0:
		b.add("page_size", "%d is negative", ps)
	case ps == 0:
		pageSize = DefaultPageSize
	case ps > MaxPageSize:
		b.add("page_size", "%d is more than the limit of %d", ps, MaxPageSize)
	default:
		pageSize = int(ps)
	}
	after = decodePageToken(&b, req.GetPageToken())
	view = req.GetView()
	if checkEnum(&b, "view", view) && view == noflyv1.ZoneView_ZONE_VIEW_UNSPECIFIED {
		view = noflyv1.ZoneView_ZONE_VIEW_BASIC
	}
	return bbox, pageSize, after, view, b.err()
}

// getQuery checks a GetZoneRequest.
func getQuery(req *noflyv1.GetZoneRequest) (id string, view noflyv1.ZoneView, err error) {
	var b badRequest
	if req.GetId() == "" {
		b.add("id", "required")
	}
	view = req.GetView()
	if checkEnum(&b, "view", view) && view == noflyv1.ZoneView_ZONE_VIEW_UNSPECIFIED {
		view = noflyv1.ZoneView_ZONE_VIEW_FULL
	}
	return req.GetId(), view, b.err()
}
