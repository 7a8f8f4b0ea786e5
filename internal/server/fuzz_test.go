package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/devcert"
)

// The fuzz targets below feed arbitrary bytes, decoded as the request of
// one RPC, through that RPC's whole server path as gRPC runs it: the
// generated handler, the interceptors (panics, deadline, authorisation and
// identity binding, for a caller of each role or the local caller) and the
// handler's validation, conversion and domain call. Whatever the input:
//
//   - no panic, and no INTERNAL error (a panic becomes INTERNAL);
//   - the code is one a bad or forbidden request may get;
//   - INVALID_ARGUMENT carries field violations, each naming its field;
//   - a pilot's check is made as the pilot: with the pilot's unit and pilot
//     id, or refused when the request named others.

// fuzzRig is a server with and one without authentication, sharing the
// test zones and an exemption store.
type fuzzRig struct {
	secure, local *Server
	certs         map[string]*x509.Certificate
}

// fuzzCallers are who a fuzz input calls as: the byte after the request
// picks one.
var fuzzCallers = []string{"local", "pilot", "pilot2", "planner", "admin", "auditor", "norole"}

func newFuzzRig(f *testing.F) *fuzzRig {
	f.Helper()
	r, err := buildFuzzRig(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { r.local.exStore.Close() })
	return r
}

func buildFuzzRig(dir string) (*fuzzRig, error) {
	ctx := context.Background()
	zones, err := geo.Read(strings.NewReader(testZones), "test.geojson")
	if err != nil {
		return nil, err
	}
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "fuzz.db"))
	if err != nil {
		return nil, err
	}
	roles := filepath.Join(dir, "roles.txt")
	if err := os.WriteFile(roles, []byte(authRoles), 0o644); err != nil {
		return nil, err
	}
	auth, err := NewAuth(roles)
	if err != nil {
		return nil, err
	}
	r := &fuzzRig{certs: map[string]*x509.Certificate{}}
	for i, a := range []*Auth{nil, auth} {
		s, err := New(ctx, Config{
			Load:       func(context.Context) ([]geo.Zone, error) { return zones, nil },
			Log:        slog.New(slog.DiscardHandler),
			Now:        func() time.Time { return clock },
			Exemptions: store,
			Auth:       a,

			Authorisations: AuthorisationConfig{Key: testSigningKey},
		})
		if err != nil {
			return nil, err
		}
		if i == 0 {
			r.local = s
		} else {
			r.secure = s
		}
	}
	// The certificates only need subjects: the fuzz targets hand them to
	// the interceptors as the verified chain a TLS handshake would give.
	ca, err := devcert.NewCA("fuzz CA", clock.Add(-time.Hour), clock.Add(time.Hour))
	if err != nil {
		return nil, err
	}
	for _, n := range fuzzCallers[1:] {
		c, err := ca.Issue(devcert.Request{CommonName: n, NotBefore: clock.Add(-time.Hour), NotAfter: clock.Add(time.Hour)})
		if err != nil {
			return nil, err
		}
		r.certs[n] = c.Cert
	}
	// A record for seeds that name one.
	if _, err := r.local.exStore.Create(ctx, exemptions.Request{}, exemptions.Exemption{Holder: exemptions.Holder{Unit: "AMS"},
		ZoneIDs: []string{"T-PROHIB"}, ValidFrom: clock.Add(-time.Hour), ValidUntil: clock.Add(time.Hour),
		Ceiling: exemptions.Ceiling{Metres: 60, Ref: geo.AGL}, LegalBasis: "F/1", IssuedBy: "fuzz", IssuedAt: clock}); err != nil {
		return nil, err
	}
	return r, r.local.exCache.Refresh(ctx)
}

// callAs is ctx as a call from the named caller would arrive.
func (r *fuzzRig) callAs(who string) (*Server, context.Context) {
	ctx := context.Background()
	if who == "local" {
		return r.local, ctx
	}
	ctx = peer.NewContext(ctx, &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1},
		AuthInfo: credentials.TLSInfo{State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{r.certs[who]}}}}})
	return r.secure, ctx
}

// method finds an RPC's generated handler and its service implementation.
func (r *fuzzRig) method(s *Server, full string) (grpc.MethodDesc, any, bool) {
	for _, d := range []struct {
		desc *grpc.ServiceDesc
		impl any
	}{{&noflyv1.GeofenceService_ServiceDesc, s}, {&noflyv1.ExemptionService_ServiceDesc, &exemptionServer{s: s}},
		{&noflyv1.AuthorisationService_ServiceDesc, s.authz}} {
		for _, m := range d.desc.Methods {
			if "/"+d.desc.ServiceName+"/"+m.MethodName == full {
				return m, d.impl, true
			}
		}
	}
	return grpc.MethodDesc{}, nil, false
}

