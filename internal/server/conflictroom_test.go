package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/logline"
)

// TestCheckPositionConflictRoomReused: the position checks' conflicts are
// built in a room each pooled check keeps; an answer is the same whether it
// is the first asked or comes after others that filled the room (with more
// conflicts, or fewer), and an answer already returned does not change when
// later checks reuse the room. 600 positions among 40 overlapping zones
// of every restriction, BASIC and FULL, heights in AGL and AMSL and none.
func TestCheckPositionConflictRoomReused(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	restr := []geo.Restriction{geo.Prohibited, geo.ReqAuthorisation, geo.Conditional, geo.NoRestriction}
	zones := make([]geo.Zone, 40)
	for i := range zones {
		lower := geo.OpenLimit
		if rng.IntN(3) == 0 {
			lower = geo.Limit{Metres: float64(rng.IntN(150)), Ref: geo.AGL}
		}
		zones[i] = geo.Zone{ID: fmt.Sprintf("Z-%02d", rng.IntN(100)*100+i), Country: "NLD", Restriction: restr[rng.IntN(len(restr))],
			Volumes: []geo.Volume{{Shape: geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.8 + (rng.Float64()-0.5)/30, 52.3 + (rng.Float64()-0.5)/30}, Radius: 300 + rng.Float64()*2500},
				Lower: lower, Upper: geo.OpenLimit}}}
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	newServer := func() *Server {
		s, err := New(context.Background(), Config{Load: func(context.Context) ([]geo.Zone, error) { return zones, nil },
			Log: slog.New(logline.NewJSON(io.Discard, nil)), Now: func() time.Time { return now },
			Fleet: &FleetConfig{Ceiling: exemptions.DefaultCeiling}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	reqs := make([]*noflyv1.CheckPositionRequest, 600)
	for i := range reqs {
		req := positionReq(52.3+(rng.Float64()-0.5)/30, 4.8+(rng.Float64()-0.5)/30)
		switch rng.IntN(3) {
		case 0:
			req.Altitude = nil
		case 1:
			req.Altitude = &noflyv1.Altitude{Metres: float64(rng.IntN(300)), Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AMSL}
		default:
			req.Altitude.Metres = float64(rng.IntN(300))
		}
		if rng.IntN(2) == 0 {
			req.View = noflyv1.CheckView_CHECK_VIEW_BASIC
		}
		reqs[i] = req
	}
	ctx := context.Background()
	s := newServer()
	answers := make([]*noflyv1.CheckPositionResponse, len(reqs))
	conflicts, most := 0, 0
	for i, req := range reqs {
		resp, err := s.CheckPosition(ctx, req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		answers[i] = resp
		conflicts += len(resp.GetConflicts())
		most = max(most, len(resp.GetConflicts()))
	}
	// Each alone on a server of its own: a room never used before.
	for i, req := range reqs {
		want, err := newServer().CheckPosition(ctx, req)
		if err != nil {
			t.Fatalf("request %d alone: %v", i, err)
		}
		if !proto.Equal(answers[i], want) {
			t.Fatalf("request %d: answered among others\n%v\nalone\n%v", i, answers[i], want)
		}
	}
	// Again on the first server, in another order, after all the others.
	for _, i := range rng.Perm(len(reqs)) {
		got, err := s.CheckPosition(ctx, reqs[i])
		if err != nil {
			t.Fatalf("request %d again: %v", i, err)
		}
		if !proto.Equal(got, answers[i]) {
			t.Fatalf("request %d: answered again\n%v\nfirst\n%v", i, got, answers[i])
		}
	}
	t.Logf("%d checks, %d conflicts, at most %d in one", len(reqs), conflicts, most)
	if conflicts < len(reqs) || most < 3 {
		t.Errorf("%d conflicts in %d checks, at most %d in one: too few", conflicts, len(reqs), most)
	}
}
