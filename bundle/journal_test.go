package bundle

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func journal(t testing.TB, n int) []byte {
	t.Helper()
	var out []byte
	tail := JournalTail{Seq: 1}
	for i := range n {
		line, err := JournalLine(tail, JournalEntry{At: t0.Add(time.Duration(i) * time.Minute), Unit: "AMS",
			Bundle: JournalBundle{File: "ams.bundle", SHA256: "ab", KeyID: "01", IssuedAt: t0, ZoneSet: "v1"},
			Kind:   "position", Request: []byte(`{"position": {"latitude": 52.3,  "longitude": 4.7}}`), Response: []byte(`{"verdict":"VERDICT_CLEAR"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
			t.Fatalf("not one line: %q", line)
		}
		out = append(out, line...)
		if tail, err = VerifyJournal(bytes.NewReader(out)); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestJournal(t *testing.T) {
	j := journal(t, 3)
	tail, err := VerifyJournal(bytes.NewReader(j))
	if err != nil || tail.Seq != 4 || len(tail.Prev) != 64 {
		t.Fatalf("%+v, %v", tail, err)
	}
	if tail, err := VerifyJournal(bytes.NewReader(nil)); err != nil || tail != (JournalTail{Seq: 1}) {
		t.Errorf("empty: %+v, %v", tail, err)
	}
	lines := bytes.SplitAfter(j, []byte("\n"))
	for _, tc := range []struct {
		name string
		j    []byte
		msg  string
	}{
		{"a line changed", bytes.Replace(j, []byte(`"unit":"AMS","bundle":{"file":"ams.bundle"`), []byte(`"unit":"RTM","bundle":{"file":"ams.bundle"`), 1), "line 2: prev"},
		{"a line removed", append(append([]byte{}, lines[0]...), lines[2]...), "line 2: seq 3: want 2"},
		{"lines swapped", append(append(append([]byte{}, lines[1]...), lines[0]...), lines[2]...), "line 1: seq 2: want 1"},
		{"cut short", j[:len(j)-5], "line 3: no newline"},
		{"not a journal", []byte("hello\n"), "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := VerifyJournal(bytes.NewReader(tc.j)); err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want %q", err, tc.msg)
			}
		})
	}
}

func FuzzVerifyJournal(f *testing.F) {
	f.Add(journal(f, 2))
	f.Add([]byte("{}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tail, err := VerifyJournal(bytes.NewReader(b))
		if err != nil {
			return
		}
		// A journal that verifies takes one more line, and still verifies.
		line, err := JournalLine(tail, JournalEntry{At: t0, Unit: "U", Kind: "flight-plan", Request: []byte(`{}`), Response: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		if next, err := VerifyJournal(bytes.NewReader(append(b, line...))); err != nil || next.Seq != tail.Seq+1 {
			t.Fatalf("after appending: %+v, %v", next, err)
		}
	})
}

// TestJournalLimits: what the chain cannot find, as docs/fieldkit.md says:
// lines cut off the end verify again (with a smaller count and another
// last hash), and so does a journal rewritten from a changed line on.
// Only the count and last hash noted elsewhere betray either.
func TestJournalLimits(t *testing.T) {
	j := journal(t, 3)
	full, err := VerifyJournal(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(j, []byte("\n"))
	cut, err := VerifyJournal(bytes.NewReader(bytes.Join(lines[:2], nil)))
	if err != nil || cut.Seq != 3 || cut.Prev == full.Prev {
		t.Errorf("cut at a line's end: %+v, %v; want it to verify, 2 answers, another hash", cut, err)
	}
	// Rewrite from line 2: change it, and chain line 3 to it again.
	tail := JournalTail{Seq: 1}
	var out []byte
	for i, l := range lines[:3] {
		var e JournalEntry
		if err := json.Unmarshal(bytes.TrimSuffix(l, []byte("\n")), &e); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			e.Unit = "RTM"
		}
		nl, err := JournalLine(tail, e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, nl...)
		if tail, err = VerifyJournal(bytes.NewReader(out)); err != nil {
			t.Fatal(err)
		}
	}
	if tail.Seq != full.Seq || tail.Prev == full.Prev {
		t.Errorf("rewritten: %+v; want the same count and another last hash than %+v", tail, full)
	}
}
