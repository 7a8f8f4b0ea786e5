package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// call dials the server and runs fn with a client, within the timeout. The
// connection is mutual TLS with the --ca, --cert and --key flags, plaintext
// without (see tls.go).
func call(ctx context.Context, e *env, fn func(ctx context.Context, c noflyv1.GeofenceServiceClient) error) error {
	return dial(ctx, e, func(ctx context.Context, conn *grpc.ClientConn) error {
		return fn(ctx, noflyv1.NewGeofenceServiceClient(conn))
	})
}

// callExemptions is call for the exemption service.
func callExemptions(ctx context.Context, e *env, fn func(ctx context.Context, c noflyv1.ExemptionServiceClient) error) error {
	return dial(ctx, e, func(ctx context.Context, conn *grpc.ClientConn) error {
		return fn(ctx, noflyv1.NewExemptionServiceClient(conn))
	})
}

// dial connects to the server and runs fn within the timeout, turning RPC
// errors into one line for a person.
func dial(ctx context.Context, e *env, fn func(ctx context.Context, conn *grpc.ClientConn) error) error {
	creds, err := e.tls.credentials()
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(e.server, append(textOptions(), grpc.WithTransportCredentials(creds))...)
	if err != nil {
		return fmt.Errorf("server address %q: %v", e.server, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	if err := fn(ctx, conn); err != nil {
		return connError(e, rpcError(e.server, e.timeout, err), err)
	}
	return nil
}

// rpcError says in one line what went wrong with a call, naming the
// offending fields of a bad request.
func rpcError(server string, timeout time.Duration, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	// An older server may echo a request's text back whole.
	details := st.Details()
	st = status.New(st.Code(), clip(st.Message(), maxServerText))
	switch st.Code() {
	case codes.InvalidArgument:
		var parts []string
		for _, d := range details {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					if v.GetField() == "" {
						parts = append(parts, clip(v.GetDescription(), maxServerText))
					} else {
						parts = append(parts, clip(v.GetField(), maxServerText)+": "+clip(v.GetDescription(), maxServerText))
					}
				}
			}
		}
		if len(parts) == 0 {
			parts = []string{st.Message()}
		}
		return fmt.Errorf("invalid request: %s", strings.Join(parts, "; "))
	case codes.NotFound, codes.FailedPrecondition, codes.AlreadyExists:
		return errors.New(st.Message())
	case codes.PermissionDenied:
		return fmt.Errorf("permission denied: %s", st.Message())
	case codes.Unauthenticated:
		return fmt.Errorf("not authenticated: %s", st.Message())
	case codes.ResourceExhausted:
		return fmt.Errorf("too large or too many: %s", st.Message())
	case codes.Unimplemented:
		return fmt.Errorf("the nofly server at %s does not serve this (%s)", server, st.Message())
	case codes.Unavailable:
		for _, d := range details {
			if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetReason() == "EXEMPTION_DATABASE_UNAVAILABLE" {
				// The server answered: its exemption database did not.
				return fmt.Errorf("the nofly server at %s: %s", server, st.Message())
			}
		}
		return fmt.Errorf("cannot reach the nofly server at %s: %s", server, lastReason(st.Message()))
	case codes.DeadlineExceeded:
		return fmt.Errorf("no answer from the nofly server at %s within %s", server, timeout)
	}
	return fmt.Errorf("server error (%s): %s", st.Code(), st.Message())
}

// maxServerText bounds, in bytes, a text of the server's that an error
// message quotes.
const maxServerText = 500

// clip shortens s to at most n bytes (on a rune boundary), saying how long
// it was.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:i], len(s))
}

// lastReason shortens gRPC's nested transport messages ("connection error:
// desc = \"transport: Error while dialing: dial tcp …: connect: connection
// refused\"") to their last part ("connection refused").
func lastReason(msg string) string {
	msg = strings.TrimRight(msg, `"`)
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// printJSON prints m as protobuf JSON, the same field names for every
// client, indented by two spaces.
func printJSON(e *env, m proto.Message) error {
	b, err := stableJSON(m)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(b)
	return err
}

// stableJSON is m as indented protobuf JSON with a final newline, the same
// bytes for the same message every time: protojson varies its spacing on
// purpose (so that nobody compares its output byte for byte), and
// encoding/json's Indent lays the tokens out again without it.
func stableJSON(m proto.Message) ([]byte, error) {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
