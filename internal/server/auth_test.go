package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/fleet"
	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/devcert"
)

// authFixture serves testZones with an exemption store over in-memory
// mutual TLS, with a client certificate for each of these callers:
//
//	pilot    AMS  P1
//	pilot2   RTM  P2
//	planner  AMS
//	admin
//	auditor
//	norole   (a certificate of the client CA without a line in the roles file)
type authFixture struct {
	srv       *Server
	auth      *Auth
	store     exemptions.Store
	log       *syncBuffer
	lis       *bufconn.Listener
	ca        *devcert.CA
	certs     map[string]*devcert.Issued
	rolesPath string
	roots     *x509.CertPool
}

const authRoles = `# test roles
pilot    AMS  P1  CN=pilot,O=nofly dev
pilot    RTM  P2  CN=pilot2,O=nofly dev
planner  AMS  -   CN=planner,O=nofly dev
admin    -    -   CN=admin,O=nofly dev
auditor  -    -   CN=auditor,O=nofly dev
`

func subject(name string) string { return "CN=" + name + ",O=" + devcert.Org }

func newAuthFixture(t *testing.T) *authFixture {
	t.Helper()
	from, until := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	ca, err := devcert.NewCA("test CA", from, until)
	if err != nil {
		t.Fatal(err)
	}
	f := &authFixture{ca: ca, certs: map[string]*devcert.Issued{}, log: &syncBuffer{}, roots: x509.NewCertPool()}
	f.roots.AddCert(ca.Cert)
	for _, n := range []string{"pilot", "pilot2", "planner", "admin", "auditor", "norole"} {
		if f.certs[n], err = ca.Issue(devcert.Request{CommonName: n, NotBefore: from, NotAfter: until}); err != nil {
			t.Fatal(err)
		}
	}
	srvCert, err := ca.Issue(devcert.Request{CommonName: "server", Server: true, Hosts: []string{"nofly.test"}, NotBefore: from, NotAfter: until})
	if err != nil {
		t.Fatal(err)
	}
	f.rolesPath = filepath.Join(t.TempDir(), "roles.txt")
	write(t, f.rolesPath, authRoles)
	if f.auth, err = NewAuth(f.rolesPath); err != nil {
		t.Fatal(err)
	}
	f.store, err = sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.store.Close() })
	zones := readZones(t, testZones)
	f.srv, err = New(context.Background(), Config{
		Load:       func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log:        slog.New(slog.NewJSONHandler(f.log, nil)),
		Now:        func() time.Time { return clock },
		Exemptions: f.store,
		Auth:       f.auth,

		Authorisations: AuthorisationConfig{Key: testSigningKey},
	})
	if err != nil {
		t.Fatal(err)
	}
	kp, err := tls.X509KeyPair(srvCert.CertPEM, srvCert.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(ca.Cert)
	creds := credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{kp},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs})
	f.lis = bufconn.Listen(1 << 20)
	g := f.srv.NewGRPCServer(grpc.Creds(creds))
	go func() { _ = g.Serve(f.lis) }()
	t.Cleanup(g.Stop)
	return f
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// as connects with the named caller's certificate.
func (f *authFixture) as(t *testing.T, name string) *grpc.ClientConn {
	t.Helper()
	c := f.certs[name]
	kp, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	creds := credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS13, RootCAs: f.roots, ServerName: "nofly.test",
		Certificates: []tls.Certificate{kp}})
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return f.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// issue stores a fresh record for unit AMS (pilots pilots) directly.
func (f *authFixture) issue(t *testing.T, pilots ...string) string {
	t.Helper()
	ex := exemptions.Exemption{
		Holder:     exemptions.Holder{Unit: "AMS", Pilots: pilots},
		ZoneIDs:    []string{"T-PROHIB"},
		ValidFrom:  clock.Add(-time.Hour),
		ValidUntil: clock.Add(3 * time.Hour),
		Ceiling:    exemptions.Ceiling{Metres: 60, Ref: geo.AGL},
		LegalBasis: "TEST/1",
		IssuedBy:   "test",
		IssuedAt:   clock,
	}
	out, err := f.store.Create(context.Background(), exemptions.Request{}, ex)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.exCache.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out.ID
}

