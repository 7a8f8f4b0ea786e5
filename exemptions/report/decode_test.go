package report

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/internal/storecore"
)

// canonical are entries as the stores seal them.
func canonical(t testing.TB) [][]byte {
	at := time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	var out [][]byte
	for i, d := range []struct {
		action exemptions.Action
		detail any
	}{
		{exemptions.ActionCheck, exemptions.CheckRecord{At: at, Actor: "CN=pilot", Unit: "AMS", Pilot: "P-1", Drone: "D-1",
			Purpose: exemptions.PurposeForensic, ClientReference: "M-1", ExemptionIDs: []string{"EX-1", "EX-2"}, ZoneIDs: []string{"EHAM"},
			Verdict: "EXEMPTED"}},
		{exemptions.ActionCheck, exemptions.CheckRecord{At: at, Unit: "Eenheid Zeeland–Brabant", ExemptionIDs: []string{}}},
		{exemptions.ActionAuthorise, exemptions.AuthorisationRecord{ID: "AU-000001", KeyID: "k", IssuedAt: at, ValidFrom: at.Add(time.Hour),
			ValidUntil: at.Add(2 * time.Hour), Unit: "AMS", Pilot: "P-2", Drone: "D-3", Purpose: exemptions.PurposeTraining,
			IssuedBy: "CN=planner", Verdict: "CLEAR", TokenSHA256: "ab"}},
		{exemptions.ActionRevoke, exemptions.Revocation{By: "x", At: at, Reason: "r"}},
	} {
		_, entry, err := storecore.Seal(exemptions.AuditEvent{At: at, Action: d.action, Actor: "CN=test", ExemptionIDs: []string{"EX-1"},
			ClientReference: "ref \"quoted\""}, d.detail, int64(i+1), "abc")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry)
	}
	return out
}

// TestDecodeEntryCanonical: the entries noflyd writes are decoded without
// encoding/json, as encoding/json decodes them.
func TestDecodeEntryCanonical(t *testing.T) {
	for i, b := range canonical(t) {
		var fast, slow storedEntry
		if !decodeEntry(b, &fast, &interner{lists: map[string][]string{}}, "abc") {
			t.Errorf("entry %d went to encoding/json: %s", i, b)
			continue
		}
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("entry %d:\n%+v, encoding/json:\n%+v", i, fast, slow)
		}
	}
}

// FuzzDecodeEntry: whenever decodeEntry decodes, json.Unmarshal succeeds
// and decodes the same.
func FuzzDecodeEntry(f *testing.F) {
	for _, b := range canonical(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"SEQ":2,"seq":3,"Action":"check","detail":{"zone_ids":["a"],"ZONEIDS":[],"At":"2026-03-02T00:00:00+01:00","x":[1,-0.5e3,true,null,{"a":"\u00e9\n"}]},"detail":{"Unit":"U"}}`))
	f.Add([]byte(`{"seq":1.0,"detail":{"At":"2026-13-02T00:00:00Z"}}`))
	f.Add([]byte(`{"seq":1,"detail":{"Unit":"a\u0041"}} x`))
	// A null leaves a value as it was, a later key's too.
	f.Add([]byte(`{"action":"check","action":null,"detail":{"Purpose":"FORENSIC","Purpose":null,"Unit":"U","unit":null}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast storedEntry
		in := &interner{lists: map[string][]string{}}
		if !decodeEntry(b, &fast, in, "abc") {
			return
		}
		var slow storedEntry
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatalf("decoded what encoding/json refuses (%v): %q", err, b)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q:\n%+v, encoding/json:\n%+v", b, fast, slow)
		}
		// Again, with the strings and lists of the first decoding interned.
		var again storedEntry
		if !decodeEntry(b, &again, in, "abc") || !reflect.DeepEqual(again, slow) {
			t.Fatalf("%q decoded again:\n%+v, encoding/json:\n%+v", b, again, slow)
		}
	})
}
