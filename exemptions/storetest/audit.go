package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/nofly-project/nofly/exemptions"
)

// testAuditPagesByBytes: with MaxBytes a page of large entries ends early
// (at least one entry a page), and paging on reads every entry once, in
// order.
func testAuditPagesByBytes(t *testing.T, s exemptions.Store) {
	ctx := context.Background()
	const records, text = 12, 3000
	for i := range records {
		ex := Record("AMS", "NL-A")
		ex.Conditions = strings.Repeat(string(rune('a'+i)), text)
		mustCreate(t, s, ex)
	}
	const maxBytes = 4 * 2 * text // room for about three entries of this size
	var (
		seqs  []int64
		pages int
		tok   string
	)
	for {
		page, next, err := s.Audit(ctx, exemptions.AuditFilter{PageSize: exemptions.MaxPageSize, PageToken: tok, MaxBytes: maxBytes})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		size := 0
		for _, e := range page {
			seqs = append(seqs, e.Seq)
			size += len(e.Entry)
		}
		if len(page) == 0 || (len(page) > 1 && 2*size > maxBytes) {
			t.Errorf("page %d: %d entries of %d bytes, bound %d (twice the entries' bytes must fit)", pages, len(page), size, maxBytes)
		}
		if tok = next; tok == "" {
			break
		}
	}
	if len(seqs) != records || pages < records/4 {
		t.Fatalf("%d pages held entries %v; want all %d, in pages of about three", pages, seqs, records)
	}
	for i, seq := range seqs {
		if seq != int64(i+1) {
			t.Fatalf("entries %v: not each once in order", seqs)
		}
	}
	// One entry larger than the bound comes alone.
	page, next, err := s.Audit(ctx, exemptions.AuditFilter{MaxBytes: 10})
	if err != nil || len(page) != 1 || next == "" {
		t.Errorf("a bound below one entry: %d entries, next %q, %v; want one entry and a next page", len(page), next, err)
	}
}
