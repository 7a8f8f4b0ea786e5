package geo

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// validTestZone is a zone that passes Validate; tests break one thing in a copy.
func validTestZone() Zone {
	return Zone{
		ID:          "V1",
		Restriction: Prohibited,
		Volumes: []Volume{
			{
				Shape: Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{{{5, 52}, {5.1, 52}, {5.1, 52.1}, {5, 52}}}}},
				Lower: Limit{Metres: 0, Ref: AGL},
				Upper: Limit{Metres: 120, Ref: AGL},
			},
			{
				Shape: Shape{Kind: ShapeCircle, Center: orb.Point{5, 52}, Radius: 500},
				Lower: OpenLimit, Upper: OpenLimit,
			},
		},
		Applicability: Applicability{Periods: []Period{{
			Start:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			End:      time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC),
			Schedule: []DailyPeriod{{Days: AllDays, Start: 0, End: 86400, Offset: 3600}},
		}}},
		Source: Source{File: "f.json", Feature: 3, Format: FormatNofly},
	}
}

func TestValidate(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		mutate func(z *Zone)
		want   []Problem
	}{
		{"valid", func(z *Zone) {}, nil},
		{"empty id", func(z *Zone) { z.ID = "" }, []Problem{{Field: "id", Msg: "required: a zone needs a non-empty ID"}}},
		{"unknown restriction", func(z *Zone) { z.Restriction = 9 }, []Problem{{Field: "restriction", Msg: "required: PROHIBITED, REQ_AUTHORISATION, CONDITIONAL or NO_RESTRICTION"}}},
		{"no volumes", func(z *Zone) { z.Volumes = nil }, []Problem{{Field: "volumes", Msg: "required: a zone needs at least one volume"}}},
		{"no shape", func(z *Zone) { z.Volumes[1].Shape = Shape{} }, []Problem{{Field: "volumes[1].shape.polygons", Msg: "no shape: want polygons or a circle"}}},
		{"NaN longitude", func(z *Zone) {
			r := z.Volumes[0].Shape.Polygons[0][0]
			r[1][0] = nan
		}, []Problem{{Field: "volumes[0].shape.polygons[0][0][1]", Msg: "longitude NaN outside -180..180"}}},
		{"NaN first position: no closure check", func(z *Zone) {
			r := z.Volumes[0].Shape.Polygons[0][0]
			r[0] = orb.Point{nan, nan}
		}, []Problem{
			{Field: "volumes[0].shape.polygons[0][0][0]", Msg: "longitude NaN outside -180..180"},
			{Field: "volumes[0].shape.polygons[0][0][0]", Msg: "latitude NaN outside -90..90"},
		}},
		{"infinite latitude", func(z *Zone) { z.Volumes[0].Shape.Polygons[0][0][2][1] = math.Inf(-1) },
			[]Problem{{Field: "volumes[0].shape.polygons[0][0][2]", Msg: "latitude -Inf outside -90..90"}}},
		{"polygon without rings", func(z *Zone) { z.Volumes[0].Shape.Polygons = orb.MultiPolygon{{}} },
			[]Problem{{Field: "volumes[0].shape.polygons[0]", Msg: "polygon has no rings: want an outer ring, then any holes"}}},
		{"no polygons", func(z *Zone) { z.Volumes[0].Shape.Polygons = nil },
			[]Problem{{Field: "volumes[0].shape.polygons", Msg: "no polygons"}}},
		{"unclosed hole", func(z *Zone) {
			z.Volumes[0].Shape.Polygons[0] = append(z.Volumes[0].Shape.Polygons[0], orb.Ring{{5.01, 52.01}, {5.02, 52.01}, {5.02, 52.02}, {5.01, 52.03}})
		}, []Problem{{Field: "volumes[0].shape.polygons[0][1]", Msg: "ring not closed: last position [5.01 52.03] differs from first [5.01 52.01]"}}},
		{"NaN center and radius", func(z *Zone) { z.Volumes[1].Shape.Center[1] = nan; z.Volumes[1].Shape.Radius = nan }, []Problem{
			{Field: "volumes[1].shape.center", Msg: "latitude NaN outside -90..90"},
			{Field: "volumes[1].shape.radius", Msg: "radius NaN is not a finite number of metres"},
		}},
		{"NaN limit", func(z *Zone) { z.Volumes[0].Upper.Metres = nan },
			[]Problem{{Field: "volumes[0].upper", Msg: "height NaN m is not a finite number"}}},
		{"closed limit without reference", func(z *Zone) { z.Volumes[0].Lower.Ref = RefUnknown },
			[]Problem{{Field: "volumes[0].lower.ref", Msg: "required for a closed limit: AGL, AMSL or WGS84"}}},
		{"open limit needs no reference", func(z *Zone) { z.Volumes[0].Upper = Limit{Open: true, Metres: nan} }, nil},
		{"lower above upper", func(z *Zone) { z.Volumes[0].Lower.Metres = 200 },
			[]Problem{{Field: "volumes[0].lower", Msg: "lower limit 200 m AGL is above upper limit 120 m AGL"}}},
		{"lower above upper in other references passes", func(z *Zone) { z.Volumes[0].Lower = Limit{Metres: 200, Ref: AMSL} }, nil},
		{"equal limits pass", func(z *Zone) { z.Volumes[0].Lower.Metres = 120 }, nil},
		{"end before start", func(z *Zone) { z.Applicability.Periods[0].End = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) },
			[]Problem{{Field: "applicability.periods[0].end", Msg: "end 2024-01-01T00:00:00Z before start 2025-01-01T00:00:00Z"}}},
		{"schedule out of range", func(z *Zone) {
			d := &z.Applicability.Periods[0].Schedule[0]
			d.Days, d.Start, d.End, d.Offset = 0, -1, 86401, 86400
		}, []Problem{
			{Field: "applicability.periods[0].schedule[0].days", Msg: "no days: want one or more of MON, TUE, WED, THU, FRI, SAT, SUN, or ANY"},
			{Field: "applicability.periods[0].schedule[0].start", Msg: "-1 s after midnight is outside 0..86400"},
			{Field: "applicability.periods[0].schedule[0].end", Msg: "86401 s after midnight is outside 0..86400"},
			{Field: "applicability.periods[0].schedule[0].start", Msg: "UTC offset 86400 s is a day or more"},
		}},
		{"unknown day bits and daylight event", func(z *Zone) {
			d := &z.Applicability.Periods[0].Schedule[0]
			d.Days, d.EndEvent = 0x80|1, "DUSK"
		}, []Problem{
			{Field: "applicability.periods[0].schedule[0].days", Msg: "unknown days in set 0x81"},
			{Field: "applicability.periods[0].schedule[0].end", Msg: `unknown daylight event "DUSK" (want BMCT, SR, SS or EECT)`},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z := validTestZone()
			tc.mutate(&z)
			for i := range tc.want {
				tc.want[i].File, tc.want[i].Feature, tc.want[i].ZoneID = "f.json", 3, z.ID
			}
			if got := Validate(&z); !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", fmtProblems(got), fmtProblems(tc.want))
			}
		})
	}
}

func TestValidatePolygonsForQueries(t *testing.T) {
	var got []string
	validatePolygons(func(field, msg string) { got = append(got, field+": "+msg) }, "area",
		orb.MultiPolygon{{{{5, 52}, {5.1, 52}, {5, 52}}}, {{{5, 52}, {5.1, 52}, {5.1, 91}, {5, 52}}}})
	want := []string{
		"area[0][0]: ring has 3 positions: want at least 4, the last repeating the first",
		"area[1][0][2]: latitude 91 outside -90..90",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestNewIndexValidates(t *testing.T) {
	z := validTestZone()
	z.Volumes[1].Shape.Radius = -1
	_, err := NewIndex([]Zone{z})
	if err == nil {
		t.Fatal("NewIndex accepted a zone with a negative radius")
	}
	var le *LoadError
	if !errors.As(err, &le) || len(le.Problems) != 1 || le.Problems[0].Field != "volumes[1].shape.radius" {
		t.Errorf("error %v, want the radius problem", err)
	}
}
