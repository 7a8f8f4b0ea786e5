package bundle

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/authorisation"
	"github.com/nofly-project/nofly/data"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/fleet"
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
		Zones: zones, Exemptions: []exemptions.Exemption{ex}, ExemptionsVersion: 9, RevocationList: rl, Fleet: sampleFleet(t)}
}

// samplePolicy has a comment, a blank line, a quoted value and a ceiling:
// its rules are on lines 5 and 7.
const samplePolicy = `# sample
levels regular confidential secret
ceiling 100 m AGL

manufacturer DJI: only regular # the minister's rule
# a comment between rules
model "Anafi USA" and purpose EVENT_SUPERVISION: requires thermal
`

func sampleFleet(t testing.TB) *Fleet {
	t.Helper()
	p, err := fleet.Parse("policy.txt", strings.NewReader(samplePolicy))
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(-48 * time.Hour)
	own, others := SplitDrones("ZEELAND", []fleet.Drone{
		{Serial: "1581F5FHC23610000A0B", Manufacturer: "DJI", Model: "Matrice 30T", Class: "C2", Unit: "ZEELAND", Status: fleet.StatusActive,
			Clearance: "confidential", Capabilities: []string{"thermal"}, Created: at, Updated: at, UpdatedBy: "admin"},
		{Serial: "OTHER-1", Manufacturer: "Parrot", Model: "Anafi", Unit: "RTM", Status: fleet.StatusRetired, Clearance: "regular", Created: at, Updated: at},
		{Serial: "PARROT-7", Manufacturer: "Parrot", Model: "Anafi USA", Unit: "zeeland", Status: fleet.StatusMaintenance, Clearance: "secret", Created: at, Updated: at},
	})
	return &Fleet{Registry: exemptions.RegistryEnforced, Ceiling: geo.Altitude{Metres: 120, Ref: geo.AGL}, Policy: p, Drones: own, Others: others}
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
	if !reflect.DeepEqual(l.Fleet, in.Fleet) {
		t.Errorf("fleet read back\n%+v\nwant\n%+v", l.Fleet, in.Fleet)
	}
	if l.Rules == nil || l.Rules.Registry != exemptions.RegistryEnforced || l.Rules.Policy.Rules[1].Where(l.Rules.Policy) != "policy.txt:7" {
		t.Errorf("rules %+v", l.Rules)
	}
	for serial, want := range map[string]string{"1581F5FHC23610000A0B": "DJI active ZEELAND", "PARROT-7": "Parrot maintenance zeeland",
		"OTHER-1": " retired RTM", "NONE": ""} {
		got := ""
		if d := l.Drone(serial); d != nil {
			got = fmt.Sprintf("%s %s %s", d.Manufacturer, d.Status, d.Unit)
		}
		if got != want {
			t.Errorf("drone %s: %q, want %q", serial, got, want)
		}
	}
}

// TestVersion1: a bundle written before the registry and the policy were
// carried still loads: no Fleet, and rules that apply the default policy
// and the general ceiling and say the registry was not applied.
func TestVersion1(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "sample-v1.bundle.hex"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Load(b, keySet(testKey()), t0)
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 1 || l.Fleet != nil || l.Rules == nil || l.Rules.Registry != exemptions.RegistryOffline ||
		l.Rules.Ceiling != exemptions.DefaultCeiling || l.Rules.Policy != nil {
		t.Errorf("version %d, fleet %+v, rules %+v", l.Version, l.Fleet, l.Rules)
	}
	// A version 2 bundle without a fleet (the issuer applied none)
	// answers with none.
	in := sampleBundle(t)
	in.Fleet = nil
	b, err = Sign(testKey(), in)
	if err != nil {
		t.Fatal(err)
	}
	if l, err = Load(b, keySet(testKey()), t0); err != nil || l.Version != 2 || l.Rules != nil {
		t.Errorf("version 2 without fleet rules: %v, %+v", err, l)
	}
}

