package server

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/paulmach/orb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/fleet"
	"github.com/nofly-project/nofly/geo"
)

// FleetConfig configures the force's own rules: the deployment policy, the
// drone registry and the general ceiling (docs/policy.md).
type FleetConfig struct {
	// PolicyFile is the deployment policy; "" keeps fleet.Default(). It is
	// read by Prepare and again by ReloadPolicy (SIGHUP).
	PolicyFile string
	// Registry says whether a check naming a drone the registry does not
	// allow is DENIED (enforced) or only warned about.
	Registry exemptions.RegistryMode
	// Ceiling is the general ceiling when the policy sets none; a zero Ref
	// keeps none.
	Ceiling geo.Altitude
}

// MaxLegCeilings bounds the legs of a route answered one by one; the whole
// route's ceiling is the lowest of these.
const MaxLegCeilings = 100

// loadPolicy reads the policy file, or gives the default policy without one.
func (s *Server) loadPolicy() (*exemptions.Fleet, error) {
	c := s.fleetCfg
	fl := &exemptions.Fleet{Registry: c.Registry, Ceiling: c.Ceiling, Policy: fleet.Default()}
	if c.PolicyFile == "" {
		return fl, nil
	}
	f, err := os.Open(c.PolicyFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fl.Policy, err = fleet.Parse(c.PolicyFile, f); err != nil {
		return nil, err
	}
	return fl, nil
}

// ReloadPolicy reads the deployment policy again and swaps it in. A file
// with any problem is refused whole: every problem is logged by line and
// the old policy kept.
func (s *Server) ReloadPolicy(ctx context.Context) error {
	if s.fleetCfg == nil {
		return nil
	}
	fl, err := s.loadPolicy()
	if err != nil {
		var pe *fleet.ParseError
		if errors.As(err, &pe) {
			for _, p := range pe.Problems {
				s.log.ErrorContext(ctx, "policy problem", "file", pe.Name, "line", p.Line, "problem", p.Msg)
			}
		}
		s.log.ErrorContext(ctx, "policy not loaded; keeping the previous one", "file", s.fleetCfg.PolicyFile, "err", err)
		return fmt.Errorf("loading policy: %w", err)
	}
	s.fleetRules.Store(fl)
	s.log.InfoContext(ctx, "policy loaded", "file", fl.Policy.Name, "levels", fl.Policy.Levels, "rules", len(fl.Policy.Rules))
	return nil
}

// rules returns the fleet rules in force: nil without a FleetConfig.
func (s *Server) rules() *exemptions.Fleet { return s.fleetRules.Load() }

// withFleet completes f for the fleet rules with the registry's record of
// its drone (the check has set its classification and heights).
func (s *Server) withFleet(ctx context.Context, f *exemptions.Flight) error {
	if s.rules() == nil || f.Drone == "" || s.drones == nil {
		return nil
	}
	serial, err := fleet.NormalizeSerial(f.Drone)
	if err != nil {
		return nil // no serial the registry could hold: not registered
	}
	d, err := s.drones.GetDrone(ctx, serial)
	switch {
	case errors.Is(err, exemptions.ErrDroneNotFound):
		return nil
	case err != nil:
		return err
	}
	f.Aircraft = &d
	return nil
}

// refusalsToProto converts the policy's refusals.
func refusalsToProto(rs []fleet.Refusal) []*noflyv1.PolicyRefusal {
	out := make([]*noflyv1.PolicyRefusal, len(rs))
	for i, r := range rs {
		out[i] = &noflyv1.PolicyRefusal{RuleLocation: r.Where, RuleText: r.Rule, Reason: r.Reason}
	}
	return out
}

var limitKindToProto = [256]noflyv1.HeightLimitKind{ // as restrictionToProto
	exemptions.CeilingBlocked:   noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_BLOCKED,
	exemptions.CeilingLimited:   noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_LIMITED,
	exemptions.CeilingUnlimited: noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_UNLIMITED,
}

func heightLimitToProto(c exemptions.HeightLimit, leg int) *noflyv1.HeightLimit {
	return setHeightLimit(new(noflyv1.HeightLimit), c, leg)
}

// setHeightLimit sets p to c (as heightLimitToProto) and returns it.
func setHeightLimit(p *noflyv1.HeightLimit, c exemptions.HeightLimit, leg int) *noflyv1.HeightLimit {
	p.Kind, p.Metres, p.Reference = limitKindToProto[c.Kind], c.Metres, refToProto[c.Ref]
	p.LimitedBy, p.ZoneId, p.Note, p.Leg = c.LimitedBy, c.Zone, c.Why, int32(leg)
	return p
}

// lowest is the lower of two height limits: blocked before limited before
// unlimited; of two limited, the lower (in one reference: they all take
// the flight's).
func lowest(a, b exemptions.HeightLimit) exemptions.HeightLimit {
	rank := func(c exemptions.HeightLimit) int {
		switch c.Kind {
		case exemptions.CeilingBlocked:
			return 0
		case exemptions.CeilingLimited:
			return 1
		case exemptions.CeilingUnlimited:
			return 2
		}
		return 0 // an unknown kind ranks as blocked: the safe side
	}
	if rank(a) != rank(b) {
		if rank(a) < rank(b) {
			return a
		}
		return b
	}
	if b.Kind == exemptions.CeilingLimited && b.Metres < a.Metres {
		return b
	}
	return a
}

// snapshot is the exemptions the checks decide on (nil without a store).
func (s *Server) snapshot() *exemptions.Snapshot {
	if s.exCache == nil {
		return nil
	}
	snap, _ := s.exCache.Current()
	return snap
}

// positionLimit answers how high flight f may fly at q's position, from
// the position's column, by the fleet rules fl (not nil). buf is room for
// its hits; it returns it, grown as needed, for the next.
func positionLimit(col *geo.Column, q geo.PositionQuery, f exemptions.Flight, snap *exemptions.Snapshot, fl *exemptions.Fleet, buf []geo.Hit) (exemptions.HeightLimit, []geo.Hit) {
	// HighestCleared reads the column's hits before it probes, and each
	// probe's hits before the next: one half of buf serves every probe.
	// At most one hit per volume of the column.
	n := col.Len()
	if cap(buf) < 2*n {
		buf = make([]geo.Hit, 2*n)
	}
	bufs := buf[:2*n]
	probes := bufs[n : n : 2*n]
	probe := func(a geo.Altitude) []geo.Hit {
		probes = col.At(a, probes[:0])
		return probes
	}
	return exemptions.HighestCleared(col.At(geo.Altitude{}, bufs[:0:n]), probe, f, snap, fl, q.At), buf
}

// routePoints is the positions of a route's waypoints, in one allocation.
func routePoints(wps []geo.Waypoint) []orb.Point {
	pts := make([]orb.Point, len(wps))
	for i, w := range wps {
		pts[i] = w.Point
	}
	return pts
}

// routeLimits answers how high each leg of route q may be flown (the
// first MaxLegCeilings), and the whole route (the lowest), from the
// route's column.
func routeLimits(col *geo.RouteColumn, q geo.RouteQuery, f exemptions.Flight, snap *exemptions.Snapshot, fl *exemptions.Fleet) (*noflyv1.HeightLimit, []*noflyv1.HeightLimit, error) {
	if fl == nil {
		return nil, nil, nil
	}
	n := min(len(q.Waypoints)-1, MaxLegCeilings)
	var (
		whole exemptions.HeightLimit
		msgs  = make([]noflyv1.HeightLimit, n+1) // the legs' and the whole route's, together
		legs  = make([]*noflyv1.HeightLimit, 0, n)
		err   error
		buf   = make([]geo.Hit, 0, col.MaxLegHits()) // the hits of the last probe, room for any leg's
	)
	for i := 0; i < n; i++ {
		probe := func(a geo.Altitude) []geo.Hit {
			// HighestCleared reads a probe's hits only until the next.
			hits, perr := col.AppendLeg(buf, i, a)
			buf = hits
			if perr != nil && err == nil {
				err = perr
			}
			return hits
		}
		lf := f
		if len(f.Route) == len(q.Waypoints) {
			lf.Route = f.Route[i : i+2 : i+2] // the route's own, read only
		} else {
			lf.Route = []orb.Point{q.Waypoints[i].Point, q.Waypoints[i+1].Point}
		}
		c := exemptions.HighestCleared(probe(geo.Altitude{}), probe, lf, snap, fl, q.Window.Start)
		if err != nil {
			return nil, nil, err
		}
		legs = append(legs, setHeightLimit(&msgs[i], c, i))
		if i == 0 {
			whole = c
		} else {
			whole = lowest(whole, c)
		}
	}
	if len(q.Waypoints)-1 > MaxLegCeilings {
		whole.Why = fmt.Sprintf("only the first %d legs are answered; check the rest as a plan of their own", MaxLegCeilings)
	}
	return setHeightLimit(&msgs[n], whole, -1), legs, nil
}

// areaLimit answers how high an operating area may be flown, anywhere in it.
func areaLimit(idx *geo.Index, q geo.AreaQuery, f exemptions.Flight, snap *exemptions.Snapshot, fl *exemptions.Fleet) (*noflyv1.HeightLimit, error) {
	if fl == nil {
		return nil, nil
	}
	var err error
	probe := func(a geo.Altitude) []geo.Hit {
		aq := q
		aq.Band = geo.Band{Lower: a.Metres, Upper: a.Metres, Ref: a.Ref}
		hits, perr := idx.CheckArea(aq)
		if perr != nil && err == nil {
			err = perr
		}
		return hits
	}
	c := exemptions.HighestCleared(probe(geo.Altitude{}), probe, f, snap, fl, q.Window.Start)
	if err != nil {
		return nil, err
	}
	return heightLimitToProto(c, -1), nil
}

// droneServer serves nofly.v1.DroneService on the exemption store.
type droneServer struct {
	noflyv1.UnimplementedDroneServiceServer
	s *Server
}

func droneToProto(d fleet.Drone) *noflyv1.Drone {
	return &noflyv1.Drone{Serial: d.Serial, Manufacturer: d.Manufacturer, Model: d.Model, ClassMark: d.Class, Unit: d.Unit,
		Status: statusToProto[d.Status], Clearance: d.Clearance, Capabilities: d.Capabilities,
		Created: timestamppb.New(d.Created), Updated: timestamppb.New(d.Updated), UpdatedBy: d.UpdatedBy}
}

var statusToProto = map[fleet.Status]noflyv1.DroneStatus{
	fleet.StatusActive:      noflyv1.DroneStatus_DRONE_STATUS_ACTIVE,
	fleet.StatusMaintenance: noflyv1.DroneStatus_DRONE_STATUS_MAINTENANCE,
	fleet.StatusRetired:     noflyv1.DroneStatus_DRONE_STATUS_RETIRED,
}

// fleetDrone is a record from its message, without validation.
func fleetDrone(p *noflyv1.Drone) (fleet.Drone, error) {
	rec := fleet.Drone{Serial: p.GetSerial(), Manufacturer: p.GetManufacturer(), Model: p.GetModel(), Class: p.GetClassMark(),
		Unit: p.GetUnit(), Clearance: p.GetClearance(), Capabilities: p.GetCapabilities()}
	for st, ps := range statusToProto {
		if ps == p.GetStatus() {
			rec.Status = st
		}
	}
	return rec, rec.Validate(nil)
}

// droneFromProto validates a record against the policy's levels.
func (d *droneServer) droneFromProto(p *noflyv1.Drone, defaultActive bool) (fleet.Drone, error) {
	rec := fleet.Drone{Serial: p.GetSerial(), Manufacturer: p.GetManufacturer(), Model: p.GetModel(), Class: p.GetClassMark(),
		Unit: p.GetUnit(), Clearance: p.GetClearance(), Capabilities: p.GetCapabilities()}
	for st, ps := range statusToProto {
		if ps == p.GetStatus() {
			rec.Status = st
		}
	}
	if rec.Status == "" && defaultActive && p.GetStatus() == noflyv1.DroneStatus_DRONE_STATUS_UNSPECIFIED {
		rec.Status = fleet.StatusActive
	}
	if rec.Status == fleet.StatusRetired {
		return rec, status.Error(codes.InvalidArgument, "drone.status: retire a drone with RetireDrone")
	}
	var levels []string
	if fl := d.s.rules(); fl != nil {
		levels = fl.Policy.Levels
	}
	if err := rec.Validate(levels); err != nil {
		return rec, status.Errorf(codes.InvalidArgument, "drone: %v", err)
	}
	return rec, nil
}

func (d *droneServer) storeErr(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, exemptions.ErrDroneNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, exemptions.ErrDroneExists):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, exemptions.ErrDroneRetired):
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	return d.s.toStatus(ctx, err)
}

