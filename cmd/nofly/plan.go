package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/internal/flightplan"
)

// maxPlanFile bounds the flight plan file read, in bytes: far above any
// real mission, low enough not to exhaust memory on a wrong file.
const maxPlanFile = 64 << 20

func planCheckCommand() *command {
	pf := newPlanFlags()
	var mapOut mapFile
	var bf bundleFlags
	return &command{
		name:  "plan check",
		usage: "FILE [--start TIME] [--end TIME] [--buffer M] [flags]",
		summary: `Asks whether a flight plan may go ahead. FILE (or - for stdin) is
  - GeoJSON: a Feature, FeatureCollection or geometry with one LineString
    route ([longitude, latitude, height] positions; heights in metres above
    --alt-ref), one Polygon area (heights from --min-alt/--max-alt;
    --max-alt alone starts at the ground), or one Point with a "radius_m"
    property (a circular area); or
  - a QGroundControl .plan mission: the route starts at the planned home
    position; waypoints, takeoff, landing, loiter, return to launch and
    survey items are followed. Heights above home count as AGL; or
  - KML: one LineString route or one Polygon area, altitudes above the
    ground (altitudeMode relativeToGround) or sea level (absolute); with
    clampToGround the route has no heights. An area's heights are those of
    its vertices unless --max-alt is given.
Without --start the flight starts now; without --end it lasts an hour.
TIME is RFC 3339 or relative to now (now, +2h, +90m, -30m).

Exit status: 0 clear, 1 denied, 2 usage, input or connection error.`,
		example: `  nofly plan check patrol.geojson --start +1h --end +3h --buffer 50
  nofly plan check mission.plan --buffer 25 --unit AMS-DRONE --purpose event_supervision --json
  nofly plan check area.geojson --max-alt 120
  nofly plan check patrol.geojson --buffer 50 --map patrol.html
`,
		flags: func(fs *flag.FlagSet) { pf.register(fs); mapOut.register(fs); bf.register(fs) },
		run: func(ctx context.Context, e *env, args []string) error {
			if bf.journal != "" && bf.file == "" {
				return &usageError{cmd: "nofly plan check", msg: "--journal records offline answers: it needs --bundle"}
			}
			if err := mapOut.check("nofly plan check"); err != nil {
				return err
			}
			p, fp, err := pf.plan(e, "nofly plan check", args)
			if err != nil {
				return err
			}
			var resp *noflyv1.CheckFlightPlanResponse
			if bf.file != "" {
				now := time.Now()
				off, l, err := bf.open(e, "nofly plan check", now)
				if err != nil {
					return err
				}
				if resp, err = off.CheckFlightPlan(ctx, &noflyv1.CheckFlightPlanRequest{FlightPlan: fp}, now); err != nil {
					return offlineError(bf.file, err)
				}
				if err := bf.record(e, l, "flight-plan", &noflyv1.CheckFlightPlanRequest{FlightPlan: fp}, resp, now); err != nil {
					return err
				}
				offlineNote(e, l, bf.file, now)
				mapOut.offline, mapOut.note = off, offlineMapNote(l, bf.file, now)
			} else if err := call(ctx, e, func(ctx context.Context, c noflyv1.GeofenceServiceClient) (err error) {
				resp, err = c.CheckFlightPlan(ctx, &noflyv1.CheckFlightPlanRequest{FlightPlan: fp})
				return err
			}); err != nil {
				return err
			}
			result := checkResult{
				verdict: resp.GetVerdict(), conflicts: resp.GetConflicts(), advisories: resp.GetAdvisories(),
				caveats: resp.GetCaveats(), zoneSet: resp.GetZoneSet(), window: resp.GetWindow(), route: p.Route != nil,
				exemptions:     resp.GetExemptions(),
				exemptionsAsOf: resp.GetExemptionsAsOf(), checkedAt: resp.GetCheckedAt(), stale: resp.GetExemptionsStale(),
				refusals: resp.GetPolicyRefusals(), warnings: resp.GetWarnings(), limit: resp.GetHeightLimit(), legLimits: resp.GetLegHeightLimits(),
			}
			subject := planSubject(p, fp, resp, pf.maxAlt.set && !pf.minAlt.set)
			if e.json {
				if err := printJSON(e, resp); err != nil {
					return err
				}
			} else {
				printResult(e.stdout, result, subject)
			}
			if mapOut.path != "" {
				if err := mapOut.drawCheck(ctx, e, result, subject, planFlight(p, fp.GetBufferM())); err != nil {
					return err
				}
			}
			return verdictError(resp.GetVerdict())
		},
	}
}

