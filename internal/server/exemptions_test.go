package server

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/geo"
)

type exFixture struct {
	checks noflyv1.GeofenceServiceClient
	admin  noflyv1.ExemptionServiceClient
	store  exemptions.Store
	now    *time.Time
	conn   *grpc.ClientConn
}

// newExFixture serves testZones with an exemption store over an in-memory
// connection. The server's clock reads *f.now, which starts at clock.
func newExFixture(t *testing.T) *exFixture { t.Helper(); return newExFixtureZones(t, testZones) }

// newExFixtureZones is newExFixture with other zones (nofly GeoJSON).
func newExFixtureZones(t *testing.T, js string) *exFixture {
	t.Helper()
	zones := readZones(t, js)
	store, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	now := clock
	srv, err := New(context.Background(), Config{
		Load:       func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log:        slog.New(slog.DiscardHandler),
		Now:        func() time.Time { return now },
		Exemptions: store,
	})
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	g := srv.NewGRPCServer()
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &exFixture{checks: noflyv1.NewGeofenceServiceClient(conn), admin: noflyv1.NewExemptionServiceClient(conn),
		store: store, now: &now, conn: conn}
}

// record is a valid exemption for unit AMS in T-PROHIB, from an hour before
// the test clock to three hours after, up to 60 m AGL, for forensic flights.
func record() *noflyv1.Exemption {
	return &noflyv1.Exemption{
		Holder:           &noflyv1.ExemptionHolder{Unit: "AMS"},
		ZoneIds:          []string{"T-PROHIB"},
		ValidFrom:        timestamppb.New(clock.Add(-time.Hour)),
		ValidUntil:       timestamppb.New(clock.Add(3 * time.Hour)),
		CeilingM:         60,
		CeilingReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL,
		Purposes:         []noflyv1.Purpose{noflyv1.Purpose_PURPOSE_FORENSIC},
		Conditions:       "call the tower 10 minutes before take-off",
		LegalBasis:       "ILT/2026/0042",
		IssuedBy:         "admin-1",
	}
}

func (f *exFixture) create(t *testing.T, ex *noflyv1.Exemption) *noflyv1.Exemption {
	t.Helper()
	resp, err := f.admin.CreateExemption(context.Background(), &noflyv1.CreateExemptionRequest{Exemption: ex})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetExemption()
}

// positionIn asks for a forensic flight of AMS/P1 in T-PROHIB at alt m AGL
// at instant at.
func positionIn(altM float64, at time.Time) *noflyv1.CheckPositionRequest {
	return &noflyv1.CheckPositionRequest{
		Position: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, Altitude: alt(altM),
		At: timestamppb.New(at), Operator: &noflyv1.Operator{Unit: "AMS", PilotId: "P1"},
		Purpose: noflyv1.Purpose_PURPOSE_FORENSIC, ClientReference: "M-1",
	}
}

func reasons(h *noflyv1.ZoneHit) string {
	var out []string
	for _, r := range h.GetNotCovered() {
		out = append(out, strings.TrimPrefix(r.GetExemptionId()+": "+r.GetReason(), ": "))
	}
	return strings.Join(out, " | ")
}

