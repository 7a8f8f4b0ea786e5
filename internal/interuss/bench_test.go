package interuss

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// BenchmarkQuerySwiss answers one request of 100 checks (circles of 200 m
// from the ground to 120 m, Block) spread over Switzerland, against the
// Swiss ED-318 test data (1,179 zones).
func BenchmarkQuerySwiss(b *testing.B) {
	if _, err := os.Stat(swissED318); err != nil {
		b.Skip("../shared/data not present:", err)
	}
	idx := loadIndex(b, swissED318)
	var checks []string
	for i := range 100 {
		lat, lng := 46.0+float64(i%10)*0.15, 6.2+float64(i/10)*0.35
		checks = append(checks, `{"filter_sets": [{"volumes4d": [`+circleVol(lat, lng, 200, alts(0, 120, "SFC", "M"))+`], "resulting_operational_impact": "Block"}]}`)
	}
	body := []byte(fmt.Sprintf(`{"checks": [%s]}`, strings.Join(checks, ",")))
	layers := []layer{{idx: idx}}
	b.ReportAllocs()
	for b.Loop() {
		sets, err := decodeQuery(body)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range sets {
			evaluate(s, layers, testNow, nil)
		}
	}
}
