package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// TestWriteRequestIDs: a write sent again under its request_id is answered
// as the first time, even after the server's clock moved on; another
// request under that id is refused ALREADY_EXISTS; a request_id that is no
// UUID is refused INVALID_ARGUMENT.
func TestWriteRequestIDs(t *testing.T) {
	ctx := context.Background()
	f := newExFixture(t)
	const id = "6f1c2a0e-3b7d-4c1e-9a55-0d2b8e4f7a10"
	req := &noflyv1.CreateExemptionRequest{Exemption: record(), RequestId: id}
	first, err := f.admin.CreateExemption(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	*f.now = f.now.Add(time.Minute) // a retry is stamped later: the first answer stands
	again, err := f.admin.CreateExemption(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(first, again) {
		t.Errorf("retry answered\n%v\nfirst answer\n%v", again, first)
	}
	// The same id, upper case, is the same UUID.
	upper := proto.Clone(req).(*noflyv1.CreateExemptionRequest)
	upper.RequestId = strings.ToUpper(id)
	if again, err := f.admin.CreateExemption(ctx, upper); err != nil || again.GetExemption().GetId() != first.GetExemption().GetId() {
		t.Errorf("retry with the id in upper case: %v, %v", again, err)
	}
	list, err := f.admin.ListExemptions(ctx, &noflyv1.ListExemptionsRequest{})
	if err != nil || len(list.GetExemptions()) != 1 {
		t.Fatalf("after a create and two retries: %v %v, want one record", list, err)
	}

	other := proto.Clone(req).(*noflyv1.CreateExemptionRequest)
	other.Exemption.CeilingM = 90
	for _, tc := range []struct {
		name string
		call func() error
		want codes.Code
		msg  string
	}{
		{"another record under the id", func() error { _, err := f.admin.CreateExemption(ctx, other); return err },
			codes.AlreadyExists, "request_id already used for a different request (a create)"},
		{"a revoke under a create's id", func() error {
			_, err := f.admin.RevokeExemption(ctx, &noflyv1.RevokeExemptionRequest{Id: first.GetExemption().GetId(),
				RevokedBy: "chief", Reason: "r", RequestId: id})
			return err
		}, codes.AlreadyExists, "make a new request_id"},
		{"not a UUID", func() error {
			bad := proto.Clone(req).(*noflyv1.CreateExemptionRequest)
			bad.RequestId = "retry-1"
			_, err := f.admin.CreateExemption(ctx, bad)
			return err
		}, codes.InvalidArgument, "request_id: not a UUID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if status.Code(err) != tc.want || !strings.Contains(status.Convert(err).Message(), tc.msg) {
				t.Errorf("%v, want %s with %q", err, tc.want, tc.msg)
			}
		})
	}
	list, err = f.admin.ListExemptions(ctx, &noflyv1.ListExemptionsRequest{IncludeRevoked: true})
	if err != nil || len(list.GetExemptions()) != 1 || list.GetExemptions()[0].GetRevocation() != nil {
		t.Fatalf("after refused requests: %v %v, want the one record, unrevoked", list, err)
	}
}
