package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/authorisation"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/geo"
)

// testSigningKey is a fixed Ed25519 key for the tests' servers.
var testSigningKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// authorise stores an authorisation for unit AMS directly and returns its
// id.
func (f *authFixture) authorise(t *testing.T) string {
	t.Helper()
	rec, err := f.srv.authz.store.IssueAuthorisation(context.Background(), exemptions.AuthorisationRecord{
		IssuedAt: clock, ValidFrom: clock, ValidUntil: clock.Add(time.Hour), Unit: "AMS", Drone: "D1", Verdict: "CLEAR",
	}, func(id string) ([]byte, error) { return []byte(id), nil })
	if err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

type auFixture struct {
	*exFixture
	au noflyv1.AuthorisationServiceClient
}

// newAuFixture is newExFixture with a signing key (when key is set).
func newAuFixture(t *testing.T, key ed25519.PrivateKey) *auFixture {
	t.Helper()
	return newAuFleetFixture(t, key, nil)
}

// newAuFleetFixture is newAuFixture with the fleet rules fl (nil: none).
func newAuFleetFixture(t *testing.T, key ed25519.PrivateKey, fl *FleetConfig) *auFixture {
	t.Helper()
	zones := readZones(t, testZones)
	store, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	now := clock
	srv, err := New(context.Background(), Config{
		Load:           func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log:            slog.New(slog.DiscardHandler),
		Now:            func() time.Time { return now },
		Exemptions:     store,
		Authorisations: AuthorisationConfig{Key: key, Issuer: "test", MaxValidity: 4 * time.Hour},
		Fleet:          fl,
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
	return &auFixture{
		exFixture: &exFixture{checks: noflyv1.NewGeofenceServiceClient(conn), admin: noflyv1.NewExemptionServiceClient(conn),
			store: store, now: &now},
		au: noflyv1.NewAuthorisationServiceClient(conn),
	}
}

// planThroughProhib is a forensic flight of AMS/P1 with drone D1 across
// T-PROHIB at 40 m AGL, buffer 25 m, for an hour from the clock.
func planThroughProhib() *noflyv1.FlightPlan {
	return &noflyv1.FlightPlan{
		Operator: &noflyv1.Operator{Unit: "AMS", PilotId: "P1", DroneSerial: "D1"}, Purpose: noflyv1.Purpose_PURPOSE_FORENSIC,
		Start: timestamppb.New(clock), End: timestamppb.New(clock.Add(time.Hour)), BufferM: 25,
		Geometry: route(wp(52.05, 4.04, 40), wp(52.05, 4.06, 40)),
	}
}

func TestIssueAuthorisation(t *testing.T) {
	f := newAuFixture(t, testSigningKey)
	ctx := context.Background()

	// DENIED: no authorisation, and the check says why.
	resp, err := f.au.IssueAuthorisation(ctx, &noflyv1.IssueAuthorisationRequest{FlightPlan: planThroughProhib()})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetCheck().GetVerdict() != noflyv1.Verdict_VERDICT_DENIED || len(resp.GetAuthorisation()) != 0 || resp.GetRecord() != nil {
		t.Fatalf("denied plan: %v, %d bytes", resp.GetCheck().GetVerdict(), len(resp.GetAuthorisation()))
	}

	ex := f.create(t, record())
	resp, err = f.au.IssueAuthorisation(ctx, &noflyv1.IssueAuthorisationRequest{FlightPlan: planThroughProhib()})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetCheck().GetVerdict() != noflyv1.Verdict_VERDICT_EXEMPTED || resp.GetRecord().GetId() != "AU-000001" {
		t.Fatalf("exempted plan: %v, record %v", resp.GetCheck().GetVerdict(), resp.GetRecord())
	}
	// The check is CheckFlightPlan's, field for field but the clock.
	direct, err := f.checks.CheckFlightPlan(ctx, &noflyv1.CheckFlightPlanRequest{FlightPlan: planThroughProhib()})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetCheck().GetVerdict() != direct.GetVerdict() || len(resp.GetCheck().GetConflicts()) != len(direct.GetConflicts()) {
		t.Errorf("the issue's check differs from CheckFlightPlan's")
	}

	keys, err := f.au.GetKeySet(ctx, &noflyv1.GetKeySetRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := authorisation.ParseKeySet(keys.GetKeySet())
	if err != nil {
		t.Fatal(err)
	}
	res, err := authorisation.Verify(resp.GetAuthorisation(), authorisation.Options{Keys: ks, At: clock.Add(30 * time.Minute), Drone: "D1",
		Position: &authorisation.Position{Lat: 52.05, Lon: 4.05, Alt: 40, AltRef: "AGL"}})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	a := res.Authorisation
	if a.ID != "AU-000001" || a.Issuer != "test" || a.Drone != "D1" || a.Unit != "AMS" || a.Pilot != "P1" || a.Purpose != "FORENSIC" ||
		!a.ValidFrom.Equal(clock) || !a.ValidUntil.Equal(clock.Add(time.Hour)) || a.Volume.BufferM != 25 || a.Volume.AltRef != "AGL" ||
		len(a.Zones) != 1 || a.Zones[0].ID != "T-PROHIB" || a.Zones[0].Exemption.ID != ex.GetId() ||
		a.Zones[0].Exemption.Conditions != ex.GetConditions() || a.ZoneSet == "" || a.Verdict != "EXEMPTED" {
		t.Errorf("authorisation: %+v", a)
	}
	if got := resp.GetRecord().GetKeyId(); got != keys.GetKeyIds()[0] {
		t.Errorf("record key id %s, key set %v", got, keys.GetKeyIds())
	}

	// Revoking the exemption revokes the authorisation: on the list, and
	// on the record.
	if _, err := f.admin.RevokeExemption(ctx, &noflyv1.RevokeExemptionRequest{Id: ex.GetId(), RevokedBy: "admin-1", Reason: "lifted"}); err != nil {
		t.Fatal(err)
	}
	rlResp, err := f.au.GetRevocationList(ctx, &noflyv1.GetRevocationListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	rl, err := authorisation.ParseRevocationList(rlResp.GetRevocationList(), ks)
	if err != nil {
		t.Fatal(err)
	}
	_, err = authorisation.Verify(resp.GetAuthorisation(), authorisation.Options{Keys: ks, At: clock.Add(30 * time.Minute), Revocations: rl})
	if authorisation.ReasonOf(err) != authorisation.ReasonRevoked || !strings.Contains(err.Error(), "exemption-revoked") {
		t.Errorf("after the exemption's revocation: %v", err)
	}
	got, err := f.au.GetAuthorisation(ctx, &noflyv1.GetAuthorisationRequest{Id: "AU-000001"})
	if err != nil {
		t.Fatal(err)
	}
	if r := got.GetAuthorisation(); r.GetRevocationReason() != noflyv1.AuthorisationRevocationReason_AUTHORISATION_REVOCATION_REASON_EXEMPTION_REVOKED ||
		r.GetRevokedBy() != "admin-1" || !bytes.Equal(r.GetAuthorisation(), resp.GetAuthorisation()) {
		t.Errorf("record after the exemption's revocation: %v", r)
	}
	// Nothing more is issued on it: the plan is DENIED again.
	if resp, err := f.au.IssueAuthorisation(ctx, &noflyv1.IssueAuthorisationRequest{FlightPlan: planThroughProhib()}); err != nil ||
		resp.GetCheck().GetVerdict() != noflyv1.Verdict_VERDICT_DENIED {
		t.Errorf("after the revocation: %v, %v", resp.GetCheck().GetVerdict(), err)
	}
}

func TestAuthorisationRequests(t *testing.T) {
	f := newAuFixture(t, testSigningKey)
	ctx := context.Background()
	clear := func(edit func(fp *noflyv1.FlightPlan)) *noflyv1.IssueAuthorisationRequest {
		fp := planThroughProhib()
		fp.Geometry = route(wp(52.5, 4.5, 40), wp(52.51, 4.5, 40))
		edit(fp)
		return &noflyv1.IssueAuthorisationRequest{FlightPlan: fp}
	}
	tests := []struct {
		name string
		req  *noflyv1.IssueAuthorisationRequest
		code codes.Code
		msg  string
	}{
		{"no drone", clear(func(fp *noflyv1.FlightPlan) { fp.Operator.DroneSerial = "" }), codes.InvalidArgument, "drone_serial: required"},
		{"long serial", clear(func(fp *noflyv1.FlightPlan) { fp.Operator.DroneSerial = strings.Repeat("x", 101) }), codes.InvalidArgument, "at most 100 bytes"},
		{"window over the maximum", clear(func(fp *noflyv1.FlightPlan) { fp.End = timestamppb.New(clock.Add(5 * time.Hour)) }), codes.InvalidArgument, "longer than an authorisation may be valid (4h0m0s)"},
		{"window passed", clear(func(fp *noflyv1.FlightPlan) {
			fp.Start, fp.End = timestamppb.New(clock.Add(-2*time.Hour)), timestamppb.New(clock.Add(-time.Hour))
		}), codes.InvalidArgument, "has passed"},
		{"no geometry: the check's own error", clear(func(fp *noflyv1.FlightPlan) { fp.Geometry = nil }), codes.InvalidArgument, "flight_plan.geometry: required"},
		{"clear", clear(func(*noflyv1.FlightPlan) {}), codes.OK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := f.au.IssueAuthorisation(ctx, tc.req)
			if status.Code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.msg) {
				t.Fatalf("got %v, want %v %q", err, tc.code, tc.msg)
			}
			if tc.code == codes.OK && (resp.GetCheck().GetVerdict() != noflyv1.Verdict_VERDICT_CLEAR || len(resp.GetAuthorisation()) == 0) {
				t.Errorf("clear plan: %v, %d bytes", resp.GetCheck().GetVerdict(), len(resp.GetAuthorisation()))
			}
		})
	}

	// An administrator's revocation: reason and note required, once.
	_, err := f.au.RevokeAuthorisation(ctx, &noflyv1.RevokeAuthorisationRequest{Id: "AU-000001", RevokedBy: "admin-1"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "reason") {
		t.Errorf("revocation without reason: %v", err)
	}
	rev := &noflyv1.RevokeAuthorisationRequest{Id: "AU-000001", RevokedBy: "admin-1", Note: "flight cancelled",
		Reason: noflyv1.AuthorisationRevocationReason_AUTHORISATION_REVOCATION_REASON_WITHDRAWN}
	if _, err := f.au.RevokeAuthorisation(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if _, err := f.au.RevokeAuthorisation(ctx, rev); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("second revocation: %v", err)
	}
	if _, err := f.au.ListAuthorisations(ctx, &noflyv1.ListAuthorisationsRequest{Unit: strings.Repeat("u", 201)}); status.Code(err) != codes.InvalidArgument ||
		!strings.Contains(err.Error(), "unit: at most 200 bytes") {
		t.Errorf("long unit: %v", err)
	}
	rev.Id = "AU-999999"
	if _, err := f.au.RevokeAuthorisation(ctx, rev); status.Code(err) != codes.NotFound {
		t.Errorf("unknown id: %v", err)
	}
	list, err := f.au.GetRevocationList(ctx, &noflyv1.GetRevocationListRequest{})
	if err != nil || list.GetEntries() != 1 {
		t.Errorf("revocation list: %v entries, %v", list.GetEntries(), err)
	}
}

// TestIssueNow: a plan that starts now (no start) is authorised from the
// next whole second, and checked for exactly the validity it gets.
func TestIssueNow(t *testing.T) {
	f := newAuFixture(t, testSigningKey)
	*f.now = clock.Add(700 * time.Millisecond)
	fp := planThroughProhib()
	fp.Geometry = route(wp(52.5, 4.5, 40), wp(52.51, 4.5, 40))
	fp.Start, fp.End = nil, timestamppb.New(clock.Add(90*time.Minute+300*time.Millisecond))
	resp, err := f.au.IssueAuthorisation(context.Background(), &noflyv1.IssueAuthorisationRequest{FlightPlan: fp})
	if err != nil {
		t.Fatal(err)
	}
	w := resp.GetCheck().GetWindow()
	if !w.GetStart().AsTime().Equal(clock.Add(time.Second)) || !w.GetEnd().AsTime().Equal(clock.Add(90*time.Minute)) {
		t.Errorf("window checked: %v – %v", w.GetStart().AsTime(), w.GetEnd().AsTime())
	}
	ks := &authorisation.KeySet{Keys: []authorisation.Key{authorisation.NewKey(testSigningKey.Public().(ed25519.PublicKey))}}
	res, err := authorisation.Verify(resp.GetAuthorisation(), authorisation.Options{Keys: ks, At: clock.Add(time.Second)})
	if err != nil {
		t.Fatalf("from the next second: %v", err)
	}
	if a := res.Authorisation; !a.ValidFrom.Equal(w.GetStart().AsTime()) || !a.ValidUntil.Equal(w.GetEnd().AsTime()) {
		t.Errorf("validity %v – %v is not the window checked", a.ValidFrom, a.ValidUntil)
	}
}

func TestIssueWithoutKey(t *testing.T) {
	f := newAuFixture(t, nil)
	_, err := f.au.IssueAuthorisation(context.Background(), &noflyv1.IssueAuthorisationRequest{FlightPlan: planThroughProhib()})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "--signing-key") {
		t.Errorf("without a key: %v", err)
	}
}

// BenchmarkIssueOverhead compares a flight-plan check with the issue of an
// authorisation for the same plan, both called directly (no network): the
// difference is what signing and recording the authorisation add, with
// SQLite syncing each record to disk.
func BenchmarkIssueOverhead(b *testing.B) {
	zones := readZones(b, testZones)
	store, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "nofly.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	srv, err := New(context.Background(), Config{
		Load:           func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log:            slog.New(slog.DiscardHandler),
		Now:            func() time.Time { return clock },
		Exemptions:     store,
		Authorisations: AuthorisationConfig{Key: testSigningKey},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	fp := planThroughProhib()
	fp.Geometry = route(wp(52.5, 4.5, 40), wp(52.51, 4.5, 40))
	b.Run("check", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cpuTime()
		for b.Loop() {
			if _, err := srv.CheckFlightPlan(ctx, &noflyv1.CheckFlightPlanRequest{FlightPlan: fp}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	})
	b.Run("issue", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cpuTime()
		for b.Loop() {
			if _, err := srv.authz.IssueAuthorisation(ctx, &noflyv1.IssueAuthorisationRequest{FlightPlan: fp}); err != nil {
				b.Fatal(err)
			}
		}
		// CPU time leaves out the wait for the disk (fsync) and for a
		// core on a busy machine.
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	})
}

// TestKeyRotation: after a rotation the new key signs and the key set
// still holds the old one, so that what it signed verifies until it
// expires.
func TestKeyRotation(t *testing.T) {
	oldKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	zones := readZones(t, testZones)
	store, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv, err := New(context.Background(), Config{
		Load:       func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log:        slog.New(slog.DiscardHandler),
		Now:        func() time.Time { return clock },
		Exemptions: store,
		Authorisations: AuthorisationConfig{Key: testSigningKey, Previous: []ed25519.PublicKey{oldKey.Public().(ed25519.PublicKey)},
			Issuer: "test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	keys, err := srv.authz.GetKeySet(ctx, &noflyv1.GetKeySetRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := authorisation.ParseKeySet(keys.GetKeySet())
	if err != nil {
		t.Fatal(err)
	}
	newID := authorisation.Thumbprint(testSigningKey.Public().(ed25519.PublicKey))
	if len(ks.Keys) != 2 || !bytes.Equal(ks.Keys[0].ID, newID) {
		t.Fatalf("key set: %d keys, first %x", len(ks.Keys), ks.Keys[0].ID)
	}
	fp := planThroughProhib()
	fp.Geometry = route(wp(52.5, 4.5, 40), wp(52.51, 4.5, 40))
	resp, err := srv.authz.IssueAuthorisation(ctx, &noflyv1.IssueAuthorisationRequest{FlightPlan: fp})
	if err != nil {
		t.Fatal(err)
	}
	res, err := authorisation.Verify(resp.GetAuthorisation(), authorisation.Options{Keys: ks, At: clock})
	if err != nil || !bytes.Equal(res.Authorisation.KeyID, newID) {
		t.Fatalf("issued after the rotation: %v", err)
	}
	// One the old key signed before the rotation.
	old, err := authorisation.Decode(resp.GetAuthorisation())
	if err != nil {
		t.Fatal(err)
	}
	old.ID = "AU-000000"
	b, err := authorisation.Sign(oldKey, old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := authorisation.Verify(b, authorisation.Options{Keys: ks, At: clock}); err != nil {
		t.Errorf("signed by the previous key: %v", err)
	}
	// Once the old key leaves the set, what it signed is refused.
	if _, err := authorisation.Verify(b, authorisation.Options{Keys: &authorisation.KeySet{Keys: ks.Keys[:1]}, At: clock}); authorisation.ReasonOf(err) != authorisation.ReasonUnknownKey {
		t.Errorf("without the previous key: %v", err)
	}
}

// TestSupersedeRevokes: superseding the exemption revokes the
// authorisation that relied on it, with its own reason.
func TestSupersedeRevokes(t *testing.T) {
	f := newAuFixture(t, testSigningKey)
	ctx := context.Background()
	ex := f.create(t, record())
	resp, err := f.au.IssueAuthorisation(ctx, &noflyv1.IssueAuthorisationRequest{FlightPlan: planThroughProhib()})
	if err != nil || len(resp.GetAuthorisation()) == 0 {
		t.Fatalf("issue: %v", err)
	}
	if _, err := f.admin.SupersedeExemption(ctx, &noflyv1.SupersedeExemptionRequest{Id: ex.GetId(), Exemption: record()}); err != nil {
		t.Fatal(err)
	}
	got, err := f.au.GetAuthorisation(ctx, &noflyv1.GetAuthorisationRequest{Id: resp.GetRecord().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if r := got.GetAuthorisation().GetRevocationReason(); r != noflyv1.AuthorisationRevocationReason_AUTHORISATION_REVOCATION_REASON_EXEMPTION_SUPERSEDED {
		t.Errorf("after the supersession: %v", r)
	}
	list, err := f.au.GetRevocationList(ctx, &noflyv1.GetRevocationListRequest{})
	if err != nil || list.GetEntries() != 1 {
		t.Errorf("revocation list: %d entries, %v", list.GetEntries(), err)
	}
}

// cpuTime is the process's user and system CPU time so far, in
// nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// racingStore revokes an exemption just before the first authorisation is
// recorded, as another administrator could between the check and the
// record.
type racingStore struct {
	*sqlitestore.Store
	revoke string
}

func (r *racingStore) IssueAuthorisation(ctx context.Context, rec exemptions.AuthorisationRecord, sign func(string) ([]byte, error)) (exemptions.AuthorisationRecord, error) {
	if r.revoke != "" {
		if _, err := r.Revoke(ctx, exemptions.Request{}, r.revoke, exemptions.Revocation{At: clock, By: "other admin", Reason: "race"}); err != nil {
			return rec, err
		}
		r.revoke = ""
	}
	return r.Store.IssueAuthorisation(ctx, rec, sign)
}

// TestIssueRacesRevocation: an exemption revoked between the check and the
// record is never relied on: the plan is checked again, and DENIED.
func TestIssueRacesRevocation(t *testing.T) {
	ctx := context.Background()
	sq, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	ex, err := sq.Create(ctx, exemptions.Request{}, exemptions.Exemption{Holder: exemptions.Holder{Unit: "AMS"}, ZoneIDs: []string{"T-PROHIB"},
		ValidFrom: clock.Add(-time.Hour), ValidUntil: clock.Add(3 * time.Hour), Ceiling: exemptions.Ceiling{Metres: 60, Ref: geo.AGL},
		LegalBasis: "TEST/1", IssuedBy: "test", IssuedAt: clock})
	if err != nil {
		t.Fatal(err)
	}
	store := &racingStore{Store: sq, revoke: ex.ID}
	zones := readZones(t, testZones)
	srv, err := New(ctx, Config{
		Load:           func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log:            slog.New(slog.DiscardHandler),
		Now:            func() time.Time { return clock },
		Exemptions:     store,
		Authorisations: AuthorisationConfig{Key: testSigningKey},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.authz.IssueAuthorisation(ctx, &noflyv1.IssueAuthorisationRequest{FlightPlan: planThroughProhib()})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetCheck().GetVerdict() != noflyv1.Verdict_VERDICT_DENIED || len(resp.GetAuthorisation()) != 0 {
		t.Fatalf("issued on an exemption revoked meanwhile: %v, %d bytes", resp.GetCheck().GetVerdict(), len(resp.GetAuthorisation()))
	}
	if recs, _, err := sq.ListAuthorisations(ctx, exemptions.AuthorisationFilter{}); err != nil || len(recs) != 0 {
		t.Errorf("records: %d, %v", len(recs), err)
	}
}
