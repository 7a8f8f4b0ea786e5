package authorisation

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// Sign validates a and returns it signed with priv: the bytes to ship.
func Sign(priv ed25519.PrivateKey, a *Authorisation) ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("authorisation: %w", err)
	}
	payload, err := encodePayload(a)
	if err != nil {
		return nil, fmt.Errorf("authorisation: %w", err)
	}
	return signMessage(priv, ContentType, payload)
}

// Decode reads an authorisation WITHOUT checking its signature: for
// showing it to a person. Use Verify to rely on it.
func Decode(b []byte) (*Authorisation, error) {
	m, err := parseMessage(b, ContentType)
	if err != nil {
		return nil, err
	}
	a, err := decodePayload(m.msg.Payload)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	a.KeyID = m.kid
	return a, nil
}

// Reason says why Verify refused an authorisation.
type Reason string

// The reasons, each its own, so that a ground station can act on them.
const (
	ReasonMalformed     Reason = "malformed"      // not an authorisation at all
	ReasonUnknownKey    Reason = "unknown-key"    // signed by a key not in the set
	ReasonBadSignature  Reason = "bad-signature"  // the bytes are not what the key signed
	ReasonNotYetValid   Reason = "not-yet-valid"  // before valid_from
	ReasonExpired       Reason = "expired"        // after valid_until
	ReasonOtherDrone    Reason = "other-drone"    // names another aircraft
	ReasonRevoked       Reason = "revoked"        // on the revocation list
	ReasonOutsideVolume Reason = "outside-volume" // the position is not in the authorised volume
)

// RefusedError is Verify's refusal.
type RefusedError struct {
	Reason Reason
	Detail string
}

func (e *RefusedError) Error() string { return fmt.Sprintf("refused (%s): %s", e.Reason, e.Detail) }

