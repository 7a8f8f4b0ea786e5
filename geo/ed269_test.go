package geo

import (
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// ed269Zone is an ED-269 zone with identifier Z1, restriction PROHIBITED,
// the members in extra (each followed by a comma) and the volumes.
func ed269Zone(extra, volumes string) string {
	return `{"identifier":"Z1","restriction":"PROHIBITED",` + extra + `"geometry":[` + volumes + `]}`
}

const ed269Square = `{"uomDimensions":"M","lowerLimit":0,"lowerVerticalReference":"AGL","upperLimit":120,"upperVerticalReference":"AGL",
	"horizontalProjection":{"type":"Polygon","coordinates":[[[6,46],[6.1,46],[6.1,46.1],[6,46]]]}}`

func TestReadED269(t *testing.T) {
	cet := int32(3600)
	tests := []struct {
		name string
		data string
		want func(t *testing.T, z *Zone)
	}{
		{
			name: "bare array, feet, string limits, circle",
			data: `[` + ed269Zone(`"name":"Circle in feet","country":"CHE","reason":["AIR_TRAFFIC","OTHER"],"otherReasonInfo":"gliders",
				"message":"Call first","restrictionConditions":["RST01","RST02"],"regulationExemption":"NO","uSpaceClass":["EUROCONTROL"],`,
				`{"uomDimensions":"FT","lowerLimit":"100","lowerVerticalReference":"AMSL","upperLimit":"400","upperVerticalReference":"AMSL",
				  "horizontalProjection":{"type":"Circle","center":[7.5,46.9],"radius":500}}`) + `]`,
			want: func(t *testing.T, z *Zone) {
				v := z.Volumes[0]
				if v.Shape.Kind != ShapeCircle || v.Shape.Center != (orb.Point{7.5, 46.9}) || v.Shape.Radius != 500 {
					t.Errorf("shape %+v, want circle of 500 m around 7.5,46.9", v.Shape)
				}
				if v.Lower != (Limit{Metres: 30.48, Ref: AMSL}) || v.Upper != (Limit{Metres: 121.92, Ref: AMSL}) {
					t.Errorf("limits %s..%s, want 30.48 m AMSL..121.92 m AMSL", v.Lower, v.Upper)
				}
				if z.Name != "Circle in feet" || z.Country != "CHE" || z.Exemptions != ExemptionsNotAllowed {
					t.Errorf("name %q country %q exemptions %s", z.Name, z.Country, z.Exemptions)
				}
				if !slices.Equal(z.Reasons, []string{"AIR_TRAFFIC", "OTHER"}) {
					t.Errorf("reasons %v", z.Reasons)
				}
				if want := "Call first\nRST01\nRST02\ngliders"; z.Message != want {
					t.Errorf("message %q, want %q", z.Message, want)
				}
				if !z.Applicability.Permanent() {
					t.Errorf("no applicability should be permanent, got %+v", z.Applicability)
				}
			},
		},
		{
			name: "features wrapper, null limits are open",
			data: `{"title":"t","features":[` + ed269Zone(``,
				`{"uomDimensions":"M","lowerLimit":null,"lowerVerticalReference":"AGL","upperLimit":null,"upperVerticalReference":"AGL",
				  "horizontalProjection":{"type":"Polygon","coordinates":[[[6,46],[6.1,46],[6.1,46.1],[6,46]]]}}`) + `]}`,
			want: func(t *testing.T, z *Zone) {
				if v := z.Volumes[0]; !v.Lower.Open || !v.Upper.Open {
					t.Errorf("limits %s..%s, want open..open", v.Lower, v.Upper)
				}
				if z.Source.Format != FormatED269 {
					t.Errorf("format %q", z.Source.Format)
				}
			},
		},
		{
			name: "schedule with offsets, dailyPeriod, 24:00, two volumes",
			data: `{"UASZoneList":[` + ed269Zone(`"applicability":[{"permanent":"NO","startDateTime":"2025-01-01T00:00:00+01:00","endDateTime":"2025-12-31T23:59:59.5Z",
				"schedule":[{"day":["MON","WED"],"startTime":"08:00+01:00","endTime":"24:00+01:00"}],
				"dailyPeriod":[{"day":["ANY"],"startTime":"22:00:00","endTime":"02:00:00"}]}],
				"zoneAuthority":[{"name":"FOCA","service":"SFO","email":"a@b.ch","contactName":"X","siteURL":"https://b.ch","phone":"1","purpose":"AUTHORIZATION","intervalBefore":"P1D"}],`,
				ed269Square+`,`+ed269Square) + `]}`,
			want: func(t *testing.T, z *Zone) {
				if len(z.Volumes) != 2 {
					t.Errorf("%d volumes, want 2", len(z.Volumes))
				}
				want := []Period{{
					Start: time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC),
					End:   time.Date(2025, 12, 31, 23, 59, 59, 5e8, time.UTC),
					Schedule: []DailyPeriod{
						{Days: 1<<time.Monday | 1<<time.Wednesday, Start: 8 * 3600, End: 86400, Offset: cet},
						{Days: AllDays, Start: 22 * 3600, End: 2 * 3600},
					},
				}}
				if !periodsEqual(z.Applicability.Periods, want) {
					t.Errorf("periods %+v, want %+v", z.Applicability.Periods, want)
				}
				a := Authority{Name: "FOCA", Service: "SFO", Email: "a@b.ch", ContactName: "X", SiteURL: "https://b.ch", Phone: "1", Purpose: "AUTHORIZATION", IntervalBefore: "P1D"}
				if len(z.Authorities) != 1 || z.Authorities[0] != a {
					t.Errorf("authorities %+v", z.Authorities)
				}
			},
		},
		{
			name: "permanent with placeholder daily period",
			data: `[` + ed269Zone(`"applicability":[{"permanent":"YES","startDateTime":null,"endDateTime":null,"dailyPeriod":[{"day":[],"startTime":null,"endTime":null}]}],`, ed269Square) + `]`,
			want: func(t *testing.T, z *Zone) {
				if !z.Applicability.Permanent() {
					t.Errorf("applicability %+v, want permanent", z.Applicability)
				}
			},
		},
		{
			name: "placeholder daily period in a dated zone narrows nothing",
			data: `[` + ed269Zone(`"applicability":[{"permanent":"NO","startDateTime":"2025-01-01T00:00:00Z","dailyPeriod":[{"day":[],"startTime":null,"endTime":null}]}],`, ed269Square) + `]`,
			want: func(t *testing.T, z *Zone) {
				want := []Period{{Start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}}
				if !periodsEqual(z.Applicability.Periods, want) {
					t.Errorf("periods %+v, want %+v", z.Applicability.Periods, want)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zones, probs := readString(t, "z.json", tc.data)
			if probs != nil {
				t.Fatalf("problems:\n%s", fmtProblems(probs))
			}
			if len(zones) != 1 || zones[0].ID != "Z1" || zones[0].Restriction != Prohibited || zones[0].Source.Format != FormatED269 {
				t.Fatalf("zones %+v", zones)
			}
			tc.want(t, &zones[0])
		})
	}
}

func periodsEqual(a, b []Period) bool {
	return slices.EqualFunc(a, b, func(x, y Period) bool {
		return x.Start.Equal(y.Start) && x.End.Equal(y.End) && slices.EqualFunc(x.Schedule, y.Schedule, func(d, e DailyPeriod) bool {
			return d.Days == e.Days && d.Start == e.Start && d.End == e.End && d.Offset == e.Offset &&
				d.Loc.String() == e.Loc.String() && d.StartEvent == e.StartEvent && d.EndEvent == e.EndEvent
		})
	})
}

func TestReadED269Broken(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []Problem
	}{
		{
			name: "closed limit without unit",
			data: `[` + ed269Zone(``, `{"lowerLimit":0,"lowerVerticalReference":"AGL","upperLimit":null,"horizontalProjection":{"type":"Circle","center":[7,46],"radius":10}}`) + `]`,
			want: []Problem{{Feature: 0, ZoneID: "Z1", Field: "geometry[0].uomDimensions", Msg: `required for a closed limit: "M" or "FT"`}},
		},
		{
			name: "unknown unit and reference",
			data: `[` + ed269Zone(``, `{"uomDimensions":"KM","lowerLimit":0,"lowerVerticalReference":"GND","horizontalProjection":{"type":"Circle","center":[7,46],"radius":10}}`) + `]`,
			want: []Problem{
				{Feature: 0, ZoneID: "Z1", Field: "geometry[0].uomDimensions", Msg: `unknown unit "KM": want "M" or "FT"`},
				{Feature: 0, ZoneID: "Z1", Field: "geometry[0].lowerVerticalReference", Msg: `unknown vertical reference "GND" (want AGL, AMSL or WGS84)`},
			},
		},
		{
			name: "unknown reference of an open limit",
			data: `[` + ed269Zone(``, `{"uomDimensions":"M","upperLimit":null,"upperVerticalReference":"FL","horizontalProjection":{"type":"Circle","center":[7,46],"radius":10}}`) + `]`,
			want: []Problem{{Feature: 0, ZoneID: "Z1", Field: "geometry[0].upperVerticalReference", Msg: `unknown vertical reference "FL" (want AGL, AMSL or WGS84)`}},
		},
		{
			name: "closed limit without reference",
			data: `[` + ed269Zone(``, `{"uomDimensions":"M","upperLimit":"120","horizontalProjection":{"type":"Circle","center":[7,46],"radius":10}}`) + `]`,
			want: []Problem{{Feature: 0, ZoneID: "Z1", Field: "geometry[0].upperVerticalReference", Msg: "required for a closed limit: AGL, AMSL or WGS84"}},
		},
		{
			name: "limit text that is no number",
			data: `[` + ed269Zone(``, `{"uomDimensions":"M","upperLimit":"high","upperVerticalReference":"AGL","horizontalProjection":{"type":"Circle","center":[7,46],"radius":10}}`) + `]`,
			want: []Problem{{Feature: 0, ZoneID: "Z1", Field: "geometry[0].upperLimit", Msg: `want a number, got a string ("high") (line 1, column 94)`}},
		},
		{
			name: "circle without radius, center too short",
			data: `[` + ed269Zone(``, `{"horizontalProjection":{"type":"Circle","center":[7]}}`) + `]`,
			want: []Problem{
				{Feature: 0, ZoneID: "Z1", Field: "geometry[0].horizontalProjection.center", Msg: "position has 1 numbers; want [longitude, latitude] or [longitude, latitude, altitude]"},
				{Feature: 0, ZoneID: "Z1", Field: "geometry[0].horizontalProjection.radius", Msg: "required for a Circle: the radius in metres"},
			},
		},
		{
			name: "unsupported projection",
			data: `[` + ed269Zone(``, `{"horizontalProjection":{"type":"Ellipse"}}`) + `]`,
			want: []Problem{{Feature: 0, ZoneID: "Z1", Field: "geometry[0].horizontalProjection.type", Msg: `unsupported horizontal projection "Ellipse": want "Polygon" (with coordinates) or "Circle" (with center and radius)`}},
		},
		{
			name: "no geometry, no restriction",
			data: `[{"identifier":"Z1"}]`,
			want: []Problem{
				{Feature: 0, ZoneID: "Z1", Field: "geometry", Msg: "required: an array of volumes"},
				{Feature: 0, ZoneID: "Z1", Field: "restriction", Msg: "required: PROHIBITED, REQ_AUTHORISATION, CONDITIONAL or NO_RESTRICTION"},
			},
		},
		{
			name: "bad permanent, day and date",
			data: `[` + ed269Zone(`"applicability":[{"permanent":"SOMETIMES","startDateTime":"2025-13-01T00:00:00Z","schedule":[{"day":["MON","XYZ"],"startTime":"08:00","endTime":"09:00"}]}],`, ed269Square) + `]`,
			want: []Problem{
				{Feature: 0, ZoneID: "Z1", Field: "applicability[0].permanent", Msg: `want "YES" or "NO", got "SOMETIMES"`},
				{Feature: 0, ZoneID: "Z1", Field: "applicability[0].startDateTime", Msg: `want an RFC 3339 date-time such as "2025-06-01T08:00:00Z", got "2025-13-01T00:00:00Z"`},
				{Feature: 0, ZoneID: "Z1", Field: "applicability[0].schedule[0].day[1]", Msg: `unknown day "XYZ": want MON, TUE, WED, THU, FRI, SAT, SUN or ANY`},
			},
		},
		{
			name: "a bad date in a permanent item",
			data: `[` + ed269Zone(`"applicability":[{"permanent":"YES","startDateTime":"soon"}],`, ed269Square) + `]`,
			want: []Problem{{Feature: 0, ZoneID: "Z1", Field: "applicability[0].startDateTime", Msg: `want an RFC 3339 date-time such as "2025-06-01T08:00:00Z", got "soon"`}},
		},
		{
			name: "zone that is not an object",
			data: `[` + ed269Zone(``, ed269Square) + `, 5]`,
			want: []Problem{{Feature: 1, Field: "", Msg: "want an ED-269 zone (an object), got a number (5) (line 2, column 100)"}},
		},
		{
			name: "UASZoneList not an array",
			data: `{"UASZoneList":{}}`,
			want: []Problem{{Feature: -1, Field: "UASZoneList", Msg: "want an array of ED-269 zones, got an object"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := readString(t, "z.json", tc.data)
			for i := range tc.want {
				tc.want[i].File = "z.json"
			}
			if !slices.Equal(probs, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", fmtProblems(probs), fmtProblems(tc.want))
			}
		})
	}
}
