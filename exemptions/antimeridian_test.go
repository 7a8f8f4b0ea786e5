package exemptions

import (
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// TestValidateAreaAcrossAntimeridian refuses an exemption area drawn across
// ±180° longitude, which would be read the long way round the Earth, and one
// of no area (issue 11).
func TestValidateAreaAcrossAntimeridian(t *testing.T) {
	from := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		ring orb.Ring
		want string
	}{
		{"long way", orb.Ring{{179.5, -17}, {-179.5, -17}, {-179.5, -16}, {179.5, -16}, {179.5, -17}}, "area[0][0][0]: edge from position 0 (179.5, -17) to position 1 (-179.5, -17) spans 359°"},
		{"flat", orb.Ring{{0, 85}, {90, 85}, {180, 85}, {90, 85}, {0, 85}}, "area[0][0]: ring encloses no area"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := &Exemption{
				Holder: Holder{Unit: "SUVA"}, ZoneIDs: []string{"FJ-1"},
				Area:      &geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{{tc.ring}}},
				ValidFrom: from, ValidUntil: from.Add(time.Hour),
				Ceiling:    Ceiling{Metres: 100, Ref: geo.AGL},
				LegalBasis: "FJ/2026/1", IssuedBy: "admin",
			}
			err := ex.Validate(nil)
			ve, ok := err.(*ValidationError)
			if !ok || len(ve.Problems) != 1 || ve.Problems[0].Field != "area" || !strings.Contains(ve.Problems[0].Msg, tc.want) {
				t.Fatalf("Validate: %v, want area: …%s…", err, tc.want)
			}
		})
	}
}
