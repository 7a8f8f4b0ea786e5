package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/paulmach/orb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/flightplan"
	"github.com/nofly-project/nofly/internal/mapview"
	"github.com/nofly-project/nofly/internal/server"
)

// mapNear is how far around a check, in metres, a map looks for zones to
// draw that the check did not meet: enough to see what lies just beyond.
const mapNear = 3000.0

// mapFile is the --map flag.
type mapFile struct {
	path string
	// offline, when set, is the bundle a check was answered from: the
	// map's zones and exemptions come from it, not from noflyd; note
	// says so on the map.
	offline *server.Offline
	note    string
}

func (m *mapFile) register(fs *flag.FlagSet) {
	fs.StringVar(&m.path, "map", "", "also draw the result as a map: `FILE`.html (interactive, self-contained, opens offline) or FILE.svg (a picture)")
}

// check refuses a map file name that is neither .html nor .svg, before any
// call to the server.
func (m *mapFile) check(cmd string) error {
	if m.path == "" {
		return nil
	}
	if _, err := mapview.Format(m.path); err != nil {
		return &usageError{cmd: cmd, msg: "--map: " + err.Error()}
	}
	return nil
}

func (m *mapFile) write(e *env, mv *mapview.Map) error {
	if err := mapview.Write(m.path, mv); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "nofly: map written to %s\n", m.path)
	return nil
}

// headLines is the first lines printResult prints: the verdict and what
// was checked, as the map's title and first line.
func headLines(r checkResult, subject string) (string, []string) {
	var b bytes.Buffer
	printResult(&b, r, subject)
	lines := strings.SplitN(b.String(), "\n", 3)
	title, rest := lines[0], []string{}
	if len(lines) > 1 {
		rest = append(rest, lines[1])
	}
	if zs := r.zoneSet; zs != nil {
		rest = append(rest, fmt.Sprintf("Zone set %s: %d zones, loaded %s; checked %s",
			zs.GetVersion(), zs.GetZoneCount(), fmtTime(zs.GetLoadedAt()), fmtTime(r.checkedAt)))
	}
	return title, rest
}

// drawCheck writes the map of a check: the flight, the zones it met with
// their geometry, and the zones near it.
func (m *mapFile) drawCheck(ctx context.Context, e *env, r checkResult, subject string, f *mapview.Flight) error {
	title, lines := headLines(r, subject)
	// Why: each blocking zone, where the flight meets it and whether an
	// exemption covers it, as the console prints it.
	for _, h := range r.conflicts {
		l := fmt.Sprintf("%s (%s, %s): ", h.GetZone().GetId(), shortRestriction(h.GetZone().GetRestriction()), fmtBand(h.GetHeightBand()))
		if h.GetInside() {
			l += "inside"
		} else {
			l += fmt.Sprintf("%.0f m away", h.GetClosestApproachM())
		}
		if len(h.GetLegs()) > 0 {
			l += ", legs " + fmtLegs(h.GetLegs())
		}
		switch ex := h.GetExemption(); {
		case ex != nil:
			l += "; covered by " + ex.GetId()
		case len(h.GetNotCovered()) > 0:
			nc := h.GetNotCovered()[0]
			l += "; NOT covered: " + strings.TrimPrefix(nc.GetExemptionId()+": ", ": ") + nc.GetReason()
			if n := len(h.GetNotCovered()) - 1; n > 0 {
				l += fmt.Sprintf(" (and %d more; click the zone)", n)
			}
		default:
			l += "; NOT covered"
		}
		lines = append(lines, l)
	}
	hits := map[string]*noflyv1.ZoneHit{}
	for _, h := range slices.Concat(r.conflicts, r.advisories) {
		hits[h.GetZone().GetId()] = h
	}
	var conflictLegs, coveredLegs []int
	for _, h := range r.conflicts {
		for _, l := range h.GetLegs() {
			if h.GetExemption() == nil {
				conflictLegs = append(conflictLegs, int(l))
			} else {
				coveredLegs = append(coveredLegs, int(l))
			}
		}
	}
	f.ConflictLegs = conflictLegs
	for _, l := range coveredLegs {
		if !slices.Contains(conflictLegs, l) {
			f.CoveredLegs = append(f.CoveredLegs, l)
		}
	}
	var zones *mapZones
	if m.offline != nil {
		zones = &mapZones{list: m.offline.MapZones(padMetres(flightBound(f), mapNear+f.Buffer), mapIDs(hits))}
		lines = append(lines, m.note)
	} else {
		var err error
		if zones, err = fetchZones(ctx, e, flightBound(f), mapNear+f.Buffer, mapIDs(hits)); err != nil {
			return err
		}
	}
	if zs := r.zoneSet; zs != nil && len(zones.sets) > 0 && !zones.sameSet(zs.GetVersion()) {
		lines = append(lines, "Note: the server's zone set changed after the check; zone outlines are from the newer set.")
	}
	mv := &mapview.Map{Title: title, Lines: lines, Flight: f}
	mv.Considered = m.considered(ctx, e, r.conflicts)
	for _, z := range zones.list {
		mz := mapZone(z)
		if h := hits[z.GetId()]; h != nil {
			mz.Hit = mapHit(h, r.window)
		}
		mv.Zones = append(mv.Zones, mz)
	}
	return m.write(e, mv)
}

