package logline

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
)

// attr is one attribute, given both ways: to a Line and as a slog.Attr.
type attr struct {
	line func(*Line)
	slog slog.Attr
}

func str(k, v string) attr { return attr{func(l *Line) { l.String(k, v) }, slog.String(k, v)} }
func num(k string, v float64) attr {
	return attr{func(l *Line) { l.Float(k, v) }, slog.Float64(k, v)}
}
func integer(k string, v int) attr  { return attr{func(l *Line) { l.Int(k, v) }, slog.Int(k, v)} }
func tm(k string, v time.Time) attr { return attr{func(l *Line) { l.Time(k, v) }, slog.Time(k, v)} }
func list(k string, v []string) attr {
	return attr{func(l *Line) { l.Strings(k, v) }, slog.Any(k, v)}
}

// listOf is a list given to StringsOf (never nil).
func listOf(k string, v ...string) attr {
	return attr{func(l *Line) { l.StringsOf(k, len(v), func(i int) string { return v[i] }) }, slog.Any(k, append([]string{}, v...))}
}

// both writes one line at t with attrs through a Line and through slog's
// own handler (the Handler's embedded one), in the format asked.
func both(t *testing.T, jsonFormat bool, at time.Time, level slog.Level, msg string, attrs ...attr) (got, want string) {
	t.Helper()
	var gb, wb bytes.Buffer
	newH := NewText
	if jsonFormat {
		newH = NewJSON
	}
	h := newH(&gb, &slog.HandlerOptions{Level: slog.LevelDebug})
	l := h.lineAt(at, level, msg)
	for _, a := range attrs {
		a.line(l)
	}
	if err := l.Write(); err != nil {
		t.Fatal(err)
	}
	r := slog.NewRecord(at, level, msg, 0)
	for _, a := range attrs {
		r.AddAttrs(a.slog)
	}
	if err := newH(&wb, nil).Handler.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return gb.String(), wb.String()
}

func TestLineAsSlog(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)
	zurich := time.FixedZone("CEST", 2*3600)
	odd := []string{"", "plain", "two words", "a=b", `quo"te`, `back\slash`, "tab\t", "new\nline", "cr\r",
		"bell\a", "back\bspace", "form\ffeed", "nul\x00", "del\x7f", "<&>", "Zürich", "\u2028\u2029",
		"bad\xffutf8", "\xc3", "nbsp\u00a0", "bidi\u202e", "emoji 🚁", "\U0010FFFF", "ctl\u0085"}
	cases := []struct {
		name  string
		attrs []attr
	}{
		{"none", nil},
		{"check", []attr{str("client_reference", "M-1"), num("lat", 52.31), num("lon", 4.76), num("alt", 60),
			str("alt_ref", "AGL"), tm("at", at), str("verdict", "DENIED"), list("conflicts", []string{"EHAM-CTR", "EHR-1"}),
			integer("advisories", 2), list("exemptions", nil), str("caller", "local"), str("unit", "U-07"),
			str("pilot", ""), str("drone", ""), str("purpose", "FORENSIC")}},
		{"floats", []attr{num("a", 0), num("b", math.Copysign(0, -1)), num("c", 1e-7), num("d", 1e21), num("e", 1e20),
			num("f", 123456789.123456789), num("g", -1e-300), num("h", 5e-324), num("i", math.MaxFloat64),
			num("j", 1e-6), num("k", 0.1), num("l", 100), num("m", -2.5e-10)}},
		{"not finite", []attr{num("nan", math.NaN()), num("inf", math.Inf(1)), num("-inf", math.Inf(-1))}},
		{"ints", []attr{integer("a", 0), integer("b", -1), integer("c", math.MaxInt), integer("d", math.MinInt)}},
		{"times", []attr{tm("a", at), tm("b", at.In(zurich)), tm("c", time.Time{}), tm("d", at.Truncate(time.Second)),
			tm("e", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), tm("f", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)),
			tm("g", time.Now())}},
		{"lists", []attr{list("nil", nil), list("empty", []string{}), list("one", []string{"x"}),
			list("odd", odd), list("spaces", []string{"a b"}), list("equals", []string{"a=b"})}},
		{"lists of", []attr{listOf("none"), listOf("one", "x"), listOf("odd", odd...), listOf("spaces", "a b", "c")}},
	}
	for _, s := range odd {
		cases = append(cases, struct {
			name  string
			attrs []attr
		}{"string " + s, []attr{str(s, s), list(s, []string{s, s})}})
	}
	for _, tc := range cases {
		for _, js := range []bool{true, false} {
			for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelDebug + 1} {
				got, want := both(t, js, at, level, "position checked", tc.attrs...)
				if got != want {
					t.Errorf("%s (json %v, %v):\n got %s\nwant %s", tc.name, js, level, got, want)
				}
			}
		}
	}
	got, want := both(t, true, at, slog.LevelInfo, "odd \"msg\"\n<&>")
	if got != want {
		t.Errorf("message: got %s, want %s", got, want)
	}
}

