package exemptions

import (
	"encoding/json"
	"fmt"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// Records are stored, and hashed into the audit log, as JSON. Enumerations
// are written by name (AGL, PROHIBITED) and areas in a shape of their own,
// so that the stored form does not depend on how geo numbers its constants.

func (c Ceiling) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Metres float64 `json:"metres"`
		Ref    string  `json:"ref"`
	}{c.Metres, c.Ref.String()})
}

func (c *Ceiling) UnmarshalJSON(b []byte) error {
	var v struct {
		Metres float64 `json:"metres"`
		Ref    string  `json:"ref"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	c.Metres, c.Ref = v.Metres, geo.RefUnknown
	if v.Ref == "" || v.Ref == geo.RefUnknown.String() { // a record never stored; Validate refuses it
		return nil
	}
	ref, err := geo.ParseVerticalRef(v.Ref)
	if err != nil {
		return fmt.Errorf("ceiling: %w", err)
	}
	c.Ref = ref
	return nil
}

type selectorJSON struct {
	Country      string   `json:"country,omitempty"`
	Reasons      []string `json:"reasons,omitempty"`
	Restrictions []string `json:"restrictions,omitempty"`
}

func (s Selector) MarshalJSON() ([]byte, error) {
	v := selectorJSON{Country: s.Country, Reasons: s.Reasons}
	for _, r := range s.Restrictions {
		v.Restrictions = append(v.Restrictions, r.String())
	}
	return json.Marshal(v)
}

func (s *Selector) UnmarshalJSON(b []byte) error {
	var v selectorJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Selector{Country: v.Country, Reasons: v.Reasons}
	for _, name := range v.Restrictions {
		if name == geo.RestrictionUnknown.String() { // a record never stored; Validate refuses it
			s.Restrictions = append(s.Restrictions, geo.RestrictionUnknown)
			continue
		}
		r, err := geo.ParseRestriction(name)
		if err != nil {
			return fmt.Errorf("selector: %w", err)
		}
		s.Restrictions = append(s.Restrictions, r)
	}
	return nil
}

// areaJSON is an area as stored: a circle (centre [lon, lat], radius in
// metres) or polygons (GeoJSON MultiPolygon coordinates).
type areaJSON struct {
	Center   *orb.Point       `json:"center,omitempty"`
	RadiusM  float64          `json:"radius_m,omitempty"`
	Polygons orb.MultiPolygon `json:"polygons,omitempty"`
}

// exemptionJSON is Exemption with its area as stored.
type exemptionJSON struct {
	exemptionAlias
	Area *areaJSON `json:"area,omitempty"`
}

// exemptionAlias has Exemption's fields without its methods.
type exemptionAlias Exemption

func (e Exemption) MarshalJSON() ([]byte, error) {
	v := exemptionJSON{exemptionAlias: exemptionAlias(e)}
	v.exemptionAlias.Area = nil
	if a := e.Area; a != nil {
		switch a.Kind {
		case geo.ShapeCircle:
			c := a.Center
			v.Area = &areaJSON{Center: &c, RadiusM: a.Radius}
		case geo.ShapePolygon:
			v.Area = &areaJSON{Polygons: a.Polygons}
		default:
			return nil, fmt.Errorf("%s: area of unknown kind %d", e.ID, a.Kind)
		}
	}
	return json.Marshal(v)
}

func (e *Exemption) UnmarshalJSON(b []byte) error {
	var v exemptionJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = Exemption(v.exemptionAlias)
	e.Area = nil
	switch a := v.Area; {
	case a == nil:
	case a.Center != nil:
		e.Area = &geo.Shape{Kind: geo.ShapeCircle, Center: *a.Center, Radius: a.RadiusM}
	default:
		e.Area = &geo.Shape{Kind: geo.ShapePolygon, Polygons: a.Polygons}
	}
	return nil
}
