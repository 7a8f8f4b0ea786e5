package geo

import (
	"slices"
	"testing"
	"time"
)

func TestReadNofly(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		props    string
		geometry string
		want     func(t *testing.T, z *Zone)
	}{
		{
			name:  "defaults: prohibited, open from the ground without ceiling, always",
			props: `{"id":"A"}`, geometry: readSquare,
			want: func(t *testing.T, z *Zone) {
				if z.Restriction != Prohibited || z.Volumes[0].Lower != OpenLimit || z.Volumes[0].Upper != OpenLimit ||
					!z.Applicability.Permanent() || z.Exemptions != ExemptionsUnspecified {
					t.Errorf("zone %+v", z)
				}
			},
		},
		{
			name:  "limits default to AGL, feet convert",
			props: `{"id":"A","lower_ft":100,"upper_m":120,"upper_ref":"amsl"}`, geometry: readSquare,
			want: func(t *testing.T, z *Zone) {
				if v := z.Volumes[0]; v.Lower != (Limit{30.48, AGL, false}) || v.Upper != (Limit{120, AMSL, false}) {
					t.Errorf("limits %s..%s", v.Lower, v.Upper)
				}
			},
		},
		{
			name:  "integer ids, properties first",
			props: `{"id":42}`, geometry: readSquare,
			want: func(t *testing.T, z *Zone) {
				if z.ID != "42" {
					t.Errorf("id %q", z.ID)
				}
			},
		},
		{
			name:  "circle",
			props: `{"id":"C","radius_m":250.5}`, geometry: `{"type":"Point","coordinates":[5,52,10]}`,
			want: func(t *testing.T, z *Zone) {
				if s := z.Volumes[0].Shape; s.Kind != ShapeCircle || s.Radius != 250.5 || s.Center[0] != 5 || s.Center[1] != 52 {
					t.Errorf("shape %+v", s)
				}
			},
		},
		{
			name: "schedules: time zone, offset, default UTC and every day, 24:00",
			props: `{"id":"S","active":[{"start":"2025-06-01T00:00:00Z","schedule":[
				{"days":["sat","SUN"],"start":"08:00","end":"18:00","tz":"Europe/Amsterdam"},
				{"days":["ANY"],"start":"22:00-05:00","end":"24:00-05:00"},
				{"start":"12:00:30"}]},
				{"end":"2026-01-01T00:00:00.5+01:00"}]}`,
			geometry: readSquare,
			want: func(t *testing.T, z *Zone) {
				want := []Period{
					{Start: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), Schedule: []DailyPeriod{
						{Days: 1<<time.Saturday | 1<<time.Sunday, Start: 8 * 3600, End: 18 * 3600, Loc: ams},
						{Days: AllDays, Start: 22 * 3600, End: 86400, Offset: -5 * 3600},
						{Days: AllDays, Start: 12*3600 + 30, End: 86400},
					}},
					{End: time.Date(2025, 12, 31, 23, 0, 0, 5e8, time.UTC)},
				}
				if !periodsEqual(z.Applicability.Periods, want) {
					t.Errorf("periods %+v\nwant %+v", z.Applicability.Periods, want)
				}
			},
		},
		{
			name:  "empty active is always",
			props: `{"id":"A","active":[]}`, geometry: readSquare,
			want: func(t *testing.T, z *Zone) {
				if !z.Applicability.Permanent() {
					t.Errorf("applicability %+v", z.Applicability)
				}
			},
		},
		{
			name:  "an unbounded period without schedule makes the zone always active",
			props: `{"id":"A","active":[{"start":"2025-06-01T00:00:00Z","end":"2025-07-01T00:00:00Z"},{}]}`, geometry: readSquare,
			want: func(t *testing.T, z *Zone) {
				if !z.Applicability.Permanent() {
					t.Errorf("applicability %+v", z.Applicability)
				}
			},
		},
		{
			name: "texts, authorities, unknown properties ignored",
			props: `{"id":"T","name":"N","country":"NLD","reasons":["PRIVACY"],"message":"M","exemptions":"no","fid":7,"stroke":"#ff0000",
				"authority":[{"name":"A1","service":"S","contact_name":"C","email":"e@x","phone":"1","site_url":"https://x"},{"name":"A2"}]}`,
			geometry: readSquare,
			want: func(t *testing.T, z *Zone) {
				if z.Name != "N" || z.Country != "NLD" || !slices.Equal(z.Reasons, []string{"PRIVACY"}) || z.Message != "M" || z.Exemptions != ExemptionsNotAllowed {
					t.Errorf("zone %+v", z)
				}
				want := []Authority{{Name: "A1", Service: "S", ContactName: "C", Email: "e@x", Phone: "1", SiteURL: "https://x"}, {Name: "A2"}}
				if !slices.Equal(z.Authorities, want) {
					t.Errorf("authorities %+v", z.Authorities)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zones, probs := readString(t, "n.geojson", noflyFeature(tc.props, tc.geometry))
			if probs != nil {
				t.Fatalf("problems:\n%s", fmtProblems(probs))
			}
			if len(zones) != 1 || zones[0].Source != (Source{File: "n.geojson", Feature: 0, Format: FormatNofly}) {
				t.Fatalf("zones %+v", zones)
			}
			tc.want(t, &zones[0])
		})
	}
}

