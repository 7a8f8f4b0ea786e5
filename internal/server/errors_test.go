package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/paulmach/orb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// The ids and field paths in status details come from the errors' values:
// the texts stay as they were, and nothing is cut out of them.
func TestStatusDetailsFromErrorValues(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	notFound := fmt.Errorf("get: %w", &exemptions.IDError{ID: "EX-000042", Err: exemptions.ErrNotFound})
	st := status.Convert(f.srv.toStatus(ctx, notFound))
	if st.Code() != codes.NotFound || st.Message() != "get: EX-000042: exemption not found" {
		t.Errorf("not found: %v %q", st.Code(), st.Message())
	}
	if ri := detail[*errdetails.ResourceInfo](st); ri == nil || ri.GetResourceName() != "EX-000042" {
		t.Errorf("resource info %v, want EX-000042", ri)
	}

	revoked := &exemptions.IDError{ID: "EX-7", Err: fmt.Errorf("%w on 2026-05-01 10:00Z by chief", exemptions.ErrRevoked)}
	st = status.Convert(f.srv.toStatus(ctx, revoked))
	if st.Code() != codes.FailedPrecondition || st.Message() != "EX-7: exemption already revoked on 2026-05-01 10:00Z by chief" {
		t.Errorf("revoked: %v %q", st.Code(), st.Message())
	}
	if pf := detail[*errdetails.PreconditionFailure](st); pf == nil || pf.GetViolations()[0].GetSubject() != "EX-7" {
		t.Errorf("precondition failure %v, want subject EX-7", pf)
	}

	// A geo query refused beyond the server's own checks: geo's words,
	// without the sentinel's prefix.
	err := geo.RouteQuery{Waypoints: []geo.Waypoint{{Point: orb.Point{4, 52}}}, Window: geo.Instant(time.Now())}.Validate()
	st = status.Convert(f.srv.toStatus(ctx, err))
	if want := "waypoints: a route needs at least 2 waypoints, got 1"; st.Code() != codes.InvalidArgument || st.Message() != want {
		t.Errorf("query: %v %q, want %q", st.Code(), st.Message(), want)
	}
}

func detail[T any](st *status.Status) T {
	var zero T
	for _, d := range st.Details() {
		if v, ok := d.(T); ok {
			return v
		}
	}
	return zero
}

// Every field that an exemption record's validation can name is mapped to
// a field path that exists in nofly.v1.Exemption, and every entry of the
// name map is used.
func TestRecordFieldPaths(t *testing.T) {
	long := strings.Repeat("x", exemptions.MaxText+1)
	records := []exemptions.Exemption{
		{Holder: exemptions.Holder{Pilots: []string{"P1", ""}, Drones: []string{""}}, ZoneIDs: []string{"", "NOPE"},
			Selector: exemptions.Selector{Restrictions: []geo.Restriction{9}, Reasons: []string{""}},
			Area:     &geo.Shape{Kind: geo.ShapeCircle, Radius: -1}, Ceiling: exemptions.Ceiling{Metres: math.NaN(), Ref: 9},
			Purposes: []exemptions.Purpose{"FUN"}, LegalBasis: long, Conditions: long, IssuedBy: long},
		{Override: true, Selector: exemptions.Selector{Country: "NLD"}, ValidFrom: time.Unix(0, 0)},
		{ZoneIDs: []string{"Z"}, ValidFrom: time.Unix(1, 0), ValidUntil: time.Unix(0, 0)},
	}
	used := map[string]bool{}
	var n int
	for _, ex := range records {
		var ve *exemptions.ValidationError
		if !errors.As(ex.Validate(func(id string) bool { return id == "Z" }), &ve) {
			t.Fatalf("record %+v is valid", ex)
		}
		for _, p := range ve.Problems {
			n++
			used[p.Field] = true
			path := recordFieldPath(p)
			if err := protoPathExists((&noflyv1.Exemption{}).ProtoReflect().Descriptor(), path); err != nil {
				t.Errorf("problem %s (%s) maps to %s: %v", p.Path(), p.Msg, path, err)
			}
		}
	}
	if n < 15 {
		t.Fatalf("only %d problems: the records no longer break what this test means to try", n)
	}
	for name := range recordFields {
		if !used[name] {
			t.Errorf("recordFields maps %s, which no problem names", name)
		}
	}
	// And the request violations are at those paths.
	var b badRequest
	b.addErr("exemption", &exemptions.ValidationError{Problems: []exemptions.Problem{
		{Field: "holder.pilots", Index: 1, Msg: "empty"}, {Field: "ceiling.ref", Index: -1, Msg: "required"}}})
	got := []violation{}
	for _, v := range b.violations {
		got = append(got, violation{v.GetField(), v.GetDescription()})
	}
	want := []violation{{"exemption.holder.pilot_ids[1]", "empty"}, {"exemption.ceiling_reference", "required"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("violations (-want +got):\n%s", d)
	}
}

// protoPathExists walks a field path such as "holder.pilot_ids[1]" through
// message descriptor md.
func protoPathExists(md protoreflect.MessageDescriptor, path string) error {
	for part := range strings.SplitSeq(path, ".") {
		name, _, _ := strings.Cut(part, "[")
		if md == nil {
			return fmt.Errorf("%s is below a scalar", part)
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return fmt.Errorf("%s has no field %s", md.FullName(), name)
		}
		if name != part && !fd.IsList() {
			return fmt.Errorf("%s is indexed but not a list", name)
		}
		md = fd.Message()
	}
	return nil
}
