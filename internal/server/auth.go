package server

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// Auth decides who a caller is and what it may do, from the verified client
// certificate of its TLS connection and the roles file. The roles are
// swapped atomically by Reload; everything else is read-only after
// NewAuth.
type Auth struct {
	path  string
	roles atomic.Pointer[Roles]
}

// NewAuth reads the roles file at path.
func NewAuth(path string) (*Auth, error) {
	r, err := ReadRolesFile(path)
	if err != nil {
		return nil, err
	}
	a := &Auth{path: path}
	a.roles.Store(r)
	return a, nil
}

// Roles returns the roles in force.
func (a *Auth) Roles() *Roles { return a.roles.Load() }

// Reload reads the roles file again and swaps it in. On any problem it logs
// each one (file, line, field), keeps the roles it had and returns the
// error.
func (a *Auth) Reload(ctx context.Context, log *slog.Logger) error {
	r, err := ReadRolesFile(a.path)
	if err != nil {
		for _, p := range rolesProblems(err) {
			log.ErrorContext(ctx, "roles file problem", "file", p.File, "line", p.Line, "field", p.Field, "problem", p.Msg)
		}
		log.ErrorContext(ctx, "roles not reloaded; the previous roles stay in force", "file", a.path, "err", err)
		return fmt.Errorf("roles file: %w", err)
	}
	a.roles.Store(r)
	log.InfoContext(ctx, "roles loaded", "file", a.path, "subjects", r.Len())
	return nil
}

// access says who may call a method.
type access struct {
	// anyCert: every caller whose certificate the client CA verified, with
	// or without a role (load balancers' health checks).
	anyCert bool
	// anyRole: every caller with a role.
	anyRole bool
	roles   []Role
}

func allow(roles ...Role) access { return access{roles: roles} }

// policy maps every method noflyd serves to who may call it. A method
// missing here is refused to everyone (TestPolicyCoversEveryMethod fails
// for it), so that a new RPC is never open by mistake.
var policy = map[string]access{
	noflyv1.GeofenceService_CheckPosition_FullMethodName:   allow(RolePilot),
	noflyv1.GeofenceService_CheckFlightPlan_FullMethodName: allow(RolePilot, RolePlanner),
	noflyv1.GeofenceService_ListZones_FullMethodName:       {anyRole: true},
	noflyv1.GeofenceService_GetZone_FullMethodName:         {anyRole: true},
	noflyv1.GeofenceService_MonitorFlight_FullMethodName:   allow(RolePilot),
	noflyv1.GeofenceService_CheckPositions_FullMethodName:  allow(RolePilot),

	noflyv1.ExemptionService_CreateExemption_FullMethodName:    allow(RoleAdmin),
	noflyv1.ExemptionService_SupersedeExemption_FullMethodName: allow(RoleAdmin),
	noflyv1.ExemptionService_RevokeExemption_FullMethodName:    allow(RoleAdmin),
	noflyv1.ExemptionService_GetExemption_FullMethodName:       allow(RoleAdmin, RoleAuditor),
	noflyv1.ExemptionService_ListExemptions_FullMethodName:     allow(RoleAdmin, RoleAuditor),
	noflyv1.ExemptionService_ListAuditEvents_FullMethodName:    allow(RoleAuditor),
	noflyv1.ExemptionService_VerifyAuditLog_FullMethodName:     allow(RoleAuditor),

	noflyv1.DroneService_AddDrone_FullMethodName:    allow(RoleAdmin),
	noflyv1.DroneService_UpdateDrone_FullMethodName: allow(RoleAdmin),
	noflyv1.DroneService_RetireDrone_FullMethodName: allow(RoleAdmin),
	noflyv1.DroneService_GetDrone_FullMethodName:    allow(RoleAdmin, RoleAuditor),
	// Pilots and planners list their own unit's drones only (bind).
	noflyv1.DroneService_ListDrones_FullMethodName: allow(RoleAdmin, RoleAuditor, RolePilot, RolePlanner),

	noflyv1.AuthorisationService_IssueAuthorisation_FullMethodName:  allow(RolePilot, RolePlanner),
	noflyv1.AuthorisationService_GetAuthorisation_FullMethodName:    allow(RoleAdmin, RoleAuditor),
	noflyv1.AuthorisationService_ListAuthorisations_FullMethodName:  allow(RoleAdmin, RoleAuditor),
	noflyv1.AuthorisationService_RevokeAuthorisation_FullMethodName: allow(RoleAdmin),
	// Verifiers need the key set and the revocation list, and nothing
	// else; every role may fetch them for the devices it looks after.
	noflyv1.AuthorisationService_GetRevocationList_FullMethodName: {anyRole: true},
	noflyv1.AuthorisationService_GetKeySet_FullMethodName:         {anyRole: true},
	// A bundle carries a unit's exemptions: pilots and planners fetch
	// their own unit's (bind), administrators any unit's.
	noflyv1.AuthorisationService_ExportBundle_FullMethodName: allow(RolePilot, RolePlanner, RoleAdmin),

	// Reports hold no pilot identities; with detail they do, and GetReport
	// itself refuses that to all but administrators. See docs/oversight.md.
	noflyv1.ReportService_GetReport_FullMethodName: allow(RoleAdmin, RoleAuditor),

	healthpb.Health_Check_FullMethodName: {anyCert: true},
	healthpb.Health_Watch_FullMethodName: {anyCert: true},
	healthpb.Health_List_FullMethodName:  {anyCert: true},

	// Reflection describes the API (the .proto files, nothing else); it is
	// open to every caller with a role, so that grpcurl works for them.
	reflectionv1.ServerReflection_ServerReflectionInfo_FullMethodName:      {anyRole: true},
	reflectionv1alpha.ServerReflection_ServerReflectionInfo_FullMethodName: {anyRole: true},
}

