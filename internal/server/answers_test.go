package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// TestClearAnswers: answers to odd but well-formed requests say what is
// wrong with them, in the API's words, and echo no long input.
func TestClearAnswers(t *testing.T) {
	f := newExFixture(t)
	ctx := context.Background()
	const outside = " is outside the times nofly checks, 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z"
	plan := func(start time.Time, geom any) *noflyv1.CheckFlightPlanRequest {
		fp := &noflyv1.FlightPlan{Start: timestamppb.New(start)}
		switch g := geom.(type) {
		case *noflyv1.FlightPlan_Route:
			fp.Geometry = g
		case *noflyv1.FlightPlan_Area:
			fp.Geometry = g
		}
		return &noflyv1.CheckFlightPlanRequest{FlightPlan: fp}
	}

	tests := []struct {
		name  string
		call  func() error
		code  codes.Code
		field string // of the violation, for INVALID_ARGUMENT
		want  string // the violation's description, or the message
	}{
		{name: "the zero time is out of range, not missing", code: codes.InvalidArgument, field: "at", want: "0001-01-01T00:00:00Z" + outside,
			call: func() error {
				req := positionIn(50, time.Time{})
				req.At = timestamppb.New(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC))
				_, err := f.checks.CheckPosition(ctx, req)
				return err
			}},
		{name: "a plan starting in 9999", code: codes.InvalidArgument, field: "flight_plan.start", want: "9999-12-31T23:59:59Z" + outside,
			call: func() error {
				_, err := f.checks.CheckFlightPlan(ctx, plan(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), route(wp(52, 4, 50), wp(52.1, 4.1, 50))))
				return err
			}},
		{name: "a plan ending after 2200", code: codes.InvalidArgument, field: "flight_plan.end", want: "2200-01-01T00:30:00Z is after 2200-01-01T00:00:00Z, the last time nofly checks (the end is the start plus an hour unless given)",
			call: func() error {
				_, err := f.checks.CheckFlightPlan(ctx, plan(time.Date(2199, 12, 31, 23, 30, 0, 0, time.UTC), route(wp(52, 4, 50), wp(52.1, 4.1, 50))))
				return err
			}},
		{name: "an exemption valid until 9999", code: codes.InvalidArgument, field: "exemption.valid_until", want: "9999-01-01T00:00:00Z" + outside,
			call: func() error {
				ex := record()
				ex.ValidUntil = timestamppb.New(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
				_, err := f.admin.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: ex})
				return err
			}},
		{name: "no internal prefix in geo's words", code: codes.InvalidArgument, field: "exemption.area", want: "area.radius: 200000 m outside (0, 100000]",
			call: func() error {
				ex := record()
				ex.Area = &noflyv1.ExemptionArea{Shape: &noflyv1.ExemptionArea_Circle{Circle: &noflyv1.Circle{
					Center: &noflyv1.Position{Latitude: 52, Longitude: 4}, RadiusM: 200_000}}}
				_, err := f.admin.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: ex})
				return err
			}},
		{name: "an unknown zone id is cut in the answer", code: codes.NotFound, want: `zone "` + strings.Repeat("Z", 64) + `…(256 bytes)" not found`,
			call: func() error {
				_, err := f.checks.GetZone(ctx, &noflyv1.GetZoneRequest{Id: strings.Repeat("Z", MaxIDBytes)})
				return err
			}},
		{name: "a megabyte id is refused, not echoed", code: codes.InvalidArgument, field: "id", want: "524288 bytes is longer than the limit of 256 bytes",
			call: func() error {
				_, err := f.admin.GetExemption(ctx, &noflyv1.GetExemptionRequest{Id: strings.Repeat("E", 1<<19)})
				return err
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			st := status.Convert(err)
			if st.Code() != tc.code {
				t.Fatalf("got %v, want %v", err, tc.code)
			}
			if strings.Contains(st.Message(), "invalid query") {
				t.Errorf("internal prefix in %q", st.Message())
			}
			if len(st.Message()) > 400 {
				t.Errorf("a message of %d bytes", len(st.Message()))
			}
			switch got := st.Message(); {
			case tc.field != "" && tc.want != "" && violationAt(err, tc.field) != tc.want:
				t.Errorf("violation at %s: %q, want %q (%v)", tc.field, violationAt(err, tc.field), tc.want, err)
			case tc.field != "" && violationAt(err, tc.field) == "":
				t.Errorf("no violation at %s: %v", tc.field, err)
			case tc.field == "" && got != tc.want:
				t.Errorf("message %q, want %q", got, tc.want)
			}
		})
	}
}
