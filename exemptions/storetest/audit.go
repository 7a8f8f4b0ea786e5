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

// testAuditEntries: the stored entries, paged by AuditEntries, are the
// entries Audit lists, byte for byte, with their hashes, in order.
func testAuditEntries(t *testing.T, s exemptions.Store) {
	st, ok := s.(interface {
		AuditEntries(ctx context.Context, after int64, n int) ([]exemptions.StoredAuditEntry, error)
	})
	if !ok {
		t.Skip("the store does not return stored entries")
	}
	ctx := context.Background()
	for range 5 {
		mustCreate(t, s, Record("AMS", "NL-A"))
	}
	events, _, err := s.Audit(ctx, exemptions.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []exemptions.StoredAuditEntry
	for after := int64(0); ; {
		page, err := st.AuditEntries(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 {
			t.Fatalf("a page of 2 holds %d entries", len(page))
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1].Seq
	}
	if len(got) != len(events) {
		t.Fatalf("%d stored entries, Audit lists %d", len(got), len(events))
	}
	for i, e := range events {
		if g := got[i]; g.Seq != e.Seq || string(g.Entry) != string(e.Entry) || g.Hash != e.Hash {
			t.Errorf("entry %d: stored %d %s %s, listed %d %s %s", i, g.Seq, g.Entry, g.Hash, e.Seq, e.Entry, e.Hash)
		}
	}
}