// planFlags are the flags that describe a flight plan, shared by plan
// check and plan authorise.
type planFlags struct {
	start, end     timeFlag
	buffer         float64
	ref            refFlag
	minAlt, maxAlt optFloat
	cref           string
	op             operatorFlags
}

func newPlanFlags() *planFlags {
	return &planFlags{start: timeFlag{now: time.Now}, end: timeFlag{now: time.Now},
		ref: refFlag{ref: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}}
}

func (pf *planFlags) register(fs *flag.FlagSet) {
	fs.Var(&pf.start, "start", "`TIME` the flight starts; default: now")
	fs.Var(&pf.end, "end", "`TIME` the flight ends; default: an hour after the start")
	fs.Float64Var(&pf.buffer, "buffer", 0, "lateral buffer in `metres` around the route or area")
	fs.Var(&pf.ref, "alt-ref", "`REF` that GeoJSON heights and --min-alt/--max-alt are measured from: agl, amsl or wgs84")
	fs.Var(&pf.minAlt, "min-alt", "lowest height of an area, in `metres` above --alt-ref; default with --max-alt: the ground (0 m AGL)")
	fs.Var(&pf.maxAlt, "max-alt", "highest height of an area, in `metres` above --alt-ref")
	fs.StringVar(&pf.cref, "reference", "", "your `reference` for the plan, kept in the audit log; default: the file name")
	alias(fs, "ref", "reference")
	pf.op.register(fs)
}

// plan reads the flight plan FILE that args name and builds the request's
// plan from it and the flags; name is the command, for usage errors.
func (pf *planFlags) plan(e *env, name string, args []string) (*flightplan.Plan, *noflyv1.FlightPlan, error) {
	switch {
	case len(args) == 0:
		return nil, nil, &usageError{cmd: name, msg: "no flight plan FILE given"}
	case len(args) > 1:
		return nil, nil, &usageError{cmd: name, msg: fmt.Sprintf("unexpected argument %q after FILE", args[1])}
	case pf.minAlt.set && !pf.maxAlt.set:
		return nil, nil, &usageError{cmd: name, msg: "--min-alt needs --max-alt (the top of the area's heights)"}
	case pf.maxAlt.set && !pf.minAlt.set && pf.ref.ref != noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL:
		return nil, nil, &usageError{cmd: name, msg: fmt.Sprintf("--max-alt with --alt-ref %s needs --min-alt too (only above ground level does the band start at 0 by default)", strings.ToLower(shortRef(pf.ref.ref)))}
	}
	file := args[0]
	b, err := readPlanFile(e, file)
	if err != nil {
		return nil, nil, err
	}
	p, err := flightplan.Parse(file, b, flightplan.Options{AltRef: pf.ref.geo()})
	if err != nil {
		return nil, nil, err
	}
	cref := pf.cref
	if cref == "" {
		cref = filepath.Base(file)
	}
	fp := &noflyv1.FlightPlan{
		ClientReference:   cref,
		Operator:          pf.op.operator(),
		Purpose:           pf.op.purpose,
		OperationCategory: pf.op.category,
		Classification:    pf.op.classification,
		BufferM:           pf.buffer,
	}
	if pf.buffer >= 0 && p.MinBuffer > pf.buffer {
		// The route runs through loiter centres; the circles around
		// them are only covered by a buffer of their radius.
		fmt.Fprintf(e.stderr, "nofly: note: buffer raised from %s m to %s m to cover the mission's loiter circles\n",
			fmtMetres(pf.buffer), fmtMetres(p.MinBuffer))
		fp.BufferM = p.MinBuffer
	}
	if pf.start.set {
		fp.Start = timestamppb.New(pf.start.t)
	}
	if pf.end.set {
		fp.End = timestamppb.New(pf.end.t)
	}
	if p.Route != nil {
		fp.Geometry = &noflyv1.FlightPlan_Route{Route: routeToProto(p.Route)}
		if pf.minAlt.set || pf.maxAlt.set {
			return nil, nil, &usageError{cmd: name, msg: "--min-alt and --max-alt are for areas; this plan is a route"}
		}
	} else {
		area := areaToProto(p.Area)
		switch b := p.Area.Band; {
		case pf.maxAlt.set:
			// Without --min-alt the area starts on the ground:
			// 0 m AGL (--alt-ref agl, checked above).
			area.Band = &noflyv1.AltitudeBand{LowerM: pf.minAlt.v, UpperM: pf.maxAlt.v, Reference: pf.ref.ref}
		case b != nil: // the file's own heights (KML)
			area.Band = &noflyv1.AltitudeBand{LowerM: b.Lower, UpperM: b.Upper, Reference: refNames[b.Ref]}
		}
		fp.Geometry = &noflyv1.FlightPlan_Area{Area: area}
	}
	return p, fp, nil
}