func TestReadNoflyFeatureID(t *testing.T) {
	data := `{"type":"FeatureCollection","features":[{"type":"Feature","id":"F1","properties":{},"geometry":` + readSquare + `}]}`
	zones, probs := readString(t, "n.geojson", data)
	if probs != nil || zones[0].ID != "F1" {
		t.Errorf("zones %+v problems %v; want the Feature's id F1", zones, probs)
	}
}

func TestReadNoflyBroken(t *testing.T) {
	tests := []struct {
		name     string
		props    string
		geometry string
		want     []Problem
	}{
		{
			name:  "fractional id",
			props: `{"id":1.5}`, geometry: readSquare,
			want: []Problem{{Feature: 0, Field: "properties.id", Msg: "want a string or an integer, got a number (1.5) (line 1, column 78)"}},
		},
		{
			name:  "metres and feet",
			props: `{"id":"A","lower_m":0,"lower_ft":0}`, geometry: readSquare,
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.lower_ft", Msg: "give lower_m or lower_ft, not both"}},
		},
		{
			name:  "unknown reference of an open limit",
			props: `{"id":"A","upper_m":null,"upper_ref":"QNH"}`, geometry: readSquare,
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.upper_ref", Msg: `unknown vertical reference "QNH" (want AGL, AMSL or WGS84)`}},
		},
		{
			name:  "radius on a polygon",
			props: `{"id":"A","radius_m":100}`, geometry: readSquare,
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.radius_m", Msg: "only a Point geometry has a radius; remove it or make the geometry a Point"}},
		},
		{
			name:  "time zone and offset",
			props: `{"id":"A","active":[{"schedule":[{"start":"08:00+01:00","end":"09:00+01:00","tz":"Europe/Paris"}]}]}`, geometry: readSquare,
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.active[0].schedule[0].tz", Msg: "give a time zone or UTC offsets in start and end, not both"}},
		},
		{
			name:  "unknown and machine-local time zones",
			props: `{"id":"A","active":[{"schedule":[{"tz":"Mars/Olympus"},{"tz":"Local"}]}]}`, geometry: readSquare,
			want: []Problem{
				{Feature: 0, ZoneID: "A", Field: "properties.active[0].schedule[0].tz", Msg: `unknown time zone "Mars/Olympus": want an IANA name such as "Europe/Amsterdam" or "UTC"`},
				{Feature: 0, ZoneID: "A", Field: "properties.active[0].schedule[1].tz", Msg: `want an IANA time zone name such as "Europe/Amsterdam" or "UTC", got "Local"`},
			},
		},
		{
			name:  "24:00 as a start",
			props: `{"id":"A","active":[{"schedule":[{"start":"24:00","end":"24:00"}]}]}`, geometry: readSquare,
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.active[0].schedule[0].start",
				Msg: `want a time of day "HH:MM", "HH:MM:SS" or "HH:MM:SS.fff", optionally followed by "Z" or an offset like "+01:00", got "24:00": 24:00 can only end a period`}},
		},
		{
			name:  "exemptions neither YES nor NO",
			props: `{"id":"A","exemptions":"maybe"}`, geometry: readSquare,
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "properties.exemptions", Msg: `want "YES" or "NO", got "maybe"`}},
		},
		{
			name:  "properties missing",
			props: `null`, geometry: readSquare,
			want: []Problem{{Feature: 0, Field: "properties", Msg: "required: a zone needs at least properties.id"}},
		},
		{
			name:  "multipolygon given as a polygon",
			props: `{"id":"A"}`, geometry: `{"type":"MultiPolygon","coordinates":[[[5,52],[5.1,52],[5.1,52.1],[5,52]]]}`,
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "geometry.coordinates", Msg: "want an array of polygons (each an array of rings), got an array of arrays of positions"}},
		},
		{
			name:  "polygon without rings and coordinates not an array",
			props: `{"id":"A"}`, geometry: `{"type":"Polygon","coordinates":[]}`,
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "geometry.coordinates", Msg: "polygon has no rings: want an outer ring, then any holes"}},
		},
		{
			name:  "coordinates a string",
			props: `{"id":"A"}`, geometry: `{"type":"Polygon","coordinates":"5,52"}`,
			want: []Problem{{Feature: 0, ZoneID: "A", Field: "geometry.coordinates", Msg: `want an array, got a string ("5,52") (line 1, column 126)`}},
		},
		{
			name:  "altitudes in positions are ignored",
			props: `{"id":"A"}`, geometry: `{"type":"Polygon","coordinates":[[[5,52,1],[5.1,52,2],[5.1,52.1,3],[5,52,1]]]}`,
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := readString(t, "n.geojson", noflyFeature(tc.props, tc.geometry))
			for i := range tc.want {
				tc.want[i].File = "n.geojson"
			}
			if !slices.Equal(probs, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", fmtProblems(probs), fmtProblems(tc.want))
			}
		})
	}
}