// calls makes one valid call of every method noflyd serves.
func (f *authFixture) calls(t *testing.T) map[string]func(ctx context.Context, conn *grpc.ClientConn) error {
	geoc := func(conn *grpc.ClientConn) noflyv1.GeofenceServiceClient {
		return noflyv1.NewGeofenceServiceClient(conn)
	}
	exc := func(conn *grpc.ClientConn) noflyv1.ExemptionServiceClient {
		return noflyv1.NewExemptionServiceClient(conn)
	}
	authc := func(conn *grpc.ClientConn) noflyv1.AuthorisationServiceClient {
		return noflyv1.NewAuthorisationServiceClient(conn)
	}
	dronec := func(conn *grpc.ClientConn) noflyv1.DroneServiceClient { return noflyv1.NewDroneServiceClient(conn) }
	// A drone for the calls that need one, and fresh serials for adds.
	var serials atomic.Int64
	drone := func(serial string) *noflyv1.Drone {
		return &noflyv1.Drone{Serial: serial, Manufacturer: "Parrot", Model: "Anafi USA", Unit: "AMS", Clearance: "regular",
			Status: noflyv1.DroneStatus_DRONE_STATUS_ACTIVE}
	}
	fresh := func() string { return fmt.Sprintf("ROLE-%d", serials.Add(1)) }
	addDrone := func(serial string) {
		d, err := fleetDrone(drone(serial))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.(exemptions.DroneStore).AddDrone(context.Background(), d, "test", clock); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]func(ctx context.Context, conn *grpc.ClientConn) error{
		noflyv1.DroneService_AddDrone_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := dronec(conn).AddDrone(ctx, &noflyv1.AddDroneRequest{Drone: drone(fresh())})
			return err
		},
		noflyv1.DroneService_UpdateDrone_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			serial := fresh()
			addDrone(serial)
			_, err := dronec(conn).UpdateDrone(ctx, &noflyv1.UpdateDroneRequest{Drone: drone(serial)})
			return err
		},
		noflyv1.DroneService_RetireDrone_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			serial := fresh()
			addDrone(serial)
			_, err := dronec(conn).RetireDrone(ctx, &noflyv1.RetireDroneRequest{Serial: serial, Reason: "test"})
			return err
		},
		noflyv1.DroneService_GetDrone_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			serial := fresh()
			addDrone(serial)
			_, err := dronec(conn).GetDrone(ctx, &noflyv1.GetDroneRequest{Serial: serial})
			return err
		},
		noflyv1.DroneService_ListDrones_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := dronec(conn).ListDrones(ctx, &noflyv1.ListDronesRequest{})
			return err
		},
		noflyv1.GeofenceService_CheckPosition_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			req := positionIn(50, clock)
			req.Operator = nil // each pilot checks as itself
			_, err := geoc(conn).CheckPosition(ctx, req)
			return err
		},
		noflyv1.GeofenceService_CheckFlightPlan_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := geoc(conn).CheckFlightPlan(ctx, &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{
				Geometry: route(wp(52.05, 4.05, 50), wp(52.06, 4.06, 50)), Start: timestamppb.New(clock)}})
			return err
		},
		noflyv1.GeofenceService_ListZones_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := geoc(conn).ListZones(ctx, &noflyv1.ListZonesRequest{})
			return err
		},
		noflyv1.GeofenceService_GetZone_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := geoc(conn).GetZone(ctx, &noflyv1.GetZoneRequest{Id: "T-PROHIB"})
			return err
		},
		noflyv1.ExemptionService_CreateExemption_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			ex := record()
			ex.IssuedBy = ""
			_, err := exc(conn).CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: ex})
			return err
		},
		noflyv1.ExemptionService_SupersedeExemption_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			ex := record()
			ex.IssuedBy = ""
			_, err := exc(conn).SupersedeExemption(ctx, &noflyv1.SupersedeExemptionRequest{Id: f.issue(t), Exemption: ex})
			return err
		},
		noflyv1.ExemptionService_RevokeExemption_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := exc(conn).RevokeExemption(ctx, &noflyv1.RevokeExemptionRequest{Id: f.issue(t), Reason: "done"})
			return err
		},
		noflyv1.ExemptionService_GetExemption_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := exc(conn).GetExemption(ctx, &noflyv1.GetExemptionRequest{Id: f.issue(t)})
			return err
		},
		noflyv1.ExemptionService_ListExemptions_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := exc(conn).ListExemptions(ctx, &noflyv1.ListExemptionsRequest{})
			return err
		},
		noflyv1.ExemptionService_ListAuditEvents_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := exc(conn).ListAuditEvents(ctx, &noflyv1.ListAuditEventsRequest{})
			return err
		},
		noflyv1.ReportService_GetReport_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := noflyv1.NewReportServiceClient(conn).GetReport(ctx, &noflyv1.GetReportRequest{From: timestamppb.New(clock.Add(-time.Hour)),
				Until: timestamppb.New(clock.Add(time.Hour))})
			return err
		},
		noflyv1.ExemptionService_VerifyAuditLog_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := exc(conn).VerifyAuditLog(ctx, &noflyv1.VerifyAuditLogRequest{})
			return err
		},
		noflyv1.AuthorisationService_IssueAuthorisation_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := authc(conn).IssueAuthorisation(ctx, &noflyv1.IssueAuthorisationRequest{FlightPlan: &noflyv1.FlightPlan{
				Operator: &noflyv1.Operator{DroneSerial: "D1"},
				Geometry: route(wp(52.05, 4.05, 50), wp(52.06, 4.06, 50)), Start: timestamppb.New(clock)}})
			return err
		},
		noflyv1.AuthorisationService_GetAuthorisation_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := authc(conn).GetAuthorisation(ctx, &noflyv1.GetAuthorisationRequest{Id: f.authorise(t)})
			return err
		},
		noflyv1.AuthorisationService_ListAuthorisations_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := authc(conn).ListAuthorisations(ctx, &noflyv1.ListAuthorisationsRequest{})
			return err
		},
		noflyv1.AuthorisationService_RevokeAuthorisation_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := authc(conn).RevokeAuthorisation(ctx, &noflyv1.RevokeAuthorisationRequest{Id: f.authorise(t), Note: "cancelled",
				Reason: noflyv1.AuthorisationRevocationReason_AUTHORISATION_REVOCATION_REASON_WITHDRAWN})
			return err
		},
		noflyv1.AuthorisationService_GetRevocationList_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := authc(conn).GetRevocationList(ctx, &noflyv1.GetRevocationListRequest{})
			return err
		},
		noflyv1.AuthorisationService_GetKeySet_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := authc(conn).GetKeySet(ctx, &noflyv1.GetKeySetRequest{})
			return err
		},
		healthpb.Health_Check_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			return err
		},
		healthpb.Health_List_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := healthpb.NewHealthClient(conn).List(ctx, &healthpb.HealthListRequest{})
			return err
		},
		healthpb.Health_Watch_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			st, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				return err
			}
			_, err = st.Recv()
			return err
		},
		reflectionpb.ServerReflection_ServerReflectionInfo_FullMethodName: func(ctx context.Context, conn *grpc.ClientConn) error {
			st, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
			if err != nil {
				return err
			}
			// A refused stream may end before the request is sent (Send
			// then returns io.EOF): its status comes with Recv either way.
			_ = st.Send(&reflectionpb.ServerReflectionRequest{
				MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
			_, err = st.Recv()
			return err
		},
	}
}

