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
// nothing, so a retry never makes a second record or revokes twice.
func writeExemptions(ctx context.Context, e *env, fn func(ctx context.Context, c noflyv1.ExemptionServiceClient, requestID string) error) error {
	id := uuid.NewString()
	return callExemptions(ctx, e, func(ctx context.Context, c noflyv1.ExemptionServiceClient) error {
		for attempt := 0; ; attempt++ {
			err := fn(ctx, c, id)
			if status.Code(err) != codes.Unavailable || attempt == len(writeBackoff) {
				return err
			}
			pause := writeBackoff[attempt]
			fmt.Fprintf(e.stderr, "nofly: %v; sending the same request again in %s (request id %s)\n",
				rpcError(e.server, e.timeout, err), pause, id)
			select {
			case <-ctx.Done():
				return err
			case <-time.After(pause):
			}
		}
	})
}
