package main

import (
	"flag"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/geo"
)

// parseTime reads a time as RFC 3339 or relative to now: "now", "+2h",
// "+90m", "-30m", "+1h30m". The result is UTC.
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "now":
		return now.UTC(), nil
	case strings.HasPrefix(s, "+"), strings.HasPrefix(s, "-"):
		d, err := time.ParseDuration(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2026-05-01T14:00:00+02:00) or relative to now (now, +2h, +90m, -30m)", s)
		}
		return now.Add(d).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2026-05-01T14:00:00+02:00) or relative to now (now, +2h, +90m, -30m)", s)
	}
	return t.UTC(), nil
}

// timeFlag is a flag holding a time; unset when not given.
type timeFlag struct {
	t   time.Time
	set bool
	now func() time.Time
}

func (f *timeFlag) String() string {
	if !f.set {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *timeFlag) Set(s string) error {
	t, err := parseTime(s, f.now())
	if err != nil {
		return err
	}
	f.t, f.set = t, true
	return nil
}

// optFloat is a number flag that knows whether it was given.
type optFloat struct {
	v   float64
	set bool
}

func (f *optFloat) String() string {
	if !f.set {
		return ""
	}
	return strconv.FormatFloat(f.v, 'g', -1, 64)
}

func (f *optFloat) Set(s string) error {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	f.v, f.set = v, true
	return nil
}

// refFlag is a vertical reference flag: agl, amsl or wgs84.
type refFlag struct{ ref noflyv1.VerticalReference }

var refNames = map[geo.VerticalRef]noflyv1.VerticalReference{
	geo.AGL:   noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL,
	geo.AMSL:  noflyv1.VerticalReference_VERTICAL_REFERENCE_AMSL,
	geo.WGS84: noflyv1.VerticalReference_VERTICAL_REFERENCE_WGS84,
}

func (f *refFlag) String() string { return strings.ToLower(shortRef(f.ref)) }

func (f *refFlag) Set(s string) error {
	r, err := geo.ParseVerticalRef(s)
	if err != nil {
		return fmt.Errorf("%q: want agl, amsl or wgs84", s)
	}
	f.ref = refNames[r]
	return nil
}

func (f *refFlag) geo() geo.VerticalRef {
	for g, p := range refNames {
		if p == f.ref {
			return g
		}
	}
	return geo.RefUnknown
}

// operatorFlags are who flies and why, on every check.
type operatorFlags struct {
	unit, pilot, drone string
	classification     string
	purpose            noflyv1.Purpose
	category           noflyv1.OperationCategory
}

func (o *operatorFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.unit, "unit", "", "police `unit` that flies")
	fs.StringVar(&o.pilot, "pilot", "", "remote pilot's `id`")
	fs.StringVar(&o.drone, "drone", "", "drone `serial` number")
	fs.StringVar(&o.classification, "classification", "", "the operation's `classification`, a level of the server's deployment policy (e.g. regular, confidential); default: the lowest, regular")
	fs.Func("purpose", "`PURPOSE` of the flight: "+strings.Join(purposeNames(), ", "), func(s string) error {
		p, ok := noflyv1.Purpose_value["PURPOSE_"+strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))]
		if !ok || p == 0 {
			return fmt.Errorf("%q: want one of %s", s, strings.Join(purposeNames(), ", "))
		}
		o.purpose = noflyv1.Purpose(p)
		return nil
	})
	fs.Func("category", "`CATEGORY` of operation: open, specific or certified; zones published for other categories only then do not count (default: every category counts)", func(s string) error {
		c, ok := noflyv1.OperationCategory_value["OPERATION_CATEGORY_"+strings.ToUpper(strings.TrimSpace(s))]
		if !ok || c == 0 {
			return fmt.Errorf("%q: want open, specific or certified", s)
		}
		o.category = noflyv1.OperationCategory(c)
		return nil
	})
}

// fmtCategories writes the categories of operation a zone variant applies
// to, as " [specific, certified]"; "" for every category.
func fmtCategories(cs []noflyv1.OperationCategory) string {
	if len(cs) == 0 {
		return ""
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = strings.ToLower(strings.TrimPrefix(c.String(), "OPERATION_CATEGORY_"))
	}
	return " [" + strings.Join(names, ", ") + "]"
}

func (o *operatorFlags) operator() *noflyv1.Operator {
	if o.unit == "" && o.pilot == "" && o.drone == "" {
		return nil
	}
	return &noflyv1.Operator{Unit: o.unit, PilotId: o.pilot, DroneSerial: o.drone}
}

// purposeNames lists the purposes as the --purpose flag takes them.
func purposeNames() []string {
	var names []string
	for n, v := range noflyv1.Purpose_value {
		if v != 0 {
			names = append(names, strings.ToLower(strings.TrimPrefix(n, "PURPOSE_")))
		}
	}
	sort.Slice(names, func(i, j int) bool {
		return noflyv1.Purpose_value["PURPOSE_"+strings.ToUpper(names[i])] < noflyv1.Purpose_value["PURPOSE_"+strings.ToUpper(names[j])]
	})
	return names
}

// parseBBox reads "WEST,SOUTH,EAST,NORTH" in degrees (GeoJSON's bbox
// order: min longitude, min latitude, max longitude, max latitude).
func parseBBox(s string) (*noflyv1.BoundingBox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return nil, fmt.Errorf("%q: want WEST,SOUTH,EAST,NORTH in degrees, e.g. 4.6,52.2,5.0,52.5", s)
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) {
			return nil, fmt.Errorf("%q: %q is not a number", s, p)
		}
		v[i] = f
	}
	return &noflyv1.BoundingBox{MinLongitude: v[0], MinLatitude: v[1], MaxLongitude: v[2], MaxLatitude: v[3]}, nil
}
