package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/fence"
	"github.com/nofly-project/nofly/internal/flightplan"
)

func planFenceCommand() *command {
	pf := newPlanFlags()
	var (
		bf          bundleFlags
		out, format string
		margin      = 1000.0
		clearance   = float64(fence.DefaultMarginM)
		maxVertices = fence.DefaultMaxVertices
		force       bool
	)
	return &command{
		name:  "plan fence",
		usage: "FILE [--buffer M] [--margin M] [--format plan|kml|dji] -o OUT [flags]",
		summary: `Checks a flight plan and writes a geofence for the aircraft. The check
is plan check's; when the flight may go ahead, OUT gets a QGroundControl
.plan (the original mission of a .plan FILE, else an empty one, with a
geoFence that QGroundControl uploads to PX4 or ArduPilot), KML, or a DJI
custom flight area file (--format dji, for a DJI Dock through the Cloud
API: the inclusion as the operation area, exclusions as GEO zones). The
fence has an inclusion polygon, the route's corridor (or the area) with
its buffer and --margin, and an exclusion for every blocking zone within
--margin of the flight, or inside the inclusion (checked as an area), that
no exemption covers: polygons enclosed in at
most --max-vertices vertices, never smaller than the zone, and circles,
each grown by --clearance metres. Fences are 2-D and know no schedule:
an exclusion holds at every height and time; set the autopilot's maximum
altitude yourself (printed). See docs/fieldkit.md.

Exit status: 0 written, 1 denied (nothing written), 2 usage, input or
connection error.`,
		example: `  nofly plan fence mission.plan --buffer 50 --unit AMS-DRONE -o mission-fenced.plan
  nofly plan fence route.geojson --buffer 50 --format kml -o fence.kml --bundle ams.bundle --keys keys.cbor
`,
		flags: func(fs *flag.FlagSet) {
			pf.register(fs)
			bf.register(fs)
			fs.StringVar(&out, "o", "", "`FILE` to write; required")
			alias(fs, "out", "o")
			fs.StringVar(&format, "format", "plan", "`FORMAT` to write: plan (QGroundControl), kml, or dji (DJI Cloud API custom flight area)")
			fs.Float64Var(&margin, "margin", margin, "fence the blocking zones within this many `metres` of the flight (beyond its buffer)")
			fs.Float64Var(&clearance, "clearance", clearance, "grow every exclusion by this many `metres` (GNSS error, reaction distance)")
			fs.IntVar(&maxVertices, "max-vertices", maxVertices, "at most this many `vertices` per exclusion polygon")
			fs.BoolVar(&force, "force", false, "replace an existing OUT")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly plan fence"
			switch {
			case out == "":
				return &usageError{cmd: name, msg: "-o OUT is required"}
			case format != "plan" && format != "kml" && format != "dji":
				return &usageError{cmd: name, msg: fmt.Sprintf("--format %q: want plan, kml or dji", format)}
			case format == "dji" && maxVertices > fence.DJIMaxVertices:
				return &usageError{cmd: name, msg: fmt.Sprintf("--max-vertices %d: DJI takes at most %d a polygon", maxVertices, fence.DJIMaxVertices)}
			case !(margin >= 0 && margin <= geo.MaxBuffer/2):
				return &usageError{cmd: name, msg: fmt.Sprintf("--margin %v: want 0 to %d metres", margin, geo.MaxBuffer/2)}
			case !(clearance >= 0 && clearance <= 10_000):
				return &usageError{cmd: name, msg: fmt.Sprintf("--clearance %v: want 0 to 10000 metres", clearance)}
			case maxVertices < 4:
				return &usageError{cmd: name, msg: "--max-vertices: at least 4"}
			}
			p, fp, err := pf.plan(e, name, args)
			if err != nil {
				return err
			}
			if bf.journal != "" && bf.file == "" {
				return &usageError{cmd: name, msg: "--journal records offline answers: it needs --bundle"}
			}
			var ch checker
			record := func(*noflyv1.CheckFlightPlanResponse) error { return nil }
			if bf.file != "" {
				now := time.Now()
				off, l, err := bf.open(e, name, now)
				if err != nil {
					return err
				}
				offlineNote(e, l, bf.file, now)
				record = func(resp *noflyv1.CheckFlightPlanResponse) error {
					return bf.record(e, l, "flight-plan", &noflyv1.CheckFlightPlanRequest{FlightPlan: fp}, resp, now)
				}
				ch = checker{plan: func(ctx context.Context, fp *noflyv1.FlightPlan) (*noflyv1.CheckFlightPlanResponse, error) {
					r, err := off.CheckFlightPlan(ctx, &noflyv1.CheckFlightPlanRequest{FlightPlan: fp}, now)
					if err != nil {
						return nil, offlineError(bf.file, err)
					}
					return r, nil
				}, zone: func(_ context.Context, id string) ([]geo.Shape, error) {
					var shapes []geo.Shape
					for _, z := range l.Index.Variants(id) {
						for _, v := range z.Volumes {
							shapes = append(shapes, v.Shape)
						}
					}
					return shapes, nil
				}}
			} else {
				ch = onlineChecker(e)
			}
			resp, err := ch.plan(ctx, fp)
			if err != nil {
				return err
			}
			if err := record(resp); err != nil {
				return err
			}
			printResult(e.stdout, checkResult{
				verdict: resp.GetVerdict(), conflicts: resp.GetConflicts(), advisories: resp.GetAdvisories(),
				caveats: resp.GetCaveats(), zoneSet: resp.GetZoneSet(), window: resp.GetWindow(), route: p.Route != nil,
				exemptions: resp.GetExemptions(), exemptionsAsOf: resp.GetExemptionsAsOf(), checkedAt: resp.GetCheckedAt(),
				stale:    resp.GetExemptionsStale(),
				refusals: resp.GetPolicyRefusals(), warnings: resp.GetWarnings(), limit: resp.GetHeightLimit(), legLimits: resp.GetLegHeightLimits(),
			}, planSubject(p, fp, resp, pf.maxAlt.set && !pf.minAlt.set))
			if err := verdictError(resp.GetVerdict()); err != nil {
				fmt.Fprintln(e.stdout, "\nNo fence written: the flight may not go ahead.")
				return err
			}
			// The zones near: the same check with the margin added to the
			// buffer. Those no exemption covers are fenced off.
			wide := proto.CloneOf(fp)
			wide.BufferM += margin
			near, err := ch.plan(ctx, wide)
			if err != nil {
				return err
			}
			var zones []fence.Zone
			seen := map[string]bool{}
			fenceOff := func(cs []*noflyv1.ZoneHit) error {
				for _, c := range cs {
					id := c.GetZone().GetId()
					if seen[id] {
						continue
					}
					seen[id] = true
					if c.GetExemption() != nil {
						continue // covered: the flight may enter it
					}
					shapes, err := ch.zone(ctx, id)
					if err != nil {
						return err
					}
					zones = append(zones, fence.Zone{ID: id, Name: c.GetZone().GetName(), Shapes: shapes})
				}
				return nil
			}
			if err := fenceOff(near.GetConflicts()); err != nil {
				return err
			}
			f := fence.Build(zones, fenceFlight(p), wide.BufferM, maxVertices, clearance)
			// The inclusion holds the flight with its reach, and may hold
			// more (what a circuit encloses, a corridor's cut corners, a
			// hull): the aircraft may fly anywhere in it. The blocking
			// zones in it beyond the reach are fenced off too.
			inside, err := ch.plan(ctx, inclusionPlan(fp, f.Inclusion))
			if err != nil {
				return fmt.Errorf("the zones inside the fence's inclusion: %w", err)
			}
			n := len(zones)
			if err := fenceOff(inside.GetConflicts()); err != nil {
				return err
			}
			var beyond []string // fenced off for lying inside the inclusion only
			for _, z := range zones[n:] {
				beyond = append(beyond, z.ID)
			}
			if len(zones) > n {
				f = fence.Build(zones, fenceFlight(p), wide.BufferM, maxVertices, clearance)
			}
			if c := permittedCeiling(resp.GetHeightLimit()); c != "" {
				f.MaxAltitude = "maximum altitude: " + c // KML carries it; the .plan and DJI files cannot
			}
			var body []byte
			switch format {
			case "kml":
				body, err = f.WriteKML(filepath.Base(out))
			case "dji":
				body, err = f.WriteDJI()
			default:
				var original []byte
				if p.Format == "QGroundControl plan" {
					if original, err = readPlanFile(e, args[0]); err != nil {
						return err
					}
				}
				body, err = f.WritePlan(original)
			}
			if err != nil {
				return err
			}
			if err := writeFile(e, out, body, 0o644, force); err != nil {
				return err
			}
			var polys, circles int
			var ids []string
			for _, x := range f.Exclusions {
				if x.Circle != nil {
					circles++
				} else {
					polys++
				}
				if len(ids) == 0 || ids[len(ids)-1] != x.ZoneID {
					ids = append(ids, x.ZoneID)
				}
			}
			fmt.Fprintf(e.stdout, "\nFence written to %s (%s): 1 inclusion polygon, %d exclusion polygon%s and %d exclusion circle%s for %d zone%s within %s m",
				out, format, polys, plural(polys), circles, plural(circles), len(ids), plural(len(ids)), fmtMetres(margin))
			if len(ids) > 0 {
				fmt.Fprintf(e.stdout, " (%s)", strings.Join(ids, ", "))
			}
			fmt.Fprintln(e.stdout, ".")
			if len(beyond) > 0 {
				fmt.Fprintf(e.stdout, "Of them %d beyond %s m but inside the inclusion, where the aircraft may fly (%s).\n", len(beyond), fmtMetres(margin), strings.Join(beyond, ", "))
			}
			if format == "dji" {
				fmt.Fprintln(e.stdout, "GEO zones hold at every height and time; the dock must be inside the operation area, 10 m or more from every boundary; set the aircraft's altitude limit"+maxAltNote(p, fp, resp.GetHeightLimit())+".")
			} else {
				fmt.Fprintln(e.stdout, "Exclusions hold at every height and time; set the autopilot's maximum altitude (PX4 GF_MAX_VER_DIST, ArduPilot FENCE_ALT_MAX)"+maxAltNote(p, fp, resp.GetHeightLimit())+".")
			}
			return nil
		},
	}
}