func mapIDs(hits map[string]*noflyv1.ZoneHit) []string {
	ids := make([]string, 0, len(hits))
	for id := range hits {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func mapHit(h *noflyv1.ZoneHit, window *noflyv1.TimeWindow) *mapview.Hit {
	mh := &mapview.Hit{Inside: h.GetInside(), Distance: h.GetClosestApproachM(), Band: fmtBand(h.GetHeightBand())}
	for _, l := range h.GetLegs() {
		mh.Legs = append(mh.Legs, int(l))
	}
	if window != nil {
		mh.When = fmtWhen(h.GetTimeWindow(), window)
	}
	if ex := h.GetExemption(); ex != nil {
		mh.CoveredBy = fmt.Sprintf("%s (%s)", ex.GetId(), ex.GetLegalBasis())
	}
	for _, nc := range h.GetNotCovered() {
		if nc.GetExemptionId() == "" {
			mh.NotCovered = append(mh.NotCovered, nc.GetReason())
		} else {
			mh.NotCovered = append(mh.NotCovered, nc.GetExemptionId()+": "+nc.GetReason())
		}
	}
	return mh
}

// mapZone turns a zone with its geometry (the FULL view) into what a map
// draws.
func mapZone(z *noflyv1.Zone) mapview.Zone {
	mz := mapview.Zone{
		ID: z.GetId(), Name: z.GetName(), Message: z.GetMessage(), Reasons: z.GetReasons(),
		Restriction: shortRestriction(z.GetRestriction()) + fmtCategories(z.GetOperationCategories()),
		Blocking:    blockingRestriction(z.GetRestriction()),
		Heights:     zoneHeights(z),
	}
	var periods []string
	for _, p := range z.GetApplicability() {
		periods = append(periods, fmtPeriod(p))
	}
	mz.Schedule = "always"
	if !alwaysActive(z.GetApplicability()) {
		mz.Schedule = strings.Join(periods, "; ")
	}
	for _, v := range z.GetVolumes() {
		switch {
		case v.GetCircle() != nil:
			c := v.GetCircle()
			center := orb.Point{c.GetCenter().GetLongitude(), c.GetCenter().GetLatitude()}
			mz.Shapes = append(mz.Shapes, orb.Polygon{geo.CircleOutline(center, c.GetRadiusM(), 96)})
		case v.GetPolygon() != nil:
			mz.Shapes = append(mz.Shapes, protoPolygon(v.GetPolygon()))
		}
	}
	return mz
}

// blockingRestriction says whether a zone with restriction r blocks a
// flight without an exemption; an unknown restriction blocks.
func blockingRestriction(r noflyv1.Restriction) bool {
	switch r {
	case noflyv1.Restriction_RESTRICTION_CONDITIONAL, noflyv1.Restriction_RESTRICTION_NO_RESTRICTION:
		return false
	}
	return true
}

func protoPolygon(p *noflyv1.Polygon) orb.Polygon {
	var poly orb.Polygon
	for _, r := range p.GetRings() {
		ring := make(orb.Ring, 0, len(r.GetPositions()))
		for _, q := range r.GetPositions() {
			ring = append(ring, orb.Point{q.GetLongitude(), q.GetLatitude()})
		}
		poly = append(poly, ring)
	}
	return poly
}

// flightBound is the box around a flight's points (without its buffer).
func flightBound(f *mapview.Flight) orb.Bound {
	pts := slices.Clone(f.Path)
	for _, r := range f.Area {
		pts = append(pts, r...)
	}
	b := orb.MultiPoint(pts).Bound()
	if f.Radius > 0 && len(f.Path) > 0 {
		b = orb.MultiPoint(geo.CircleOutline(f.Path[0], f.Radius, 16)).Bound()
	}
	return b
}

// padMetres widens b by m metres each side.
func padMetres(b orb.Bound, m float64) orb.Bound {
	dLat := m / 110_574
	dLon := m / (111_320 * math.Max(math.Cos(math.Max(math.Abs(b.Min[1]), math.Abs(b.Max[1]))*math.Pi/180), 0.01))
	return orb.Bound{
		Min: orb.Point{math.Max(b.Min[0]-dLon, -180), math.Max(b.Min[1]-dLat, -90)},
		Max: orb.Point{math.Min(b.Max[0]+dLon, 180), math.Min(b.Max[1]+dLat, 90)},
	}
}

// mapZones is what fetchZones found.
type mapZones struct {
	list []*noflyv1.Zone
	sets []string // zone set versions that answered
}

func (z *mapZones) sameSet(v string) bool {
	for _, s := range z.sets {
		if s != v {
			return false
		}
	}
	return true
}

// fetchZones gets, with their geometry, the zones whose bounds meet b
// widened by pad metres, and the zones ids (which a check met) wherever
// they are.
func fetchZones(ctx context.Context, e *env, b orb.Bound, pad float64, ids []string) (*mapZones, error) {
	out := &mapZones{}
	err := call(ctx, e, func(ctx context.Context, c noflyv1.GeofenceServiceClient) error {
		if !b.IsZero() {
			pb := padMetres(b, pad)
			zs, err := listAll(ctx, c, &noflyv1.ListZonesRequest{
				Bbox: &noflyv1.BoundingBox{MinLongitude: pb.Min[0], MinLatitude: pb.Min[1], MaxLongitude: pb.Max[0], MaxLatitude: pb.Max[1]},
				View: noflyv1.ZoneView_ZONE_VIEW_FULL, PageSize: 1000,
			})
			if err != nil {
				return err
			}
			out.list = zs.GetZones()
			out.sets = append(out.sets, zs.GetZoneSet().GetVersion())
		}
		have := map[string]bool{}
		for _, z := range out.list {
			have[z.GetId()] = true
		}
		for _, id := range ids {
			if have[id] {
				continue
			}
			resp, err := c.GetZone(ctx, &noflyv1.GetZoneRequest{Id: id, View: noflyv1.ZoneView_ZONE_VIEW_FULL})
			if err != nil {
				return fmt.Errorf("zone %s for the map: %w", id, err)
			}
			out.list = append(out.list, resp.GetZone())
			out.list = append(out.list, resp.GetVariants()...)
			out.sets = append(out.sets, resp.GetZoneSet().GetVersion())
		}
		return nil
	})
	return out, err
}

// listAll gets every page of a zone list.
func listAll(ctx context.Context, c noflyv1.GeofenceServiceClient, req *noflyv1.ListZonesRequest) (*noflyv1.ListZonesResponse, error) {
	all := &noflyv1.ListZonesResponse{}
	err := eachPage(func(token string) ([]*noflyv1.Zone, string, error) {
		req.PageToken = token
		resp, err := c.ListZones(ctx, req)
		if err == nil {
			all.ZoneSet = resp.GetZoneSet()
		}
		return resp.GetZones(), resp.GetNextPageToken(), err
	}, func(page []*noflyv1.Zone) error { all.Zones = append(all.Zones, page...); return nil })
	if err != nil {
		return nil, err
	}
	return all, nil
}

// positionFlight is the flight of a position check.
func positionFlight(lat, lon float64) *mapview.Flight {
	return &mapview.Flight{Path: []orb.Point{{lon, lat}}}
}

// planFlight is the flight of a plan check.
func planFlight(p *flightplan.Plan, buffer float64) *mapview.Flight {
	f := &mapview.Flight{Buffer: buffer}
	switch {
	case p.Route != nil:
		for _, w := range p.Route.Waypoints {
			f.Path = append(f.Path, orb.Point{w.Lon, w.Lat})
		}
	case p.Area.Polygon != nil:
		f.Area = p.Area.Polygon
	default:
		f.Path, f.Radius = []orb.Point{p.Area.Center}, p.Area.Radius
	}
	return f
}

// drawZones writes the map of a zone list; the zones carry their geometry.
func (m *mapFile) drawZones(e *env, all *noflyv1.ListZonesResponse, bbox *noflyv1.BoundingBox) error {
	zs := all.GetZoneSet()
	n := len(all.GetZones())
	mv := &mapview.Map{
		Title: fmt.Sprintf("%d zone%s", n, plural(n)),
		Lines: []string{fmt.Sprintf("Zone set %s: %d zones, loaded %s", zs.GetVersion(), zs.GetZoneCount(), fmtTime(zs.GetLoadedAt()))},
	}
	if bbox != nil {
		mv.Title += fmt.Sprintf(" meeting %g,%g,%g,%g", bbox.GetMinLongitude(), bbox.GetMinLatitude(), bbox.GetMaxLongitude(), bbox.GetMaxLatitude())
		mv.View = orb.Bound{Min: orb.Point{bbox.GetMinLongitude(), bbox.GetMinLatitude()}, Max: orb.Point{bbox.GetMaxLongitude(), bbox.GetMaxLatitude()}}
	}
	for _, z := range all.GetZones() {
		mv.Zones = append(mv.Zones, mapZone(z))
	}
	return m.write(e, mv)
}

// drawExemption writes the map of an exemption: its area, the zones it
// names and the zones in its area.
func (m *mapFile) drawExemption(ctx context.Context, e *env, ex *noflyv1.Exemption) error {
	var b bytes.Buffer
	printExemption(&b, ex)
	mex := &mapview.Exemption{ID: ex.GetId(), ZoneIDs: ex.GetZoneIds()}
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		mex.Lines = append(mex.Lines, strings.Join(strings.Fields(l), " "))
	}
	var area orb.Bound
	switch a := ex.GetArea(); {
	case a.GetCircle() != nil:
		c := a.GetCircle()
		mex.Center = orb.Point{c.GetCenter().GetLongitude(), c.GetCenter().GetLatitude()}
		mex.Radius = c.GetRadiusM()
		area = orb.MultiPoint(geo.CircleOutline(mex.Center, mex.Radius, 16)).Bound()
	case a.GetPolygon() != nil:
		mex.Area = protoPolygon(a.GetPolygon())
		area = mex.Area.Bound()
	}
	zones, err := fetchZones(ctx, e, area, 0, ex.GetZoneIds())
	if err != nil {
		return err
	}
	mv := &mapview.Map{Title: "Exemption " + ex.GetId() + " (" + exemptionStatus(ex) + ")", Exemption: mex}
	for _, l := range mex.Lines {
		// The id and status are in the title; the map says where.
		if !strings.HasPrefix(l, "ID:") && !strings.HasPrefix(l, "Status:") && len(mv.Lines) < 6 {
			mv.Lines = append(mv.Lines, l)
		}
	}
	if area.IsZero() {
		mv.Lines = append(mv.Lines, "No area: the exemption holds wherever the zones it names or picks are; the map shows the zones it names.")
	}
	for _, z := range zones.list {
		mv.Zones = append(mv.Zones, mapZone(z))
	}
	return m.write(e, mv)
}

// considered fetches the exemptions a check weighed for its blocking
// zones, to draw their areas. A caller whose role may not read exemption
// records (a pilot) gets a map without them.
func (m *mapFile) considered(ctx context.Context, e *env, conflicts []*noflyv1.ZoneHit) []*mapview.Exemption {
	var ids []string
	for _, h := range conflicts {
		if ex := h.GetExemption(); ex != nil {
			ids = append(ids, ex.GetId())
		}
		for _, nc := range h.GetNotCovered() {
			if nc.GetExemptionId() != "" {
				ids = append(ids, nc.GetExemptionId())
			}
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var out []*mapview.Exemption
	for _, id := range ids {
		var (
			ex  *noflyv1.Exemption
			err error
		)
		if m.offline != nil {
			ex = m.offline.Exemption(id) // the bundle's record: offline, nothing is asked
		} else {
			err = callExemptions(ctx, e, func(ctx context.Context, c noflyv1.ExemptionServiceClient) error {
				resp, err := c.GetExemption(ctx, &noflyv1.GetExemptionRequest{Id: id})
				if status.Code(err) == codes.PermissionDenied {
					return nil // ex stays nil: not this caller's to read
				}
				ex = resp.GetExemption()
				return err
			})
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "nofly: note: the map leaves out exemption %s's area: %v\n", id, err)
		}
		if ex == nil {
			continue
		}
		mex := &mapview.Exemption{ID: id, Lines: []string{"Valid " + fmtTime(ex.GetValidFrom()) + " to " + fmtTime(ex.GetValidUntil()),
			fmt.Sprintf("Ceiling %s m %s", fmtMetres(ex.GetCeilingM()), shortRef(ex.GetCeilingReference())), "Legal basis " + ex.GetLegalBasis()}}
		switch a := ex.GetArea(); {
		case a.GetCircle() != nil:
			c := a.GetCircle()
			mex.Center, mex.Radius = orb.Point{c.GetCenter().GetLongitude(), c.GetCenter().GetLatitude()}, c.GetRadiusM()
		case a.GetPolygon() != nil:
			mex.Area = protoPolygon(a.GetPolygon())
		default:
			continue // no area to draw
		}
		out = append(out, mex)
	}
	return out
}