// TestFleetRefused: a fleet that does not hold together is refused on
// signing and on reading, with the member named.
func TestFleetRefused(t *testing.T) {
	sign := func(mod func(*Fleet)) error {
		b := sampleBundle(t)
		mod(b.Fleet)
		_, err := Sign(testKey(), b)
		return err
	}
	for _, tc := range []struct {
		name string
		mod  func(*Fleet)
		msg  string
	}{
		{"another unit's drone in full", func(f *Fleet) { f.Drones[0].Unit = "RTM" }, "list it among the others"},
		{"the unit's drone among the others", func(f *Fleet) { f.Others[0].Unit = "Zeeland" }, "the bundle unit"},
		{"unsorted", func(f *Fleet) { f.Drones[0], f.Drones[1] = f.Drones[1], f.Drones[0] }, "want sorted"},
		{"offline mode", func(f *Fleet) { f.Registry = exemptions.RegistryOffline }, "registry mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := sign(tc.mod); err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want %q", err, tc.msg)
			}
		})
	}
	good, err := Sign(testKey(), sampleBundle(t))
	if err != nil {
		t.Fatal(err)
	}
	body, _, err := authorisation.DecodeEnvelope(good, ContentType, MaxSize)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new, msg string }{
		{"a rule that does not parse", `"text":"manufacturer DJI: only regular"`, `"text":"manufacturer DJI: only topsecret"`, "policy.rules[0] (policy.txt:5): only topsecret: no such level"},
		{"a rule of two lines", `"text":"manufacturer DJI: only regular"`, `"text":"manufacturer DJI: only regular\nany: never"`, "policy.rules[0].text: more than one line"},
		{"a rule with a comment", `"text":"manufacturer DJI: only regular"`, `"text":"manufacturer DJI: only regular # x"`, "reads back as"},
		{"rules out of order", `"line":7`, `"line":2`, "want the file's order"},
		{"a level with a space", `"levels":["regular"`, `"levels":["reg ular"`, "policy.levels[0]"},
		{"no levels", `"levels":["regular","confidential","secret"]`, `"levels":[]`, "policy.levels"},
		{"a bad mode", `"mode":"enforced"`, `"mode":"offline"`, "registry.mode"},
		{"a bad drone", `"clearance":"confidential"`, `"clearance":""`, "registry.drones[0]: clearance: required"},
		{"a bad status", `"status":"retired"`, `"status":"lost"`, "registry.others[0].status"},
		{"a serial in the clear", `"serial_sha256":"`, `"serial_sha256":"X`, "registry.others[0].serial_sha256"},
		{"registry without policy", `,"policy":{`, `,"policx":{`, "unknown field"},
		{"a version 1 with a registry", `"version":2`, `"version":1`, "registry or policy in a version 1 bundle"},
		{"a newer version", `"version":2`, `"version":3`, "made by a newer nofly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(body, []byte(tc.old)) {
				t.Fatalf("no %s in the payload", tc.old)
			}
			_, err := Decode(bytes.Replace(body, []byte(tc.old), []byte(tc.new), 1))
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want %q", err, tc.msg)
			}
		})
	}
	// Registry without policy: the member removed.
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "policy")
	half, _ := json.Marshal(doc)
	if _, err := Decode(half); err == nil || !strings.Contains(err.Error(), "give both or neither") {
		t.Errorf("registry without policy: %v", err)
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
	f.Add([]byte(`{"format":"nofly-bundle","version":2,"issuer":"i","unit":"u","issued_at":"2026-01-01T00:00:00Z","valid_until":"2026-01-01T01:00:00Z","area":{"min_lat":0,"min_lon":0,"max_lat":1,"max_lon":1},"zones":[],"exemptions":[],"registry":{"mode":"warn","drones":[{"serial":"A1","manufacturer":"m","model":"x","unit":"u","status":"active","clearance":"regular","created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z"}],"others":[{"serial_sha256":"51092770b3ccb5556258616612daa2db284f728b86ac95371fb26a705368bfa3","unit":"v","status":"retired"}]},"policy":{"name":"p","levels":["regular","confidential"],"ceiling":{"m":100,"ref":"AGL"},"rules":[{"line":3,"text":"manufacturer \"x y\" and class none: at most regular"}],"general_ceiling":{"m":120,"ref":"AGL"}}}`))
	f.Add([]byte(`{"format":"nofly-bundle","version":1,"issuer":"i","unit":"u","issued_at":"2026-01-01T00:00:00Z","valid_until":"2026-01-01T01:00:00Z","area":{"min_lat":0,"min_lon":0,"max_lat":1,"max_lon":1},"zones":[{"id":"Z","restriction":"PROHIBITED","volumes":[{"center":[0.5,0.5],"radius_m":100}],"active":[{"schedule":[{"days":127,"start":0,"end":3600,"tz":"Europe/Amsterdam"}]}]}],"exemptions":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		bu, err := Decode(b)
		if err != nil {
			return
		}
		_, _ = geo.NewIndex(bu.Zones)
		_ = exemptions.NewSnapshot(bu.Exemptions, bu.ExemptionsVersion)
		if bu.Fleet != nil {
			// What was read signs again and reads back the same.
			bu.Zones = nil
			out, err := Sign(testKey(), bu)
			if err != nil {
				t.Fatalf("a decoded bundle does not sign: %v", err)
			}
			body, _, err := authorisation.DecodeEnvelope(out, ContentType, MaxSize)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Decode(body)
			if err != nil {
				t.Fatalf("a re-signed bundle does not decode: %v", err)
			}
			if !reflect.DeepEqual(again.Fleet, bu.Fleet) {
				t.Fatalf("the fleet changed on a round trip:\n%+v\n%+v", bu.Fleet, again.Fleet)
			}
		}
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

// TestLoadSpeed holds the measurement: a bundle of the sample
// zones within 50 km of Amsterdam, with the unit's fleet, loads (verify,
// decode, index, policy) in under 50 ms: the best of five loads, so that
// a busy machine does not fail it.
func TestLoadSpeed(t *testing.T) {
	ams := geo.ExpandBound(orb.Bound{Min: orb.Point{4.90, 52.37}, Max: orb.Point{4.90, 52.37}}, 50_000)
	var near []geo.Zone
	for _, z := range sampleZones(t) {
		if z.Bound().Intersects(ams) {
			near = append(near, z)
		}
	}
	raw, err := Sign(testKey(), &Bundle{Issuer: "nofly", Unit: "ZEELAND", IssuedAt: t0, ValidUntil: t0.Add(12 * time.Hour),
		Area: Area{MinLat: ams.Min[1], MinLon: ams.Min[0], MaxLat: ams.Max[1], MaxLon: ams.Max[0]}, Zones: near, Fleet: sampleFleet(t)})
	if err != nil {
		t.Fatal(err)
	}
	best := time.Hour
	for range 5 {
		start := time.Now()
		if _, err := Load(raw, keySet(testKey()), t0); err != nil {
			t.Fatal(err)
		}
		best = min(best, time.Since(start))
	}
	t.Logf("%d zones, %d bytes, loaded in %v", len(near), len(raw), best)
	if best > 50*time.Millisecond {
		t.Errorf("the 50 km Amsterdam bundle loads in %v, more than 50 ms", best)
	}
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
		// With the sample fleet (its unit's drones and the policy).
		in := &Bundle{Issuer: "nofly", Unit: "ZEELAND", IssuedAt: t0, ValidUntil: t0.Add(12 * time.Hour),
			Area: Area{MinLat: -90, MinLon: -180, MaxLat: 90, MaxLon: 180}, Zones: s.zones, Fleet: sampleFleet(b)}
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