// chain runs the server's interceptors in the order NewGRPCServer installs
// them.
func chain(s *Server) grpc.UnaryServerInterceptor {
	ics := []grpc.UnaryServerInterceptor{s.UnaryInterceptor(), deadlineUnary(DefaultDeadline, MaxDeadline), s.textUnary(), s.authUnary()}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		var next func(i int) grpc.UnaryHandler
		next = func(i int) grpc.UnaryHandler {
			if i == len(ics) {
				return h
			}
			return func(ctx context.Context, req any) (any, error) { return ics[i](ctx, req, info, next(i+1)) }
		}
		return next(0)(ctx, req)
	}
}

// fuzzSeeds are valid requests of every RPC, by full method name.
var fuzzSeeds = map[string][]proto.Message{
	noflyv1.GeofenceService_CheckPositions_FullMethodName: {
		&noflyv1.CheckPositionsRequest{Flight: &noflyv1.LiveFlight{Operator: &noflyv1.Operator{Unit: "AMS", PilotId: "P1"},
			Purpose: noflyv1.Purpose_PURPOSE_FORENSIC, AltitudeReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL},
			Positions: []*noflyv1.TelemetryPosition{
				{At: timestamppb.New(clock), Latitude: 52.05, Longitude: 4.05, AltitudeM: proto.Float64(50)},
				{At: timestamppb.New(clock), Latitude: 52.0, Longitude: 5.0, AltitudeM: proto.Float64(50)}}},
	},
	noflyv1.GeofenceService_CheckPosition_FullMethodName: {
		positionIn(50, clock),
		&noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}},
		&noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, Operator: &noflyv1.Operator{Unit: "RTM", PilotId: "P2"}},
	},
	noflyv1.GeofenceService_CheckFlightPlan_FullMethodName: {
		&noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{Geometry: route(wp(52.05, 4.05, 50), wp(52.06, 4.06, 50)),
			Operator: &noflyv1.Operator{Unit: "AMS", PilotId: "P1"}, Purpose: noflyv1.Purpose_PURPOSE_FORENSIC,
			Start: timestamppb.New(clock), End: timestamppb.New(clock.Add(time.Hour)), BufferM: 20}},
		&noflyv1.CheckFlightPlanRequest{FlightPlan: bigArea(8)},
		&noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{Geometry: &noflyv1.FlightPlan_Area{Area: &noflyv1.Area{
			Shape: &noflyv1.Area_Circle{Circle: &noflyv1.Circle{Center: &noflyv1.Position{Latitude: 52, Longitude: 5}, RadiusM: 300}},
			Band:  &noflyv1.AltitudeBand{LowerM: 0, UpperM: 80, Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}}}}},
	},
	noflyv1.GeofenceService_ListZones_FullMethodName: {
		&noflyv1.ListZonesRequest{},
		&noflyv1.ListZonesRequest{PageSize: 1, PageToken: encodePageToken("T-COND"), View: noflyv1.ZoneView_ZONE_VIEW_FULL,
			Bbox: &noflyv1.BoundingBox{MinLatitude: 51, MinLongitude: 3, MaxLatitude: 53, MaxLongitude: 7}},
	},
	noflyv1.GeofenceService_GetZone_FullMethodName: {&noflyv1.GetZoneRequest{Id: "T-PROHIB"}, &noflyv1.GetZoneRequest{Id: "NOPE"}},
	noflyv1.ExemptionService_CreateExemption_FullMethodName: {
		&noflyv1.CreateExemptionRequest{Exemption: record()},
		&noflyv1.CreateExemptionRequest{Exemption: record(), RequestId: "6f1c2a0e-3b7d-4c1e-9a55-0d2b8e4f7a10"},
		&noflyv1.CreateExemptionRequest{Exemption: record(), RequestId: "not-a-uuid"},
		&noflyv1.CreateExemptionRequest{Exemption: func() *noflyv1.Exemption {
			ex := record()
			ex.IssuedBy = ""
			ex.ZoneIds = nil
			ex.Selector = &noflyv1.ZoneSelector{Country: "nld", Restrictions: []noflyv1.Restriction{noflyv1.Restriction_RESTRICTION_PROHIBITED}}
			ex.Area = &noflyv1.ExemptionArea{Shape: &noflyv1.ExemptionArea_Circle{Circle: &noflyv1.Circle{
				Center: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, RadiusM: 500}}}
			return ex
		}()},
	},
	noflyv1.ExemptionService_SupersedeExemption_FullMethodName: {&noflyv1.SupersedeExemptionRequest{Id: "EX-000001", Exemption: record()},
		&noflyv1.SupersedeExemptionRequest{Id: "EX-000001", Exemption: record(), RequestId: "6f1c2a0e-3b7d-4c1e-9a55-0d2b8e4f7a11"}},
	noflyv1.ExemptionService_RevokeExemption_FullMethodName: {
		&noflyv1.RevokeExemptionRequest{Id: "EX-000001", Reason: "done", RevokedBy: "chief"},
		&noflyv1.RevokeExemptionRequest{Id: "EX-000001", Reason: "done", RevokedBy: "chief", RequestId: "6F1C2A0E-3B7D-4C1E-9A55-0D2B8E4F7A12"},
		&noflyv1.RevokeExemptionRequest{Id: "EX-999999", Reason: "done"},
	},
	noflyv1.ExemptionService_GetExemption_FullMethodName: {&noflyv1.GetExemptionRequest{Id: "EX-000001"}},
	noflyv1.ExemptionService_ListExemptions_FullMethodName: {
		&noflyv1.ListExemptionsRequest{Unit: "AMS", ZoneId: "T-PROHIB", ActiveAt: timestamppb.New(clock), IncludeRevoked: true, PageSize: 2},
	},
	noflyv1.ExemptionService_ListAuditEvents_FullMethodName: {
		&noflyv1.ListAuditEventsRequest{Action: noflyv1.AuditAction_AUDIT_ACTION_CREATE, ExemptionId: "EX-000001", Actor: "fuzz", PageSize: 3},
	},
	noflyv1.ExemptionService_VerifyAuditLog_FullMethodName: {&noflyv1.VerifyAuditLogRequest{}},
}

