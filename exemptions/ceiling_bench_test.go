package exemptions

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// BenchmarkHighestCleared: the height limit of a position among eight
// random zones, under the general ceiling (what every position check adds).
func BenchmarkHighestCleared(b *testing.B) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	idx, err := geo.NewIndex(randomZones(rand.New(rand.NewPCG(1, 14)), 8))
	if err != nil {
		b.Fatal(err)
	}
	p := orb.Point{4.8, 52.3}
	probe := func(a geo.Altitude) []geo.Hit {
		return idx.CheckPosition(geo.PositionQuery{Point: p, Alt: a, At: now}, nil)
	}
	f := Flight{Unit: "AMS-DRONE", Kind: FlightPosition, Point: p}
	fl := &Fleet{Ceiling: DefaultCeiling}
	snap := NewSnapshot(nil, 1)
	b.ReportAllocs()
	for b.Loop() {
		HighestCleared(probe(geo.Altitude{}), probe, f, snap, fl, now)
	}
}
