package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/logline"
)

// TestCheckLogLine: a check's log line written through noflyd's handler
// (logline) is the line slog's own JSON and text handlers write for the
// same check, byte for byte but the time stamp, for positions (with and
// without altitude) and flight plans, with texts JSON and the text format
// must escape or quote.
func TestCheckLogLine(t *testing.T) {
	zones := readZones(t, testZones)
	op := &noflyv1.Operator{Unit: "U-07", PilotId: `P "1"`, DroneSerial: "Zürich\u2028\\ \t<&>"}
	positions := []*noflyv1.CheckPositionRequest{
		{Position: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, Altitude: alt(60), Operator: op,
			Purpose: noflyv1.Purpose_PURPOSE_FORENSIC, ClientReference: "M-1 \"two\" =\x01\xff"},
		{Position: &noflyv1.Position{Latitude: 52.0, Longitude: 5.0}, View: noflyv1.CheckView_CHECK_VIEW_BASIC},
		{Position: &noflyv1.Position{Latitude: 1e-7, Longitude: -0.000001}, Altitude: alt(1e-9),
			At: timestamppb.New(time.Date(2026, 5, 1, 12, 30, 0, 123456789, time.UTC))},
	}
	plans := []*noflyv1.CheckFlightPlanRequest{
		{FlightPlan: &noflyv1.FlightPlan{Geometry: route(wp(52.05, 3.9, 60), wp(52.05, 4.2, 60), wp(52.0, 5.0, 60)),
			BufferM: 12.5, Operator: op, ClientReference: "plan\n1", Purpose: noflyv1.Purpose_PURPOSE_SEARCH_AND_RESCUE}},
	}
	timeRE := regexp.MustCompile(`^(\{"time":"[^"]*"|time=\S+)`)
	for _, jsonFormat := range []bool{true, false} {
		lines := func(h slog.Handler, buf *bytes.Buffer) []string {
			t.Helper()
			s, err := New(context.Background(), Config{Load: func(context.Context) ([]geo.Zone, error) { return zones, nil },
				Log: slog.New(h), Now: func() time.Time { return clock }})
			if err != nil {
				t.Fatal(err)
			}
			buf.Reset()
			ctx := context.Background()
			for _, req := range positions {
				if _, err := s.CheckPosition(ctx, req); err != nil {
					t.Fatal(err)
				}
			}
			for _, req := range plans {
				if _, err := s.CheckFlightPlan(ctx, req); err != nil {
					t.Fatal(err)
				}
			}
			out := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			for i, l := range out {
				out[i] = timeRE.ReplaceAllString(l, "TIME")
			}
			return out
		}
		var gotBuf, wantBuf bytes.Buffer
		var fast *logline.Handler
		var plain slog.Handler
		if jsonFormat {
			fast, plain = logline.NewJSON(&gotBuf, nil), slog.NewJSONHandler(&wantBuf, nil)
		} else {
			fast, plain = logline.NewText(&gotBuf, nil), slog.NewTextHandler(&wantBuf, nil)
		}
		got, want := lines(fast, &gotBuf), lines(plain, &wantBuf)
		if len(got) != len(positions)+len(plans) || len(got) != len(want) {
			t.Fatalf("json %v: %d lines, want %d:\n%s\n%s", jsonFormat, len(got), len(positions)+len(plans), gotBuf.String(), wantBuf.String())
		}
		for i := range got {
			if !strings.HasPrefix(got[i], "TIME") {
				t.Errorf("json %v: no time: %s", jsonFormat, got[i])
			}
			if got[i] != want[i] {
				t.Errorf("json %v, line %d:\n got %s\nwant %s", jsonFormat, i, got[i], want[i])
			}
		}
		if jsonFormat {
			var v struct {
				Conflicts  []string
				Exemptions []string
				Lat        float64
			}
			if err := json.Unmarshal(gotBuf.Bytes()[:bytes.IndexByte(gotBuf.Bytes(), '\n')], &v); err != nil ||
				len(v.Conflicts) != 1 || v.Conflicts[0] != "T-PROHIB" || len(v.Exemptions) != 0 || v.Lat != 52.05 {
				t.Errorf("first line reads back as %+v (%v): %s", v, err, gotBuf.String())
			}
		}
	}
}
