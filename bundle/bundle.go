// Package bundle is nofly's offline bundle: what a pilot carries where the
// network does not reach. One file, a COSE_Sign1 signed with the
// deployment's authorisation key (package authorisation), whose payload is
// the JSON of a Bundle: the zones in an area with their schedules, one
// unit's exemptions in force during the bundle's validity, the drone
// registry's records and the deployment policy the unit's checks are held
// against (Fleet), the signed revocation list of authorisations, the zone
// set's version, the issue time and the expiry.
//
// Open checks the signature on the bytes as shipped, the key against the
// given key set and the validity, and only then decodes the payload; Load
// builds the geo index and exemption snapshot with which the checks are
// decided, by the same code as noflyd's (internal/server.Offline).
//
// The package is pure: no network, no database, no clock.
package bundle

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/authorisation"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/fleet"
	"github.com/nofly-project/nofly/geo"
)

// ContentType is the bundle's COSE content type (protected header 3), so
// that a bundle can never pass for an authorisation or a revocation list.
const ContentType = "application/vnd.nofly.bundle+json"

// Version is the payload's format version that Sign writes. Version 1
// holds zones, exemptions and the revocation list; version 2 adds the
// force's rules (Fleet) in the members "registry" and "policy". A reader
// refuses a newer version rather than ignore what it cannot honour, and
// reads version 1 (with no Fleet: see Bundle.Fleet).
const Version = 2

// MaxSize bounds a bundle file, in bytes.
const MaxSize = 64 << 20

// MaxValidity bounds a bundle's validity: zones and exemptions change, and
// a bundle does not learn of it.
const MaxValidity = 7 * 24 * time.Hour

// Area is the bundle's area: every check must lie within it (with its
// buffer). Degrees, WGS84.
type Area struct {
	MinLat float64 `json:"min_lat"`
	MinLon float64 `json:"min_lon"`
	MaxLat float64 `json:"max_lat"`
	MaxLon float64 `json:"max_lon"`
}

// Bound is a as an orb.Bound.
func (a Area) Bound() orb.Bound {
	return orb.Bound{Min: orb.Point{a.MinLon, a.MinLat}, Max: orb.Point{a.MaxLon, a.MaxLat}}
}

// Contains reports whether b lies within a (edges included).
func (a Area) Contains(b orb.Bound) bool {
	return b.Min[0] >= a.MinLon && b.Max[0] <= a.MaxLon && b.Min[1] >= a.MinLat && b.Max[1] <= a.MaxLat
}

func (a Area) String() string {
	return fmt.Sprintf("%g,%g,%g,%g", a.MinLat, a.MinLon, a.MaxLat, a.MaxLon)
}

// ZoneSet describes the zone set the zones were taken from.
type ZoneSet struct {
	// Version is the whole set's content hash, as noflyd reports it.
	Version string `json:"version"`
	// Zones is the whole set's zone count; the bundle holds those in its
	// area.
	Zones   int      `json:"zones"`
	Sources []string `json:"sources,omitempty"`
}

// Bundle is the payload.
type Bundle struct {
	Format     string    `json:"format"` // "nofly-bundle"
	Version    int       `json:"version"`
	Issuer     string    `json:"issuer"`
	Unit       string    `json:"unit"`
	IssuedAt   time.Time `json:"issued_at"`
	ValidUntil time.Time `json:"valid_until"`
	Area       Area      `json:"area"`
	ZoneSet    ZoneSet   `json:"zone_set"`
	// Zones are every zone whose bounds meet Area.
	Zones []geo.Zone `json:"-"`
	// Exemptions are the unit's records whose validity meets
	// [IssuedAt, ValidUntil], revoked and superseded ones included (so
	// that a check says why they do not cover), at ExemptionsVersion of
	// the store.
	Exemptions        []exemptions.Exemption `json:"exemptions"`
	ExemptionsVersion int64                  `json:"exemptions_version"`
	// RevocationList is the issuer's signed revocation list of
	// authorisations, as it signed it (nil when it has none).
	RevocationList []byte `json:"revocation_list,omitempty"`
	// Fleet is the force's rules at the export: the registry mode, the
	// records the unit's checks need, the deployment policy and the
	// general ceiling. nil when the issuer applied none, and in a version
	// 1 bundle (Version 1), which predates them: offline answers from it
	// apply the default policy and say that the registry was not applied
	// (exemptions.RegistryOffline).
	Fleet *Fleet `json:"-"`

	// KeyID is the key that signed the bundle (set by Open).
	KeyID []byte `json:"-"`
}

// payload is Bundle on the wire.
type payload struct {
	Bundle
	Zones []zoneJSON `json:"zones"`
	// Registry and Policy are Fleet (version 2).
	Registry *registryJSON `json:"registry,omitempty"`
	Policy   *policyJSON   `json:"policy,omitempty"`
}