func TestExemptionTurnsDeniedIntoExempted(t *testing.T) {
	f := newExFixture(t)
	ctx := context.Background()
	before, err := f.checks.CheckPosition(ctx, positionIn(50, clock))
	if err != nil {
		t.Fatal(err)
	}
	if before.GetVerdict() != noflyv1.Verdict_VERDICT_DENIED || reasons(before.GetConflicts()[0]) != "no exemption of unit AMS names this zone" {
		t.Fatalf("before: %v, %q", before.GetVerdict(), reasons(before.GetConflicts()[0]))
	}
	ex := f.create(t, record())
	if ex.GetId() == "" || !ex.GetIssuedAt().AsTime().Equal(clock) {
		t.Fatalf("created %v", ex)
	}

	tests := []struct {
		name    string
		req     *noflyv1.CheckPositionRequest
		verdict noflyv1.Verdict
		reason  string
	}{
		{"in the window, below the ceiling", positionIn(50, clock), noflyv1.Verdict_VERDICT_EXEMPTED, ""},
		{"at the ceiling", positionIn(60, clock), noflyv1.Verdict_VERDICT_EXEMPTED, ""},
		{"at the last instant", positionIn(50, clock.Add(3*time.Hour)), noflyv1.Verdict_VERDICT_EXEMPTED, ""},
		{"above the ceiling", positionIn(100, clock), noflyv1.Verdict_VERDICT_DENIED, ex.GetId() + ": ceiling 60 m AGL, planned 100 m AGL"},
		{"after the window", positionIn(50, clock.Add(4*time.Hour)), noflyv1.Verdict_VERDICT_DENIED,
			ex.GetId() + ": ends 2026-05-01 15:00Z, the flight ends 2026-05-01 16:00Z"},
		{"another purpose", func() *noflyv1.CheckPositionRequest {
			r := positionIn(50, clock)
			r.Purpose = noflyv1.Purpose_PURPOSE_TRAINING
			return r
		}(), noflyv1.Verdict_VERDICT_DENIED, ex.GetId() + ": allows purpose FORENSIC, not TRAINING"},
		{"another unit", func() *noflyv1.CheckPositionRequest {
			r := positionIn(50, clock)
			r.Operator.Unit = "RTM"
			return r
		}(), noflyv1.Verdict_VERDICT_DENIED, "no exemption of unit RTM names this zone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := f.checks.CheckPosition(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetVerdict() != tc.verdict {
				t.Fatalf("verdict %v, want %v (%q)", resp.GetVerdict(), tc.verdict, reasons(resp.GetConflicts()[0]))
			}
			c := resp.GetConflicts()[0]
			if tc.verdict == noflyv1.Verdict_VERDICT_EXEMPTED {
				want := &noflyv1.AppliedExemption{Id: ex.GetId(), LegalBasis: "ILT/2026/0042",
					Conditions: "call the tower 10 minutes before take-off", ValidUntil: ex.GetValidUntil(),
					CeilingM: 60, CeilingReference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}
				if !proto.Equal(c.GetExemption(), want) || len(resp.GetExemptions()) != 1 || !proto.Equal(resp.GetExemptions()[0], want) {
					t.Errorf("applied %v / %v, want %v", c.GetExemption(), resp.GetExemptions(), want)
				}
				return
			}
			if got := reasons(c); got != tc.reason {
				t.Errorf("reason %q, want %q", got, tc.reason)
			}
		})
	}

	// Revocation turns the verdict back.
	*f.now = clock.Add(30 * time.Minute)
	if _, err := f.admin.RevokeExemption(ctx, &noflyv1.RevokeExemptionRequest{Id: ex.GetId(), RevokedBy: "chief", Reason: "mission over"}); err != nil {
		t.Fatal(err)
	}
	after, err := f.checks.CheckPosition(ctx, positionIn(50, clock.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if want := ex.GetId() + ": revoked on 2026-05-01 12:30Z by chief: mission over"; after.GetVerdict() != noflyv1.Verdict_VERDICT_DENIED || reasons(after.GetConflicts()[0]) != want {
		t.Fatalf("after revocation: %v %q, want DENIED %q", after.GetVerdict(), reasons(after.GetConflicts()[0]), want)
	}
	_, err = f.admin.RevokeExemption(ctx, &noflyv1.RevokeExemptionRequest{Id: ex.GetId(), RevokedBy: "chief", Reason: "again"})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("revoking twice: %v, want FAILED_PRECONDITION", err)
	}

	// The audit log: the create, the three exempted checks, the revoke.
	events, err := f.admin.ListAuditEvents(ctx, &noflyv1.ListAuditEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events.GetEvents() {
		got = append(got, e.GetAction().String()+" "+e.GetActor()+" "+strings.Join(e.GetExemptionIds(), ",")+" "+e.GetClientReference())
	}
	id := ex.GetId()
	want := []string{"AUDIT_ACTION_CREATE admin-1 " + id + " ", "AUDIT_ACTION_CHECK AMS/P1 " + id + " M-1",
		"AUDIT_ACTION_CHECK AMS/P1 " + id + " M-1", "AUDIT_ACTION_CHECK AMS/P1 " + id + " M-1", "AUDIT_ACTION_REVOKE chief " + id + " "}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("audit (-want +got):\n%s", d)
	}
	v, err := f.admin.VerifyAuditLog(ctx, &noflyv1.VerifyAuditLogRequest{})
	if err != nil || !v.GetOk() || v.GetEntries() != 5 || v.GetHeadHash() != events.GetEvents()[4].GetHash() {
		t.Fatalf("verify: %v %v", v, err)
	}
}

