package geo

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckText(t *testing.T) {
	tests := []struct {
		name  string
		s     string
		lines bool
		want  string // part of the problem; "" for none
	}{
		{"plain", "Schiphol CTR", false, ""},
		{"accents and CJK", "Zürich – 東京", false, ""},
		{"ESC", "call tower\x1b[2K", false, "control character U+001B (ESC) at byte 10"},
		{"BEL", "a\x07", false, "U+0007 (BEL)"},
		{"CR in a message", "call tower\rNO CONDITIONS", true, "U+000D (carriage return) at byte 10"},
		{"line feed in a name", "a\nb", false, "U+000A (line feed)"},
		{"line feed and tab in a message", "line 1\n\tline 2", true, ""},
		{"DEL", "a\x7f", false, "U+007F (DEL)"},
		{"C1 CSI", "a\u009b2K", false, "U+009B (CSI) at byte 1"},
		{"NEL", "a\u0085", true, "U+0085"},
		{"invalid UTF-8", "a\xffb", false, "invalid UTF-8 at byte 1"},
		{"U+FFFD itself", "a\uFFFDb", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckText(tc.s, tc.lines)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("CheckText(%q, %t) = %q, want %q", tc.s, tc.lines, got, tc.want)
			}
		})
	}
}

// TestReadControlCharacters refuses zone texts that would rewrite a pilot's
// screen (issue 11), naming the file, feature and field, in each format.
func TestReadControlCharacters(t *testing.T) {
	ed269 := func(members string) string {
		return `{"UASZoneList":[{"identifier":"CH-1","restriction":"PROHIBITED",` + members + `"geometry":[{"horizontalProjection":{"type":"Circle","center":[7.4,46.7],"radius":100}}]}]}`
	}
	tests := []struct {
		name, data, field, msg string
	}{
		{"nofly id", noflyFeature(`{"id":"NL-\u001b[2K1"}`, readSquare), "properties.id", "U+001B (ESC)"},
		{"nofly name", noflyFeature(`{"id":"A","name":"Tower\u0007"}`, readSquare), "properties.name", "U+0007 (BEL)"},
		{"nofly message with CR", noflyFeature(`{"id":"A","message":"call tower\r\u001b[1A\u001b[32mNO CONDITIONS - FLY FREELY"}`, readSquare), "properties.message", "U+000D (carriage return)"},
		{"nofly reasons", noflyFeature(`{"id":"A","reasons":["SENSITIVE","X\u009b"]}`, readSquare), "properties.reasons[1]", "U+009B (CSI)"},
		{"nofly authority", noflyFeature(`{"id":"A","authority":[{"name":"ILT","phone":"+31\n"}]}`, readSquare), "properties.authority[0].phone", "U+000A (line feed)"},
		{"nofly invalid UTF-8", noflyFeature("{\"id\":\"A\",\"name\":\"Z\xfcrich\"}", readSquare), "properties.name", "invalid UTF-8 (line 1, column"},
		{"nofly lone surrogate", noflyFeature(`{"id":"A","name":"\ud800"}`, readSquare), "properties.name", "invalid UTF-8"},
		{"ED-269 name", ed269(`"name":"Zone\u001b]0;x\u0007",`), "name", "U+001B (ESC)"},
		{"ED-269 conditions", ed269(`"restrictionConditions":["ok","call\r"],`), "restrictionConditions[1]", "U+000D"},
		{"ED-269 authority", ed269(`"zoneAuthority":[{"name":"FOCA\u0000"}],`), "zoneAuthority[0].name", "U+0000 (NUL)"},
		{"ED-318 multilingual message", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"identifier":"E","type":"PROHIBITED","message":[{"text":"ok\u0085","lang":"en"}]},"geometry":{"type":"Polygon","coordinates":[[[5,52],[5.1,52],[5.1,52.1],[5,52]]]}}]}`,
			"properties.message[0].text", "U+0085"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.data), "hostile.json")
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("Read: %v, want a *LoadError", err)
			}
			for _, p := range le.Problems {
				if p.File == "hostile.json" && p.Feature == 0 && p.Field == tc.field && strings.Contains(p.Msg, tc.msg) {
					if strings.ContainsAny(p.String(), "\x1b\x07\r\x00") {
						t.Fatalf("problem text %q holds a control character", p.String())
					}
					return
				}
			}
			t.Fatalf("problems %v, want %s: …%s…", le, tc.field, tc.msg)
		})
	}
	// Line feeds and tabs in a message are kept.
	zones, err := Read(strings.NewReader(noflyFeature(`{"id":"A","message":"line 1\n\tline 2"}`, readSquare)), "ok.json")
	if err != nil || zones[0].Message != "line 1\n\tline 2" {
		t.Fatalf("message with lines: %v %+v", err, zones)
	}
}

func TestValidateText(t *testing.T) {
	z := validTestZone()
	z.Name = "a\x1bb"
	z.Authorities = []Authority{{Name: "ok", SiteURL: "https://x\r"}}
	probs := Validate(&z)
	if len(probs) != 2 || probs[0].Field != "name" || probs[1].Field != "authorities[0].site_url" {
		t.Fatalf("Validate = %v", probs)
	}
}

// TestProblemEscapes: a problem names an ID or member as the file spells
// it, escaped when it holds control characters, so that printing the
// problem cannot rewrite the screen either.
func TestProblemEscapes(t *testing.T) {
	_, err := Read(strings.NewReader(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"A\u001b[2K","x\u0007":1,"x\u0007":2},"geometry":`+readSquare+`}]}`), "f.json")
	if err == nil {
		t.Fatal("read")
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\x1b\x07") || !strings.Contains(msg, `"A\x1b[2K"`) || !strings.Contains(msg, `"properties.x\a"`) {
		t.Fatalf("error %q", msg)
	}
}
