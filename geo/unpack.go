package geo

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// Reading a zone file's bytes: gunzip when compressed, within bounds.

// MaxInflateRatio bounds how much a gzip-compressed zone file may grow as
// it is unpacked: past the first InflateSlack bytes, the data unpacked so
// far may be at most MaxInflateRatio times the compressed bytes read. Zone
// files (coordinates, names) compress 3 to 25 times; a decompression bomb,
// such as 1 GB of zeros in 1 MB, compresses a thousand times, and is
// refused after unpacking InflateSlack bytes rather than the whole of it.
const (
	MaxInflateRatio = 100
	InflateSlack    = 16 << 20
)

// readAllMaybeGzip reads all of r, gunzipping it when it starts with the
// gzip magic bytes, up to MaxFileSize bytes and, when compressed, within
// MaxInflateRatio. size is r's length when known (else 0), so that a large
// file is read into one buffer of the right size.
func readAllMaybeGzip(r io.Reader, size int64) ([]byte, error) {
	in := &countingReader{r: r}
	br := bufio.NewReader(in)
	magic, _ := br.Peek(2)
	var src io.Reader = br
	gz := len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
	if gz {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		src = &inflateGuard{r: zr, in: in}
	}
	var buf bytes.Buffer
	if !gz && size > 0 && size <= MaxFileSize {
		buf.Grow(int(size) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(src, MaxFileSize+1))
	data := buf.Bytes()
	if err != nil {
		var bomb *inflateError
		if errors.As(err, &bomb) {
			return nil, err
		}
		if gz {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxFileSize)
	}
	return data, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// inflateGuard fails a gzip stream, while it is read, once it has grown more
// than MaxInflateRatio times the compressed bytes in has read.
type inflateGuard struct {
	r    io.Reader
	in   *countingReader
	out  int64
	what string // "gzip" when empty, or "kmz"
}

func (g *inflateGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.out += int64(n)
	if g.out > InflateSlack && g.out > MaxInflateRatio*g.in.n {
		return n, &inflateError{out: g.out, in: g.in.n, what: g.what}
	}
	return n, err
}

type inflateError struct {
	out, in int64
	what    string
}

func (e *inflateError) Error() string {
	what := e.what
	if what == "" {
		what = "gzip"
	}
	return fmt.Sprintf("%s: refused while unpacking: %d compressed bytes unpacked to %d, more than %d times as many "+
		"(zone data compresses far less; this looks like a decompression bomb)", what, e.in, e.out, MaxInflateRatio)
}
