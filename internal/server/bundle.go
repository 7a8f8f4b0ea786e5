package server

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/bundle"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// Bundle limits.
const (
	// DefaultBundleValidity is a bundle's validity when the request gives
	// none: a day's shift.
	DefaultBundleValidity = 12 * time.Hour
	// maxAroundM bounds the radius of an exported area, in metres.
	maxAroundM = 500_000
)

// bundleQuery checks an ExportBundleRequest.
func bundleQuery(req *noflyv1.ExportBundleRequest) (area orb.Bound, valid time.Duration, err error) {
	var b badRequest
	checkName(&b, "unit", req.GetUnit(), true)
	switch a := req.GetArea().(type) {
	case *noflyv1.ExportBundleRequest_Bbox:
		bb := a.Bbox
		checkDegrees(&b, "bbox.min_latitude", bb.GetMinLatitude(), 90)
		checkDegrees(&b, "bbox.max_latitude", bb.GetMaxLatitude(), 90)
		checkDegrees(&b, "bbox.min_longitude", bb.GetMinLongitude(), 180)
		checkDegrees(&b, "bbox.max_longitude", bb.GetMaxLongitude(), 180)
		if bb.GetMinLatitude() > bb.GetMaxLatitude() {
			b.add("bbox.max_latitude", "%v is south of min_latitude %v", bb.GetMaxLatitude(), bb.GetMinLatitude())
		}
		if bb.GetMinLongitude() > bb.GetMaxLongitude() {
			b.add("bbox.max_longitude", "%v is west of min_longitude %v (boxes across the antimeridian are not supported)", bb.GetMaxLongitude(), bb.GetMinLongitude())
		}
		area = orb.Bound{Min: orb.Point{bb.GetMinLongitude(), bb.GetMinLatitude()}, Max: orb.Point{bb.GetMaxLongitude(), bb.GetMaxLatitude()}}
	case *noflyv1.ExportBundleRequest_Around:
		c := a.Around
		if c.GetCenter() == nil {
			b.add("around.center", "required")
		} else {
			checkLatLon(&b, "around.center.", c.Center.Latitude, c.Center.Longitude)
		}
		if r := c.GetRadiusM(); !(r > 0 && r <= maxAroundM) {
			b.add("around.radius_m", "%v: want more than 0 and at most %d m", r, maxAroundM)
		}
		if err := b.err(); err != nil {
			return area, 0, err
		}
		p := orb.Point{c.Center.Longitude, c.Center.Latitude}
		area = geo.ExpandBound(orb.Bound{Min: p, Max: p}, c.GetRadiusM())
	default:
		b.add("area", "required: bbox or around")
	}
	switch s := req.GetValidSeconds(); {
	case s == 0:
		valid = DefaultBundleValidity
	case s < 0 || time.Duration(s)*time.Second > bundle.MaxValidity:
		b.add("valid_seconds", "%d: want more than 0 and at most %d (%s)", s, int64(bundle.MaxValidity/time.Second), bundle.MaxValidity)
	default:
		valid = time.Duration(s) * time.Second
	}
	return area, valid, b.err()
}

// ExportBundle implements nofly.v1.AuthorisationService.
func (a *authorisationServer) ExportBundle(ctx context.Context, req *noflyv1.ExportBundleRequest) (*noflyv1.ExportBundleResponse, error) {
	if a.cfg.Key == nil {
		return nil, a.s.toStatus(ctx, errNoSigningKey)
	}
	area, valid, err := bundleQuery(req)
	if err != nil {
		return nil, a.s.toStatus(ctx, err)
	}
	set := a.s.current()
	now := a.s.stamp().UTC().Truncate(time.Second)
	b := &bundle.Bundle{Issuer: a.cfg.Issuer, Unit: req.GetUnit(), IssuedAt: now, ValidUntil: now.Add(valid),
		Area:    bundle.Area{MinLat: area.Min[1], MinLon: area.Min[0], MaxLat: area.Max[1], MaxLon: area.Max[0]},
		ZoneSet: bundle.ZoneSet{Version: set.info.GetVersion(), Zones: int(set.info.GetZoneCount()), Sources: set.info.GetSources()}}
	set.idx.Search(area, func(z *geo.Zone) bool {
		b.Zones = append(b.Zones, *z)
		return true
	})
	slices.SortFunc(b.Zones, func(x, y geo.Zone) int {
		return cmp.Or(strings.Compare(x.ID, y.ID), strings.Compare(x.VariantKey(), y.VariantKey()))
	})
	if a.s.exStore != nil {
		all, version, err := a.s.exStore.All(ctx)
		if err != nil {
			return nil, a.s.toStatus(ctx, err)
		}
		b.ExemptionsVersion = version
		for _, ex := range all {
			if inBundle(&ex, b) {
				b.Exemptions = append(b.Exemptions, ex)
			}
		}
	}
	if fl := a.s.rules(); fl != nil {
		b.Fleet = &bundle.Fleet{Registry: fl.Registry, Ceiling: fl.Ceiling, Policy: fl.Policy}
		if a.s.drones != nil {
			all, err := a.s.drones.ListDrones(ctx, "")
			if err != nil {
				return nil, a.s.toStatus(ctx, err)
			}
			b.Fleet.Drones, b.Fleet.Others = bundle.SplitDrones(b.Unit, all)
		}
	}
	rl, err := a.GetRevocationList(ctx, &noflyv1.GetRevocationListRequest{})
	if err != nil {
		return nil, err
	}
	b.RevocationList = rl.GetRevocationList()
	out, err := bundle.Sign(a.cfg.Key, b)
	if err != nil {
		return nil, a.s.toStatus(ctx, err)
	}
	var (
		drones int
		policy string
	)
	if b.Fleet != nil {
		drones = len(b.Fleet.Drones)
		policy = "(default policy)"
		if b.Fleet.Policy != nil {
			policy = b.Fleet.Policy.Name
		}
	}
	a.s.log.InfoContext(ctx, "bundle exported", "unit", b.Unit, "area", b.Area.String(), "zones", len(b.Zones),
		"exemptions", len(b.Exemptions), "drones", drones, "valid_until", b.ValidUntil, "bytes", len(out), "caller", callerLogName(ctx))
	return &noflyv1.ExportBundleResponse{Bundle: out, IssuedAt: timestamppb.New(b.IssuedAt), ValidUntil: timestamppb.New(b.ValidUntil),
		Bbox: boundToProto(area), Zones: int32(len(b.Zones)), Exemptions: int32(len(b.Exemptions)), ZoneSetVersion: b.ZoneSet.Version,
		Drones: int32(drones), Policy: policy}, nil
}

// inBundle reports whether ex goes into b: the unit's, and valid at some
// instant of the bundle's validity. Revoked and superseded records go too,
// so that an offline check says why they do not cover, as noflyd does.
func inBundle(ex *exemptions.Exemption, b *bundle.Bundle) bool {
	return ex.Holder.Unit == b.Unit && !ex.ValidUntil.Before(b.IssuedAt) && !ex.ValidFrom.After(b.ValidUntil)
}