func TestDetectFormat(t *testing.T) {
	poly := `{"type":"Polygon","coordinates":[[[5,52],[5.1,52],[5.1,52.1],[5,52]]]}`
	ed269 := `{"identifier":"E1","restriction":"PROHIBITED","geometry":[{"horizontalProjection":{"type":"Circle","center":[5,52],"radius":10}}]}`
	tests := []struct {
		name, data, format string
		zones              int
	}{
		{"bare array", `[` + ed269 + `]`, FormatED269, 1},
		{"UASZoneList", `{"formatVersion":"1.0","UASZoneList":[` + ed269 + `]}`, FormatED269, 1},
		{"features of ED-269 zones", `{"title":"x","features":[` + ed269 + `]}`, FormatED269, 1},
		{"identifier", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"identifier":"I","type":"PROHIBITED"},"geometry":` + poly + `}]}`, FormatED318, 1},
		{"ED-318 type", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"identifier":"I","type":"REQ_AUTHORIZATION"},"geometry":` + poly + `}]}`, FormatED318, 1},
		{"extent", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"identifier":"I","type":"PROHIBITED"},"geometry":{"type":"Point","coordinates":[5,52],"extent":{"subType":"Circle","radius":5}}}]}`, FormatED318, 1},
		{"nofly", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"N","restriction":"PROHIBITED"},"geometry":` + poly + `}]}`, FormatNofly, 1},
		{"single Feature", `{"type":"Feature","properties":{"id":"N"},"geometry":` + poly + `}`, FormatNofly, 1},
		{"empty collection", `{"type":"FeatureCollection","features":[]}`, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zones, probs := readString(t, "d.json", tc.data)
			if probs != nil {
				t.Fatalf("problems:\n%s", fmtProblems(probs))
			}
			if len(zones) != tc.zones {
				t.Fatalf("%d zones, want %d", len(zones), tc.zones)
			}
			for _, z := range zones {
				if z.Source.Format != tc.format {
					t.Errorf("format %q, want %q", z.Source.Format, tc.format)
				}
			}
		})
	}
}
