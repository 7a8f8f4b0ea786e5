package exemptions

import (
	"context"
	"log/slog"
	"testing"
)

// notifying is a Store that tells of changes.
type notifying struct{ Store }

func (notifying) Notify(context.Context, *slog.Logger, func()) {}

// wrapped is a Store wrapper, as the server's metrics put around a store.
type wrapped struct{ Store }

func (w wrapped) Unwrap() Store { return w.Store }

func TestNotifierOf(t *testing.T) {
	n := notifying{}
	tests := []struct {
		name  string
		store Store
		want  bool
	}{
		{"notifier itself", n, true},
		{"behind one wrapper", wrapped{n}, true},
		{"behind two wrappers", wrapped{wrapped{n}}, true},
		{"a store that does not notify", wrapped{nil}, false},
		{"no store", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := notifierOf(tc.store)
			if ok != tc.want {
				t.Fatalf("notifierOf: ok = %v, want %v", ok, tc.want)
			}
			if ok && got != Notifier(n) {
				t.Errorf("notifierOf returned %#v, want the notifying store", got)
			}
		})
	}
}
