package server

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
)

// TestAuditPagesBySize: with the page bound and the client's message limit
// lowered, a log of large entries (long references, as stored before
// requests were bounded) lists whole, page by page, each answer within the
// limit; an entry larger than a page comes alone, abridged, its reference
// still in entry_json.
func TestAuditPagesBySize(t *testing.T) {
	defer func(b int) { auditPageBytes = b }(auditPageBytes)
	auditPageBytes = 64 << 10
	const clientLimit = 256 << 10
	ctx := context.Background()
	f := newExFixture(t)
	ex := f.create(t, record())
	check := func(ref string) {
		t.Helper()
		if _, err := f.store.RecordCheck(ctx, exemptions.CheckRecord{At: clock, Unit: "AMS", ExemptionIDs: []string{ex.GetId()},
			ZoneIDs: []string{"T-PROHIB"}, Verdict: "EXEMPTED", ClientReference: ref}); err != nil {
			t.Fatal(err)
		}
	}
	const n = 30
	for i := range n {
		if i == n/2 {
			check(strings.Repeat("B", 50<<10)) // larger than a page on its own
		}
		check(strings.Repeat("r", 10<<10))
	}

	var (
		events []*noflyv1.AuditEvent
		sizes  []int
		counts []int
		req    = &noflyv1.ListAuditEventsRequest{PageSize: 1000}
	)
	for {
		resp, err := f.admin.ListAuditEvents(ctx, req, grpc.MaxCallRecvMsgSize(clientLimit))
		if err != nil {
			t.Fatalf("page %d: %v", len(sizes)+1, err)
		}
		events = append(events, resp.GetEvents()...)
		sizes, counts = append(sizes, proto.Size(resp)), append(counts, len(resp.GetEvents()))
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	total := 0
	for _, s := range sizes {
		total += s
	}
	if total <= clientLimit {
		t.Fatalf("the log takes %d bytes: too small to show anything", total)
	}
	if len(events) != 1+n+1 {
		t.Fatalf("%d entries listed, want %d", len(events), 1+n+1)
	}
	abridged := 0
	for i, ev := range events {
		if ev.GetSeq() != int64(i+1) {
			t.Fatalf("entry %d listed as %d-th", ev.GetSeq(), i+1)
		}
		if !ev.GetAbridged() {
			if ev.GetAction() == noflyv1.AuditAction_AUDIT_ACTION_CHECK && ev.GetClientReference() == "" {
				t.Errorf("entry %d: no reference", ev.GetSeq())
			}
			continue
		}
		abridged++
		if ev.GetDetailJson() != "" || ev.GetClientReference() != "" || !strings.Contains(ev.GetEntryJson(), strings.Repeat("B", 50<<10)) {
			t.Errorf("abridged entry %d: detail %d bytes, reference %d bytes, entry %d bytes", ev.GetSeq(),
				len(ev.GetDetailJson()), len(ev.GetClientReference()), len(ev.GetEntryJson()))
		}
	}
	if abridged != 1 {
		t.Errorf("%d entries abridged, want the one larger than a page", abridged)
	}
	for i, s := range sizes {
		if s > auditPageBytes && counts[i] > 1 {
			t.Errorf("page %d: %d entries take %d bytes, bound %d", i+1, counts[i], s, auditPageBytes)
		}
	}
}
