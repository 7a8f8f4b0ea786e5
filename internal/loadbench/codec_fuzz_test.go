package loadbench

import (
	"testing"

	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// FuzzStreamAnswer: the stream mode's reading of a MonitorFlightResponse
// never panics, and where protobuf decodes the bytes it reads the same
// reason, verdict and skipped positions.
func FuzzStreamAnswer(f *testing.F) {
	for _, r := range []*noflyv1.MonitorFlightResponse{
		{},
		{Reason: noflyv1.MonitorReason_MONITOR_REASON_POSITION, Verdict: noflyv1.Verdict_VERDICT_DENIED, SkippedPositions: 41,
			Events:      []*noflyv1.FlightEvent{{Kind: noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_ENTER, ZoneId: "Z1"}},
			HeightLimit: &noflyv1.HeightLimit{Metres: 120, LimitedBy: "the general ceiling"}},
		{Reason: noflyv1.MonitorReason_MONITOR_REASON_ZONES_RELOADED, ZoneSet: &noflyv1.ZoneSetInfo{Version: "v"}},
	} {
		b, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a streamAnswer
		err := a.unmarshal(b)
		var m noflyv1.MonitorFlightResponse
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		if err != nil {
			t.Fatalf("protobuf reads %v, streamAnswer fails: %v", &m, err)
		}
		if a.reason != int32(m.Reason) || a.verdict != int32(m.Verdict) || a.skipped != m.SkippedPositions {
			t.Fatalf("read %+v, protobuf %v", a, &m)
		}
	})
}
