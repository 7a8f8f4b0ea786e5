package server

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Limits on connections and calls, so that no client (mistaken or hostile)
// can hold a server for long. The limits on what a request holds are next
// to the checks that enforce them: geo.MaxWaypoints, MaxAreaVertices,
// MaxPageSize, geo.MaxBuffer, exemptions.MaxText and exemptions.MaxList;
// the limits on texts are below.
// docs/security.md lists them all.
const (
	// MaxMessageBytes bounds a request message. The largest valid request,
	// a route of geo.MaxWaypoints waypoints or an area of MaxAreaVertices
	// vertices, takes about 300 KiB. Larger: RESOURCE_EXHAUSTED.
	MaxMessageBytes = 1 << 20
	// MaxHeaderBytes bounds a call's headers (its metadata), in bytes of
	// HTTP/2 header list; nofly's clients send a few hundred. gRPC's
	// default is 16 MiB.
	MaxHeaderBytes = 16 << 10
	// MaxConcurrentStreams bounds the calls in progress on one connection
	// (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). A client's further calls
	// wait for a free stream.
	MaxConcurrentStreams = 100
	// DefaultDeadline is given to a unary call that comes without a
	// deadline; MaxDeadline caps a longer one. A call stopped by the
	// server's deadline gets DEADLINE_EXCEEDED naming it.
	DefaultDeadline = 10 * time.Second
	MaxDeadline     = 30 * time.Second
	// HandshakeTimeout bounds a new connection's TLS and HTTP/2 handshake.
	HandshakeTimeout = 10 * time.Second
	// KeepaliveMinTime is how often a client may ping; more often and the
	// server closes the connection (GOAWAY "too_many_pings").
	KeepaliveMinTime = 10 * time.Second
	// IdleTimeout closes a connection that has had no call for this long.
	IdleTimeout = 15 * time.Minute
	// MaxConnectionAge closes every connection after this long (calls in
	// flight get MaxConnectionAgeGrace to finish), so that clients
	// reconnect and their certificates are verified again: an expired
	// certificate, or one whose CA was replaced on reload, stops working
	// within the hour on long-lived connections too.
	MaxConnectionAge      = time.Hour
	MaxConnectionAgeGrace = time.Minute
)

// Limits of live flights (live.go).
const (
	// MaxBatchPositions bounds the positions of one CheckPositions call
	// (each about 40 bytes on the wire: 10,000 fit MaxMessageBytes).
	MaxBatchPositions = 10_000
	// MaxGroundSpeed bounds a position's ground speed, in m/s: faster is
	// a mistake for a drone.
	MaxGroundSpeed = 300
	// DefaultLookAhead is how far ahead MonitorFlight looks for APPROACH
	// at the aircraft's velocity; MaxLookAheadSeconds bounds a flight's
	// own (and geo.MaxLookAhead the distance, in metres).
	DefaultLookAhead    = 30 * time.Second
	MaxLookAheadSeconds = 600
	// ExpiringWithin is how long before an exemption the flight relies on
	// ends that MonitorFlight warns (EXPIRING).
	ExpiringWithin = 5 * time.Minute
	// MonitorRecheck is how often a MonitorFlight stream looks whether the
	// zones or exemptions changed, to check the last position again.
	MonitorRecheck = time.Second
	// MonitorQueue bounds the positions of a MonitorFlight stream received
	// and not yet checked; when it is full the server stops reading the
	// stream until it has caught up (nothing is dropped).
	MonitorQueue = 1024
)

// limitOptions are the server options that enforce the limits above.
func limitOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxHeaderListSize(MaxHeaderBytes),
		grpc.MaxConcurrentStreams(MaxConcurrentStreams),
		grpc.ConnectionTimeout(HandshakeTimeout),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: KeepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle:     IdleTimeout,
			MaxConnectionAge:      MaxConnectionAge,
			MaxConnectionAgeGrace: MaxConnectionAgeGrace,
			// Ping an idle client after a minute, and drop it when it
			// does not answer within 20 s: a vanished client frees its
			// connection.
			Time:    time.Minute,
			Timeout: 20 * time.Second,
		}),
	}
}