// identityKey is the context key of the caller's Identity.
type identityKey struct{}

// CallerIdentity returns the identity of the call's caller, set by the
// server's interceptors.
func CallerIdentity(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// authorize finds the caller of ctx and checks that it may call method
// with req (nil for streams), binding the request to the caller (see
// bind). It returns the context carrying the identity.
func (s *Server) authorize(ctx context.Context, method string, req any) (context.Context, error) {
	if s.auth == nil {
		return context.WithValue(ctx, identityKey{}, localIdentityValue), nil
	}
	subject, err := verifiedSubject(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "call refused: not authenticated", "method", method, "err", err)
		return ctx, status.Error(codes.Unauthenticated, err.Error())
	}
	id, known := s.auth.Roles().Lookup(subject)
	rule, listed := policy[method]
	var why string
	switch {
	case !listed:
		why = "the method is open to no role"
	case rule.anyCert:
	case !known:
		why = "the certificate's subject has no role in the roles file"
	case rule.anyRole:
	case !slices.Contains(rule.roles, id.Role):
		why = fmt.Sprintf("role %s may not call it (allowed: %s)", id.Role, joinRoles(rule.roles))
	}
	if why == "" && known {
		why = bind(id, req)
	}
	if why != "" {
		s.log.WarnContext(ctx, "permission denied", "method", method, "subject", subject,
			"role", string(id.Role), "unit", id.Unit, "pilot", id.Pilot, "reason", why, "peer", peerAddr(ctx))
		return ctx, status.Errorf(codes.PermissionDenied, "%s: %s: %s", subject, method, why)
	}
	if !known {
		id = Identity{Subject: subject}
	}
	return context.WithValue(ctx, identityKey{}, id), nil
}

func joinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// verifiedSubject is the subject of the client certificate that the TLS
// handshake verified against the client CA.
func verifiedSubject(ctx context.Context) (string, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", fmt.Errorf("no peer")
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return "", fmt.Errorf("not a TLS connection")
	}
	chains := ti.State.VerifiedChains
	if len(chains) == 0 || len(chains[0]) == 0 {
		return "", fmt.Errorf("no verified client certificate")
	}
	return certSubject(chains[0][0])
}