// checker checks plans and reads zone shapes, from noflyd or a bundle.
type checker struct {
	plan func(ctx context.Context, fp *noflyv1.FlightPlan) (*noflyv1.CheckFlightPlanResponse, error)
	zone func(ctx context.Context, id string) ([]geo.Shape, error)
}

func onlineChecker(e *env) checker {
	return checker{plan: func(ctx context.Context, fp *noflyv1.FlightPlan) (resp *noflyv1.CheckFlightPlanResponse, err error) {
		err = call(ctx, e, func(ctx context.Context, c noflyv1.GeofenceServiceClient) (err error) {
			resp, err = c.CheckFlightPlan(ctx, &noflyv1.CheckFlightPlanRequest{FlightPlan: fp})
			return err
		})
		return resp, err
	}, zone: func(ctx context.Context, id string) ([]geo.Shape, error) {
		var resp *noflyv1.GetZoneResponse
		err := call(ctx, e, func(ctx context.Context, c noflyv1.GeofenceServiceClient) (err error) {
			resp, err = c.GetZone(ctx, &noflyv1.GetZoneRequest{Id: id, View: noflyv1.ZoneView_ZONE_VIEW_FULL})
			return err
		})
		if err != nil {
			return nil, err
		}
		var shapes []geo.Shape
		for _, z := range append([]*noflyv1.Zone{resp.GetZone()}, resp.GetVariants()...) {
			for _, v := range z.GetVolumes() {
				switch {
				case v.GetCircle() != nil:
					c := v.GetCircle()
					shapes = append(shapes, geo.Shape{Kind: geo.ShapeCircle, Radius: c.GetRadiusM(),
						Center: orb.Point{c.GetCenter().GetLongitude(), c.GetCenter().GetLatitude()}})
				case v.GetPolygon() != nil:
					var poly orb.Polygon
					for _, r := range v.GetPolygon().GetRings() {
						var ring orb.Ring
						for _, p := range r.GetPositions() {
							ring = append(ring, orb.Point{p.GetLongitude(), p.GetLatitude()})
						}
						poly = append(poly, ring)
					}
					shapes = append(shapes, geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{poly}})
				default:
					return nil, fmt.Errorf("zone %s: a volume without a shape: cannot fence it", id)
				}
			}
		}
		return shapes, nil
	}}
}

