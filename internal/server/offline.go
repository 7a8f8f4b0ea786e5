package server

import (
	"context"
	"fmt"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/bundle"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/fleet"
	"github.com/nofly-project/nofly/geo"
)

// Offline answers checks from an offline bundle, with no server: the
// request is validated, turned into a geo query and decided
// (exemptions.DecideFleet) and answered by the same code as CheckPosition
// and CheckFlightPlan (check.go), on the bundle's zones and exemptions.
// Nothing is recorded: an offline check that relied on an exemption is in
// no audit log, which docs/fieldkit.md says.
//
// A version 2 bundle holds the force's rules as noflyd applied them at the
// export (bundle.Fleet): the drone named by a check is looked up in the
// bundle's registry records as noflyd looks it up in the store (withFleet),
// and the registry mode, the policy and the general ceiling are noflyd's.
// A version 1 bundle holds none: its answers apply the default policy's
// levels and the general ceiling (the EU open category's 120 m AGL,
// exemptions.DefaultCeiling), hold no drone against the registry, and say
// so in a warning (exemptions.OfflineWarning) on every answer.
type Offline struct {
	b     *bundle.Loaded
	info  *noflyv1.ZoneSetInfo
	rules *exemptions.Fleet
}

// NewOffline answers checks from b; name is the bundle's file, shown as the
// zone set's source.
func NewOffline(b *bundle.Loaded, name string) *Offline {
	return &Offline{b: b, info: &noflyv1.ZoneSetInfo{
		Version: b.ZoneSet.Version, LoadedAt: timestamppb.New(b.IssuedAt),
		ZoneCount: int32(len(b.Zones)), Sources: []string{"bundle:" + name},
	}, rules: b.Rules}
}

// withFleet completes f with the bundle's record of its drone, as
// Server.withFleet does with the store's.
func (o *Offline) withFleet(f *exemptions.Flight) {
	if o.rules == nil || f.Drone == "" {
		return
	}
	serial, err := fleet.NormalizeSerial(f.Drone)
	if err != nil {
		return // no serial the registry could hold: not registered
	}
	f.Aircraft = o.b.Drone(serial)
}

// OfflineError is a check the bundle cannot answer: another unit's, or
// outside its area, or after its expiry. It is never answered CLEAR.
type OfflineError struct{ msg string }

func (e *OfflineError) Error() string { return e.msg }

// operator checks that the flight is the bundle unit's (a bundle holds no
// other unit's exemptions), filling it in when the request names none.
func (o *Offline) operator(op **noflyv1.Operator) error {
	if *op == nil {
		*op = &noflyv1.Operator{}
	}
	switch u := (*op).GetUnit(); {
	case u == "":
		(*op).Unit = o.b.Unit
	case u != o.b.Unit:
		return &OfflineError{fmt.Sprintf("the bundle is unit %s's, the check unit %s's: it holds no other unit's exemptions", o.b.Unit, u)}
	}
	return nil
}

// when refuses an instant after the bundle's expiry: what it holds may have
// changed since, and it does not know.
func (o *Offline) when(from, to time.Time) error {
	if to.After(o.b.ValidUntil) {
		return &OfflineError{fmt.Sprintf("the check reaches %s, after the bundle's expiry %s: export a new bundle",
			to.UTC().Format(time.RFC3339), o.b.ValidUntil.Format(time.RFC3339))}
	}
	if from.Before(o.b.IssuedAt.Add(-time.Hour)) {
		return &OfflineError{fmt.Sprintf("the check starts %s, before the bundle was issued (%s): it does not hold what was in force then",
			from.UTC().Format(time.RFC3339), o.b.IssuedAt.Format(time.RFC3339))}
	}
	return nil
}

// notBeforeIssue is now, or the bundle's issue time when now is earlier:
// the bundle exists, so it is at least that late. A laptop clock running
// behind (bundle.Open accepts one up to a few minutes before the issue)
// must not bring back a record the bundle knows was revoked.
func (o *Offline) notBeforeIssue(now time.Time) time.Time {
	if now.Before(o.b.IssuedAt) {
		return o.b.IssuedAt
	}
	return now
}