func readPlanFile(e *env, file string) ([]byte, error) {
	var r io.Reader = e.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPlanFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if len(b) > maxPlanFile {
		return nil, fmt.Errorf("%s: larger than %d MiB; not a flight plan", file, maxPlanFile>>20)
	}
	return b, nil
}

func routeToProto(r *flightplan.Route) *noflyv1.Route {
	pr := &noflyv1.Route{Waypoints: make([]*noflyv1.Waypoint, len(r.Waypoints)), AltitudeReference: refNames[r.AltRef]}
	for i, w := range r.Waypoints {
		pw := &noflyv1.Waypoint{Latitude: w.Lat, Longitude: w.Lon}
		if pr.AltitudeReference != noflyv1.VerticalReference_VERTICAL_REFERENCE_UNSPECIFIED {
			pw.AltitudeM = proto.Float64(w.Alt)
		}
		pr.Waypoints[i] = pw
	}
	return pr
}

func areaToProto(a *flightplan.Area) *noflyv1.Area {
	if a.Polygon == nil {
		return &noflyv1.Area{Shape: &noflyv1.Area_Circle{Circle: &noflyv1.Circle{
			Center: &noflyv1.Position{Latitude: a.Center[1], Longitude: a.Center[0]}, RadiusM: a.Radius,
		}}}
	}
	poly := &noflyv1.Polygon{}
	for _, ring := range a.Polygon {
		pr := &noflyv1.Ring{}
		for _, p := range ring {
			pr.Positions = append(pr.Positions, &noflyv1.Position{Latitude: p[1], Longitude: p[0]})
		}
		poly.Rings = append(poly.Rings, pr)
	}
	return &noflyv1.Area{Shape: &noflyv1.Area_Polygon{Polygon: poly}}
}

// planSubject says in one line what was checked; fromGround says the
// area's lower bound is the default, the ground.
func planSubject(p *flightplan.Plan, fp *noflyv1.FlightPlan, resp *noflyv1.CheckFlightPlanResponse, fromGround bool) string {
	var what string
	switch {
	case p.Route != nil:
		what = fmt.Sprintf("Route of %d waypoints", len(p.Route.Waypoints))
		if p.Route.AltRef == 0 {
			what += ", heights not given"
		} else {
			lo, hi := p.Route.Waypoints[0].Alt, p.Route.Waypoints[0].Alt
			for _, w := range p.Route.Waypoints {
				lo, hi = min(lo, w.Alt), max(hi, w.Alt)
			}
			what += fmt.Sprintf(", %s–%s m %s", fmtMetres(lo), fmtMetres(hi), p.Route.AltRef)
		}
	case p.Area.Polygon != nil:
		what = fmt.Sprintf("Area polygon of %d vertices", vertexCount(p.Area.Polygon))
		if h := len(p.Area.Polygon) - 1; h > 0 {
			what += fmt.Sprintf(" (%d hole%s)", h, plural(h))
		}
	default:
		what = fmt.Sprintf("Area circle of %s m around %s", fmtMetres(p.Area.Radius), fmtPosition(p.Area.Center[1], p.Area.Center[0]))
	}
	if a := fp.GetArea(); a != nil {
		if b := a.GetBand(); b != nil {
			what += fmt.Sprintf(", %s–%s m %s", fmtMetres(b.GetLowerM()), fmtMetres(b.GetUpperM()), shortRef(b.GetReference()))
			if fromGround {
				what += ", from the ground as no --min-alt was given"
			}
		} else {
			what += ", heights not given"
		}
	}
	w := resp.GetWindow()
	return fmt.Sprintf("%s (%s, %s), buffer %s m, %s to %s", what, resp.GetClientReference(), p.Format,
		fmtMetres(fp.GetBufferM()), fmtTime(w.GetStart()), fmtTime(w.GetEnd()))
}

// vertexCount counts the distinct vertices of a polygon's rings: a ring
// that repeats its first position at the end (as GeoJSON requires) counts
// it once.
func vertexCount(poly orb.Polygon) int {
	n := 0
	for _, r := range poly {
		n += len(r)
		if len(r) > 1 && r[0] == r[len(r)-1] {
			n--
		}
	}
	return n
}
