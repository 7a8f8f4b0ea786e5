package exemptions_test

import (
	"fmt"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
)

// A check decided without a server: the zones from a file, the records from
// anywhere (a bundle, a signed list), the instant given. This is what the
// server does for every check.
func ExampleDecide() {
	zone := geo.Zone{ID: "NL-EHAM-CTR", Restriction: geo.ReqAuthorisation, Volumes: []geo.Volume{{
		Shape: geo.Shape{Kind: geo.ShapeCircle, Center: orb.Point{4.76, 52.31}, Radius: 5000},
		Lower: geo.OpenLimit, Upper: geo.Limit{Metres: 500, Ref: geo.AMSL},
	}}}
	idx, err := geo.NewIndex([]geo.Zone{zone})
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	q := geo.PositionQuery{Point: orb.Point{4.76, 52.31}, Alt: geo.Altitude{Metres: 50, Ref: geo.AMSL}, At: now}
	hits := idx.CheckPosition(q, nil)

	records := exemptions.NewSnapshot([]exemptions.Exemption{{
		ID: "EX-000001", Holder: exemptions.Holder{Unit: "AMS-DRONE"}, ZoneIDs: []string{"NL-EHAM-CTR"},
		ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour),
		Ceiling: exemptions.Ceiling{Metres: 60, Ref: geo.AMSL}, LegalBasis: "ILT/2026/0042",
	}}, 1)
	for _, unit := range []string{"AMS-DRONE", "RTM-DRONE"} {
		f := exemptions.Flight{Unit: unit, Kind: exemptions.FlightPosition, Point: q.Point}
		r := exemptions.Decide(hits, f, records, now)
		fmt.Println(unit, r.Verdict, r.AppliedIDs())
		for _, c := range r.Conflicts {
			for _, why := range c.Reasons {
				fmt.Println("  ", c.Hit.Zone.ID, why)
			}
		}
	}
	// Output:
	// AMS-DRONE EXEMPTED [EX-000001]
	// RTM-DRONE DENIED []
	//    NL-EHAM-CTR no exemption of unit RTM-DRONE names this zone
}
