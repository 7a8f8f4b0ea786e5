package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

// TestCheckLogIDs: a list of ids in the check's log line is written as
// encoding/json writes it, whether plain (written by hand) or not (any
// byte JSON escapes), by the JSON and the text handler alike.
func TestCheckLogIDs(t *testing.T) {
	lists := [][]string{
		nil, {}, {"EHAM-CTR"}, {"A", "B-2", "zone 3 (north)"}, {"<&>"},
		{`quo"te`}, {`back\slash`}, {"tab\t"}, {"Zürich"}, {"ok", "new\nline"},
	}
	for _, ids := range lists {
		for _, text := range []bool{false, true} {
			var got, want bytes.Buffer
			h := func(b *bytes.Buffer) slog.Handler {
				opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				}}
				if text {
					return slog.NewTextHandler(b, opts)
				}
				return slog.NewJSONHandler(b, opts)
			}
			slog.New(h(&got)).LogAttrs(context.Background(), slog.LevelInfo, "m", idsAttr("conflicts", ids))
			slog.New(h(&want)).InfoContext(context.Background(), "m", "conflicts", ids)
			if got.String() != want.String() {
				t.Errorf("%q (text %v): %s, want %s", ids, text, got.String(), want.String())
			}
			if !text {
				var v struct{ Conflicts []string }
				if err := json.Unmarshal(got.Bytes(), &v); err != nil || len(v.Conflicts) != len(ids) {
					t.Errorf("%q: %s does not read back: %v", ids, got.String(), err)
				}
			}
		}
	}
}
