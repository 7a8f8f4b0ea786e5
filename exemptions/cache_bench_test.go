package exemptions

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// BenchmarkReload10k is what a cache's first load costs with 10,000
// records: decoding every stored record and indexing the snapshot (the
// database read itself comes on top). Later changes read only the changed
// records (BenchmarkSnapshot10k).
func BenchmarkReload10k(b *testing.B) {
	stored := make([][]byte, 10_000)
	for i := range stored {
		ex := base()
		ex.ID, ex.Holder.Unit = fmt.Sprintf("EX-%06d", i+1), fmt.Sprintf("U-%d", i%100)
		ex.ZoneIDs = []string{fmt.Sprintf("Z-%d", i%500), fmt.Sprintf("Z-%d", (i*7)%500)}
		stored[i], _ = json.Marshal(ex)
	}
	b.ReportAllocs()
	for b.Loop() {
		all := make([]Exemption, len(stored))
		for i, s := range stored {
			if err := json.Unmarshal(s, &all[i]); err != nil {
				b.Fatal(err)
			}
		}
		NewSnapshot(all, 1)
	}
}

// BenchmarkSnapshot10k is indexing 10,000 decoded records, what a change
// costs once only the changed records are read again.
func BenchmarkSnapshot10k(b *testing.B) {
	all := make([]Exemption, 10_000)
	for i := range all {
		ex := base()
		ex.ID, ex.Holder.Unit = fmt.Sprintf("EX-%06d", i+1), fmt.Sprintf("U-%d", i%100)
		ex.ZoneIDs = []string{fmt.Sprintf("Z-%d", i%500), fmt.Sprintf("Z-%d", (i*7)%500)}
		all[i] = *ex
	}
	b.ReportAllocs()
	for b.Loop() {
		NewSnapshot(slices.Clone(all), 1)
	}
}