// hostileSeeds are requests that the limits on texts refuse: over-long and
// with control characters, and ("MARK") with invalid UTF-8 in the seeds
// fuzzMethod derives from them.
var hostileSeeds = map[string][]proto.Message{
	noflyv1.GeofenceService_CheckPosition_FullMethodName: {
		&noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, ClientReference: strings.Repeat("R", MaxReferenceBytes+1)},
		&noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, ClientReference: "MARK"},
		&noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, Operator: &noflyv1.Operator{Unit: "AMS\x1b[2K", DroneSerial: "MARK"}},
	},
	noflyv1.GeofenceService_CheckFlightPlan_FullMethodName: {
		&noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{Geometry: route(wp(52.05, 4.05, 50), wp(52.06, 4.06, 50)),
			ClientReference: "op \u202Eredro", Operator: &noflyv1.Operator{PilotId: "MARK"}}},
		// Over the search-area limit: 99 legs of 260 km with a 100 km buffer.
		&noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{BufferM: 100_000, Geometry: func() *noflyv1.FlightPlan_Route {
			var wps []*noflyv1.Waypoint
			for i := range 100 {
				wps = append(wps, wp(52, 2+float64(i%2)*3.8, 50))
			}
			return route(wps...)
		}()}},
		// A year outside 1970..2200.
		&noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{Geometry: route(wp(52.05, 4.05, 50), wp(52.06, 4.06, 50)),
			Start: timestamppb.New(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC))}},
	},
	noflyv1.GeofenceService_ListZones_FullMethodName: {&noflyv1.ListZonesRequest{PageToken: strings.Repeat("A", MaxTokenBytes+1)}},
	noflyv1.GeofenceService_GetZone_FullMethodName:   {&noflyv1.GetZoneRequest{Id: strings.Repeat("Z", 1<<16)}, &noflyv1.GetZoneRequest{Id: "MARK"}},
	noflyv1.ExemptionService_CreateExemption_FullMethodName: {
		&noflyv1.CreateExemptionRequest{Exemption: func() *noflyv1.Exemption {
			ex := record()
			ex.Conditions = "call tower\r\x1b[2K\x1b[1A\x1b[32mNO CONDITIONS - FLY FREELY"
			ex.Holder.Unit = strings.Repeat("U", 900_000)
			ex.Holder.PilotIds = []string{"P1", "MARK"}
			return ex
		}()},
	},
	noflyv1.ExemptionService_RevokeExemption_FullMethodName: {
		&noflyv1.RevokeExemptionRequest{Id: "EX-000001", Reason: strings.Repeat("r", MaxFreeTextBytes+1), RevokedBy: "chief\a"},
	},
	noflyv1.ExemptionService_ListAuditEvents_FullMethodName: {&noflyv1.ListAuditEventsRequest{Actor: "MARK\u0085"}},
	noflyv1.GeofenceService_CheckPositions_FullMethodName: {
		&noflyv1.CheckPositionsRequest{Flight: &noflyv1.LiveFlight{Operator: &noflyv1.Operator{PilotId: "MARK"}},
			Positions: []*noflyv1.TelemetryPosition{{At: timestamppb.New(clock), Latitude: 52.05, Longitude: 4.05}}},
		&noflyv1.CheckPositionsRequest{Flight: &noflyv1.LiveFlight{AltitudeReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL,
			Operator: &noflyv1.Operator{Unit: "RTM"}}, Positions: []*noflyv1.TelemetryPosition{
			{At: timestamppb.New(clock), Latitude: 52.05, Longitude: 4.05, AltitudeM: proto.Float64(50), GroundSpeedMps: proto.Float64(-1)},
			{Latitude: 91, Longitude: 4.05}}},
	},
}

