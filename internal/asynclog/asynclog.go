// Package asynclog is a log destination that takes writes into memory and
// writes them out from a goroutine of its own, many lines at a time: the
// per-check log line (one for every CheckPosition) then costs a copy, not a
// write system call, and concurrent checks do not queue on the file.
//
// Nothing is dropped. A write waits when MaxPending bytes are already
// waiting (the destination is slower than the logging), and Close writes
// out everything before it returns. A line written while the destination
// is idle waits Linger for others before it goes out, so that lines
// written one by one (a check at a time) still share a write: the delay of
// a line is at most Linger plus the write before it.
package asynclog

import (
	"io"
	"sync"
	"time"
)

// Linger is how long the writer, woken by a line, waits for more before it
// writes, while less than lingerBytes wait: a millisecond gathers every
// line of a thousand checks a second into one write.
const Linger = time.Millisecond

// lingerBytes: with this much waiting, the writer writes without waiting.
const lingerBytes = 64 << 10

// MaxPending bounds the bytes waiting to be written, besides the batch
// being written (itself at most MaxPending), so that a destination that
// blocks (a full pipe) holds the loggers back rather than grow memory
// without end.
const MaxPending = 4 << 20

// Writer is an io.Writer for a slog handler. Its methods are safe for
// concurrent use.
type Writer struct {
	out io.Writer

	mu      sync.Mutex
	cond    *sync.Cond // signalled when pending shrinks or closing
	wake    chan struct{}
	pending []byte
	closed  bool
	err     error // the first error of out, returned by Close
	done    chan struct{}
}

// New returns a Writer that writes to out. Close it to write out the rest.
func New(out io.Writer) *Writer {
	w := &Writer{out: out, wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.loop()
	return w
}

// Write takes p (a whole log line, as slog's handlers write) to be written
// out. It waits while MaxPending bytes are pending; after Close it writes
// through.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	for !w.closed && len(w.pending) > 0 && len(w.pending)+len(p) > MaxPending {
		w.cond.Wait()
	}
	if w.closed {
		w.mu.Unlock()
		return w.out.Write(p)
	}
	w.pending = append(w.pending, p...)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // the writer is awake already and will see it
	}
	return len(p), nil
}

func (w *Writer) loop() {
	defer close(w.done)
	var batch []byte
	for {
		w.mu.Lock()
		for len(w.pending) == 0 && !w.closed {
			w.mu.Unlock()
			<-w.wake
			w.mu.Lock()
		}
		if len(w.pending) == 0 && w.closed {
			w.mu.Unlock()
			return
		}
		if !w.closed && len(w.pending) < lingerBytes {
			// Gather the lines written meanwhile.
			w.mu.Unlock()
			time.Sleep(Linger)
			w.mu.Lock()
		}
		batch, w.pending = w.pending, batch[:0]
		w.cond.Broadcast()
		w.mu.Unlock()
		if _, err := w.out.Write(batch); err != nil {
			w.mu.Lock()
			if w.err == nil {
				w.err = err
			}
			w.mu.Unlock()
		}
	}
}

// Close writes out every pending line, stops the writer's goroutine and
// returns the first error writing to out. Later writes go straight to out.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.closed = true
	w.cond.Broadcast()
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
