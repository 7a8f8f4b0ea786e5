package server

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	encproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/geo"
)

// rawAnswer is an answer as the client received it, its bytes.
type rawAnswer struct{ b []byte }

// capturingCodec is the client's protobuf codec, but for a rawAnswer, which it
// fills with the bytes received.
type capturingCodec struct{ encoding.CodecV2 }

func (c capturingCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*rawAnswer); ok {
		r.b = data.Materialize()
		return nil
	}
	return c.CodecV2.Unmarshal(data, v)
}

// TestPreEncodedAnswersExact: position checks sent to a server made by
// NewGRPCServer (answers encoded before they are handed to gRPC, their
// messages used again, several calls at once) get, byte for byte, what
// proto.Marshal makes of the answer the handler builds in new memory,
// over thousands of random checks: every view, with and without altitude,
// hits of zero to many zones, records that cover or refuse conflicts and
// height limits. An answer used again that kept anything of an earlier one,
// or that was given back while still read, would differ.
func TestPreEncodedAnswersExact(t *testing.T) {
	r := rand.New(rand.NewPCG(20, 12))
	zones := ceilingZones(r, 80)
	s, g, conn := preEncodeServer(t, zones, 12, 4, grpc.ForceCodecV2(capturingCodec{encoding.GetCodecV2(encproto.Name)}))
	ctx := context.Background()

	const workers, each = 4, 900
	reqs := make([]*noflyv1.CheckPositionRequest, workers*each)
	views := []noflyv1.CheckView{noflyv1.CheckView_CHECK_VIEW_BASIC, noflyv1.CheckView_CHECK_VIEW_BASIC,
		noflyv1.CheckView_CHECK_VIEW_FULL, noflyv1.CheckView_CHECK_VIEW_UNSPECIFIED}
	for i := range reqs {
		req := &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.24 + 0.13*r.Float64(), Longitude: 4.68 + 0.25*r.Float64()},
			At: timestamppb.New(clock), Operator: &noflyv1.Operator{Unit: []string{"U-1", "U-2"}[r.IntN(2)]},
			View: views[r.IntN(len(views))], ClientReference: []string{"", "ticket 7"}[r.IntN(2)]}
		if r.IntN(3) > 0 {
			req.Altitude = alt(float64(r.IntN(200)))
		}
		reqs[i] = req
	}
	got := make([][]byte, len(reqs))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w * each; i < (w+1)*each; i++ {
				var a rawAnswer
				if err := conn.Invoke(ctx, "/nofly.v1.GeofenceService/CheckPosition", reqs[i], &a); err != nil {
					t.Error(err)
					return
				}
				got[i] = a.b
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	g.GracefulStop() // no call still runs when answers stop being reused
	reuseAnswers = false
	defer func() { reuseAnswers = true }()
	hits, basic := 0, 0
	for i, req := range reqs {
		ref, err := s.CheckPosition(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		want, err := proto.Marshal(ref)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[i], want) {
			var m noflyv1.CheckPositionResponse
			_ = proto.Unmarshal(got[i], &m)
			t.Fatalf("%v: sent\n%v\nthe answer made new\n%v", req, &m, ref)
		}
		hits += len(ref.Conflicts) + len(ref.Advisories)
		if req.View == noflyv1.CheckView_CHECK_VIEW_BASIC && len(ref.Conflicts)+len(ref.Advisories) > 0 {
			basic++
		}
	}
	if hits < 2000 || basic < 500 {
		t.Fatalf("only %d hits, %d BASIC answers with hits", hits, basic)
	}
}

// TestPreEncodeOnlyItsAnswer: the position check's answer is encoded
// before (and given back) only when it is the answer the handler left in
// the call's slot and there is no error; otherwise the answer goes to gRPC
// as it is.
func TestPreEncodeOnlyItsAnswer(t *testing.T) {
	a := newPositionAnswer(true, 2)
	a.resp.Verdict = noflyv1.Verdict_VERDICT_DENIED
	want, err := proto.Marshal(&a.resp)
	if err != nil {
		t.Fatal(err)
	}
	other := &noflyv1.CheckPositionResponse{}
	if resp, _ := preEncode(other, nil, a); resp != any(other) {
		t.Fatal("another answer was encoded in place of the handler's")
	}
	if resp, err := preEncode(&a.resp, errDenied, a); resp != any(&a.resp) || err != errDenied {
		t.Fatal("an answer with an error was encoded")
	}
	if resp, _ := preEncode(&a.resp, nil, nil); resp != any(&a.resp) {
		t.Fatal("an answer not left in the slot was encoded")
	}
	resp, err := preEncode(&a.resp, nil, a)
	p, ok := resp.(*preEncoded)
	if err != nil || !ok {
		t.Fatalf("the handler's answer was not encoded: %T %v", resp, err)
	}
	data, err := newServerCodec().Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if b := data.Materialize(); !bytes.Equal(b, want) {
		t.Fatalf("sent %x, want %x", b, want)
	}
	if _, err := newServerCodec().Marshal(p); err == nil {
		t.Fatal("encoded bytes sent twice")
	}
}

var errDenied = context.Canceled

// preEncodeServer is a server made by NewGRPCServer over zones, with the
// SQLite store holding recs records of unit U-1 (each naming per of the
// zones, with a ceiling), and a connection to it over a bufconn with
// the call options given. Stop the gRPC server (GracefulStop) before
// changing reuseAnswers: a call its client gave up on may still run.
func preEncodeServer(t *testing.T, zones []geo.Zone, recs, per int, opts ...grpc.CallOption) (*Server, *grpc.Server, *grpc.ClientConn) {
	t.Helper()
	store, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "nofly.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s, err := New(context.Background(), Config{Load: func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return clock }, Exemptions: store,
		Fleet: &FleetConfig{Ceiling: exemptions.DefaultCeiling}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	exs := &exemptionServer{s: s}
	for i := range recs {
		rec := record()
		rec.Holder.Unit, rec.ZoneIds, rec.Purposes = "U-1", nil, nil
		for j := range per {
			rec.ZoneIds = append(rec.ZoneIds, zones[(i*5+j*7)%len(zones)].ID)
		}
		rec.CeilingM = float64(40 + 10*(i%6))
		if _, err := exs.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: rec}); err != nil {
			t.Fatal(err)
		}
	}
	lis := bufconn.Listen(1 << 20)
	g := s.NewGRPCServer()
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(opts...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return s, g, conn
}
