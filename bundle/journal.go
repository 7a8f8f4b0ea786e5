package bundle

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// An offline check is in no audit log: noflyd never saw it. A journal
// keeps the unit's own record: one JSON line an answer, each naming the
// SHA-256 of the line before it (Prev), so that a line changed, removed or
// put in another order breaks the chain from there on (VerifyJournal). A
// line carries the check as asked and the answer as given (protojson) and
// the bundle it came from, which is what an import into the audit log
// would need; nofly has no such import yet.

// JournalFormat names a journal line's format.
const JournalFormat = "nofly-offline-journal/1"

// MaxJournalLine bounds a journal line, in bytes.
const MaxJournalLine = 4 << 20

// JournalEntry is one offline answer.
type JournalEntry struct {
	Format string `json:"format"`
	// Seq counts the lines from 1; Prev is the hex SHA-256 of the line
	// before (its bytes without the newline), "" for the first.
	Seq  int64  `json:"seq"`
	Prev string `json:"prev"`
	// At is when the answer was given, by the machine's clock.
	At   time.Time `json:"at"`
	Unit string    `json:"unit"`
	// Bundle identifies the bundle answered from.
	Bundle JournalBundle `json:"bundle"`
	// Kind is "position" or "flight-plan"; Request and Response the
	// check and its answer as protojson.
	Kind     string          `json:"kind"`
	Request  json.RawMessage `json:"request"`
	Response json.RawMessage `json:"response"`
}

// JournalBundle names the bundle an answer came from.
type JournalBundle struct {
	File     string    `json:"file"`
	SHA256   string    `json:"sha256"` // of the bundle file as read
	KeyID    string    `json:"key_id"` // hex
	IssuedAt time.Time `json:"issued_at"`
	ZoneSet  string    `json:"zone_set"`
}

// JournalTail is where a journal ends: the next line's Seq and Prev.
type JournalTail struct {
	Seq  int64
	Prev string
}

// VerifyJournal reads a journal and checks every line and the chain; it
// returns where the journal ends. An empty journal ends at Seq 1, Prev "".
// A line not ending in a newline (a write cut short) is an error too:
// nothing may be appended after it.
func VerifyJournal(r io.Reader) (JournalTail, error) {
	tail := JournalTail{Seq: 1}
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return tail, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return tail, err
		}
		if len(line) > MaxJournalLine {
			return tail, fmt.Errorf("line %d: longer than %d bytes", n, MaxJournalLine)
		}
		if line[len(line)-1] != '\n' {
			return tail, fmt.Errorf("line %d: no newline at its end: the journal was cut short", n)
		}
		line = line[:len(line)-1]
		var e JournalEntry
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return tail, fmt.Errorf("line %d: %w", n, err)
		}
		switch {
		case dec.More():
			return tail, fmt.Errorf("line %d: data after the entry", n)
		case e.Format != JournalFormat:
			return tail, fmt.Errorf("line %d: format %q: want %q", n, e.Format, JournalFormat)
		case e.Seq != tail.Seq:
			return tail, fmt.Errorf("line %d: seq %d: want %d (a line removed or moved?)", n, e.Seq, tail.Seq)
		case e.Prev != tail.Prev:
			return tail, fmt.Errorf("line %d: prev %q, but the line before hashes to %q: the journal was changed before line %d", n, e.Prev, tail.Prev, n)
		case e.Kind != "position" && e.Kind != "flight-plan":
			return tail, fmt.Errorf("line %d: kind %q: want position or flight-plan", n, e.Kind)
		case e.At.IsZero() || e.Unit == "" || len(e.Request) == 0 || len(e.Response) == 0:
			return tail, fmt.Errorf("line %d: at, unit, request and response are required", n)
		}
		h := sha256.Sum256(line)
		tail = JournalTail{Seq: e.Seq + 1, Prev: hex.EncodeToString(h[:])}
	}
}

// JournalLine encodes e as the line after tail (setting its Format, Seq
// and Prev), newline included.
func JournalLine(tail JournalTail, e JournalEntry) ([]byte, error) {
	e.Format, e.Seq, e.Prev = JournalFormat, tail.Seq, tail.Prev
	e.At, e.Bundle.IssuedAt = e.At.UTC(), e.Bundle.IssuedAt.UTC()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&e); err != nil { // compact, one line, newline-terminated
		return nil, fmt.Errorf("journal: %w", err)
	}
	if buf.Len() > MaxJournalLine {
		return nil, fmt.Errorf("journal: a line of %d bytes, more than %d", buf.Len(), MaxJournalLine)
	}
	return buf.Bytes(), nil
}
