package fence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
)

// DJI's custom flight area file (DJI Cloud API, Dock feature set, "Custom
// Flight Area"; the cloud uploads it and the dock synchronises it to the
// aircraft, method flight_areas_update): a GeoJSON FeatureCollection whose
// features carry "geofence_type" "dfence" (a custom operation area the
// aircraft may not leave) or "nfz" (a custom GEO zone it may not enter), a
// Polygon geometry, or a Point with properties subType "Circle" and a
// radius in metres, and "enable". DJI's limits: at most 255 vertices a
// polygon, a circle's radius at least 10 m, operation areas may not
// overlap, and the dock must lie inside an operation area and outside
// every GEO zone, at least 10 m from every boundary. The file is 2-D:
// no heights, no schedules. See docs/fieldkit.md.

// DJIMaxVertices is DJI's limit on a custom flight area polygon.
const DJIMaxVertices = 255

// DJIMinRadiusM is DJI's least custom flight area circle radius.
const DJIMinRadiusM = 10

type djiFile struct {
	Type     string       `json:"type"` // FeatureCollection
	Features []djiFeature `json:"features"`
}

type djiFeature struct {
	ID           string        `json:"id"` // a UUID
	Type         string        `json:"type"`
	GeofenceType string        `json:"geofence_type"` // dfence or nfz
	Geometry     djiGeometry   `json:"geometry"`
	Properties   djiProperties `json:"properties"`
}

type djiGeometry struct {
	Type        string          `json:"type"` // Polygon or Point
	Coordinates json.RawMessage `json:"coordinates"`
}

type djiProperties struct {
	SubType string  `json:"subType,omitempty"` // Circle for a Point
	Radius  float64 `json:"radius"`            // metres; 0 for a polygon
	Enable  bool    `json:"enable"`
}

// djiNamespace makes the features' ids: UUIDs (version 5) of the zone and
// the fence's position in it, so that the same fence gets the same ids.
var djiNamespace = uuid.MustParse("6f0c6a8e-2d54-4c8e-9a4b-6e6f666c7900")