// errServerDeadline is the cause of a call's context when the server's own
// deadline (DefaultDeadline or MaxDeadline) ended it.
var errServerDeadline = errors.New("server deadline")

// deadlineUnary gives every unary call a deadline of at most longest (def
// when the client set none; the server passes DefaultDeadline and
// MaxDeadline) and says so when that, rather than the client's own
// deadline, stopped the call.
func deadlineUnary(def, longest time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		limit := longest
		if d, ok := ctx.Deadline(); !ok {
			limit = def
		} else if time.Until(d) <= longest {
			// The client's deadline comes first: the server's would never
			// end the call, and its timer would cost every call.
			return handler(ctx, req)
		}
		ctx, cancel := context.WithTimeoutCause(ctx, limit, errServerDeadline)
		defer cancel()
		resp, err := handler(ctx, req)
		if err != nil && errors.Is(context.Cause(ctx), errServerDeadline) {
			return nil, status.Errorf(codes.DeadlineExceeded, "the call took longer than the server's limit of %s", limit)
		}
		return resp, err
	}
}

// Limits on the texts of requests, in bytes of UTF-8. Every string field of
// every request has one (textLimits, or MaxIDBytes when it is not listed),
// and no text may hold a control character (see checkText), so that no
// request can store megabytes in the append-only audit log or write escape
// codes onto a pilot's terminal. TestTextLimitsCoverEveryField sets every
// string field of every request to one byte more than its limit.
const (
	// MaxIDBytes bounds identifiers and short names: zone and exemption
	// ids, units, pilot ids, drone serials, countries, reasons, actors.
	MaxIDBytes = 256
	// MaxReferenceBytes bounds a check's client_reference (a mission or
	// ticket number), which an exempted check stores in the audit log.
	MaxReferenceBytes = 256
	// MaxSubjectBytes bounds issued_by and revoked_by: a certificate
	// subject (RFC 2253) with TLS.
	MaxSubjectBytes = 1024
	// MaxTokenBytes bounds page tokens (those the server makes are far
	// shorter).
	MaxTokenBytes = 1024
	// MaxFreeTextBytes bounds free text: conditions, legal basis, the
	// reason of a revocation. The same as exemptions.MaxText.
	MaxFreeTextBytes = 4000
)

// textLimits are the limits of the request fields that are not ids, by
// full proto field name. Fields of records that the server sets itself
// (an exemption's id, supersedes, superseded_by, revocation) are bounded
// all the same: a client that sends a record back sends them too.
var textLimits = map[protoreflect.FullName]int{
	"nofly.v1.CheckPositionRequest.client_reference": MaxReferenceBytes,
	"nofly.v1.FlightPlan.client_reference":           MaxReferenceBytes,
	"nofly.v1.LiveFlight.client_reference":           MaxReferenceBytes,
	"nofly.v1.Exemption.conditions":                  MaxFreeTextBytes,
	"nofly.v1.Exemption.legal_basis":                 MaxFreeTextBytes,
	"nofly.v1.Exemption.issued_by":                   MaxSubjectBytes,
	"nofly.v1.Revocation.revoked_by":                 MaxSubjectBytes,
	"nofly.v1.Revocation.reason":                     MaxFreeTextBytes,
	"nofly.v1.RevokeExemptionRequest.revoked_by":     MaxSubjectBytes,
	"nofly.v1.RevokeExemptionRequest.reason":         MaxFreeTextBytes,
	"nofly.v1.ListAuditEventsRequest.actor":          MaxSubjectBytes,
	"nofly.v1.ListZonesRequest.page_token":           MaxTokenBytes,
	"nofly.v1.ListExemptionsRequest.page_token":      MaxTokenBytes,
	"nofly.v1.ListAuditEventsRequest.page_token":     MaxTokenBytes,
	"nofly.v1.RetireDroneRequest.reason":             MaxFreeTextBytes,
	"nofly.v1.Drone.updated_by":                      MaxSubjectBytes,
}

// textLimit is the limit of a string field.
func textLimit(fd protoreflect.FieldDescriptor) int {
	if n, ok := textLimits[fd.FullName()]; ok {
		return n
	}
	return MaxIDBytes
}
