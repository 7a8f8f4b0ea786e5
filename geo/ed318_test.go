package geo

import (
	"slices"
	"testing"
	"time"
)

// ed318 is an ED-318 collection of one feature with identifier Z1, type
// PROHIBITED, the given extra properties (each followed by a comma) and
// geometry.
func ed318(extraProps, geometry string) string {
	return `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{` + extraProps +
		`"identifier":"Z1","country":"FRA","type":"PROHIBITED","variant":"COMMON","zoneAuthority":[{"purpose":"INFORMATION"}]},"geometry":` + geometry + `}]}`
}

const ed318Ring = `[[[2.5,49],[2.6,49],[2.6,49.1],[2.5,49]]]`

func TestReadED318(t *testing.T) {
	tests := []struct {
		name string
		data string
		want func(t *testing.T, z *Zone)
	}{
		{
			name: "English name picked, conditions and other reason in the message",
			data: ed318(`"name":[{"text":"Zone A","lang":"fr-FR"},{"text":"Area A","lang":"en-GB"}],"message":[{"text":"Attention","lang":"fr-FR"}],
				"restrictionConditions":"Permit needed","otherReasonInfo":[{"text":"Whales","lang":"en"}],"regulationExemption":"YES","reason":["OTHER"],
				"extendedProperties":{"colour":"red"},"region":3,`,
				`{"type":"Polygon","coordinates":`+ed318Ring+`,"layer":{"upper":500,"upperReference":"AMSL","lower":100,"lowerReference":"AMSL","uom":"ft"}}`),
			want: func(t *testing.T, z *Zone) {
				if z.Name != "Area A" || z.Message != "Attention\nPermit needed\nWhales" || z.Exemptions != ExemptionsAllowed || z.Country != "FRA" {
					t.Errorf("name %q message %q exemptions %s country %q", z.Name, z.Message, z.Exemptions, z.Country)
				}
				if v := z.Volumes[0]; v.Lower != (Limit{Metres: 30.48, Ref: AMSL}) || v.Upper != (Limit{Metres: 152.4, Ref: AMSL}) {
					t.Errorf("limits %s..%s, want 30.48 m AMSL..152.4 m AMSL", v.Lower, v.Upper)
				}
				if len(z.Authorities) != 1 || z.Authorities[0].Purpose != "INFORMATION" {
					t.Errorf("authorities %+v", z.Authorities)
				}
			},
		},
		{
			name: "name as a plain string, no English: the first",
			data: ed318(`"name":"Plain",`, `{"type":"Polygon","coordinates":`+ed318Ring+`}`),
			want: func(t *testing.T, z *Zone) {
				if z.Name != "Plain" {
					t.Errorf("name %q", z.Name)
				}
				// No layer: open at both ends.
				if v := z.Volumes[0]; v.Lower != OpenLimit || v.Upper != OpenLimit {
					t.Errorf("limits %s..%s, want open..open", v.Lower, v.Upper)
				}
			},
		},
		{
			name: "99999 ft is no ceiling",
			data: ed318(``, `{"type":"Polygon","coordinates":`+ed318Ring+`,"layer":{"upper":99999,"upperReference":"AMSL","lower":0,"lowerReference":"AGL","uom":"ft"}}`),
			want: func(t *testing.T, z *Zone) {
				if v := z.Volumes[0]; v.Lower != (Limit{Metres: 0, Ref: AGL}) || !v.Upper.Open {
					t.Errorf("limits %s..%s, want 0 m AGL..open", v.Lower, v.Upper)
				}
			},
		},
		{
			name: "collection layer inherited, member layer kept, circle and multipolygon",
			data: ed318(``, `{"type":"GeometryCollection","layer":{"upper":120,"upperReference":"AGL","lower":0,"lowerReference":"AGL"},"geometries":[
				{"type":"Point","coordinates":[2.6,50.1],"extent":{"subType":"Circle","radius":3500}},
				{"type":"MultiPolygon","coordinates":[`+ed318Ring+`,`+ed318Ring+`],"layer":{"upper":50,"upperReference":"WGS84","lower":10,"lowerReference":"WGS84","uom":"m"}}]}`),
			want: func(t *testing.T, z *Zone) {
				if len(z.Volumes) != 2 {
					t.Fatalf("%d volumes, want 2", len(z.Volumes))
				}
				c, m := z.Volumes[0], z.Volumes[1]
				if c.Shape.Kind != ShapeCircle || c.Shape.Radius != 3500 || c.Lower != (Limit{0, AGL, false}) || c.Upper != (Limit{120, AGL, false}) {
					t.Errorf("circle volume %+v", c)
				}
				if m.Shape.Kind != ShapePolygon || len(m.Shape.Polygons) != 2 || m.Lower != (Limit{10, WGS84, false}) || m.Upper != (Limit{50, WGS84, false}) {
					t.Errorf("multipolygon volume %+v", m)
				}
			},
		},
		{
			name: "daylight events, fractions round outward, USPACE",
			data: `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"identifier":"U1","type":"USPACE",
				"limitedApplicability":[{"startDateTime":"2025-03-01T00:00:00Z","schedule":[
					{"day":["SAT","SUN"],"startEvent":"SR","endEvent":"SS"},
					{"day":["FRI"],"startTime":"08:00:00.75Z","endTime":"09:30:10.25Z"}]}]},
				"geometry":{"type":"Polygon","coordinates":` + ed318Ring + `}}]}`,
			want: func(t *testing.T, z *Zone) {
				if z.ID != "U1" || z.Restriction != ReqAuthorisation {
					t.Errorf("id %q restriction %s", z.ID, z.Restriction)
				}
				want := []Period{{Start: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Schedule: []DailyPeriod{
					{Days: 1<<time.Saturday | 1<<time.Sunday, Start: 0, End: 86400, StartEvent: "SR", EndEvent: "SS"},
					{Days: 1 << time.Friday, Start: 8 * 3600, End: 9*3600 + 30*60 + 11},
				}}}
				if !periodsEqual(z.Applicability.Periods, want) {
					t.Errorf("periods %+v, want %+v", z.Applicability.Periods, want)
				}
			},
		},
		{
			name: "empty limitedApplicability is permanent",
			data: ed318(`"limitedApplicability":[],`, `{"type":"Polygon","coordinates":`+ed318Ring+`}`),
			want: func(t *testing.T, z *Zone) {
				if !z.Applicability.Permanent() {
					t.Errorf("applicability %+v", z.Applicability)
				}
			},
		},
		{
			name: "marked by a layer only",
			data: `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"identifier":"L1","type":"CONDITIONAL"},
				"geometry":{"type":"Polygon","coordinates":` + ed318Ring + `,"layer":{"lower":0,"lowerReference":"AGL"}}}]}`,
			want: func(t *testing.T, z *Zone) {
				if z.Restriction != Conditional || z.Volumes[0].Lower != (Limit{0, AGL, false}) || !z.Volumes[0].Upper.Open {
					t.Errorf("zone %+v", z)
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
			if len(zones) != 1 || zones[0].Source.Format != FormatED318 {
				t.Fatalf("zones %+v", zones)
			}
			tc.want(t, &zones[0])
		})
	}
}

func TestReadED318Broken(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []Problem
	}{
		{
			name: "point without extent",
			data: ed318(``, `{"type":"Point","coordinates":[2.6,50.1]}`),
			want: []Problem{{Feature: 0, ZoneID: "Z1", Field: "geometry.extent", Msg: `required for a Point: {"subType": "Circle", "radius": metres}`}},
		},
		{
			name: "extent that is not a circle, without radius",
			data: ed318(``, `{"type":"Point","coordinates":[2.6,50.1],"extent":{"subType":"Square"}}`),
			want: []Problem{
				{Feature: 0, ZoneID: "Z1", Field: "geometry.extent.subType", Msg: `want "Circle", got a string ("Square")`},
				{Feature: 0, ZoneID: "Z1", Field: "geometry.extent.radius", Msg: "required: the circle's radius in metres"},
			},
		},
		{
			name: "unknown unit and reference",
			data: ed318(``, `{"type":"Polygon","coordinates":`+ed318Ring+`,"layer":{"upper":100,"upperReference":"QFE","uom":"yd"}}`),
			want: []Problem{
				{Feature: 0, ZoneID: "Z1", Field: "geometry.layer.uom", Msg: `unknown unit "yd": want "m" or "ft"`},
				{Feature: 0, ZoneID: "Z1", Field: "geometry.layer.upperReference", Msg: `unknown vertical reference "QFE" (want AGL, AMSL or WGS84)`},
			},
		},
		{
			name: "unknown reference of an open limit",
			data: ed318(``, `{"type":"Polygon","coordinates":`+ed318Ring+`,"layer":{"upper":99999,"upperReference":"STD","lower":0,"lowerReference":"AGL"}}`),
			want: []Problem{{Feature: 0, ZoneID: "Z1", Field: "geometry.layer.upperReference", Msg: `unknown vertical reference "STD" (want AGL, AMSL or WGS84)`}},
		},
		{
			name: "lower above upper in one layer",
			data: ed318(``, `{"type":"Polygon","coordinates":`+ed318Ring+`,"layer":{"upper":50,"upperReference":"AGL","lower":150,"lowerReference":"AGL"}}`),
			want: []Problem{{Feature: 0, ZoneID: "Z1", Field: "geometry.layer.lower", Msg: "lower limit 150 m AGL is above upper limit 50 m AGL"}},
		},
		{
			name: "different references are not compared",
			data: ed318(``, `{"type":"Polygon","coordinates":`+ed318Ring+`,"layer":{"upper":50,"upperReference":"AGL","lower":150,"lowerReference":"AMSL"}}`),
			want: nil,
		},
		{
			name: "nested collection and unsupported member",
			data: ed318(``, `{"type":"GeometryCollection","geometries":[{"type":"GeometryCollection","geometries":[]},{"type":"LineString","coordinates":[[2,49],[3,49]]}]}`),
			want: []Problem{
				{Feature: 0, ZoneID: "Z1", Field: "geometry.geometries[0].type", Msg: "a GeometryCollection inside a GeometryCollection is not supported: want " + ed318Geometries},
				{Feature: 0, ZoneID: "Z1", Field: "geometry.geometries[1].type", Msg: `unsupported geometry type "LineString": want ` + ed318Geometries},
			},
		},
		{
			name: "nofly id in an ED-318 file",
			data: `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"N1","type":"PROHIBITED"},"geometry":{"type":"Polygon","coordinates":` + ed318Ring + `}}]}`,
			want: []Problem{{Feature: 0, Field: "properties.identifier", Msg: `required: ED-318 names a zone by properties.identifier (this file reads as ED-318 because feature 0 has properties.type "PROHIBITED"; nofly's own format uses properties.id)`}},
		},
		{
			name: "unknown type and daylight event",
			data: `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"identifier":"Z1","type":"RESTRICTED",
				"limitedApplicability":[{"schedule":[{"day":["ANY"],"startEvent":"NOON"}]}]},"geometry":{"type":"Polygon","coordinates":` + ed318Ring + `}}]}`,
			want: []Problem{
				{Feature: 0, ZoneID: "Z1", Field: "properties.type", Msg: `unknown restriction "RESTRICTED" (want PROHIBITED, REQ_AUTHORISATION, CONDITIONAL or NO_RESTRICTION)`},
				{Feature: 0, ZoneID: "Z1", Field: "properties.limitedApplicability[0].schedule[0].startEvent", Msg: `unknown daylight event "NOON": want BMCT, SR, SS or EECT`},
			},
		},
		{
			name: "a wrong time beside a daylight event",
			data: ed318(`"limitedApplicability":[{"schedule":[{"day":["ANY"],"startEvent":"SR","startTime":"dawn"}]}],`, `{"type":"Polygon","coordinates":`+ed318Ring+`}`),
			want: []Problem{{Feature: 0, ZoneID: "Z1", Field: "properties.limitedApplicability[0].schedule[0].startTime",
				Msg: `want a time of day "HH:MM", "HH:MM:SS" or "HH:MM:SS.fff", optionally followed by "Z" or an offset like "+01:00", got "dawn"`}},
		},
		{
			name: "different offsets in one daily period",
			data: ed318(`"limitedApplicability":[{"schedule":[{"day":["ANY"],"startTime":"08:00+01:00","endTime":"17:00Z"}]}],`, `{"type":"Polygon","coordinates":`+ed318Ring+`}`),
			want: []Problem{{Feature: 0, ZoneID: "Z1", Field: "properties.limitedApplicability[0].schedule[0].endTime", Msg: "UTC offset +00:00 differs from the start's +01:00: give both times in one offset"}},
		},
		{
			name: "metadata and dataSource date-times",
			data: `{"type":"FeatureCollection","metadata":{"validFrom":"2025-02-01T00:00:00Z","validTo":"2025-01-01T00:00:00Z","issued":"yesterday"},
				"features":[{"type":"Feature","properties":{"identifier":"Z1","type":"PROHIBITED","dataSource":{"creationDate":5}},"geometry":{"type":"Polygon","coordinates":` + ed318Ring + `}}]}`,
			want: []Problem{
				{Feature: -1, Field: "metadata.issued", Msg: `want an RFC 3339 date-time such as "2025-06-01T08:00:00Z", got "yesterday"`},
				{Feature: -1, Field: "metadata.validTo", Msg: "before metadata.validFrom"},
				{Feature: 0, ZoneID: "Z1", Field: "properties.dataSource.creationDate", Msg: `want a date-time string such as "2025-06-01T08:00:00Z" (RFC 3339), got a number (5) (line 2, column 116)`},
			},
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