// AddDrone implements nofly.v1.DroneService.
func (d *droneServer) AddDrone(ctx context.Context, req *noflyv1.AddDroneRequest) (*noflyv1.AddDroneResponse, error) {
	rec, err := d.droneFromProto(req.GetDrone(), true)
	if err != nil {
		return nil, err
	}
	rec, err = d.s.drones.AddDrone(ctx, rec, callerLogName(ctx), d.s.stamp())
	if err != nil {
		return nil, d.storeErr(ctx, err)
	}
	d.s.log.InfoContext(ctx, "drone added", "serial", rec.Serial, "unit", rec.Unit, "by", callerLogName(ctx))
	return &noflyv1.AddDroneResponse{Drone: droneToProto(rec)}, nil
}

// UpdateDrone implements nofly.v1.DroneService.
func (d *droneServer) UpdateDrone(ctx context.Context, req *noflyv1.UpdateDroneRequest) (*noflyv1.UpdateDroneResponse, error) {
	rec, err := d.droneFromProto(req.GetDrone(), false)
	if err != nil {
		return nil, err
	}
	rec, err = d.s.drones.UpdateDrone(ctx, rec, callerLogName(ctx), d.s.stamp())
	if err != nil {
		return nil, d.storeErr(ctx, err)
	}
	d.s.log.InfoContext(ctx, "drone updated", "serial", rec.Serial, "status", rec.Status, "by", callerLogName(ctx))
	return &noflyv1.UpdateDroneResponse{Drone: droneToProto(rec)}, nil
}

