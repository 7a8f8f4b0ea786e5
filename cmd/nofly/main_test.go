package main

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{in: "now", want: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)},
		{in: "+2h", want: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)},
		{in: "+90m", want: time.Date(2026, 5, 1, 11, 30, 0, 0, time.UTC)},
		{in: "-30m", want: time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)},
		{in: "+1h30m", want: time.Date(2026, 5, 1, 11, 30, 0, 0, time.UTC)},
		{in: "2026-05-01T14:00:00+02:00", want: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)},
		{in: "2026-05-01T14:00:00Z", want: time.Date(2026, 5, 1, 14, 0, 0, 0, time.UTC)},
		{in: "tomorrow", err: true},
		{in: "+2 hours", err: true},
		{in: "2026-05-01 14:00", err: true},
		{in: "", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseTime(tc.in, now)
			if tc.err {
				if err == nil {
					t.Fatalf("parseTime(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Errorf("parseTime(%q) = %v, want %v in UTC", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"now", "+2h", "-30m", "2026-05-01T14:00:00+02:00", "+9999999h"} {
		f.Add(s)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if got, err := parseTime(s, now); err == nil && got.Location() != time.UTC {
			t.Fatalf("parseTime(%q) = %v, not UTC", s, got)
		}
	})
}

func TestParseBBox(t *testing.T) {
	b, err := parseBBox("4.6, 52.2,5.0,52.5")
	if err != nil {
		t.Fatal(err)
	}
	want := &noflyv1.BoundingBox{MinLongitude: 4.6, MinLatitude: 52.2, MaxLongitude: 5.0, MaxLatitude: 52.5}
	if !proto.Equal(b, want) {
		t.Errorf("got %v, want %v", b, want)
	}
	for _, s := range []string{"", "1,2,3", "1,2,3,x", "1,2,3,4,5", "NaN,1,2,3"} {
		if _, err := parseBBox(s); err == nil {
			t.Errorf("parseBBox(%q): want an error", s)
		}
	}
}

func FuzzParseBBox(f *testing.F) {
	f.Add("4.6,52.2,5.0,52.5")
	f.Fuzz(func(t *testing.T, s string) { _, _ = parseBBox(s) })
}

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		args []string
		pos  []string
		buf  float64
	}{
		{args: []string{"plan.geojson", "--buffer", "5"}, pos: []string{"plan.geojson"}, buf: 5},
		{args: []string{"--buffer", "5", "plan.geojson"}, pos: []string{"plan.geojson"}, buf: 5},
		{args: []string{"a", "--buffer=7", "b"}, pos: []string{"a", "b"}, buf: 7},
		{args: []string{"--", "--buffer"}, pos: []string{"--buffer"}},
		{args: []string{"a", "--", "-b"}, pos: []string{"a", "-b"}},
	}
	for _, tc := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		buf := fs.Float64("buffer", 0, "")
		pos, err := parseInterleaved(fs, tc.args)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if !slices.Equal(pos, tc.pos) || *buf != tc.buf {
			t.Errorf("%v: arguments %q, buffer %v; want %q, %v", tc.args, pos, *buf, tc.pos, tc.buf)
		}
	}
}

func TestFormatting(t *testing.T) {
	if got := fmtLegs([]int32{0, 1, 2, 5, 7, 8}); got != "0-2,5,7-8" {
		t.Errorf("fmtLegs = %q", got)
	}
	agl := noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL
	for _, tc := range []struct {
		b    *noflyv1.HeightBand
		want string
	}{
		{&noflyv1.HeightBand{LowerM: proto.Float64(0), UpperM: proto.Float64(120), Reference: agl}, "0–120 m AGL"},
		{&noflyv1.HeightBand{LowerM: proto.Float64(100), UpperM: proto.Float64(100), Reference: agl}, "100 m AGL"},
		{&noflyv1.HeightBand{UpperM: proto.Float64(120), Reference: agl}, "≤ 120 m AGL"},
		{&noflyv1.HeightBand{LowerM: proto.Float64(50), Reference: agl}, "≥ 50 m AGL"},
		{&noflyv1.HeightBand{}, "any height"},
	} {
		if got := fmtBand(tc.b); got != tc.want {
			t.Errorf("fmtBand(%v) = %q, want %q", tc.b, got, tc.want)
		}
	}
	if got := cell("a  long\nmessage that goes on", 10); got != "a long me…" {
		t.Errorf("cell = %q", got)
	}
	if got := lastReason(`connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"`); got != "connection refused" {
		t.Errorf("lastReason = %q", got)
	}
}

func TestPrintResult(t *testing.T) {
	var b strings.Builder
	printResult(&b, checkResult{
		verdict: noflyv1.Verdict_VERDICT_DENIED,
		conflicts: []*noflyv1.ZoneHit{{
			Zone:       &noflyv1.ZoneSummary{Id: "Z1", Name: "Zone one", Restriction: noflyv1.Restriction_RESTRICTION_PROHIBITED, Message: "keep out"},
			Inside:     true,
			HeightBand: &noflyv1.HeightBand{LowerM: proto.Float64(0), UpperM: proto.Float64(120), Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL},
		}},
		advisories: []*noflyv1.ZoneHit{{
			Zone:             &noflyv1.ZoneSummary{Id: "Z2", Restriction: noflyv1.Restriction_RESTRICTION_CONDITIONAL},
			ClosestApproachM: 42.4,
		}},
		caveats: []*noflyv1.Caveat{{Kind: noflyv1.CaveatKind_CAVEAT_KIND_NO_ALTITUDE, Text: "flight height not given"}},
	}, "Position X")
	want := `DENIED — 1 blocking zone; 1 advisory: read the conditions
Position X

Blocking zones:
  ID  NAME      RESTRICTION  HEIGHTS      DISTANCE  MESSAGE
  Z1  Zone one  PROHIBITED   0–120 m AGL  inside    keep out

Advisories (do not block; read their conditions):
  ID  NAME  RESTRICTION  HEIGHTS     DISTANCE  MESSAGE
  Z2  -     CONDITIONAL  any height  42 m      -

Notes:
  - flight height not given
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
