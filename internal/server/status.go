package server

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// errNotFound is wrapped by errors about an id that names nothing.
var errNotFound = errors.New("not found")

// notFoundError says which resource was not found.
type notFoundError struct {
	kind, id string // "zone", "NL-EHAM-CTR"
}

// Error quotes the id cut to 64 bytes: a message need not echo a long input.
func (e *notFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.kind, clip(e.id, 64)) }
func (e *notFoundError) Unwrap() error { return errNotFound }

// badRequest is a request's problems, each at a proto field path such as
// "flight_plan.route.waypoints[3].latitude".
type badRequest struct {
	violations []*errdetails.BadRequest_FieldViolation
}

func (b *badRequest) add(field, format string, args ...any) {
	b.violations = append(b.violations, &errdetails.BadRequest_FieldViolation{
		Field:       field,
		Description: fmt.Sprintf(format, args...),
	})
}

// addErr adds the problems that err carries in its value, each at its
// field path in the request: a geo query's (*geo.QueryError), in geo's
// words, at field; an exemption record's (*exemptions.ValidationError) at
// field followed by the record field's proto path (recordFieldPath). Any
// other error is one problem at field.
func (b *badRequest) addErr(field string, err error) {
	if err == nil {
		return // before the targets of errors.As, which escape
	}
	var (
		ve *exemptions.ValidationError
		qe *geo.QueryError
	)
	switch {
	case errors.As(err, &ve):
		for _, p := range ve.Problems {
			b.add(field+"."+recordFieldPath(p), "%s", p.Msg)
		}
	case errors.As(err, &qe):
		b.add(field, "%s", qe.Detail())
	default:
		b.add(field, "%s", err.Error())
	}
}

// recordFields are the proto names of the exemption record's fields where
// they differ from the exemptions package's (its JSON names).
var recordFields = map[string]string{
	"holder.pilots":  "holder.pilot_ids",
	"holder.drones":  "holder.drone_serials",
	"ceiling.metres": "ceiling_m",
	"ceiling.ref":    "ceiling_reference",
}

// recordFieldPath is p's field path in a nofly.v1.Exemption.
func recordFieldPath(p exemptions.Problem) string {
	name := p.Field
	if n, ok := recordFields[name]; ok {
		name = n
	}
	if p.Index < 0 {
		return name
	}
	return fmt.Sprintf("%s[%d]", name, p.Index)
}

// err returns the problems as an error, or nil when there are none.
func (b *badRequest) err() error {
	if len(b.violations) == 0 {
		return nil
	}
	return &badRequestError{violations: b.violations}
}

// badRequestError is an invalid request. It wraps geo.ErrInvalidQuery so
// that both kinds of invalid input map to INVALID_ARGUMENT alike.
type badRequestError struct {
	violations []*errdetails.BadRequest_FieldViolation
}

// Error is the first problem, and how many more there are: one line, for
// clients that show only the status message.
func (e *badRequestError) Error() string {
	v := e.violations[0]
	msg := v.Field + ": " + v.Description
	if n := len(e.violations) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more problem%s)", n, plural(n))
	}
	return msg
}

func (e *badRequestError) Unwrap() error { return geo.ErrInvalidQuery }

// toStatus maps an error from validation or geo to a gRPC status. It is the
// only place that chooses status codes.
func (s *Server) toStatus(ctx context.Context, err error) error {
	var (
		bad *badRequestError
		nf  *notFoundError
		cnr *checkNotRecordedError
		qe  *geo.QueryError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &cnr):
		s.log.ErrorContext(ctx, "exempted check not recorded; answered as an error", "exemptions", cnr.ids, "err", cnr.err)
		c := codes.Internal
		if errors.Is(err, exemptions.ErrUnavailable) {
			c = codes.Unavailable
		}
		return withDetails(c, cnr.clientMessage(), errorInfoDatabase)
	case errors.Is(err, exemptions.ErrUnavailable):
		// The cause (addresses, driver messages) is for the log.
		s.log.WarnContext(ctx, "exemption database unavailable", "err", err)
		return withDetails(codes.Unavailable, "the exemption database is unreachable; try again", errorInfoDatabase)
	case errors.As(err, &bad):
		return withDetails(codes.InvalidArgument, bad.Error(), &errdetails.BadRequest{FieldViolations: bad.violations})
	case errors.Is(err, geo.ErrInvalidQuery):
		// geo refused a query that passed the server's own checks. Report
		// it as the client's problem, in geo's words.
		msg := err.Error()
		if errors.As(err, &qe) {
			msg = qe.Detail()
		}
		return withDetails(codes.InvalidArgument, msg, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Description: msg}}})
	case errors.Is(err, geo.ErrTooManyHits):
		return withDetails(codes.ResourceExhausted, err.Error(), &errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{
			Subject: "zones met by one check", Description: fmt.Sprintf("at most %d", geo.MaxHits)}}})
	case errors.Is(err, errNoSigningKey):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, exemptions.ErrNotFound):
		kind := "nofly.v1.Exemption"
		if errors.Is(err, exemptions.ErrAuthorisationNotFound) {
			kind = "nofly.v1.AuthorisationRecord"
		}
		return withDetails(codes.NotFound, err.Error(), &errdetails.ResourceInfo{
			ResourceType: kind, ResourceName: recordID(err), Description: err.Error(),
		})
	case exemptions.IsFailedPrecondition(err):
		return withDetails(codes.FailedPrecondition, err.Error(), &errdetails.PreconditionFailure{
			Violations: []*errdetails.PreconditionFailure_Violation{{Type: "STATE", Subject: recordID(err), Description: err.Error()}},
		})
	case errors.Is(err, exemptions.ErrRequestReused):
		// AIP-155 leaves the code open: the request id, not the request,
		// is what already exists.
		return withDetails(codes.AlreadyExists, err.Error(), &errdetails.ErrorInfo{Reason: reasonRequestIDReused, Domain: errorDomain})
	case errors.Is(err, exemptions.ErrBadPageToken):
		return withDetails(codes.InvalidArgument, "page_token: "+err.Error(), &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "page_token", Description: err.Error()}}})
	case errors.As(err, &nf):
		return withDetails(codes.NotFound, nf.Error(), &errdetails.ResourceInfo{
			ResourceType: "nofly.v1.Zone", ResourceName: nf.id, Description: nf.Error(),
		})
	case errors.Is(err, errNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	// Anything else is the server's fault; its text may hold details
	// (paths, internals) that the client has no use for.
	s.log.ErrorContext(ctx, "internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}

// recordID is the id of the exemption record that err is about (an
// *exemptions.IDError), or "".
func recordID(err error) string {
	var ide *exemptions.IDError
	if errors.As(err, &ide) {
		return ide.ID
	}
	return ""
}

// errorInfoDatabase marks an UNAVAILABLE that the server sent because its
// exemption database cannot be reached, so that clients tell it from a
// server they cannot reach.
var errorInfoDatabase = &errdetails.ErrorInfo{Reason: reasonExemptionDatabaseUnavailable, Domain: errorDomain}

// The google.rpc.ErrorInfo this server sends.
const (
	errorDomain                        = "nofly.v1"
	reasonExemptionDatabaseUnavailable = "EXEMPTION_DATABASE_UNAVAILABLE"
	reasonRequestIDReused              = "REQUEST_ID_REUSED"
)

func withDetails(c codes.Code, msg string, details ...protoadapt.MessageV1) error {
	st := status.New(c, msg)
	for _, d := range details {
		if ds, err := st.WithDetails(d); err == nil {
			st = ds
		}
	}
	return st.Err()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