// RetireDrone implements nofly.v1.DroneService.
func (d *droneServer) RetireDrone(ctx context.Context, req *noflyv1.RetireDroneRequest) (*noflyv1.RetireDroneResponse, error) {
	serial, err := fleet.NormalizeSerial(req.GetSerial())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	if req.GetReason() == "" {
		return nil, status.Error(codes.InvalidArgument, "reason: required")
	}
	rec, err := d.s.drones.RetireDrone(ctx, serial, req.GetReason(), callerLogName(ctx), d.s.stamp())
	if err != nil {
		return nil, d.storeErr(ctx, err)
	}
	d.s.log.InfoContext(ctx, "drone retired", "serial", rec.Serial, "by", callerLogName(ctx))
	return &noflyv1.RetireDroneResponse{Drone: droneToProto(rec)}, nil
}

// GetDrone implements nofly.v1.DroneService.
func (d *droneServer) GetDrone(ctx context.Context, req *noflyv1.GetDroneRequest) (*noflyv1.GetDroneResponse, error) {
	serial, err := fleet.NormalizeSerial(req.GetSerial())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	rec, err := d.s.drones.GetDrone(ctx, serial)
	if err != nil {
		return nil, d.storeErr(ctx, err)
	}
	return &noflyv1.GetDroneResponse{Drone: droneToProto(rec)}, nil
}

// ListDrones implements nofly.v1.DroneService.
func (d *droneServer) ListDrones(ctx context.Context, req *noflyv1.ListDronesRequest) (*noflyv1.ListDronesResponse, error) {
	recs, err := d.s.drones.ListDrones(ctx, req.GetUnit())
	if err != nil {
		return nil, d.storeErr(ctx, err)
	}
	resp := &noflyv1.ListDronesResponse{}
	for _, r := range recs {
		resp.Drones = append(resp.Drones, droneToProto(r))
	}
	return resp, nil
}

// height is the plan's own heights: the waypoints' lowest to highest, or
// the area's band; RefUnknown when not given.
func (pq planQuery) height() geo.Band {
	if pq.route == nil {
		return pq.area.Band
	}
	if pq.route.AltRef == geo.RefUnknown || len(pq.route.Waypoints) == 0 {
		return geo.Band{}
	}
	b := geo.Band{Lower: pq.route.Waypoints[0].Alt, Upper: pq.route.Waypoints[0].Alt, Ref: pq.route.AltRef}
	for _, w := range pq.route.Waypoints[1:] {
		b.Lower, b.Upper = min(b.Lower, w.Alt), max(b.Upper, w.Alt)
	}
	return b
}