// WriteDJI returns f as a DJI custom flight area file: the inclusion as
// the operation area ("dfence"), each exclusion a GEO zone ("nfz").
// Polygons of more than DJIMaxVertices vertices, or a circle under
// DJIMinRadiusM, are refused: build the fence within DJI's limits.
func (f *Fence) WriteDJI() ([]byte, error) {
	file := djiFile{Type: "FeatureCollection", Features: []djiFeature{}}
	poly := func(id, kind string, r orb.Ring) (djiFeature, error) {
		ring := closed(r)
		if n := len(ring) - 1; n > DJIMaxVertices || n < 3 {
			return djiFeature{}, fmt.Errorf("%s: %d vertices; DJI takes 3 to %d", id, n, DJIMaxVertices)
		}
		coords := make([][2]float64, len(ring))
		for i, p := range ring {
			coords[i] = [2]float64{p[0], p[1]}
		}
		raw, err := json.Marshal([][][2]float64{coords})
		if err != nil {
			return djiFeature{}, err
		}
		return djiFeature{ID: uuid.NewSHA1(djiNamespace, []byte(id)).String(), Type: "Feature", GeofenceType: kind,
			Geometry: djiGeometry{Type: "Polygon", Coordinates: raw}, Properties: djiProperties{Enable: true}}, nil
	}
	if f.Inclusion != nil {
		ft, err := poly("inclusion", "dfence", f.Inclusion)
		if err != nil {
			return nil, err
		}
		file.Features = append(file.Features, ft)
	}
	for i, e := range f.Exclusions {
		id := fmt.Sprintf("exclusion %d of %s", i, e.ZoneID)
		if e.Circle == nil {
			ft, err := poly(id, "nfz", e.Polygon)
			if err != nil {
				return nil, fmt.Errorf("zone %w", err)
			}
			file.Features = append(file.Features, ft)
			continue
		}
		if e.Circle.RadiusM < DJIMinRadiusM {
			return nil, fmt.Errorf("zone %s: a circle of %g m; DJI takes %d m or more", e.ZoneID, e.Circle.RadiusM, DJIMinRadiusM)
		}
		raw, err := json.Marshal([2]float64{e.Circle.Center[0], e.Circle.Center[1]})
		if err != nil {
			return nil, err
		}
		file.Features = append(file.Features, djiFeature{ID: uuid.NewSHA1(djiNamespace, []byte(id)).String(), Type: "Feature",
			GeofenceType: "nfz", Geometry: djiGeometry{Type: "Point", Coordinates: raw},
			Properties: djiProperties{SubType: "Circle", Radius: e.Circle.RadiusM, Enable: true}})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(file); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func closed(r orb.Ring) orb.Ring {
	if len(r) > 0 && r[0] != r[len(r)-1] {
		return append(r[:len(r):len(r)], r[0])
	}
	return r
}

// MaxDJIBytes bounds a DJI file ReadDJI reads.
const MaxDJIBytes = 16 << 20

// ReadDJI reads a DJI custom flight area file back into a Fence: the
// operation area ("dfence", at most one) as the inclusion, GEO zones
// ("nfz") as exclusions (with no zone id: the file has none). Errors name
// the feature and field.
func ReadDJI(r io.Reader) (*Fence, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxDJIBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxDJIBytes {
		return nil, fmt.Errorf("DJI file: more than %d bytes", MaxDJIBytes)
	}
	var file djiFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("DJI file: %w", err)
	}
	if dec.More() {
		return nil, errors.New("DJI file: data after the feature collection")
	}
	if file.Type != "FeatureCollection" {
		return nil, fmt.Errorf("DJI file: type %q: want FeatureCollection", file.Type)
	}
	f := &Fence{}
	point := func(p [2]float64) (orb.Point, error) {
		if !(p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90) {
			return orb.Point{}, fmt.Errorf("%v: want [longitude, latitude] within ±180, ±90", p)
		}
		return orb.Point{p[0], p[1]}, nil
	}
	for i, ft := range file.Features {
		where := fmt.Sprintf("DJI file: features[%d]", i)
		if _, err := uuid.Parse(ft.ID); err != nil {
			return nil, fmt.Errorf("%s.id: %q: want a UUID", where, ft.ID)
		}
		if ft.Type != "Feature" {
			return nil, fmt.Errorf("%s.type: %q: want Feature", where, ft.Type)
		}
		if ft.GeofenceType != "dfence" && ft.GeofenceType != "nfz" {
			return nil, fmt.Errorf("%s.geofence_type: %q: want dfence or nfz", where, ft.GeofenceType)
		}
		if !ft.Properties.Enable {
			return nil, fmt.Errorf("%s.properties.enable: false: the aircraft would not hold to it", where)
		}
		switch ft.Geometry.Type {
		case "Polygon":
			var rings [][][2]float64
			if err := json.Unmarshal(ft.Geometry.Coordinates, &rings); err != nil {
				return nil, fmt.Errorf("%s.geometry.coordinates: %w", where, err)
			}
			if len(rings) != 1 {
				return nil, fmt.Errorf("%s.geometry.coordinates: %d rings: want one", where, len(rings))
			}
			if n := len(rings[0]); n < 4 || n-1 > DJIMaxVertices || rings[0][0] != rings[0][n-1] {
				return nil, fmt.Errorf("%s.geometry.coordinates: %d positions: want a closed ring of 3 to %d vertices", where, n, DJIMaxVertices)
			}
			ring := make(orb.Ring, len(rings[0]))
			for j, p := range rings[0] {
				if ring[j], err = point(p); err != nil {
					return nil, fmt.Errorf("%s.geometry.coordinates[0][%d]: %w", where, j, err)
				}
			}
			if ft.Properties.SubType != "" {
				return nil, fmt.Errorf("%s.properties.subType: %q on a polygon", where, ft.Properties.SubType)
			}
			if ft.GeofenceType == "dfence" {
				if f.Inclusion != nil {
					return nil, fmt.Errorf("%s: a second operation area (dfence)", where)
				}
				f.Inclusion = ring
			} else {
				f.Exclusions = append(f.Exclusions, Exclusion{Polygon: ring})
			}
		case "Point":
			var p [2]float64
			if err := json.Unmarshal(ft.Geometry.Coordinates, &p); err != nil {
				return nil, fmt.Errorf("%s.geometry.coordinates: %w", where, err)
			}
			c, err := point(p)
			if err != nil {
				return nil, fmt.Errorf("%s.geometry.coordinates: %w", where, err)
			}
			if ft.Properties.SubType != "Circle" {
				return nil, fmt.Errorf("%s.properties.subType: %q: want Circle for a Point", where, ft.Properties.SubType)
			}
			if r := ft.Properties.Radius; !(r >= DJIMinRadiusM && r <= 1e6) || math.IsNaN(r) {
				return nil, fmt.Errorf("%s.properties.radius: %g: want %d m to 1000 km", where, r, DJIMinRadiusM)
			}
			if ft.GeofenceType == "dfence" {
				return nil, fmt.Errorf("%s: a circular operation area: nofly writes none and reads none", where)
			}
			f.Exclusions = append(f.Exclusions, Exclusion{Circle: &Circle{Center: c, RadiusM: ft.Properties.Radius}})
		default:
			return nil, fmt.Errorf("%s.geometry.type: %q: want Polygon or Point", where, ft.Geometry.Type)
		}
	}
	return f, nil
}
