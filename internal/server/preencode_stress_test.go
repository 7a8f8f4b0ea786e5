package server

import (
	"bytes"
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	encproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// TestPreEncodedAnswersUnderCancellation: many calls at once, a third of
// them cancelled or timed out at random moments (before, during or after
// the handler), the calls that succeed get byte for byte the answer made
// in new memory: an answer given back while another call's bytes were
// still to be sent, or sent for another call, would differ (or race).
func TestPreEncodedAnswersUnderCancellation(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 17))
	zones := ceilingZones(r, 60)
	s, g, conn := preEncodeServer(t, zones, 8, 3, grpc.ForceCodecV2(capturingCodec{encoding.GetCodecV2(encproto.Name)}))
	ctx := context.Background()

	const workers, each = 16, 250
	reqs := make([]*noflyv1.CheckPositionRequest, workers*each)
	views := []noflyv1.CheckView{noflyv1.CheckView_CHECK_VIEW_BASIC, noflyv1.CheckView_CHECK_VIEW_FULL}
	for i := range reqs {
		req := &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.24 + 0.13*r.Float64(), Longitude: 4.68 + 0.25*r.Float64()},
			At: timestamppb.New(clock), Operator: &noflyv1.Operator{Unit: []string{"U-1", "U-2"}[r.IntN(2)]},
			View: views[r.IntN(len(views))]}
		if r.IntN(3) > 0 {
			req.Altitude = alt(float64(r.IntN(200)))
		}
		reqs[i] = req
	}
	got := make([][]byte, len(reqs))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			wr := rand.New(rand.NewPCG(uint64(w), 5))
			for i := w * each; i < (w+1)*each; i++ {
				cctx, cancel := context.WithCancel(ctx)
				switch wr.IntN(6) {
				case 0:
					go func(d time.Duration) { time.Sleep(d); cancel() }(time.Duration(wr.IntN(400)) * time.Microsecond)
				case 1:
					cctx, cancel = context.WithTimeout(ctx, time.Duration(wr.IntN(600))*time.Microsecond)
				}
				var a rawAnswer
				if err := conn.Invoke(cctx, "/nofly.v1.GeofenceService/CheckPosition", reqs[i], &a); err == nil {
					got[i] = a.b
				}
				cancel()
			}
		})
	}
	wg.Wait()
	// A call cancelled by its client may still run on the server: wait
	// for every one before answers stop being reused.
	g.GracefulStop()
	reuseAnswers = false
	defer func() { reuseAnswers = true }()
	ok := 0
	for i, req := range reqs {
		if got[i] == nil {
			continue
		}
		ok++
		ref, err := s.CheckPosition(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		want, err := proto.Marshal(ref)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[i], want) {
			t.Fatalf("%v: sent bytes differ from the answer made new", req)
		}
	}
	if ok < len(reqs)/2 {
		t.Fatalf("only %d of %d calls answered", ok, len(reqs))
	}
	t.Logf("%d of %d calls answered", ok, len(reqs))
}

// TestPreEncodedAnswersAcrossReloads: checks sent while the zone set is
// loaded again and again (each load a set of its own, its pooled checks
// and conflict rooms with it) and exemptions are created, all at once:
// no race (run with -race), and every answer decodes and names the zone
// set it was decided on among those loaded.
func TestPreEncodedAnswersAcrossReloads(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 19))
	zones := ceilingZones(r, 60)
	s, _, conn := preEncodeServer(t, zones, 0, 0)
	ctx := context.Background()
	client := noflyv1.NewGeofenceServiceClient(conn)
	exs := &exemptionServer{s: s}

	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.Reload(ctx); err != nil {
				t.Error(err)
				return
			}
			if i%5 == 0 {
				rec := record()
				rec.Holder.Unit, rec.ZoneIds, rec.Purposes = "U-1", []string{zones[i%len(zones)].ID}, nil
				if _, err := exs.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: rec}); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	var wg sync.WaitGroup
	answered := make([]int, 8)
	for w := range 8 {
		wg.Go(func() {
			wr := rand.New(rand.NewPCG(uint64(w), 9))
			for range 300 {
				req := &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.24 + 0.13*wr.Float64(), Longitude: 4.68 + 0.25*wr.Float64()},
					At: timestamppb.New(clock), Operator: &noflyv1.Operator{Unit: []string{"U-1", "U-2"}[wr.IntN(2)]},
					View: []noflyv1.CheckView{noflyv1.CheckView_CHECK_VIEW_BASIC, noflyv1.CheckView_CHECK_VIEW_FULL}[wr.IntN(2)]}
				if wr.IntN(2) == 0 {
					req.Altitude = alt(float64(wr.IntN(200)))
				}
				resp, err := client.CheckPosition(ctx, req)
				if err != nil {
					t.Error(err)
					return
				}
				if resp.GetZoneSet() == nil || resp.GetCheckedAt() == nil || resp.GetVerdict() == noflyv1.Verdict_VERDICT_UNSPECIFIED {
					t.Errorf("incomplete answer: %v", resp)
					return
				}
				answered[w]++
			}
		})
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	for w, n := range answered {
		if n != 300 {
			t.Fatalf("worker %d: %d answers", w, n)
		}
	}
}
