package flightplan

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/nofly-project/nofly/geo"
)

// QGroundControl .plan files hold a MAVLink mission: items with a command
// (MAV_CMD), a coordinate frame (MAV_FRAME) and seven params, of which
// params[4], [5] and [6] are latitude, longitude and altitude.
type qgcFile struct {
	FileType string `json:"fileType"`
	Mission  *struct {
		Items []qgcItem `json:"items"`
		// [latitude, longitude, altitude in metres AMSL]
		PlannedHomePosition []*float64 `json:"plannedHomePosition"`
	} `json:"mission"`
}

type qgcItem struct {
	Type            string     `json:"type"` // "SimpleItem" or "ComplexItem"
	Command         int        `json:"command"`
	Frame           int        `json:"frame"`
	Params          []*float64 `json:"params"` // null where QGroundControl writes NaN
	ComplexItemType string     `json:"complexItemType"`
	// Survey and corridor scan items carry the generated mission items.
	Transect *struct {
		Items []qgcItem `json:"Items"`
	} `json:"TransectStyleComplexItem"`
}

// MAV_CMD values that move the vehicle.
const (
	cmdWaypoint       = 16
	cmdLoiterUnlim    = 17
	cmdLoiterTurns    = 18
	cmdLoiterTime     = 19
	cmdReturnToLaunch = 20
	cmdLand           = 21
	cmdTakeoff        = 22
	cmdLoiterToAlt    = 31
	cmdSplineWaypoint = 82
	cmdVTOLTakeoff    = 84
	cmdVTOLLand       = 85
	cmdDelay          = 93
	// MAV_CMD values from 100 up are conditions and actions ("DO_"), which
	// do not move the vehicle along the mission.
	firstNonNavCmd = 100
)

// MAV_FRAME values, by what their altitude is measured from.
const (
	frameGlobal               = 0  // AMSL
	frameMission              = 2  // no position
	frameGlobalRelativeAlt    = 3  // above the home position
	frameGlobalInt            = 5  // AMSL
	frameGlobalRelativeAltInt = 6  // above the home position
	frameGlobalTerrainAlt     = 10 // AGL
	frameGlobalTerrainAltInt  = 11 // AGL
)

// qgcRef is the vertical reference of a frame. Heights relative to the home
// position count as AGL: a police drone flies short missions near home, and
// a height above home is what the pilot means as a height above the ground.
func qgcRef(frame int) (geo.VerticalRef, bool) {
	switch frame {
	case frameGlobal, frameGlobalInt:
		return geo.AMSL, true
	case frameGlobalRelativeAlt, frameGlobalRelativeAltInt, frameGlobalTerrainAlt, frameGlobalTerrainAltInt:
		return geo.AGL, true
	}
	return geo.RefUnknown, false
}

// ParseQGC reads a QGroundControl .plan mission as a route. The route starts
// at the planned home position on the ground; takeoff climbs there; each
// waypoint, loiter and spline waypoint is a point of the route; survey and
// corridor scan items contribute their generated waypoints; landing
// descends at the landing point; return to launch flies home at the last
// height (the vehicle's own return altitude is not in the file) and
// descends.
func ParseQGC(b []byte) (*Plan, error) {
	var f qgcFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, jsonError(b, err))
	}
	if f.FileType != "Plan" {
		return nil, fmt.Errorf(`%w: fileType %q, want "Plan"`, ErrFormat, f.FileType)
	}
	if f.Mission == nil {
		return nil, fmt.Errorf("%w: no mission in the plan", ErrFormat)
	}
	q := &qgcReader{}
	if h := f.Mission.PlannedHomePosition; len(h) >= 2 && h[0] != nil && h[1] != nil && !(*h[0] == 0 && *h[1] == 0) {
		q.home = &Waypoint{Lat: *h[0], Lon: *h[1]}
		if len(h) >= 3 && h[2] != nil {
			q.homeAMSL = h[2]
		}
	}
	if err := q.items(f.Mission.Items, "mission.items"); err != nil {
		return nil, err
	}
	r, err := q.route()
	if err != nil {
		return nil, err
	}
	if len(r.Waypoints) < 2 {
		return nil, fmt.Errorf("%w: the mission has %d positions; a route needs at least 2", ErrFormat, len(r.Waypoints))
	}
	return &Plan{Format: "QGroundControl plan", Route: r, MinBuffer: q.loiter}, nil
}

