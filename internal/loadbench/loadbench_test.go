package loadbench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
)

func TestCodecReadsTheFirstField(t *testing.T) {
	full := &noflyv1.CheckPositionResponse{
		Verdict:   noflyv1.Verdict_VERDICT_DENIED,
		Conflicts: []*noflyv1.ZoneHit{{Zone: &noflyv1.ZoneSummary{Id: "Z1", Name: "a zone"}}},
		CheckedAt: timestamppb.Now(),
	}
	b, err := proto.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	// The same fields with the verdict last: field order must not matter.
	rest, _ := proto.Marshal(&noflyv1.CheckPositionResponse{Conflicts: full.Conflicts, CheckedAt: full.CheckedAt})
	verdictOnly, _ := proto.Marshal(&noflyv1.CheckPositionResponse{Verdict: noflyv1.Verdict_VERDICT_EXEMPTED})
	for _, tc := range []struct {
		name    string
		data    []byte
		want    int32
		wantErr bool
	}{
		{name: "verdict first", data: b, want: int32(noflyv1.Verdict_VERDICT_DENIED)},
		{name: "verdict after the rest", data: append(slices.Clone(rest), verdictOnly...), want: int32(noflyv1.Verdict_VERDICT_EXEMPTED)},
		{name: "no verdict", data: rest, want: 0},
		{name: "empty", data: nil, want: 0},
		{name: "truncated", data: b[:len(b)-3], wantErr: true},
		{name: "twice: the last wins", data: append(slices.Clone(b), verdictOnly...), want: int32(noflyv1.Verdict_VERDICT_EXEMPTED)},
		{name: "garbage", data: []byte{0x12, 0xff}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got firstEnum
			err := codec{}.Unmarshal(oneBuffer(tc.data), &got)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if err == nil && got.value != tc.want {
				t.Errorf("field 1 = %d, want %d", got.value, tc.want)
			}
		})
	}
	// Other messages decode in full.
	var whole noflyv1.CheckPositionResponse
	if err := (codec{}).Unmarshal(oneBuffer(b), &whole); err != nil || !proto.Equal(&whole, full) {
		t.Errorf("full decode: %v, %v", err, &whole)
	}
}

func TestRoutes(t *testing.T) {
	line := func(n int) orb.LineString {
		ls := make(orb.LineString, n)
		for i := range ls {
			ls[i] = orb.Point{float64(n), float64(i)}
		}
		return ls
	}
	got := Routes([]orb.LineString{line(3), line(25), line(20), line(19), line(40)}, 20, 2)
	if len(got) != 2 {
		t.Fatalf("%d routes, want 2", len(got))
	}
	for i, wantFrom := range []float64{25, 20} {
		if len(got[i]) != 20 || got[i][0][0] != wantFrom || got[i][19][1] != 19 {
			t.Errorf("route %d = %v, want the first 20 waypoints of the %v-waypoint line", i, got[i], wantFrom)
		}
	}
}

func TestSeed(t *testing.T) {
	store, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "seed.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	zones := []string{"Z0", "Z1", "Z2", "Z3", "Z4"}
	n, err := Seed(context.Background(), store, zones, 25, 4, 7, now)
	if err != nil || n != 25 {
		t.Fatalf("Seed: %d, %v", n, err)
	}
	all, _, err := store.All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	perUnit := map[string]int{}
	for _, ex := range all {
		perUnit[ex.Holder.Unit]++
		if !ex.ValidFrom.Before(now) || !ex.ValidUntil.After(now) {
			t.Errorf("%s is not valid at %v: %v–%v", ex.ID, now, ex.ValidFrom, ex.ValidUntil)
		}
		for _, z := range ex.ZoneIDs {
			if !slices.Contains(zones, z) {
				t.Errorf("%s names %q, not a given zone", ex.ID, z)
			}
		}
	}
	want := map[string]int{"U-00": 6, "U-01": 6, "U-02": 6, "U-03": 7}
	if len(perUnit) != len(want) {
		t.Errorf("records per unit %v, want %v", perUnit, want)
	}
	for u, c := range want {
		if perUnit[u] != c {
			t.Errorf("records per unit %v, want %v", perUnit, want)
			break
		}
	}
	if _, err := Seed(context.Background(), store, nil, 1, 1, 1, now); err == nil {
		t.Error("Seed with no zones: want an error")
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	ok := Config{Addr: "127.0.0.1:1", Mode: ModeHealth, Conns: 1, InFlight: 1, Duration: time.Second}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"mode", func(c *Config) { c.Mode = "stress" }, "mode"},
		{"conns", func(c *Config) { c.Conns = 0 }, "conns"},
		{"inflight", func(c *Config) { c.InFlight = 0 }, "inflight"},
		{"duration", func(c *Config) { c.Duration = 0 }, "duration"},
		{"rate", func(c *Config) { c.Rate = -1 }, "rate"},
		{"points", func(c *Config) { c.Mode = ModePosition }, "points"},
		{"routes", func(c *Config) { c.Mode = ModeRoute }, "routes"},
		{"hup", func(c *Config) { c.HUP = func() error { return nil } }, "hup every"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			_, err := Run(context.Background(), c)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err %v, want one starting %q", err, tc.want)
			}
		})
	}
}