// CheckPosition answers as GeofenceService.CheckPosition would at now.
func (o *Offline) CheckPosition(_ context.Context, req *noflyv1.CheckPositionRequest, now time.Time) (*noflyv1.CheckPositionResponse, error) {
	now = o.notBeforeIssue(now)
	if err := o.operator(&req.Operator); err != nil {
		return nil, err
	}
	c, err := newPositionCheck(o.b.Index, req, now)
	if err != nil {
		return nil, err
	}
	if err := o.b.Covers(orb.Bound{Min: c.q.Point, Max: c.q.Point}, 0); err != nil {
		return nil, err
	}
	if err := o.when(c.q.At, c.q.At); err != nil {
		return nil, err
	}
	o.withFleet(&c.f)
	r := exemptions.DecideFleet(c.hits, c.f, o.b.Snapshot, o.rules, now)
	c.limits(o.b.Index, o.b.Snapshot, o.rules)
	return c.response(&r, now, o.info, o.b.IssuedAt), nil
}

// CheckFlightPlan answers as GeofenceService.CheckFlightPlan would at now.
func (o *Offline) CheckFlightPlan(ctx context.Context, req *noflyv1.CheckFlightPlanRequest, now time.Time) (*noflyv1.CheckFlightPlanResponse, error) {
	now = o.notBeforeIssue(now)
	if req.GetFlightPlan() != nil {
		if err := o.operator(&req.FlightPlan.Operator); err != nil {
			return nil, err
		}
	}
	c, err := newPlanCheck(ctx, o.b.Index, req, now)
	if err != nil {
		return nil, err
	}
	var ext orb.Bound
	var buf float64
	if c.pq.route != nil {
		ext, buf = orb.Bound{Min: c.pq.route.Waypoints[0].Point, Max: c.pq.route.Waypoints[0].Point}, c.pq.route.Buffer
		for _, w := range c.pq.route.Waypoints {
			ext = ext.Extend(w.Point)
		}
	} else {
		ext, buf = c.pq.area.Area.Bound(), c.pq.area.Buffer
	}
	if err := o.b.Covers(ext, buf); err != nil {
		return nil, err
	}
	if err := o.when(c.pq.window.Start, c.pq.window.End); err != nil {
		return nil, err
	}
	o.withFleet(&c.f)
	r := exemptions.DecideFleet(c.hits, c.f, o.b.Snapshot, o.rules, now)
	if err := c.limits(ctx, o.b.Index, o.b.Snapshot, o.rules); err != nil {
		return nil, err
	}
	return c.response(&r, req.GetFlightPlan(), now, o.info, o.b.IssuedAt), nil
}

// MapZones returns, as GetZone's FULL view gives them, the bundle's zones
// whose bounds meet b and every variant of the zones ids: what a map of an
// offline check draws. Zones beyond the bundle's area are not in it.
func (o *Offline) MapZones(b orb.Bound, ids []string) []*noflyv1.Zone {
	var out []*noflyv1.Zone
	seen := map[*geo.Zone]bool{}
	add := func(z *geo.Zone) {
		if !seen[z] {
			seen[z] = true
			out = append(out, zoneToProto(z, noflyv1.ZoneView_ZONE_VIEW_FULL))
		}
	}
	o.b.Index.Search(b, func(z *geo.Zone) bool { add(z); return true })
	for _, id := range ids {
		for _, z := range o.b.Index.Variants(id) {
			add(z)
		}
	}
	return out
}

// Exemption returns the bundle's record id as ExemptionService would give
// it; nil when the bundle does not hold it.
func (o *Offline) Exemption(id string) *noflyv1.Exemption {
	for i := range o.b.Exemptions {
		if o.b.Exemptions[i].ID == id {
			return exemptionToProto(&o.b.Exemptions[i])
		}
	}
	return nil
}