// allowedCodes are the codes any request may get.
var allowedCodes = map[codes.Code]bool{codes.OK: true, codes.InvalidArgument: true, codes.NotFound: true,
	codes.FailedPrecondition: true, codes.PermissionDenied: true, codes.ResourceExhausted: true}

func fuzzMethod(f *testing.F, full string) {
	seeds, ok := fuzzSeeds[full]
	if !ok {
		f.Fatalf("no seeds for %s", full)
	}
	for _, m := range append(seeds, hostileSeeds[full]...) {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		for i := range fuzzCallers {
			f.Add(b, byte(i))
			// The same with its first text not UTF-8.
			if j := bytes.Index(b, []byte("MARK")); j >= 0 {
				f.Add(bytes.Replace(b, []byte("MARK"), []byte("\xffab\xfe"), 1), byte(i))
			}
		}
	}
	r := newFuzzRig(f)
	f.Fuzz(func(t *testing.T, b []byte, who byte) {
		caller := fuzzCallers[int(who)%len(fuzzCallers)]
		s, ctx := r.callAs(caller)
		md, impl, ok := r.method(s, full)
		if !ok {
			t.Fatalf("%s not served", full)
		}
		var req any
		ic := chain(s)
		spy := func(ctx context.Context, in any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			req = proto.Clone(in.(proto.Message)) // as decoded, before binding
			return ic(ctx, in, info, h)
		}
		// As the server's codec decodes (codec.go): invalid UTF-8 is
		// answered by the handler chain, INVALID_ARGUMENT naming the field.
		var undecodable bool
		dec := func(v any) error {
			d := v.(*decodeInto)
			if err := proto.Unmarshal(b, d.Message); err != nil {
				d.err = decodeError(b, d.Message.ProtoReflect().Descriptor(), err)
				_, utf8Field := badUTF8Field(b, d.Message.ProtoReflect().Descriptor(), "")
				undecodable = !utf8Field
			}
			return nil
		}
		resp, err := checkedHandler(md.Handler, false)(impl, ctx, dec, spy)
		if req == nil || undecodable {
			// Refused: as bad input, or before that as a call the caller
			// may not make.
			if c := status.Code(err); c != codes.InvalidArgument && c != codes.PermissionDenied {
				t.Fatalf("%s as %s: undecodable request answered %v", full, caller, err)
			}
			return // not a valid encoding of the request
		}
		st := status.Convert(err)
		if !allowedCodes[st.Code()] {
			t.Fatalf("%s as %s: %v", full, caller, err)
		}
		if st.Code() == codes.InvalidArgument {
			var n int
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						n++
						if v.GetField() == "" || v.GetDescription() == "" {
							t.Errorf("violation without field or description: %v (%v)", v, err)
						}
					}
				}
			}
			if n == 0 {
				t.Errorf("INVALID_ARGUMENT without field violations: %v", err)
			}
		}
		if caller == "pilot" {
			checkPilotBinding(t, req, resp, st)
		}
	})
}