// FuzzLineAsSlog: any strings, numbers and times come out as slog writes
// them, in JSON and text; the JSON line reads back.
func FuzzLineAsSlog(f *testing.F) {
	f.Add("M-1", "EHAM-CTR", "x\ny", 52.31, int64(1777636800123456789), "A")
	f.Add("", "", "\xff", math.Inf(1), int64(0), "quo\"te\\")
	f.Add("\u2028", "\b\f", "<&>", 1e-7, int64(-62135596800000000), "Zürich 🚁")
	f.Fuzz(func(t *testing.T, a, b, c string, x float64, ns int64, key string) {
		at := time.Unix(0, ns).UTC()
		attrs := []attr{str(key, a), num("x", x), tm("at", at), list("ids", []string{a, b, c}), list(key, []string{c}), listOf("of", b, a),
			str("b", b), integer("n", len(c))}
		for _, js := range []bool{true, false} {
			got, want := both(t, js, at, slog.LevelInfo, c, attrs...)
			if got != want {
				t.Fatalf("json %v:\n got %s\nwant %s", js, got, want)
			}
			if js && !math.IsNaN(x) && !math.IsInf(x, 0) && at.Year() >= 0 && at.Year() < 10000 {
				var v map[string]any
				if err := json.Unmarshal([]byte(got), &v); err != nil {
					t.Fatalf("%s does not read back: %v", got, err)
				}
			}
		}
	})
}

// TestHandler: lines through slog and through Lines go to the one writer,
// at the levels enabled; options a Line cannot follow turn Lines off.
func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	h := NewJSON(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})
	ctx := context.Background()
	if h.Line(ctx, slog.LevelInfo, "quiet") != nil {
		t.Error("a Line below the level")
	}
	l := h.Line(ctx, slog.LevelWarn, "loud")
	l.String("k", "v")
	if err := l.Write(); err != nil {
		t.Fatal(err)
	}
	slog.New(h).Warn("through slog", "k", 1)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"msg":"loud","k":"v"}`) || !strings.Contains(lines[1], `"msg":"through slog","k":1}`) {
		t.Errorf("lines %q", lines)
	}
	if NewText(&buf, &slog.HandlerOptions{AddSource: true}).Line(ctx, slog.LevelError, "m") != nil {
		t.Error("a Line with AddSource")
	}
	rep := func(_ []string, a slog.Attr) slog.Attr { return a }
	if NewJSON(&buf, &slog.HandlerOptions{ReplaceAttr: rep}).Line(ctx, slog.LevelError, "m") != nil {
		t.Error("a Line with ReplaceAttr")
	}
	if NewJSON(&buf, nil).Line(ctx, slog.LevelInfo, "m") == nil {
		t.Error("no Line at the default level")
	}
}

func BenchmarkLine(b *testing.B) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)
	ids := []string{"EHAM-CTR", "EHR-1", "EHD-2"}
	for _, js := range []bool{true, false} {
		name := "text"
		newH := NewText
		if js {
			name, newH = "json", NewJSON
		}
		h := newH(discard{}, nil)
		b.Run(name+"/line", func(b *testing.B) {
			b.ReportAllocs()
			defer reportThreadCPU(b)()
			for b.Loop() {
				l := h.Line(context.Background(), slog.LevelInfo, "position checked")
				l.String("client_reference", "")
				l.Float("lat", 52.312345)
				l.Float("lon", 4.7612345)
				l.Float("alt", 60)
				l.String("alt_ref", "AGL")
				l.Time("at", at)
				l.String("verdict", "DENIED")
				l.Strings("conflicts", ids)
				l.Int("advisories", 1)
				l.Strings("exemptions", nil)
				l.String("caller", "local")
				l.String("unit", "U-07")
				l.String("pilot", "P1")
				l.String("drone", "")
				l.String("purpose", "FORENSIC")
				_ = l.Write()
			}
		})
		b.Run(name+"/slog", func(b *testing.B) {
			b.ReportAllocs()
			lg := slog.New(h.Handler)
			for b.Loop() {
				lg.LogAttrs(context.Background(), slog.LevelInfo, "position checked",
					slog.String("client_reference", ""), slog.Float64("lat", 52.312345), slog.Float64("lon", 4.7612345),
					slog.Float64("alt", 60), slog.String("alt_ref", "AGL"), slog.Time("at", at),
					slog.String("verdict", "DENIED"), slog.Any("conflicts", ids), slog.Int("advisories", 1),
					slog.Any("exemptions", []string(nil)), slog.String("caller", "local"), slog.String("unit", "U-07"),
					slog.String("pilot", "P1"), slog.String("drone", ""), slog.String("purpose", "FORENSIC"))
			}
		})
	}
}

// reportThreadCPU locks the benchmark to its thread and starts the
// thread's CPU clock; the function it returns reports cpu-ns/op, which
// unlike ns/op does not run on while other work holds the CPU.
func reportThreadCPU(b *testing.B) func() {
	runtime.LockOSThread()
	start, ok := threadCPU()
	return func() {
		if end, ok2 := threadCPU(); ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
		runtime.UnlockOSThread()
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