// certSubject is cert's subject as the roles file names it
// (pkix.Name.String()), or an error when that string does not show the
// whole subject: pkix.Name keeps only the last of several CN attributes,
// so that a certificate "O=nofly dev, CN=anyone, CN=admin" would print as
// "CN=admin,O=nofly dev" and take the administrator's role. Such a subject
// is refused rather than guessed at. (crypto/x509 refuses attribute values
// that are not strings when it parses a certificate, and prints every
// other attribute.)
func certSubject(cert *x509.Certificate) (string, error) {
	cns := 0
	for _, atv := range cert.Subject.Names {
		if atv.Type.Equal(oidCommonName) {
			cns++
		}
	}
	if cns > 1 {
		return "", fmt.Errorf("the client certificate's subject has %d CN attributes, which its printed subject cannot tell apart from one", cns)
	}
	return cert.Subject.String(), nil
}

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// bind ties a request to its authenticated caller, or says why it may not
// be made. A pilot checks as itself: the operator's unit and pilot id are
// filled in from the roles file when empty, and must equal them when given.
// A planner checks flight plans of its own unit. An administrator issues
// and revokes as itself. A mismatch is refused, not corrected: a client
// that names someone else is either mistaken or lying, and should know.
func bind(id Identity, req any) string {
	switch r := req.(type) {
	case *noflyv1.CheckPositionRequest:
		if r.Operator == nil {
			r.Operator = &noflyv1.Operator{}
		}
		return bindOperator(id, r.Operator, "operator")
	case *noflyv1.CheckFlightPlanRequest:
		if r.FlightPlan == nil {
			return "" // validation reports it
		}
		if r.FlightPlan.Operator == nil {
			r.FlightPlan.Operator = &noflyv1.Operator{}
		}
		return bindOperator(id, r.FlightPlan.Operator, "flight_plan.operator")
	case *noflyv1.CheckPositionsRequest:
		if r.Flight == nil {
			return "" // validation reports it
		}
		if r.Flight.Operator == nil {
			r.Flight.Operator = &noflyv1.Operator{}
		}
		return bindOperator(id, r.Flight.Operator, "flight.operator")
	case *noflyv1.MonitorFlightRequest:
		// The stream's first message; MonitorFlight binds it.
		lf := r.GetStart().GetFlight()
		if lf == nil {
			return ""
		}
		if lf.Operator == nil {
			lf.Operator = &noflyv1.Operator{}
		}
		return bindOperator(id, lf.Operator, "start.flight.operator")
	case *noflyv1.CreateExemptionRequest:
		if r.Exemption != nil {
			return bindName(id, &r.Exemption.IssuedBy, "exemption.issued_by")
		}
	case *noflyv1.SupersedeExemptionRequest:
		if r.Exemption != nil {
			return bindName(id, &r.Exemption.IssuedBy, "exemption.issued_by")
		}
	case *noflyv1.RevokeExemptionRequest:
		return bindName(id, &r.RevokedBy, "revoked_by")
	case *noflyv1.IssueAuthorisationRequest:
		// As CheckFlightPlan: the authorisation is issued on that check.
		if r.FlightPlan == nil {
			return ""
		}
		if r.FlightPlan.Operator == nil {
			r.FlightPlan.Operator = &noflyv1.Operator{}
		}
		return bindOperator(id, r.FlightPlan.Operator, "flight_plan.operator")
	case *noflyv1.RevokeAuthorisationRequest:
		return bindName(id, &r.RevokedBy, "revoked_by")
	case *noflyv1.ExportBundleRequest:
		if id.Role == RolePilot || id.Role == RolePlanner {
			return bindField(&r.Unit, id.Unit, "unit", "unit")
		}
	case *noflyv1.ListDronesRequest:
		if id.Role == RolePilot || id.Role == RolePlanner {
			return bindField(&r.Unit, id.Unit, "unit", "unit")
		}
	}
	return ""
}

func bindOperator(id Identity, op *noflyv1.Operator, field string) string {
	switch id.Role {
	case RolePilot:
		if why := bindField(&op.Unit, id.Unit, field+".unit", "unit"); why != "" {
			return why
		}
		return bindField(&op.PilotId, id.Pilot, field+".pilot_id", "pilot id")
	case RolePlanner:
		return bindField(&op.Unit, id.Unit, field+".unit", "unit")
	}
	return ""
}

// bindField sets *v to own when empty, and says why not when it names
// someone else.
func bindField(v *string, own, field, what string) string {
	if *v == "" {
		*v = own
		return ""
	}
	if *v != own {
		return fmt.Sprintf("%s %q is not your %s (%s)", field, short(*v), what, own)
	}
	return ""
}

// short cuts a client's string for a message or a log line: the message
// need not hold a megabyte someone sent.
func short(s string) string {
	const limit = 100 // bytes
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// bindName sets *v to the caller's subject; a request that names someone
// else is refused.
func bindName(id Identity, v *string, field string) string {
	if *v != "" && *v != id.Subject {
		return fmt.Sprintf("%s %q is not you (%s): leave it empty, the server records your certificate's subject", field, short(*v), id.Subject)
	}
	*v = id.Subject
	return ""
}

// authUnary authorises every unary call (see authorize).
func (s *Server) authUnary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := s.authorize(ctx, info.FullMethod, req)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// authStream authorises every stream (health Watch, reflection).
func (s *Server) authStream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := s.authorize(ss.Context(), info.FullMethod, nil)
		if err != nil {
			return err
		}
		return handler(srv, &identityStream{ServerStream: ss, ctx: ctx})
	}
}

// identityStream is a stream whose context carries the caller's identity.
type identityStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *identityStream) Context() context.Context { return s.ctx }

// callerName is what the audit log records as the caller of ctx: the
// certificate subject, or "" for the local identity (whose requests name
// their own actor).
func callerName(ctx context.Context) string {
	if id, ok := CallerIdentity(ctx); ok && !id.Local {
		return id.Subject
	}
	return ""
}

// callerLogName is how logs name the caller of ctx: its certificate
// subject, or "local".
func callerLogName(ctx context.Context) string {
	if id, ok := CallerIdentity(ctx); ok {
		return id.Name()
	}
	return ""
}