func refuse(r Reason, format string, args ...any) error {
	return &RefusedError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the reason of a refusal, or "" when err is not one.
func ReasonOf(err error) Reason {
	var re *RefusedError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}

// Position is where an aircraft is: WGS84 degrees, and its height in metres
// above AltRef ("AGL", "AMSL" or "WGS84"; empty when not known: then only
// the horizontal position is tested, and Result says so).
type Position struct {
	Lat, Lon float64
	Alt      float64
	AltRef   string
}

// Options are what Verify checks against.
type Options struct {
	// Keys are the issuer's public keys. Required.
	Keys *KeySet
	// At is the instant of the flight, usually now. Required.
	At time.Time
	// Drone, when set, must be the serial the authorisation names.
	Drone string
	// Revocations, when set, is a revocation list already checked by
	// ParseRevocationList.
	Revocations *RevocationList
	// Position, when set, must lie in the authorised volume.
	Position *Position
}

// Result is an accepted authorisation with what the verification could not
// establish.
type Result struct {
	Authorisation *Authorisation
	// Warnings a person should read: no revocation list, a list past its
	// next update, no drone given, a position without height.
	Warnings []string
}

// Verify checks an authorisation as shipped: a COSE_Sign1 signed by a key
// of opts.Keys, valid at opts.At, for opts.Drone, not on opts.Revocations,
// and with opts.Position inside its volume. Every refusal is a
// *RefusedError with its Reason; other errors are the caller's (missing
// options).
func Verify(b []byte, opts Options) (*Result, error) {
	if opts.Keys == nil || len(opts.Keys.Keys) == 0 {
		return nil, errors.New("verify: no keys")
	}
	if opts.At.IsZero() {
		return nil, errors.New("verify: no time")
	}
	m, err := parseMessage(b, ContentType)
	if err != nil {
		return nil, refuse(ReasonMalformed, "%v", err)
	}
	key, ok := opts.Keys.Lookup(m.kid)
	if !ok {
		return nil, refuse(ReasonUnknownKey, "signed by key %s, which is not in the key set", KeyIDString(m.kid))
	}
	if err := m.verify(key); err != nil {
		return nil, refuse(ReasonBadSignature, "the signature by key %s does not match the bytes: altered or damaged", KeyIDString(m.kid))
	}
	// Only now, on signed bytes, is the payload decoded.
	a, err := decodePayload(m.msg.Payload)
	if err != nil {
		return nil, refuse(ReasonMalformed, "signed payload: %v", err)
	}
	a.KeyID = m.kid
	res := &Result{Authorisation: a}
	at := opts.At.UTC()
	switch {
	case at.Before(a.ValidFrom):
		return nil, refuse(ReasonNotYetValid, "valid from %s, it is %s", stamp(a.ValidFrom), stamp(at))
	case at.After(a.ValidUntil):
		return nil, refuse(ReasonExpired, "valid until %s, it is %s", stamp(a.ValidUntil), stamp(at))
	}
	if opts.Drone == "" {
		res.Warnings = append(res.Warnings, fmt.Sprintf("no drone given: the authorisation is for drone %s only", a.Drone))
	} else if opts.Drone != a.Drone {
		return nil, refuse(ReasonOtherDrone, "for drone %q, not %q", a.Drone, opts.Drone)
	}
	if rl := opts.Revocations; rl == nil {
		res.Warnings = append(res.Warnings, "no revocation list: the authorisation may have been revoked")
	} else {
		if rl.Issuer != a.Issuer {
			return nil, fmt.Errorf("verify: the revocation list is %s's, the authorisation %s's", rl.Issuer, a.Issuer)
		}
		if e, ok := rl.Lookup(a.ID); ok {
			return nil, refuse(ReasonRevoked, "%s revoked at %s (%s)", a.ID, stamp(e.RevokedAt), e.Reason)
		}
		if at.After(rl.NextUpdate) {
			res.Warnings = append(res.Warnings, fmt.Sprintf("the revocation list of %s is past its next update %s: fetch a new one",
				stamp(rl.IssuedAt), stamp(rl.NextUpdate)))
		}
	}
	if p := opts.Position; p != nil {
		w, err := a.Holds(*p)
		if err != nil {
			return nil, err
		}
		res.Warnings = append(res.Warnings, w...)
	}
	return res, nil
}

// Holds refuses (ReasonOutsideVolume) a position outside the authorised
// volume, and returns warnings on what could not be compared. The
// geometry is geo's (geo.VolumeHolds), as the flight-plan check used.
func (a *Authorisation) Holds(p Position) ([]string, error) {
	route, area, err := a.Volume.queries(a.ValidFrom, a.ValidUntil)
	if err != nil {
		return nil, refuse(ReasonMalformed, "volume: %v", err)
	}
	q := geo.PositionQuery{Point: orb.Point{p.Lon, p.Lat}, Alt: geo.Altitude{Metres: p.Alt}, At: a.ValidFrom}
	if p.AltRef != "" {
		if q.Alt.Ref, err = geo.ParseVerticalRef(p.AltRef); err != nil {
			return nil, fmt.Errorf("position: %w", err)
		}
	}
	in, cav, err := geo.VolumeHolds(route, area, q)
	if err != nil {
		return nil, fmt.Errorf("position: %w", err)
	}
	where := fmt.Sprintf("%.6f, %.6f", p.Lat, p.Lon)
	if p.AltRef != "" {
		where += fmt.Sprintf(" at %g m %s", p.Alt, p.AltRef)
	}
	if !in {
		return nil, refuse(ReasonOutsideVolume, "position %s is outside the authorised %s", where, a.Volume.Describe())
	}
	if cav&geo.CaveatReference != 0 {
		return nil, refuse(ReasonOutsideVolume, "position %s: its height reference is not the authorisation's (%s), and no terrain or geoid model converts between them",
			where, a.Volume.AltRef)
	}
	var warn []string
	switch {
	case p.AltRef == "":
		warn = append(warn, "no height given: only the horizontal position was checked")
	case a.Volume.AltRef == "":
		warn = append(warn, "the flight plan gave no heights: the authorisation holds at any height (the check counted every height of every zone)")
	}
	return warn, nil
}

// queries is the volume as the geo query the flight-plan check made.
func (v *Volume) queries(from, until time.Time) (*geo.RouteQuery, *geo.AreaQuery, error) {
	var ref geo.VerticalRef
	if v.AltRef != "" {
		var err error
		if ref, err = geo.ParseVerticalRef(v.AltRef); err != nil {
			return nil, nil, err
		}
	}
	win := geo.TimeWindow{Start: from, End: until}
	switch {
	case len(v.Route) > 0:
		q := &geo.RouteQuery{AltRef: ref, Buffer: v.BufferM, Window: win, Waypoints: make([]geo.Waypoint, len(v.Route))}
		for i, w := range v.Route {
			q.Waypoints[i] = geo.Waypoint{Point: orb.Point{w[0], w[1]}, Alt: w[2]}
		}
		return q, nil, q.Validate()
	case len(v.Polygon) > 0 || v.Circle != nil:
		q := &geo.AreaQuery{Buffer: v.BufferM, Window: win, Band: geo.Band{Lower: v.Lower, Upper: v.Upper, Ref: ref}}
		if c := v.Circle; c != nil {
			q.Area = geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{c.Lon, c.Lat}, Radius: c.RadiusM}
		} else {
			poly := make(orb.Polygon, len(v.Polygon))
			for i, r := range v.Polygon {
				ring := make(orb.Ring, len(r))
				for j, p := range r {
					ring[j] = orb.Point(p)
				}
				poly[i] = ring
			}
			q.Area = geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{poly}}
		}
		return nil, q, q.Validate()
	}
	return nil, nil, errors.New("no route and no area")
}

// Describe says what the volume is, for a person.
func (v *Volume) Describe() string {
	heights := "any height (the plan gave none)"
	var s string
	switch {
	case len(v.Route) > 0:
		s = fmt.Sprintf("route of %d waypoints with a %g m buffer", len(v.Route), v.BufferM)
		if v.AltRef != "" {
			lo, hi := v.Route[0][2], v.Route[0][2]
			for _, w := range v.Route {
				lo, hi = min(lo, w[2]), max(hi, w[2])
			}
			heights = fmt.Sprintf("the route's heights, %g–%g m %s", lo, hi, v.AltRef)
		}
	case v.Circle != nil:
		s = fmt.Sprintf("circle of %g m around %.6f, %.6f with a %g m buffer", v.Circle.RadiusM, v.Circle.Lat, v.Circle.Lon, v.BufferM)
	default:
		n := 0
		if len(v.Polygon) > 0 {
			n = len(v.Polygon[0]) - 1
		}
		s = fmt.Sprintf("polygon of %d vertices with a %g m buffer", n, v.BufferM)
	}
	if v.AltRef != "" && len(v.Route) == 0 {
		heights = fmt.Sprintf("%g–%g m %s", v.Lower, v.Upper, v.AltRef)
	}
	return s + ", at " + heights
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