// fenceFlight is what the fence's inclusion goes around: a route's
// waypoints, an area's outer ring or its circle.
func fenceFlight(p *flightplan.Plan) fence.Flight {
	switch {
	case p.Route != nil:
		pts := make([]orb.Point, len(p.Route.Waypoints))
		for i, w := range p.Route.Waypoints {
			pts[i] = orb.Point{w.Lon, w.Lat}
		}
		return fence.Flight{Route: pts}
	case p.Area.Polygon != nil:
		return fence.Flight{Area: p.Area.Polygon[0]}
	}
	return fence.Flight{Circle: &fence.Circle{Center: p.Area.Center, RadiusM: p.Area.Radius}}
}

// inclusionPlan is fp flown anywhere in the fence's inclusion ring: an
// area, with no buffer, at the heights fp flies (every height when they
// are not known).
func inclusionPlan(fp *noflyv1.FlightPlan, inclusion orb.Ring) *noflyv1.FlightPlan {
	in := proto.CloneOf(fp)
	in.BufferM = 0
	in.ClientReference = strings.TrimSpace(fp.GetClientReference() + " (fence inclusion)")
	ring := &noflyv1.Ring{}
	for _, p := range inclusion {
		ring.Positions = append(ring.Positions, &noflyv1.Position{Latitude: p[1], Longitude: p[0]})
	}
	area := &noflyv1.Area{Shape: &noflyv1.Area_Polygon{Polygon: &noflyv1.Polygon{Rings: []*noflyv1.Ring{ring}}}}
	switch {
	case fp.GetArea() != nil:
		area.Band = proto.CloneOf(fp.GetArea().GetBand())
	case fp.GetRoute().GetAltitudeReference() != noflyv1.VerticalReference_VERTICAL_REFERENCE_UNSPECIFIED:
		band := &noflyv1.AltitudeBand{LowerM: math.Inf(1), UpperM: math.Inf(-1), Reference: fp.GetRoute().GetAltitudeReference()}
		for _, w := range fp.GetRoute().GetWaypoints() {
			if w.AltitudeM == nil {
				band = nil
				break
			}
			band.LowerM, band.UpperM = min(band.LowerM, w.GetAltitudeM()), max(band.UpperM, w.GetAltitudeM())
		}
		if band != nil && band.LowerM <= band.UpperM {
			area.Band = band
		}
	}
	in.Geometry = &noflyv1.FlightPlan_Area{Area: area}
	return in
}