func TestMedianRow(t *testing.T) {
	mk := func(ok int64) *Result {
		r := &Result{Mode: ModePosition, Conns: 1, InFlight: 1, Elapsed: time.Second, OK: ok, Latency: newHist(), Codes: nil}
		_ = r.Latency.RecordValue(100)
		return r
	}
	h := mk(1000)
	var b bytes.Buffer
	MedianRow(&b, []Paired{{mk(500), h}, {mk(900), h}, {mk(700), h}})
	if got := b.String(); !strings.Contains(got, "| 700 |") || !strings.Contains(got, "| 70% |") || !strings.Contains(got, "median of 3") {
		t.Errorf("median row %q, want 700 rps, 70%% of health", got)
	}
}

func TestProcCPU(t *testing.T) {
	cpu := ProcCPU(os.Getpid())
	before, err := cpu()
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if _, err := ProcCPU(-1)(); err == nil {
		t.Error("a process that does not exist: want an error")
	}
	// Spin until the clock (10 ms ticks) has moved.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if after, err := cpu(); err != nil || after > before {
			if err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Errorf("CPU time stayed at %v while this test spun", before)
}

// FuzzCodec: whatever protobuf decodes as a check response, the codec reads
// the same verdict from; and it never panics.
func FuzzCodec(f *testing.F) {
	for _, m := range []proto.Message{
		&noflyv1.CheckPositionResponse{Verdict: noflyv1.Verdict_VERDICT_DENIED,
			Conflicts: []*noflyv1.ZoneHit{{Zone: &noflyv1.ZoneSummary{Id: "Z1"}}}},
		&noflyv1.CheckFlightPlanResponse{Verdict: noflyv1.Verdict_VERDICT_CLEAR, ClientReference: "MK-1"},
		&noflyv1.CheckPositionResponse{},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got firstEnum
		err := codec{}.Unmarshal(oneBuffer(b), &got)
		var want noflyv1.CheckPositionResponse
		if proto.Unmarshal(b, &want) != nil {
			return // not a response; the codec may or may not notice
		}
		if err != nil {
			t.Fatalf("codec refused what protobuf decodes: %v", err)
		}
		if got.value != int32(want.GetVerdict()) {
			t.Fatalf("codec read verdict %d, protobuf %d", got.value, want.GetVerdict())
		}
	})
}

// TestCodecSendsEncoded: a request encoded before the run goes out as the
// bytes of the request itself.
func TestCodecSendsEncoded(t *testing.T) {
	req := &noflyv1.CheckPositionRequest{Position: &noflyv1.Position{Latitude: 52.3, Longitude: 4.76},
		Altitude: &noflyv1.Altitude{Metres: 60, Reference: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL},
		View:     noflyv1.CheckView_CHECK_VIEW_BASIC}
	enc := encode(req)
	sent, err := codec{}.Marshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	b := sent.Materialize()
	var got noflyv1.CheckPositionRequest
	if err := proto.Unmarshal(b, &got); err != nil || !proto.Equal(&got, req) {
		t.Fatalf("sent %x: decodes as %v (%v), want %v", b, &got, err, req)
	}
	direct, err := codec{}.Marshal(req)
	if err != nil || string(direct.Materialize()) != string(b) {
		t.Fatalf("encoded %x, marshalled per call %x (%v)", b, direct.Materialize(), err)
	}
	// gRPC frees what it sent; the request is sent again by the next call.
	sent.Free()
	if again, err := (codec{}).Marshal(enc); err != nil || string(again.Materialize()) != string(b) {
		t.Fatalf("after a send freed it, the request sends %x (%v), want %x", again.Materialize(), err, b)
	}
}
