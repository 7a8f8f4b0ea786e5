package bundle

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/authorisation"
	"github.com/nofly-project/nofly/data"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/benchdata"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// testKey is a fixed key, so that the golden bundle does not change.
func testKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

func keySet(priv ed25519.PrivateKey) *authorisation.KeySet {
	return &authorisation.KeySet{Keys: []authorisation.Key{authorisation.NewKey(priv.Public().(ed25519.PublicKey))}}
}

var t0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

func sampleZones(t testing.TB) []geo.Zone {
	t.Helper()
	f, err := data.FS.Open("nl-sample.geojson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zones, err := geo.Read(f, "nl-sample.geojson")
	if err != nil {
		t.Fatal(err)
	}
	return zones
}

func sampleBundle(t testing.TB) *Bundle {
	zones := sampleZones(t)
	ex := exemptions.Exemption{ID: "EX-000001", Holder: exemptions.Holder{Unit: "ZEELAND"},
		ZoneIDs: []string{zones[0].ID}, ValidFrom: t0, ValidUntil: t0.Add(24 * time.Hour),
		Ceiling: exemptions.Ceiling{Metres: 120, Ref: geo.AGL}, LegalBasis: "NL-ONT-2026-1", IssuedBy: "admin", IssuedAt: t0.Add(-time.Hour)}
	rl, err := authorisation.SignRevocationList(testKey(), &authorisation.RevocationList{Issuer: "nofly", IssuedAt: t0, NextUpdate: t0.Add(time.Hour),
		Entries: []authorisation.Revoked{{ID: "AU-000003", RevokedAt: t0.Add(-time.Minute), Reason: authorisation.RevokedWithdrawn}}})
	if err != nil {
		t.Fatal(err)
	}
	return &Bundle{Issuer: "nofly", Unit: "ZEELAND", IssuedAt: t0, ValidUntil: t0.Add(12 * time.Hour),
		Area: Area{MinLat: 50.7, MinLon: 3.3, MaxLat: 53.6, MaxLon: 7.3}, ZoneSet: ZoneSet{Version: "test", Zones: len(zones)},
		Zones: zones, Exemptions: []exemptions.Exemption{ex}, ExemptionsVersion: 9, RevocationList: rl}
}

// canonical is a zone list's canonical encoding: equal exactly when the
// zones' data is.
func canonical(zones []geo.Zone) []byte {
	var b []byte
	for i := range zones {
		b = zones[i].AppendCanonical(b)
	}
	return b
}

func TestRoundTripSample(t *testing.T) {
	in := sampleBundle(t)
	b, err := Sign(testKey(), in)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Load(b, keySet(testKey()), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(canonical(l.Zones), canonical(in.Zones)) {
		t.Error("the zones read back differ from those signed")
	}
	for i := range in.Zones {
		if l.Zones[i].Source != in.Zones[i].Source {
			t.Errorf("zone %s: source %+v, want %+v", in.Zones[i].ID, l.Zones[i].Source, in.Zones[i].Source)
		}
	}
	if len(l.Exemptions) != 1 || l.Exemptions[0].ID != "EX-000001" || l.Snapshot.Version != 9 {
		t.Errorf("exemptions %+v version %d", l.Exemptions, l.Snapshot.Version)
	}
	if l.Revocations == nil || len(l.Revocations.Entries) != 1 {
		t.Errorf("revocation list %+v", l.Revocations)
	}
}

// The Swiss ED-318 test set has schedules, several volumes per zone and
// U-space classes: every field goes through the bundle's zone encoding.
func TestRoundTripSwissED318(t *testing.T) {
	path, err := benchdata.SharedDataPath("zones/ch-foca-ed318-testdata.json.gz")
	if err != nil {
		t.Skip(err)
	}
	zones, err := geo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	in := &Bundle{Issuer: "nofly", Unit: "U", IssuedAt: t0, ValidUntil: t0.Add(12 * time.Hour),
		Area: Area{MinLat: -90, MinLon: -180, MaxLat: 90, MaxLon: 180}, Zones: zones}
	b, err := Sign(testKey(), in)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Load(b, keySet(testKey()), t0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(canonical(l.Zones), canonical(zones)) {
		t.Error("the zones read back differ from those signed")
	}
	t.Logf("Swiss ED-318 set: %d zones, bundle %d bytes", len(zones), len(b))
}

func TestOpenRefuses(t *testing.T) {
	good, err := Sign(testKey(), sampleBundle(t))
	if err != nil {
		t.Fatal(err)
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	tampered := bytes.Clone(good)
	i := bytes.Index(tampered, []byte(`"unit":"ZEELAND"`))
	copy(tampered[i+8:], "ZEELANE")
	for _, tc := range []struct {
		name string
		b    []byte
		keys *authorisation.KeySet
		at   time.Time
		want authorisation.Reason
		msg  string
	}{
		{"expired", good, keySet(testKey()), t0.Add(12*time.Hour + time.Second), authorisation.ReasonExpired, "expired at 2026-06-01T20:00:00Z"},
		{"before issue", good, keySet(testKey()), t0.Add(-time.Hour), authorisation.ReasonNotYetValid, "clock"},
		{"key not in the set", good, keySet(other), t0, authorisation.ReasonUnknownKey, "not in the key set"},
		{"altered", tampered, keySet(testKey()), t0, authorisation.ReasonBadSignature, "does not match"},
		{"not a bundle", []byte("hello"), keySet(testKey()), t0, authorisation.ReasonMalformed, "COSE_Sign1"},
		{"a revocation list", sampleBundle(t).RevocationList, keySet(testKey()), t0, authorisation.ReasonMalformed, "content type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.b, tc.keys, tc.at)
			if authorisation.ReasonOf(err) != tc.want || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want %s with %q", err, tc.want, tc.msg)
			}
		})
	}
	if _, err := Open(good, keySet(testKey()), t0.Add(12*time.Hour)); err != nil {
		t.Errorf("at its expiry: %v", err)
	}
}

func TestCovers(t *testing.T) {
	b := &Bundle{Area: Area{MinLat: 52, MinLon: 4, MaxLat: 53, MaxLon: 5}}
	pt := func(lat, lon float64) orb.Bound { return orb.Bound{Min: orb.Point{lon, lat}, Max: orb.Point{lon, lat}} }
	for _, tc := range []struct {
		name   string
		ext    orb.Bound
		buffer float64
		ok     bool
	}{
		{"inside", pt(52.5, 4.5), 0, true},
		{"on the edge", pt(52, 4.5), 0, true},
		{"outside", pt(51.9, 4.5), 0, false},
		{"inside, buffer reaches out", pt(52.005, 4.5), 1000, false}, // 0.005° of latitude is about 556 m
		{"inside, buffer stays in", pt(52.005, 4.5), 500, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := b.Covers(tc.ext, tc.buffer)
			if (err == nil) != tc.ok {
				t.Errorf("got %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// The golden bundle pins the format: a fixed key and time sign the same
// bytes, and a change of them is a change of format (bump Version).
func TestGolden(t *testing.T) {
	in := sampleBundle(t)
	in.Zones = in.Zones[:3]
	b, err := Sign(testKey(), in)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "sample.bundle.hex")
	if *update {
		if err := os.WriteFile(path, []byte(hex.EncodeToString(b)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(b) + "\n"; got != string(want) {
		t.Errorf("the bundle differs from %s (go test -update if the change is meant)", path)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(want)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(raw, keySet(testKey()), t0); err != nil {
		t.Errorf("the golden bundle does not load: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	good, err := Sign(testKey(), sampleBundle(f))
	if err != nil {
		f.Fatal(err)
	}
	body, _, err := authorisation.DecodeEnvelope(good, ContentType, MaxSize)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body[:min(len(body), 4000)])
	f.Add([]byte(`{"format":"nofly-bundle","version":1,"issuer":"i","unit":"u","issued_at":"2026-01-01T00:00:00Z","valid_until":"2026-01-01T01:00:00Z","area":{"min_lat":0,"min_lon":0,"max_lat":1,"max_lon":1},"zones":[{"id":"Z","restriction":"PROHIBITED","volumes":[{"center":[0.5,0.5],"radius_m":100}],"active":[{"schedule":[{"days":127,"start":0,"end":3600,"tz":"Europe/Amsterdam"}]}]}],"exemptions":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		bu, err := Decode(b)
		if err != nil {
			return
		}
		_, _ = geo.NewIndex(bu.Zones)
		_ = exemptions.NewSnapshot(bu.Exemptions, bu.ExemptionsVersion)
	})
}

func FuzzOpen(f *testing.F) {
	good, err := Sign(testKey(), sampleBundle(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good[:min(len(good), 2000)])
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Open(b, keySet(testKey()), t0); err == nil && !bytes.Equal(b, good) {
			t.Fatal("a bundle other than the one signed opened")
		}
	})
}

// BenchmarkLoad opens and indexes a bundle of the sample zones within
// 50 km of Amsterdam (issue: under 50 ms) and one of the whole Swiss
// ED-318 test set.
func BenchmarkLoad(b *testing.B) {
	ams := geo.ExpandBound(orb.Bound{Min: orb.Point{4.90, 52.37}, Max: orb.Point{4.90, 52.37}}, 50_000)
	var near []geo.Zone
	for _, z := range sampleZones(b) {
		if z.Bound().Intersects(ams) {
			near = append(near, z)
		}
	}
	sets := []struct {
		name  string
		zones []geo.Zone
	}{{"amsterdam-50km", near}}
	if path, err := benchdata.SharedDataPath("zones/ch-foca-ed318-testdata.json.gz"); err == nil {
		if zones, err := geo.ReadFile(path); err == nil {
			sets = append(sets, struct {
				name  string
				zones []geo.Zone
			}{"swiss-ed318", zones})
		}
	}
	for _, s := range sets {
		in := &Bundle{Issuer: "nofly", Unit: "U", IssuedAt: t0, ValidUntil: t0.Add(12 * time.Hour),
			Area: Area{MinLat: -90, MinLon: -180, MaxLat: 90, MaxLon: 180}, Zones: s.zones}
		raw, err := Sign(testKey(), in)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(s.name, func(b *testing.B) {
			b.Logf("%d zones, %d bytes", len(s.zones), len(raw))
			b.ReportMetric(float64(len(raw)), "bytes")
			b.ReportMetric(float64(len(s.zones)), "zones")
			for b.Loop() {
				if _, err := Load(raw, keySet(testKey()), t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