// maxAltNote suggests the fence's maximum altitude: the plan's highest
// point, when known.
func maxAltNote(p *flightplan.Plan, fp *noflyv1.FlightPlan, limit *noflyv1.HeightLimit) string {
	var note string
	if p.Route != nil && p.Route.AltRef != geo.RefUnknown {
		hi := p.Route.Waypoints[0].Alt
		for _, w := range p.Route.Waypoints {
			hi = max(hi, w.Alt)
		}
		note = fmt.Sprintf(" to the plan's highest point, %s m %s", fmtMetres(hi), p.Route.AltRef)
	} else if b := fp.GetArea().GetBand(); b != nil {
		note = fmt.Sprintf(" to the area's top, %s m %s", fmtMetres(b.GetUpperM()), shortRef(b.GetReference()))
	}
	if c := permittedCeiling(limit); c != "" {
		note += ", never above " + c
	}
	return note
}

// permittedCeiling is the check's height limit as a fence's maximum
// altitude: "the highest permitted, 100 m AGL"; "" when there is none.
func permittedCeiling(l *noflyv1.HeightLimit) string {
	if l.GetKind() != noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_LIMITED {
		return ""
	}
	return fmt.Sprintf("the highest permitted, %s m %s", fmtMetres(l.GetMetres()), shortRef(l.GetReference()))
}