// qgcPoint is a route point with its reference, before the route settles on
// one reference.
type qgcPoint struct {
	Waypoint
	ref geo.VerticalRef
	// relative: the height is above the home position (frames 3 and 6).
	relative bool
}

type qgcReader struct {
	home     *Waypoint
	homeAMSL *float64 // metres
	pts      []qgcPoint
	loiter   float64 // largest loiter radius, metres
	started  bool    // home considered
}

// last is the current position, or nil before the first one.
func (q *qgcReader) last() *qgcPoint {
	if len(q.pts) == 0 {
		return nil
	}
	return &q.pts[len(q.pts)-1]
}

func param(it *qgcItem, i int) (float64, bool) {
	if i >= len(it.Params) || it.Params[i] == nil || math.IsNaN(*it.Params[i]) {
		return 0, false
	}
	return *it.Params[i], true
}

// start adds the home position before the first item that moves, on the
// ground in that item's reference.
func (q *qgcReader) start(ref geo.VerticalRef) {
	if q.started {
		return
	}
	q.started = true
	if q.home == nil {
		return
	}
	// Home is on the ground: 0 m AGL or home's own altitude AMSL.
	h := qgcPoint{Waypoint: *q.home, ref: geo.AGL, relative: true}
	if ref == geo.AMSL && q.homeAMSL != nil {
		h.Alt, h.ref, h.relative = *q.homeAMSL, geo.AMSL, false
	}
	q.pts = append(q.pts, h)
}

func (q *qgcReader) items(items []qgcItem, where string) error {
	for i := range items {
		it := &items[i]
		at := fmt.Sprintf("%s[%d]", where, i)
		if it.Type == "ComplexItem" {
			if it.Transect == nil || len(it.Transect.Items) == 0 {
				return fmt.Errorf("%w: %s: complex item %q without generated mission items is not supported", ErrFormat, at, it.ComplexItemType)
			}
			if err := q.items(it.Transect.Items, at+".TransectStyleComplexItem.Items"); err != nil {
				return err
			}
			continue
		}
		if err := q.simple(it, at); err != nil {
			return err
		}
	}
	return nil
}