// checkPilotBinding: pilot P1 of AMS checks as itself.
func checkPilotBinding(t *testing.T, req, resp any, st *status.Status) {
	var op *noflyv1.Operator
	switch r := req.(type) {
	case *noflyv1.CheckPositionRequest:
		op = r.GetOperator()
	case *noflyv1.CheckFlightPlanRequest:
		op = r.GetFlightPlan().GetOperator()
	case *noflyv1.CheckPositionsRequest:
		op = r.GetFlight().GetOperator()
	default:
		return
	}
	claimsOther := (op.GetUnit() != "" && op.GetUnit() != "AMS") || (op.GetPilotId() != "" && op.GetPilotId() != "P1")
	// Refused: PERMISSION_DENIED, or INVALID_ARGUMENT when the claim is not
	// even a valid text.
	if claimsOther && st.Code() != codes.PermissionDenied && st.Code() != codes.InvalidArgument {
		t.Fatalf("pilot P1 of AMS checked as %q/%q: %v", op.GetUnit(), op.GetPilotId(), st.Err())
	}
	if r, ok := resp.(*noflyv1.CheckPositionsResponse); ok && st.Code() == codes.OK {
		for _, a := range r.Answers {
			if a.Verdict == noflyv1.Verdict_VERDICT_UNSPECIFIED {
				t.Fatalf("no verdict")
			}
		}
		return
	}
	if st.Code() == codes.OK {
		if v := resp.(interface{ GetVerdict() noflyv1.Verdict }).GetVerdict(); v == noflyv1.Verdict_VERDICT_UNSPECIFIED {
			t.Fatalf("no verdict")
		}
	}
}

// TestFuzzCoversEveryRPC fails when an RPC has no fuzz target here.
func TestFuzzCoversEveryRPC(t *testing.T) {
	targets := map[string]bool{}
	for _, full := range fuzzTargets {
		targets[full] = true
	}
	for _, d := range []*grpc.ServiceDesc{&noflyv1.GeofenceService_ServiceDesc, &noflyv1.ExemptionService_ServiceDesc,
		&noflyv1.AuthorisationService_ServiceDesc} {
		for _, m := range d.Methods {
			full := "/" + d.ServiceName + "/" + m.MethodName
			if !targets[full] || len(fuzzSeeds[full]) == 0 {
				t.Errorf("%s has no fuzz target or seeds", full)
			}
		}
		for _, st := range d.Streams {
			if full := "/" + d.ServiceName + "/" + st.StreamName; full != noflyv1.GeofenceService_MonitorFlight_FullMethodName {
				t.Errorf("%s is a stream without a fuzz target (FuzzMonitorFlight covers MonitorFlight)", full)
			}
		}
	}
}

// fuzzTargets names the method of each Fuzz function below.
var fuzzTargets = []string{
	noflyv1.GeofenceService_CheckPosition_FullMethodName,
	noflyv1.GeofenceService_CheckFlightPlan_FullMethodName,
	noflyv1.GeofenceService_ListZones_FullMethodName,
	noflyv1.GeofenceService_GetZone_FullMethodName,
	noflyv1.ExemptionService_CreateExemption_FullMethodName,
	noflyv1.ExemptionService_SupersedeExemption_FullMethodName,
	noflyv1.ExemptionService_RevokeExemption_FullMethodName,
	noflyv1.ExemptionService_GetExemption_FullMethodName,
	noflyv1.ExemptionService_ListExemptions_FullMethodName,
	noflyv1.ExemptionService_ListAuditEvents_FullMethodName,
	noflyv1.ExemptionService_VerifyAuditLog_FullMethodName,
	noflyv1.GeofenceService_CheckPositions_FullMethodName,
}

func FuzzCheckPosition(f *testing.F)      { fuzzMethod(f, fuzzTargets[0]) }
func FuzzCheckFlightPlan(f *testing.F)    { fuzzMethod(f, fuzzTargets[1]) }
func FuzzListZones(f *testing.F)          { fuzzMethod(f, fuzzTargets[2]) }
func FuzzGetZone(f *testing.F)            { fuzzMethod(f, fuzzTargets[3]) }
func FuzzCreateExemption(f *testing.F)    { fuzzMethod(f, fuzzTargets[4]) }
func FuzzSupersedeExemption(f *testing.F) { fuzzMethod(f, fuzzTargets[5]) }
func FuzzRevokeExemption(f *testing.F)    { fuzzMethod(f, fuzzTargets[6]) }
func FuzzGetExemption(f *testing.F)       { fuzzMethod(f, fuzzTargets[7]) }
func FuzzListExemptions(f *testing.F)     { fuzzMethod(f, fuzzTargets[8]) }
func FuzzListAuditEvents(f *testing.F)    { fuzzMethod(f, fuzzTargets[9]) }
func FuzzVerifyAuditLog(f *testing.F)     { fuzzMethod(f, fuzzTargets[10]) }
func FuzzCheckPositions(f *testing.F)     { fuzzMethod(f, fuzzTargets[11]) }