func TestExemptedFlightPlan(t *testing.T) {
	f := newExFixture(t)
	ctx := context.Background()
	ex := record()
	ex.Area = &noflyv1.ExemptionArea{Shape: &noflyv1.ExemptionArea_Circle{Circle: &noflyv1.Circle{
		Center: &noflyv1.Position{Latitude: 52.05, Longitude: 4.05}, RadiusM: 3000}}}
	created := f.create(t, ex)
	plan := func(lon2 float64) *noflyv1.CheckFlightPlanRequest {
		return &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{
			ClientReference: "M-2", Operator: &noflyv1.Operator{Unit: "AMS"}, Purpose: noflyv1.Purpose_PURPOSE_FORENSIC,
			Start: timestamppb.New(clock), End: timestamppb.New(clock.Add(time.Hour)),
			Geometry: route(wp(52.05, 4.04, 40), wp(52.05, lon2, 40)),
		}}
	}
	resp, err := f.checks.CheckFlightPlan(ctx, plan(4.06))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetVerdict() != noflyv1.Verdict_VERDICT_EXEMPTED || resp.GetConflicts()[0].GetExemption().GetId() != created.GetId() {
		t.Fatalf("short route: %v %v", resp.GetVerdict(), resp.GetConflicts())
	}
	resp, err = f.checks.CheckFlightPlan(ctx, plan(4.095))
	if err != nil {
		t.Fatal(err)
	}
	if want := created.GetId() + ": the route's legs in the zone: leg 0 is not inside the exemption's area"; resp.GetVerdict() != noflyv1.Verdict_VERDICT_DENIED ||
		reasons(resp.GetConflicts()[0]) != want {
		t.Fatalf("route leaving the area: %v %q, want %q", resp.GetVerdict(), reasons(resp.GetConflicts()[0]), want)
	}
}

