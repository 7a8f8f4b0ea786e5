package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// writeBackoff are the pauses before each retry of a write answered
// UNAVAILABLE; the whole stays within --timeout.
var writeBackoff = []time.Duration{250 * time.Millisecond, 750 * time.Millisecond, 2 * time.Second}

// writeExemptions is callExemptions for a write (create, supersede,
// revoke): fn sends its request with requestID, one UUID made for this
// invocation. A write answered UNAVAILABLE (the server or its database out
// of reach, perhaps after the write committed and before the answer came
// back) is sent again, unchanged, after each pause of writeBackoff: the
// server answers a request id it has seen with the first answer and writes
// nothing, so a retry never makes a second record or revokes twice. When
// every attempt fails the error says how many were made, still in one line.
func writeExemptions(ctx context.Context, e *env, fn func(ctx context.Context, c noflyv1.ExemptionServiceClient, requestID string) error) error {
	id := uuid.NewString()
	return callExemptions(ctx, e, func(ctx context.Context, c noflyv1.ExemptionServiceClient) error {
		for attempt := 0; ; attempt++ {
			err := fn(ctx, c, id)
			if status.Code(err) != codes.Unavailable {
				return err
			}
			if attempt == len(writeBackoff) {
				return sentTimes(err, attempt+1)
			}
			select {
			case <-ctx.Done():
				return sentTimes(err, attempt+1)
			case <-time.After(writeBackoff[attempt]):
			}
		}
	})
}

// sentTimes is err, a status, with its message saying that the request was
// sent n times; its details stay.
func sentTimes(err error, n int) error {
	if n == 1 {
		return err
	}
	p := status.Convert(err).Proto()
	p.Message = fmt.Sprintf("%s (sent %d times)", p.GetMessage(), n)
	return status.FromProto(p).Err()
}