func (q *qgcReader) simple(it *qgcItem, at string) error {
	switch it.Command {
	case cmdWaypoint, cmdSplineWaypoint, cmdLoiterUnlim, cmdLoiterTurns, cmdLoiterTime, cmdLoiterToAlt,
		cmdTakeoff, cmdVTOLTakeoff, cmdLand, cmdVTOLLand:
	case cmdReturnToLaunch:
		return q.returnHome(at)
	case cmdDelay:
		return nil
	default:
		if it.Command >= firstNonNavCmd {
			return nil // an action, not a movement
		}
		return fmt.Errorf("%w: %s: navigation command %d is not supported", ErrFormat, at, it.Command)
	}
	ref, ok := qgcRef(it.Frame)
	if !ok {
		return fmt.Errorf("%w: %s: coordinate frame %d is not supported (want 0, 3, 5, 6, 10 or 11)", ErrFormat, at, it.Frame)
	}
	relative := it.Frame == frameGlobalRelativeAlt || it.Frame == frameGlobalRelativeAltInt
	q.start(ref)
	prev := q.last()
	lat, okLat := param(it, 4)
	lon, okLon := param(it, 5)
	alt, okAlt := param(it, 6)
	// Takeoff, landing and loiter items may leave the position out (NaN or
	// 0, 0): they then happen where the vehicle is.
	here := !okLat || !okLon || (lat == 0 && lon == 0)
	if here {
		switch it.Command {
		case cmdTakeoff, cmdVTOLTakeoff, cmdLand, cmdVTOLLand, cmdLoiterUnlim, cmdLoiterTurns, cmdLoiterTime, cmdLoiterToAlt:
			if prev == nil {
				return fmt.Errorf("%w: %s: command %d has no position and there is no home position", ErrFormat, at, it.Command)
			}
			lat, lon = prev.Lat, prev.Lon
		default:
			return fmt.Errorf("%w: %s: waypoint without latitude and longitude", ErrFormat, at)
		}
	}
	if !okAlt {
		if prev == nil {
			return fmt.Errorf("%w: %s: no altitude and no earlier position", ErrFormat, at)
		}
		alt, ref, relative = prev.Alt, prev.ref, prev.relative
	}
	switch it.Command {
	case cmdLoiterUnlim, cmdLoiterTurns, cmdLoiterTime:
		if r, ok := param(it, 2); ok {
			q.loiter = max(q.loiter, math.Abs(r))
		}
	case cmdLoiterToAlt:
		if r, ok := param(it, 1); ok {
			q.loiter = max(q.loiter, math.Abs(r))
		}
	}
	p := qgcPoint{Waypoint: Waypoint{Lat: lat, Lon: lon, Alt: alt}, ref: ref, relative: relative}
	if it.Command == cmdLand || it.Command == cmdVTOLLand {
		// Fly to the landing point at the current height, then descend.
		if prev != nil {
			q.pts = append(q.pts, qgcPoint{Waypoint: Waypoint{Lat: lat, Lon: lon, Alt: prev.Alt}, ref: prev.ref, relative: prev.relative})
		}
		if ref == geo.AGL {
			p.Alt = 0
		}
	}
	q.pts = append(q.pts, p)
	return nil
}

func (q *qgcReader) returnHome(at string) error {
	prev := q.last()
	if q.home == nil || prev == nil {
		return fmt.Errorf("%w: %s: return to launch without a home position", ErrFormat, at)
	}
	q.pts = append(q.pts, qgcPoint{Waypoint: Waypoint{Lat: q.home.Lat, Lon: q.home.Lon, Alt: prev.Alt}, ref: prev.ref, relative: prev.relative})
	ground := qgcPoint{Waypoint: Waypoint{Lat: q.home.Lat, Lon: q.home.Lon}, ref: geo.AGL, relative: true}
	if prev.ref == geo.AMSL {
		if q.homeAMSL == nil {
			return fmt.Errorf("%w: %s: return to launch in an AMSL mission without the home altitude", ErrFormat, at)
		}
		ground = qgcPoint{Waypoint: Waypoint{Lat: q.home.Lat, Lon: q.home.Lon, Alt: *q.homeAMSL}, ref: geo.AMSL}
	}
	q.pts = append(q.pts, ground)
	return nil
}

// route settles the points on one reference. A mission that mixes heights
// above home with heights AMSL is converted to AMSL with the home
// altitude; one that mixes terrain-following heights with AMSL cannot be.
func (q *qgcReader) route() (*Route, error) {
	var hasAGL, hasAMSL, terrain bool
	for _, p := range q.pts {
		switch p.ref {
		case geo.AGL:
			hasAGL = true
			terrain = terrain || !p.relative
		case geo.AMSL:
			hasAMSL = true
		}
	}
	r := &Route{Waypoints: make([]Waypoint, len(q.pts)), AltRef: geo.AGL}
	switch {
	case hasAGL && hasAMSL:
		if terrain || q.homeAMSL == nil {
			return nil, fmt.Errorf("%w: the mission mixes heights above the ground and above mean sea level", ErrFormat)
		}
		r.AltRef = geo.AMSL
		for i, p := range q.pts {
			r.Waypoints[i] = p.Waypoint
			if p.ref == geo.AGL {
				r.Waypoints[i].Alt += *q.homeAMSL
			}
		}
		return r, nil
	case hasAMSL:
		r.AltRef = geo.AMSL
	}
	for i, p := range q.pts {
		r.Waypoints[i] = p.Waypoint
	}
	return r, nil
}
