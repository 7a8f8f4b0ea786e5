package asynclog

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowWriter counts writes and takes a while over each, as a terminal or
// a pipe to a log collector may.
type slowWriter struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(50 * time.Microsecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

// TestNothingLostInOrder: lines from many goroutines all arrive, whole and
// each goroutine's in its order, in fewer writes than lines.
func TestNothingLostInOrder(t *testing.T) {
	out := &slowWriter{}
	w := New(out)
	const goroutines, lines = 8, 2000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(w, "g%d line %d\n", g, i)
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(out.b.String(), "\n"), "\n")
	if len(got) != goroutines*lines {
		t.Fatalf("%d lines, want %d", len(got), goroutines*lines)
	}
	next := make([]int, goroutines)
	for _, l := range got {
		var g, i int
		if _, err := fmt.Sscanf(l, "g%d line %d", &g, &i); err != nil {
			t.Fatalf("torn line %q", l)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: line %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	if out.writes >= goroutines*lines {
		t.Errorf("%d writes for %d lines: nothing gathered", out.writes, goroutines*lines)
	}
	t.Logf("%d lines in %d writes", len(got), out.writes)
}

// TestBoundedAndWriteAfterClose: a writer that waits holds back a logger
// at MaxPending, and lines after Close go straight out.
func TestBoundedAndWriteAfterClose(t *testing.T) {
	block := make(chan struct{})
	out := &blockingWriter{release: block}
	w := New(out)
	line := bytes.Repeat([]byte("x"), 1<<20)
	wrote := make(chan int, 10)
	go func() {
		for i := range 10 {
			w.Write(line)
			wrote <- i
		}
	}()
	time.Sleep(100 * time.Millisecond)
	// A batch is being written (blocked): it held at most MaxPending, and
	// at most MaxPending more wait.
	if n := len(wrote); n > 2*MaxPending/len(line) {
		t.Errorf("%d lines taken while the destination is blocked, want at most %d", n, 2*MaxPending/len(line))
	}
	close(block)
	for range 10 {
		<-wrote
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("after\n"))
	if out.n != 10*len(line)+len("after\n") {
		t.Errorf("%d bytes out, want %d", out.n, 10*len(line)+len("after\n"))
	}
}

type blockingWriter struct {
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	<-b.release
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n += len(p)
	return len(p), nil
}

// countingWriter counts writes.
type countingWriter struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.b.Write(p)
}

func (c *countingWriter) state() (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String(), c.writes
}

// TestLinesOneByOneShareWrites: lines written one at a time, a tenth of
// Linger apart (a check at a time, the destination idle in between), go
// out several to a write, not one write each; and a lone line goes out
// within a few Lingers.
func TestLinesOneByOneShareWrites(t *testing.T) {
	out := &countingWriter{}
	w := New(out)
	const lines = 200
	for i := range lines {
		fmt.Fprintf(w, "line %d\n", i)
		for t0 := time.Now(); time.Since(t0) < Linger/10; { // a sleep this short oversleeps
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, writes := out.state()
	if n := strings.Count(got, "\n"); n != lines {
		t.Fatalf("%d lines, want %d", n, lines)
	}
	if writes > lines/3 {
		t.Errorf("%d writes for %d lines written a tenth of Linger apart: not gathered", writes, lines)
	}
	t.Logf("%d lines in %d writes", lines, writes)

	out = &countingWriter{}
	w = New(out)
	defer w.Close()
	w.Write([]byte("lone\n"))
	deadline := time.Now().Add(2 * time.Second)
	for {
		if got, _ := out.state(); got == "lone\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a lone line not written within 2 s")
		}
		time.Sleep(Linger)
	}
}
