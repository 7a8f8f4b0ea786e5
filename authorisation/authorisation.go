// Package authorisation is nofly's signed flight authorisation: what noflyd
// signs when a flight plan is CLEAR or EXEMPTED, and what a ground station
// verifies offline with the force's public key set.
//
// An authorisation is a COSE_Sign1 message (RFC 9052) signed with Ed25519,
// whose payload is the CBOR map of an Authorisation; the revocation list is
// another COSE_Sign1 message signed with the same keys. The key id is the
// COSE_Key thumbprint of the public key (RFC 9679). Verification works on
// the bytes as shipped: the signature covers the payload and protected
// header exactly as received, and nothing is re-encoded.
//
// The package is pure: no network, no database, no clock (times are
// inputs). Geometry comes from package geo.
package authorisation

import (
	"errors"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Content types of the COSE messages (protected header 3), so that a
// revocation list can never pass for an authorisation or the reverse.
const (
	ContentType           = "application/vnd.nofly.authorisation+cbor"
	RevocationContentType = "application/vnd.nofly.revocations+cbor"
)

// MaxSize bounds an encoded authorisation or revocation list, in bytes: a
// route of 10,000 waypoints takes about 300 kB.
const MaxSize = 4 << 20

// Authorisation is what noflyd signs. Times are whole seconds, UTC. Map keys
// on the wire are the small integers in the tags, to keep the encoding
// compact enough for a QR code.
type Authorisation struct {
	// ID is unique per issuer, e.g. "AU-000042".
	ID string `cbor:"1,keyasint"`
	// Issuer names the noflyd deployment (its --issuer).
	Issuer   string    `cbor:"2,keyasint"`
	IssuedAt time.Time `cbor:"3,keyasint"`
	// ValidFrom and ValidUntil bound the flight, inclusive: the plan's
	// window, never longer than the issuer's maximum.
	ValidFrom  time.Time `cbor:"4,keyasint"`
	ValidUntil time.Time `cbor:"5,keyasint"`
	// Drone is the serial number of the one aircraft authorised.
	Drone   string `cbor:"6,keyasint"`
	Unit    string `cbor:"7,keyasint"`
	Pilot   string `cbor:"8,keyasint,omitempty"`
	Purpose string `cbor:"9,keyasint,omitempty"` // FORENSIC, SEARCH_AND_RESCUE, ...
	// Volume is where and at what heights the flight is authorised.
	Volume Volume `cbor:"10,keyasint"`
	// ZoneSet is the version of the zone data checked against.
	ZoneSet string `cbor:"11,keyasint"`
	// Zones are the blocking zones the flight enters, each with the
	// exemption relied on; empty for a CLEAR flight.
	Zones []Zone `cbor:"12,keyasint,omitempty"`
	// Advisories are the zones met that inform (CONDITIONAL and the like),
	// with their conditions for the pilot.
	Advisories []Zone `cbor:"13,keyasint,omitempty"`
	// Verdict is "CLEAR" or "EXEMPTED".
	Verdict string `cbor:"14,keyasint"`

	// KeyID is the thumbprint of the key that signed the message (from its
	// protected header; not part of the payload).
	KeyID []byte `cbor:"-"`
}

// Volume is the authorised 4-D volume's space: a route with a lateral
// buffer, or an area (polygon or circle) grown by the buffer within a
// height band. Coordinates are longitude, latitude in degrees on WGS84;
// heights metres above AltRef.
type Volume struct {
	// Route is the waypoints as [longitude, latitude, height]; the height
	// is 0 and meaningless when AltRef is empty.
	Route [][3]float64 `cbor:"1,keyasint,omitempty"`
	// Polygon is an area's outer ring followed by its holes, each closed,
	// as [longitude, latitude].
	Polygon [][][2]float64 `cbor:"2,keyasint,omitempty"`
	// Circle is an area's centre and radius in metres.
	Circle *Circle `cbor:"3,keyasint,omitempty"`
	// BufferM widens the route or area on every side, in metres.
	BufferM float64 `cbor:"4,keyasint"`
	// Lower and Upper are an area's height band, metres above AltRef.
	Lower float64 `cbor:"5,keyasint,omitempty"`
	Upper float64 `cbor:"6,keyasint,omitempty"`
	// AltRef is "AGL", "AMSL" or "WGS84"; empty when the plan gave no
	// heights (then the check counted every height of every zone).
	AltRef string `cbor:"7,keyasint,omitempty"`
}

// Circle is a circular area.
type Circle struct {
	Lon     float64 `cbor:"1,keyasint"`
	Lat     float64 `cbor:"2,keyasint"`
	RadiusM float64 `cbor:"3,keyasint"`
}

// Zone is a zone the flight meets.
type Zone struct {
	ID          string `cbor:"1,keyasint"`
	Name        string `cbor:"2,keyasint,omitempty"`
	Restriction string `cbor:"3,keyasint"`
	// Exemption relied on to enter a blocking zone.
	Exemption *Exemption `cbor:"4,keyasint,omitempty"`
	// Message is the zone's message to pilots (its conditions).
	Message string `cbor:"5,keyasint,omitempty"`
}

// Exemption is the exemption relied on for a zone.
type Exemption struct {
	ID         string `cbor:"1,keyasint"`
	LegalBasis string `cbor:"2,keyasint,omitempty"`
	Conditions string `cbor:"3,keyasint,omitempty"`
}

// ExemptionIDs returns the ids of the exemptions relied on, each once, in
// the order of the zones.
func (a *Authorisation) ExemptionIDs() []string {
	var ids []string
	seen := map[string]bool{}
	for _, z := range a.Zones {
		if z.Exemption != nil && !seen[z.Exemption.ID] {
			seen[z.Exemption.ID] = true
			ids = append(ids, z.Exemption.ID)
		}
	}
	return ids
}

// Validate reports what is wrong with a, naming the field.
func (a *Authorisation) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if a.ID == "" {
		bad("id", "required")
	}
	if a.Issuer == "" {
		bad("issuer", "required")
	}
	if a.Drone == "" {
		bad("drone", "required: an authorisation names its aircraft")
	}
	if a.ValidFrom.IsZero() || a.ValidUntil.IsZero() {
		bad("valid_from", "the validity needs both ends")
	} else if a.ValidUntil.Before(a.ValidFrom) {
		bad("valid_until", "%s is before valid_from %s", a.ValidUntil.Format(time.RFC3339), a.ValidFrom.Format(time.RFC3339))
	}
	if a.Verdict != "CLEAR" && a.Verdict != "EXEMPTED" {
		bad("verdict", "%q: want CLEAR or EXEMPTED", a.Verdict)
	}
	v := a.Volume
	n := 0
	if len(v.Route) > 0 {
		n++
		if len(v.Route) < 2 {
			bad("volume.route", "a route needs at least 2 waypoints, got %d", len(v.Route))
		}
	}
	if len(v.Polygon) > 0 {
		n++
	}
	if v.Circle != nil {
		n++
	}
	if n != 1 {
		bad("volume", "want exactly one of a route, a polygon and a circle, got %d", n)
	}
	switch v.AltRef {
	case "", "AGL", "AMSL", "WGS84":
	default:
		bad("volume.alt_ref", "%q: want AGL, AMSL or WGS84", v.AltRef)
	}
	return errors.Join(errs...)
}

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	// Core deterministic encoding (RFC 8949 §4.2.1): the same
	// authorisation always encodes to the same bytes. Floats in their
	// shortest exact form; times as integer Unix seconds.
	eo := cbor.CoreDetEncOptions()
	eo.ShortestFloat = cbor.ShortestFloat16
	eo.Time = cbor.TimeUnix
	var err error
	if encMode, err = eo.EncMode(); err != nil {
		panic(err)
	}
	// Strict decoding: a field this verifier does not know, a duplicate
	// key or indefinite lengths refuse the message rather than being
	// ignored; sizes bounded against hostile input.
	if decMode, err = decOptions(true).DecMode(); err != nil {
		panic(err)
	}
}

func decOptions(strict bool) cbor.DecOptions {
	o := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		MaxNestedLevels:  16,
		MaxArrayElements: 1 << 20,
		MaxMapPairs:      1 << 10,
		TimeTag:          cbor.DecTagIgnored,
		UTF8:             cbor.UTF8RejectInvalid,
	}
	if strict {
		o.ExtraReturnErrors = cbor.ExtraDecErrorUnknownField
	}
	return o
}

// encodePayload is a's payload, times cut to whole seconds in UTC.
func encodePayload(a *Authorisation) ([]byte, error) {
	c := *a
	c.IssuedAt = c.IssuedAt.UTC().Truncate(time.Second)
	c.ValidFrom = c.ValidFrom.UTC().Truncate(time.Second)
	c.ValidUntil = c.ValidUntil.UTC().Truncate(time.Second)
	return encMode.Marshal(&c)
}

func decodePayload(b []byte) (*Authorisation, error) {
	var a Authorisation
	if err := decMode.Unmarshal(b, &a); err != nil {
		return nil, err
	}
	a.IssuedAt, a.ValidFrom, a.ValidUntil = a.IssuedAt.UTC(), a.ValidFrom.UTC(), a.ValidUntil.UTC()
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return &a, nil
}
