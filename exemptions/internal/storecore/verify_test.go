package storecore

import (
	"strings"
	"testing"
)

// TestVerificationStaysSmall: however many problems and however long the
// text a database puts in them, the answer lists at most maxProblems of
// at most about maxProblemLen bytes, and counts the rest.
func TestVerificationStaysSmall(t *testing.T) {
	w := NewVerifier()
	long := strings.Repeat("x", 1<<20)
	for range 5000 {
		w.Problem("%s: no audit entry issued it", long)
	}
	v := w.Finish()
	if len(v.Problems) != maxProblems+1 {
		t.Fatalf("%d problems listed, want %d and a count", len(v.Problems), maxProblems)
	}
	size := 0
	for _, p := range v.Problems {
		size += len(p)
		if len(p) > maxProblemLen+len("…") {
			t.Errorf("a problem of %d bytes", len(p))
		}
	}
	if last := v.Problems[maxProblems]; last != "… and 4900 more problems not listed" {
		t.Errorf("last problem %q", last)
	}
	if size > 40<<10 {
		t.Errorf("problems take %d bytes", size)
	}
}