const format = "nofly-bundle"

// Sign encodes b and signs it with priv: the bytes to ship.
func Sign(priv ed25519.PrivateKey, b *Bundle) ([]byte, error) {
	c := *b
	c.Format, c.Version = format, Version
	c.IssuedAt, c.ValidUntil = c.IssuedAt.UTC().Truncate(time.Second), c.ValidUntil.UTC().Truncate(time.Second)
	if err := c.validate(); err != nil {
		return nil, err
	}
	p := payload{Bundle: c, Zones: make([]zoneJSON, len(c.Zones))}
	for i := range c.Zones {
		p.Zones[i] = zoneOut(&c.Zones[i])
	}
	if p.Exemptions == nil {
		p.Exemptions = []exemptions.Exemption{}
	}
	if c.Fleet != nil {
		p.Registry, p.Policy = fleetOut(c.Fleet)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&p); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	out, err := authorisation.SignEnvelope(priv, ContentType, buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if len(out) > MaxSize {
		return nil, fmt.Errorf("bundle: %d bytes, more than %d: choose a smaller area", len(out), MaxSize)
	}
	return out, nil
}

func (b *Bundle) validate() error {
	switch {
	case b.Unit == "":
		return errors.New("bundle: no unit")
	case b.Issuer == "":
		return errors.New("bundle: no issuer")
	case b.IssuedAt.IsZero() || b.ValidUntil.IsZero():
		return errors.New("bundle: no issue time or expiry")
	case !b.ValidUntil.After(b.IssuedAt):
		return fmt.Errorf("bundle: expires %s, not after its issue %s", stamp(b.ValidUntil), stamp(b.IssuedAt))
	case b.ValidUntil.Sub(b.IssuedAt) > MaxValidity:
		return fmt.Errorf("bundle: valid for %s, more than %s", b.ValidUntil.Sub(b.IssuedAt), MaxValidity)
	case !(b.Area.MinLat >= -90 && b.Area.MinLat <= b.Area.MaxLat && b.Area.MaxLat <= 90 &&
		b.Area.MinLon >= -180 && b.Area.MinLon <= b.Area.MaxLon && b.Area.MaxLon <= 180):
		return fmt.Errorf("bundle: area %s: want min_lat ≤ max_lat within ±90 and min_lon ≤ max_lon within ±180", b.Area)
	}
	for i := range b.Exemptions {
		if u := b.Exemptions[i].Holder.Unit; u != b.Unit {
			return fmt.Errorf("bundle: exemption %s is unit %q's, the bundle unit %q's", b.Exemptions[i].ID, u, b.Unit)
		}
	}
	if b.Fleet != nil {
		return b.Fleet.validate(b.Unit)
	}
	return nil
}

// Open checks a bundle as shipped: a COSE_Sign1 of ContentType signed by a
// key of keys, valid at instant at; then decodes it. Every refusal is an
// *authorisation.RefusedError with its reason: malformed, unknown-key,
// bad-signature, expired or not-yet-valid.
func Open(b []byte, keys *authorisation.KeySet, at time.Time) (*Bundle, error) {
	if keys == nil || len(keys.Keys) == 0 {
		return nil, errors.New("bundle: no keys")
	}
	body, kid, err := authorisation.OpenEnvelope(b, ContentType, MaxSize, keys)
	if err != nil {
		return nil, err
	}
	// Only now, on signed bytes, is the payload decoded.
	bu, err := Decode(body)
	if err != nil {
		return nil, &authorisation.RefusedError{Reason: authorisation.ReasonMalformed, Detail: err.Error()}
	}
	bu.KeyID = kid
	at = at.UTC()
	switch {
	case at.After(bu.ValidUntil):
		return nil, &authorisation.RefusedError{Reason: authorisation.ReasonExpired,
			Detail: fmt.Sprintf("the bundle expired at %s (issued %s), it is %s: export a new one", stamp(bu.ValidUntil), stamp(bu.IssuedAt), stamp(at))}
	case at.Before(bu.IssuedAt.Add(-clockSkew)):
		return nil, &authorisation.RefusedError{Reason: authorisation.ReasonNotYetValid,
			Detail: fmt.Sprintf("the bundle was issued at %s, it is %s: is this machine's clock right?", stamp(bu.IssuedAt), stamp(at))}
	}
	return bu, nil
}

// clockSkew is how far before its issue a bundle is accepted: a field
// laptop's clock may run a little behind the server's.
const clockSkew = 5 * time.Minute

// Decode reads a payload. It checks no signature: Open does.
func Decode(body []byte) (*Bundle, error) {
	var p payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	if dec.More() {
		return nil, errors.New("payload: data after the bundle")
	}
	switch {
	case p.Format != format:
		return nil, fmt.Errorf("payload: format %q: want %q", p.Format, format)
	case p.Version > Version:
		return nil, fmt.Errorf("payload: version %d, made by a newer nofly (this one reads version %d): update nofly", p.Version, Version)
	case p.Version < 1:
		return nil, fmt.Errorf("payload: version %d: want 1 or %d", p.Version, Version)
	case p.Version == 1 && (p.Registry != nil || p.Policy != nil):
		return nil, errors.New("payload: registry or policy in a version 1 bundle")
	}
	b := p.Bundle
	if p.Registry != nil || p.Policy != nil {
		fl, err := fleetIn(p.Registry, p.Policy)
		if err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		b.Fleet = fl
	}
	if err := b.validate(); err != nil {
		return nil, err
	}
	b.IssuedAt, b.ValidUntil = b.IssuedAt.UTC(), b.ValidUntil.UTC()
	b.Zones = make([]geo.Zone, len(p.Zones))
	for i := range p.Zones {
		z, err := zoneIn(&p.Zones[i])
		if err != nil {
			return nil, fmt.Errorf("payload: zones[%d] (%s): %w", i, p.Zones[i].ID, err)
		}
		b.Zones[i] = z
	}
	for i := range b.Exemptions {
		if err := b.Exemptions[i].Validate(nil); err != nil {
			return nil, fmt.Errorf("payload: exemptions[%d]: %w", i, err)
		}
	}
	return &b, nil
}

// Loaded is an opened bundle ready to answer checks.
type Loaded struct {
	*Bundle
	Index *geo.Index
	// Snapshot is the unit's exemptions, as exemptions.Decide takes them.
	Snapshot *exemptions.Snapshot
	// Revocations is the revocation list, checked under the same keys
	// (nil when the bundle has none).
	Revocations *authorisation.RevocationList
	// Rules are the fleet rules offline checks are decided with
	// (exemptions.DecideFleet): the bundle's Fleet; for a version 1
	// bundle the default policy and general ceiling, with the registry
	// not applied (exemptions.RegistryOffline); nil when the issuer
	// applied none.
	Rules *exemptions.Fleet
}

// Drone returns the registry's record of serial (normalised) as far as
// the bundle holds it (Fleet.Drone); nil without one.
func (l *Loaded) Drone(serial string) *fleet.Drone {
	if l.Fleet == nil {
		return nil
	}
	return l.Fleet.Drone(serial)
}

// Load opens b (Open) and builds its index and exemption snapshot.
func Load(b []byte, keys *authorisation.KeySet, at time.Time) (*Loaded, error) {
	bu, err := Open(b, keys, at)
	if err != nil {
		return nil, err
	}
	idx, err := geo.NewIndex(bu.Zones)
	if err != nil {
		return nil, fmt.Errorf("bundle: zones: %w", err)
	}
	l := &Loaded{Bundle: bu, Index: idx, Snapshot: exemptions.NewSnapshot(bu.Exemptions, bu.ExemptionsVersion)}
	switch {
	case bu.Fleet != nil:
		l.Rules = bu.Fleet.Rules()
	case bu.Version == 1:
		l.Rules = &exemptions.Fleet{Registry: exemptions.RegistryOffline, Ceiling: exemptions.DefaultCeiling}
	}
	if len(bu.RevocationList) > 0 {
		if l.Revocations, err = authorisation.ParseRevocationList(bu.RevocationList, keys); err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
	}
	return l, nil
}

// Covers refuses a check whose search extent (its points' box grown by
// its buffer, in metres) is not wholly inside the bundle's area: zones
// beyond it are not in the bundle, and the check could not see them.
func (b *Bundle) Covers(extent orb.Bound, bufferM float64) error {
	e := geo.ExpandBound(extent, bufferM)
	if b.Area.Contains(e) {
		return nil
	}
	return &OutsideError{Area: b.Area, Extent: e}
}

// OutsideError is a check that reaches beyond the bundle's area.
type OutsideError struct {
	Area   Area
	Extent orb.Bound
}

func (e *OutsideError) Error() string {
	return fmt.Sprintf("outside the bundle's area: the check reaches %.5f,%.5f,%.5f,%.5f (lat,lon,lat,lon, with its buffer), the bundle holds the zones of %.5f,%.5f,%.5f,%.5f only; export a bundle for this area",
		e.Extent.Min[1], e.Extent.Min[0], e.Extent.Max[1], e.Extent.Max[0], e.Area.MinLat, e.Area.MinLon, e.Area.MaxLat, e.Area.MaxLon)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