func TestExemptionRequests(t *testing.T) {
	f := newExFixture(t)
	ctx := context.Background()
	bad := record()
	bad.ZoneIds = []string{"T-PROHIB", "NOPE-1", "NOPE-2"}
	bad.ValidUntil = bad.ValidFrom
	bad.LegalBasis = ""
	bad.CeilingM = 0
	_, err := f.admin.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: bad})
	code, vs := violations(t, err)
	want := []violation{
		{"exemption.zone_ids", "unknown zones: NOPE-1, NOPE-2"},
		{"exemption.valid_until", "2026-05-01 11:00Z is not after valid_from 2026-05-01 11:00Z"},
		{"exemption.ceiling_m", "0 m is not positive"},
		{"exemption.legal_basis", "required: the reference of the exemption document"},
	}
	if code != codes.InvalidArgument {
		t.Errorf("code %v", code)
	}
	if d := cmp.Diff(want, vs); d != "" {
		t.Errorf("violations (-want +got):\n%s", d)
	}

	_, err = f.admin.GetExemption(ctx, &noflyv1.GetExemptionRequest{Id: "EX-999999"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("get unknown: %v", err)
	}
	_, err = f.admin.RevokeExemption(ctx, &noflyv1.RevokeExemptionRequest{Id: "EX-000001", RevokedBy: "chief"})
	if code, vs := violations(t, err); code != codes.InvalidArgument || len(vs) != 1 || vs[0].Field != "reason" {
		t.Errorf("revoke without reason: %v %v", code, vs)
	}

	a := f.create(t, record())
	other := record()
	other.Holder.Unit = "RTM"
	b := f.create(t, other)
	nw, err := f.admin.SupersedeExemption(ctx, &noflyv1.SupersedeExemptionRequest{Id: a.GetId(), Exemption: record()})
	if err != nil {
		t.Fatal(err)
	}
	if nw.GetExemption().GetSupersedes() != a.GetId() {
		t.Errorf("supersedes %q", nw.GetExemption().GetSupersedes())
	}
	got, err := f.admin.GetExemption(ctx, &noflyv1.GetExemptionRequest{Id: a.GetId()})
	if err != nil || got.GetExemption().GetSupersededBy() != nw.GetExemption().GetId() {
		t.Fatalf("old record: %v %v", got, err)
	}
	list := func(req *noflyv1.ListExemptionsRequest) []string {
		t.Helper()
		resp, err := f.admin.ListExemptions(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range resp.GetExemptions() {
			ids = append(ids, e.GetId())
		}
		return ids
	}
	if d := cmp.Diff([]string{b.GetId(), nw.GetExemption().GetId()}, list(&noflyv1.ListExemptionsRequest{})); d != "" {
		t.Errorf("list in force (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{a.GetId(), nw.GetExemption().GetId()}, list(&noflyv1.ListExemptionsRequest{Unit: "AMS", IncludeRevoked: true})); d != "" {
		t.Errorf("list AMS (-want +got):\n%s", d)
	}
	if got := list(&noflyv1.ListExemptionsRequest{ActiveAt: timestamppb.New(clock.Add(5 * time.Hour))}); len(got) != 0 {
		t.Errorf("active later: %v", got)
	}
	_, err = f.admin.ListExemptions(ctx, &noflyv1.ListExemptionsRequest{PageToken: "nonsense"})
	if code, vs := violations(t, err); code != codes.InvalidArgument || len(vs) != 1 || vs[0].Field != "page_token" {
		t.Errorf("bad page token: %v %v", code, vs)
	}
}

// TestOverride: a zone whose data allows no exemption is covered only by an
// exemption that names it and overrides; one that picks it by selector, or
// names it without override, is refused with the reason.
func TestOverride(t *testing.T) {
	zones := strings.Replace(testZones, `"reasons":["SENSITIVE"],`, `"reasons":["SENSITIVE"],"exemptions":"NO",`, 1)
	f := newExFixtureZones(t, zones)
	ctx := context.Background()
	plain := f.create(t, record())
	sel := record()
	sel.ZoneIds, sel.Selector = nil, &noflyv1.ZoneSelector{Reasons: []string{"SENSITIVE"}}
	bySelector := f.create(t, sel)
	resp, err := f.checks.CheckPosition(ctx, positionIn(50, clock))
	if err != nil {
		t.Fatal(err)
	}
	want := plain.GetId() + ": zone T-PROHIB allows no exemption (regulationExemption NO): only an exemption that names it and overrides covers it | " +
		bySelector.GetId() + ": zone T-PROHIB allows no exemption (regulationExemption NO): only an exemption that names it and overrides covers it"
	if resp.GetVerdict() != noflyv1.Verdict_VERDICT_DENIED || reasons(resp.GetConflicts()[0]) != want {
		t.Fatalf("without override: %v %q", resp.GetVerdict(), reasons(resp.GetConflicts()[0]))
	}
	ov := record()
	ov.Override = true
	overriding := f.create(t, ov)
	resp, err = f.checks.CheckPosition(ctx, positionIn(50, clock))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetVerdict() != noflyv1.Verdict_VERDICT_EXEMPTED || resp.GetConflicts()[0].GetExemption().GetId() != overriding.GetId() {
		t.Fatalf("with override: %v %v", resp.GetVerdict(), resp.GetConflicts()[0])
	}
}

// TestPartlyCovered: a flight through two blocking zones, one covered, is
// DENIED; the covered conflict still names its exemption, the other says
// why it is not covered, and no exemption is listed as applied.
func TestPartlyCovered(t *testing.T) {
	f := newExFixture(t)
	ctx := context.Background()
	ex := f.create(t, record())
	resp, err := f.checks.CheckFlightPlan(ctx, &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{
		Operator: &noflyv1.Operator{Unit: "AMS"}, Purpose: noflyv1.Purpose_PURPOSE_FORENSIC,
		Start: timestamppb.New(clock), End: timestamppb.New(clock.Add(time.Hour)),
		Geometry: route(wp(52.05, 4.05, 40), wp(52.05, 6.05, 400)), // through T-PROHIB low, T-HIGH high
	}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetVerdict() != noflyv1.Verdict_VERDICT_DENIED || len(resp.GetExemptions()) != 0 {
		t.Fatalf("verdict %v, applied %v", resp.GetVerdict(), resp.GetExemptions())
	}
	var got []string
	for _, c := range resp.GetConflicts() {
		got = append(got, c.GetZone().GetId()+" "+c.GetExemption().GetId()+" "+reasons(c))
	}
	want := []string{"T-HIGH  no exemption of unit AMS names this zone", "T-PROHIB " + ex.GetId() + " "}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("conflicts (-want +got):\n%s", d)
	}
}

// TestExemptedCheckNeedsItsAuditEntry: when the audit entry of an exempted
// check cannot be stored, the check fails (INTERNAL) rather than answer
// EXEMPTED unrecorded.
func TestExemptedCheckNeedsItsAuditEntry(t *testing.T) {
	f := newExFixture(t)
	f.create(t, record())
	f.store.Close()
	_, err := f.checks.CheckPosition(context.Background(), positionIn(50, clock))
	if status.Code(err) != codes.Internal {
		t.Fatalf("got %v, want INTERNAL", err)
	}
}

// TestCheckAfterChangeElsewhere: a record revoked or superseded in the
// store behind the server's back (by another server sharing it) before the
// cache has caught up never clears a flight: the store refuses the
// check's audit entry and the check is judged again on the records in
// force.
func TestCheckAfterChangeElsewhere(t *testing.T) {
	ctx := context.Background()
	plan := &noflyv1.CheckFlightPlanRequest{FlightPlan: &noflyv1.FlightPlan{
		Operator: &noflyv1.Operator{Unit: "AMS", PilotId: "P1"}, Purpose: noflyv1.Purpose_PURPOSE_FORENSIC,
		Start: timestamppb.New(clock), End: timestamppb.New(clock.Add(time.Hour)),
		Geometry: route(wp(52.05, 4.04, 40), wp(52.05, 4.06, 50)),
	}}
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, store exemptions.Store, id string)
		want   string // in the conflict's reasons
	}{
		{"revoked", func(t *testing.T, store exemptions.Store, id string) {
			if _, err := store.Revoke(ctx, exemptions.Request{}, id, exemptions.Revocation{By: "chief", At: clock, Reason: "operation ended"}); err != nil {
				t.Fatal(err)
			}
		}, "revoked on"},
		{"superseded by a lower ceiling", func(t *testing.T, store exemptions.Store, id string) {
			old, err := store.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			old.Ceiling.Metres = 20
			if _, err := store.Supersede(ctx, exemptions.Request{}, id, old); err != nil {
				t.Fatal(err)
			}
		}, "ceiling 20 m AGL"},
	} {
		for _, call := range []struct {
			name  string
			check func(f *exFixture) (noflyv1.Verdict, []*noflyv1.ZoneHit, error)
		}{
			{"position", func(f *exFixture) (noflyv1.Verdict, []*noflyv1.ZoneHit, error) {
				resp, err := f.checks.CheckPosition(ctx, positionIn(50, clock))
				return resp.GetVerdict(), resp.GetConflicts(), err
			}},
			{"flight plan", func(f *exFixture) (noflyv1.Verdict, []*noflyv1.ZoneHit, error) {
				resp, err := f.checks.CheckFlightPlan(ctx, plan)
				return resp.GetVerdict(), resp.GetConflicts(), err
			}},
		} {
			t.Run(tc.name+"/"+call.name, func(t *testing.T) {
				f := newExFixture(t)
				id := f.create(t, record()).GetId()
				if v, _, err := call.check(f); err != nil || v != noflyv1.Verdict_VERDICT_EXEMPTED {
					t.Fatalf("before the change: %v %v", v, err)
				}
				tc.change(t, f.store, id) // the server's cache does not know
				v, conflicts, err := call.check(f)
				if err != nil {
					t.Fatal(err)
				}
				if v != noflyv1.Verdict_VERDICT_DENIED || len(conflicts) != 1 || !strings.Contains(reasons(conflicts[0]), tc.want) {
					t.Fatalf("after the change: %v %v, want DENIED with %q", v, conflicts, tc.want)
				}
				events, _, err := f.store.Audit(ctx, exemptions.AuditFilter{Action: exemptions.ActionCheck})
				if err != nil {
					t.Fatal(err)
				}
				if len(events) != 1 {
					t.Errorf("%d check entries, want the one before the change", len(events))
				}
			})
		}
	}
}