// TestRoles calls every method as every caller: each role may make exactly
// the calls the security model gives it (docs/security.md), every other
// call is PERMISSION_DENIED and logged.
func TestRoles(t *testing.T) {
	f := newAuthFixture(t)
	const (
		check   = noflyv1.GeofenceService_CheckPosition_FullMethodName
		plan    = noflyv1.GeofenceService_CheckFlightPlan_FullMethodName
		list    = noflyv1.GeofenceService_ListZones_FullMethodName
		get     = noflyv1.GeofenceService_GetZone_FullMethodName
		create  = noflyv1.ExemptionService_CreateExemption_FullMethodName
		super   = noflyv1.ExemptionService_SupersedeExemption_FullMethodName
		revoke  = noflyv1.ExemptionService_RevokeExemption_FullMethodName
		getEx   = noflyv1.ExemptionService_GetExemption_FullMethodName
		listEx  = noflyv1.ExemptionService_ListExemptions_FullMethodName
		audit   = noflyv1.ExemptionService_ListAuditEvents_FullMethodName
		verify  = noflyv1.ExemptionService_VerifyAuditLog_FullMethodName
		report  = noflyv1.ReportService_GetReport_FullMethodName
		health  = healthpb.Health_Check_FullMethodName
		hlist   = healthpb.Health_List_FullMethodName
		watch   = healthpb.Health_Watch_FullMethodName
		reflect = reflectionpb.ServerReflection_ServerReflectionInfo_FullMethodName
		issueAu = noflyv1.AuthorisationService_IssueAuthorisation_FullMethodName
		getAu   = noflyv1.AuthorisationService_GetAuthorisation_FullMethodName
		listAu  = noflyv1.AuthorisationService_ListAuthorisations_FullMethodName
		revAu   = noflyv1.AuthorisationService_RevokeAuthorisation_FullMethodName
		crl     = noflyv1.AuthorisationService_GetRevocationList_FullMethodName
		keys    = noflyv1.AuthorisationService_GetKeySet_FullMethodName
		addDr   = noflyv1.DroneService_AddDrone_FullMethodName
		updDr   = noflyv1.DroneService_UpdateDrone_FullMethodName
		retDr   = noflyv1.DroneService_RetireDrone_FullMethodName
		getDr   = noflyv1.DroneService_GetDrone_FullMethodName
		listDr  = noflyv1.DroneService_ListDrones_FullMethodName
	)
	anyone := []string{health, hlist, watch}
	withRole := append([]string{list, get, reflect, crl, keys}, anyone...)
	allowed := map[string][]string{
		"pilot":   append([]string{check, plan, issueAu, listDr}, withRole...),
		"pilot2":  append([]string{check, plan, issueAu, listDr}, withRole...),
		"planner": append([]string{plan, issueAu, listDr}, withRole...),
		"admin":   append([]string{create, super, revoke, getEx, listEx, getAu, listAu, revAu, addDr, updDr, retDr, getDr, listDr, report}, withRole...),
		"auditor": append([]string{getEx, listEx, audit, verify, getAu, listAu, getDr, listDr, report}, withRole...),
		"norole":  anyone,
	}
	calls := f.calls(t)
	for who, ok := range allowed {
		conn := f.as(t, who)
		for method, call := range calls {
			t.Run(who+method, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				err := call(ctx, conn)
				if slices.Contains(ok, method) {
					if err != nil {
						t.Fatalf("%s may call %s, got %v", who, method, err)
					}
					return
				}
				if status.Code(err) != codes.PermissionDenied {
					t.Fatalf("%s may not call %s: want PERMISSION_DENIED, got %v", who, method, err)
				}
				if !strings.Contains(status.Convert(err).Message(), subject(who)) {
					t.Errorf("the refusal does not name the caller: %v", err)
				}
				if !strings.Contains(f.log.String(), `"msg":"permission denied","method":"`+method+`","subject":"`+subject(who)+`"`) {
					t.Errorf("refused call not logged:\n%s", f.log)
				}
			})
		}
	}
}

// TestPolicyCoversEveryMethod fails when a method the server registers has
// no entry in the policy table (it would be refused to everyone), or when
// the table names a method nobody serves.
func TestPolicyCoversEveryMethod(t *testing.T) {
	f := newAuthFixture(t)
	g := f.srv.NewGRPCServer()
	served := map[string]bool{}
	for svc, info := range g.GetServiceInfo() {
		for _, m := range info.Methods {
			name := "/" + svc + "/" + m.Name
			served[name] = true
			if _, ok := policy[name]; !ok {
				t.Errorf("%s has no entry in the policy table", name)
			}
		}
	}
	for name := range policy {
		if !served[name] {
			t.Errorf("the policy table names %s, which the server does not serve", name)
		}
	}
	if len(served) < 15 {
		t.Errorf("only %d methods served: %v", len(served), served)
	}
	// Every method the tests call is one the server serves.
	for name := range f.calls(t) {
		if !served[name] {
			t.Errorf("TestRoles calls %s, which the server does not serve", name)
		}
	}
}

func TestPilotIdentityBinding(t *testing.T) {
	f := newAuthFixture(t)
	id := f.issue(t, "P1") // unit AMS, pilot P1 only
	ctx := context.Background()
	tests := []struct {
		name     string
		who      string
		op       *noflyv1.Operator
		want     noflyv1.Verdict
		code     codes.Code
		errMatch string
	}{
		{name: "pilot P1 of AMS, naming nobody: covered", who: "pilot", want: noflyv1.Verdict_VERDICT_EXEMPTED},
		{name: "pilot P1 naming itself: covered", who: "pilot", op: &noflyv1.Operator{Unit: "AMS", PilotId: "P1", DroneSerial: "SN1"}, want: noflyv1.Verdict_VERDICT_EXEMPTED},
		{name: "pilot P1 naming another unit", who: "pilot", op: &noflyv1.Operator{Unit: "RTM"}, code: codes.PermissionDenied, errMatch: `operator.unit "RTM" is not your unit (AMS)`},
		{name: "pilot P1 naming another pilot", who: "pilot", op: &noflyv1.Operator{PilotId: "P9"}, code: codes.PermissionDenied, errMatch: `operator.pilot_id "P9" is not your pilot id (P1)`},
		{name: "a long claim is cut in the refusal", who: "pilot", op: &noflyv1.Operator{Unit: strings.Repeat("é", 120)}, code: codes.PermissionDenied,
			errMatch: `operator.unit "` + strings.Repeat("é", 50) + `…" is not your unit (AMS)`},
		{name: "pilot P2 of RTM: not covered", who: "pilot2", want: noflyv1.Verdict_VERDICT_DENIED},
		{name: "pilot P2 of RTM claiming AMS/P1", who: "pilot2", op: &noflyv1.Operator{Unit: "AMS", PilotId: "P1"}, code: codes.PermissionDenied, errMatch: `operator.unit "AMS" is not your unit (RTM)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := positionIn(50, clock)
			req.Operator = tc.op
			resp, err := noflyv1.NewGeofenceServiceClient(f.as(t, tc.who)).CheckPosition(ctx, req)
			if tc.code != codes.OK {
				if status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.errMatch) {
					t.Fatalf("want %v %q, got %v", tc.code, tc.errMatch, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetVerdict() != tc.want {
				t.Fatalf("verdict %v, want %v", resp.GetVerdict(), tc.want)
			}
			if tc.want == noflyv1.Verdict_VERDICT_EXEMPTED && resp.GetExemptions()[0].GetId() != id {
				t.Errorf("applied %v, want %s", resp.GetExemptions(), id)
			}
		})
	}
	// The pilot's exempted checks are in the audit log under its subject.
	events, _, err := f.store.Audit(ctx, exemptions.AuditFilter{Action: exemptions.ActionCheck})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].Actor != subject("pilot") || events[1].Actor != subject("pilot") {
		t.Errorf("audit entries of the checks: %+v", events)
	}
	if !strings.Contains(string(events[0].Detail), `"Unit":"AMS","Pilot":"P1"`) {
		t.Errorf("check detail %s: want the authenticated unit and pilot", events[0].Detail)
	}
}

func TestPlannerBinding(t *testing.T) {
	f := newAuthFixture(t)
	f.issue(t, "P1")
	c := noflyv1.NewGeofenceServiceClient(f.as(t, "planner"))
	plan := func(op *noflyv1.Operator) *noflyv1.CheckFlightPlanRequest {
		return &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{Operator: op,
			Geometry: route(wp(52.05, 4.05, 50), wp(52.06, 4.06, 50)), Start: timestamppb.New(clock),
			End: timestamppb.New(clock.Add(time.Hour))}}
	}
	resp, err := c.CheckFlightPlan(context.Background(), plan(&noflyv1.Operator{PilotId: "P1"}))
	if err != nil || resp.GetVerdict() != noflyv1.Verdict_VERDICT_EXEMPTED {
		t.Fatalf("planner of AMS for pilot P1: %v %v", resp.GetVerdict(), err)
	}
	_, err = c.CheckFlightPlan(context.Background(), plan(&noflyv1.Operator{Unit: "RTM", PilotId: "P2"}))
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), `flight_plan.operator.unit "RTM" is not your unit (AMS)`) {
		t.Fatalf("planner of AMS for RTM: %v", err)
	}
}

func TestIssuerIsTheCertificate(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	admin := noflyv1.NewExemptionServiceClient(f.as(t, "admin"))
	ex := record()
	ex.IssuedBy = "someone-else"
	if _, err := admin.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: ex}); status.Code(err) != codes.PermissionDenied ||
		!strings.Contains(err.Error(), `exemption.issued_by "someone-else" is not you (CN=admin,O=nofly dev): leave it empty`) {
		t.Fatalf("issuing as someone else: %v", err)
	}
	ex.IssuedBy = ""
	out, err := admin.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: ex})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.GetExemption().GetIssuedBy(); got != subject("admin") {
		t.Errorf("issued by %q, want %q", got, subject("admin"))
	}
	id := out.GetExemption().GetId()
	if _, err := admin.RevokeExemption(ctx, &noflyv1.RevokeExemptionRequest{Id: id, Reason: "r", RevokedBy: "chief"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("revoking as someone else: %v", err)
	}
	rv, err := admin.RevokeExemption(ctx, &noflyv1.RevokeExemptionRequest{Id: id, Reason: "r", RevokedBy: subject("admin")})
	if err != nil {
		t.Fatal(err)
	}
	if got := rv.GetExemption().GetRevocation().GetRevokedBy(); got != subject("admin") {
		t.Errorf("revoked by %q", got)
	}
	events, _, err := f.store.Audit(ctx, exemptions.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actors []string
	for _, e := range events {
		actors = append(actors, string(e.Action)+" "+e.Actor)
	}
	want := []string{"create " + subject("admin"), "revoke " + subject("admin")}
	if !slices.Equal(actors, want) {
		t.Errorf("audit actors %q, want %q", actors, want)
	}
}

// TestRolesReload withdraws a role, and shows that a bad roles file keeps
// the roles in force.
func TestRolesReload(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	check := func() error {
		_, err := noflyv1.NewGeofenceServiceClient(f.as(t, "pilot")).CheckPosition(ctx, positionIn(50, clock))
		return err
	}
	if err := check(); err != nil {
		t.Fatal(err)
	}
	write(t, f.rolesPath, "pilot AMS - CN=pilot,O=nofly dev\nboss - - CN=x\n")
	if err := f.auth.Reload(ctx, f.srv.log); err == nil {
		t.Fatal("a bad roles file reloaded")
	}
	for _, want := range []string{`"line":1,"field":"pilot","problem":"a pilot needs a pilot id"`, `"line":2,"field":"role","problem":"\"boss\": want pilot, planner, admin or auditor"`} {
		if !strings.Contains(f.log.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, f.log)
		}
	}
	if err := check(); err != nil {
		t.Fatalf("after a failed reload: %v", err)
	}
	write(t, f.rolesPath, strings.Replace(authRoles, "pilot    AMS  P1  CN=pilot,O=nofly dev\n", "", 1))
	if err := f.auth.Reload(ctx, f.srv.log); err != nil {
		t.Fatal(err)
	}
	if err := check(); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "no role in the roles file") {
		t.Fatalf("after the role was withdrawn: %v", err)
	}
}

func TestParseRoles(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // problems, or the identities found
	}{
		{name: "every role", in: authRoles + "\n  # indented comment\nadministrator - - CN=a b  c,OU=x\\,y,O=z\n",
			want: []string{"pilot/AMS/P1/CN=pilot,O=nofly dev", "pilot/RTM/P2/CN=pilot2,O=nofly dev", "planner/AMS//CN=planner,O=nofly dev",
				"admin///CN=admin,O=nofly dev", "auditor///CN=auditor,O=nofly dev", "admin///CN=a b  c,OU=x\\,y,O=z"}},
		{name: "empty", in: "", want: nil},
		{name: "too few fields", in: "pilot AMS P1\n", want: []string{"r:1: line: want ROLE UNIT PILOT SUBJECT, got 3 fields"}},
		{name: "unknown role", in: "chief - - CN=x\n", want: []string{`r:1: role: "chief": want pilot, planner, admin or auditor`}},
		{name: "pilot without unit and pilot", in: "pilot - - CN=x\n", want: []string{"r:1: unit: a pilot needs a unit", "r:1: pilot: a pilot needs a pilot id"}},
		{name: "planner with pilot", in: "planner AMS P1 CN=x\n", want: []string{`r:1: pilot: "P1": a planner has no pilot id (write -)`}},
		{name: "planner without unit", in: "planner - - CN=x\n", want: []string{"r:1: unit: a planner needs a unit"}},
		{name: "admin with unit", in: "admin AMS - CN=x\n", want: []string{`r:1: unit: "AMS": admins are not bound to a unit (write -)`}},
		{name: "auditor with pilot", in: "auditor - P1 CN=x\n", want: []string{`r:1: pilot: "P1": auditors have no pilot id (write -)`}},
		{name: "not a subject", in: "admin - - admin\n", want: []string{`r:1: subject: "admin" does not look like a certificate subject (CN=…,O=…)`}},
		{name: "duplicate subject", in: "admin - - CN=x\n\nauditor - - CN=x\n", want: []string{`r:3: subject: "CN=x" already has a role on line 1 (one role per certificate)`}},
		{name: "not UTF-8", in: "admin - - CN=\xff\n", want: []string{"r:1: line: not valid UTF-8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRoles(strings.NewReader(tc.in), "r")
			var got []string
			if err != nil {
				ps := rolesProblems(err)
				if ps == nil {
					t.Fatalf("not a *RolesError: %v", err)
				}
				for _, p := range ps {
					got = append(got, p.String())
				}
			} else {
				for _, l := range strings.Split(tc.in, "\n") {
					fs := strings.Fields(l)
					if len(fs) < 4 || strings.HasPrefix(fs[0], "#") {
						continue
					}
					sub := strings.TrimSpace(l[strings.Index(l, "CN="):])
					id, ok := r.Lookup(sub)
					if !ok {
						t.Fatalf("%q not found", sub)
					}
					got = append(got, fmt.Sprintf("%s/%s/%s/%s", id.Role, id.Unit, id.Pilot, id.Subject))
				}
				if r.Len() != len(got) {
					t.Errorf("%d subjects, found %d", r.Len(), len(got))
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func FuzzParseRoles(f *testing.F) {
	f.Add(authRoles)
	f.Add("pilot AMS P1 CN=a,O=b\npilot AMS P1 CN=a,O=b\n")
	f.Add("admin\t-\t-\tCN=x \t y\n")
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ParseRoles(strings.NewReader(in), "f")
		if err != nil {
			if rolesProblems(err) == nil && !strings.Contains(err.Error(), "f:") {
				t.Fatalf("error without the file's name: %v", err)
			}
			return
		}
		for sub, id := range r.bySubject {
			if sub == "" || sub != strings.TrimSpace(sub) || id.Subject != sub {
				t.Fatalf("subject %q → %+v", sub, id)
			}
			switch id.Role {
			case RolePilot:
				if id.Unit == "" || id.Pilot == "" {
					t.Fatalf("pilot without unit or pilot id: %+v", id)
				}
			case RolePlanner:
				if id.Unit == "" || id.Pilot != "" {
					t.Fatalf("planner %+v", id)
				}
			case RoleAdmin, RoleAuditor:
				if id.Unit != "" || id.Pilot != "" {
					t.Fatalf("%+v", id)
				}
			default:
				t.Fatalf("role %q", id.Role)
			}
		}
	})
}

// BenchmarkAuthorize is what the authorisation interceptor adds to a
// pilot's position check: finding the certificate's subject, its role,
// the policy entry, and binding the operator.
func BenchmarkAuthorize(b *testing.B) {
	from, until := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	ca, err := devcert.NewCA("bench CA", from, until)
	if err != nil {
		b.Fatal(err)
	}
	pilot, err := ca.Issue(devcert.Request{CommonName: "pilot", NotBefore: from, NotAfter: until})
	if err != nil {
		b.Fatal(err)
	}
	roles, err := ParseRoles(strings.NewReader(authRoles), "roles")
	if err != nil {
		b.Fatal(err)
	}
	a := &Auth{}
	a.roles.Store(roles)
	s := &Server{auth: a, log: slog.New(slog.DiscardHandler)}
	ctx := peer.NewContext(context.Background(), &peer.Peer{
		AuthInfo: credentials.TLSInfo{State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{pilot.Cert}}}}})
	req := positionIn(50, clock)
	b.ReportAllocs()
	for b.Loop() {
		req.Operator = nil
		if _, err := s.authorize(ctx, noflyv1.GeofenceService_CheckPosition_FullMethodName, req); err != nil {
			b.Fatal(err)
		}
	}
}

// issueSubject signs a client certificate with the fixture's CA for the
// subject's attributes, in order, and adds it to the callers as name.
func (f *authFixture) issueSubject(t *testing.T, name string, atvs ...pkix.AttributeTypeAndValue) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{ExtraNames: atvs},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.ca.Cert, &key.PublicKey, f.ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	f.certs[name] = &devcert.Issued{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

// TestAmbiguousSubjects: a certificate of the client CA whose subject
// crypto/x509 prints as another's (only the last of several CNs is kept)
// is refused, not given the other's role.
func TestAmbiguousSubjects(t *testing.T) {
	f := newAuthFixture(t)
	var (
		cn = asn1.ObjectIdentifier{2, 5, 4, 3}
		o  = asn1.ObjectIdentifier{2, 5, 4, 10}
		ou = asn1.ObjectIdentifier{2, 5, 4, 11}
	)
	atv := func(t asn1.ObjectIdentifier, v any) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: t, Value: v}
	}
	for _, tc := range []struct {
		name    string
		subject []pkix.AttributeTypeAndValue
		want    codes.Code
	}{
		{"two CNs, the admin's last", []pkix.AttributeTypeAndValue{atv(o, devcert.Org), atv(cn, "anyone"), atv(cn, "admin")}, codes.Unauthenticated},
		{"two CNs in one RDN's place", []pkix.AttributeTypeAndValue{atv(cn, "admin"), atv(o, devcert.Org), atv(cn, "admin")}, codes.Unauthenticated},
		{"the admin's subject in another order", []pkix.AttributeTypeAndValue{atv(cn, "admin"), atv(o, devcert.Org)}, codes.OK},
		{"the admin's CN and O with an OU", []pkix.AttributeTypeAndValue{atv(o, devcert.Org), atv(ou, "x"), atv(cn, "admin")}, codes.PermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.issueSubject(t, tc.name, tc.subject...)
			_, err := noflyv1.NewExemptionServiceClient(f.as(t, tc.name)).ListExemptions(context.Background(), &noflyv1.ListExemptionsRequest{})
			if status.Code(err) != tc.want {
				t.Fatalf("ListExemptions: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestDroneListBinding: pilots and planners list their own unit's drones
// only.
func TestDroneListBinding(t *testing.T) {
	f := newAuthFixture(t)
	ds := f.store.(exemptions.DroneStore)
	for _, d := range []fleet.Drone{
		{Serial: "AMS-1", Manufacturer: "DJI", Model: "M30T", Unit: "AMS", Status: fleet.StatusActive, Clearance: "regular"},
		{Serial: "RTM-1", Manufacturer: "DJI", Model: "M30T", Unit: "RTM", Status: fleet.StatusActive, Clearance: "regular"},
	} {
		if _, err := ds.AddDrone(context.Background(), d, "test", clock); err != nil {
			t.Fatal(err)
		}
	}
	for _, who := range []string{"pilot", "planner"} {
		c := noflyv1.NewDroneServiceClient(f.as(t, who))
		resp, err := c.ListDrones(context.Background(), &noflyv1.ListDronesRequest{})
		if err != nil || len(resp.GetDrones()) != 1 || resp.GetDrones()[0].GetSerial() != "AMS-1" {
			t.Errorf("%s lists %v, %v; want AMS-1 only", who, resp.GetDrones(), err)
		}
		_, err = c.ListDrones(context.Background(), &noflyv1.ListDronesRequest{Unit: "RTM"})
		if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), `unit "RTM" is not your unit (AMS)`) {
			t.Errorf("%s lists RTM's: %v", who, err)
		}
	}
	resp, err := noflyv1.NewDroneServiceClient(f.as(t, "auditor")).ListDrones(context.Background(), &noflyv1.ListDronesRequest{})
	if err != nil || len(resp.GetDrones()) != 2 {
		t.Errorf("auditor lists %v, %v; want both", resp.GetDrones(), err)
	}
}
