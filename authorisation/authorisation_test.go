package authorisation

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nofly-project/nofly/geo"
	"github.com/paulmach/orb"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// testKey is a fixed key, so that the encoded form is reproducible.
func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// sample is an authorisation for a level route north along 4.9° E at 100 m
// AGL with a 50 m buffer, through one exempted zone.
func sample() *Authorisation {
	return &Authorisation{
		ID: "AU-000001", Issuer: "nofly test", IssuedAt: t0.Add(-10 * time.Minute),
		ValidFrom: t0, ValidUntil: t0.Add(2 * time.Hour),
		Drone: "DJI-M30T-0001", Unit: "NL-POL-AMS-DRONE", Pilot: "P-0412", Purpose: "FORENSIC",
		Volume:  Volume{Route: [][3]float64{{4.9, 52.0, 100}, {4.9, 52.01, 100}}, BufferM: 50, AltRef: "AGL"},
		ZoneSet: "0123456789abcdef",
		Zones: []Zone{{ID: "NL-CTR-SCHIPHOL", Name: "CTR Schiphol", Restriction: "REQ_AUTHORISATION",
			Exemption: &Exemption{ID: "EX-000001", LegalBasis: "ILT/2026/123", Conditions: "contact tower before take-off"}}},
		Advisories: []Zone{{ID: "NL-NATURE-1", Restriction: "CONDITIONAL", Message: "no flights below 50 m during nesting"}},
		Verdict:    "EXEMPTED",
	}
}

func mustSign(t testing.TB, priv ed25519.PrivateKey, a *Authorisation) []byte {
	t.Helper()
	b, err := Sign(priv, a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keySet(privs ...ed25519.PrivateKey) *KeySet {
	ks := &KeySet{}
	for _, p := range privs {
		ks.Keys = append(ks.Keys, NewKey(p.Public().(ed25519.PublicKey)))
	}
	return ks
}

// eastOf is the point d metres east of p along its parallel (bisection on
// geo.Distance).
func eastOf(p orb.Point, d float64) orb.Point {
	lo, hi := 0.0, 1.0
	for range 60 {
		mid := (lo + hi) / 2
		if geo.Distance(p, orb.Point{p[0] + mid, p[1]}) < d {
			lo = mid
		} else {
			hi = mid
		}
	}
	return orb.Point{p[0] + (lo+hi)/2, p[1]}
}

func TestVerifyRefusals(t *testing.T) {
	key, other := testKey(1), testKey(2)
	tok := mustSign(t, key, sample())
	ks := keySet(key)
	revoked := func(id string) *RevocationList {
		b, err := SignRevocationList(key, &RevocationList{Issuer: "nofly test", IssuedAt: t0, NextUpdate: t0.Add(time.Hour),
			Entries: []Revoked{{ID: "AU-000000", RevokedAt: t0, Reason: RevokedWithdrawn}, {ID: id, RevokedAt: t0, Reason: RevokedExemptionRevoked}}})
		if err != nil {
			t.Fatal(err)
		}
		rl, err := ParseRevocationList(b, ks)
		if err != nil {
			t.Fatal(err)
		}
		return rl
	}
	mid := orb.Point{4.9, 52.005}
	out := eastOf(mid, 51) // 1 m beyond the 50 m buffer
	in := eastOf(mid, 49)
	flip := func(i int) []byte {
		b := bytes.Clone(tok)
		b[i] ^= 0x01
		return b
	}
	payloadAt := bytes.Index(tok, []byte("DJI-M30T-0001"))
	tests := []struct {
		name string
		tok  []byte
		opts Options
		want Reason
	}{
		{"accepted", tok, Options{Keys: ks, At: t0.Add(time.Hour), Drone: "DJI-M30T-0001", Revocations: revoked("AU-000002"),
			Position: &Position{Lat: in[1], Lon: in[0], Alt: 100, AltRef: "AGL"}}, ""},
		{"tampered payload byte", flip(payloadAt), Options{Keys: ks, At: t0}, ReasonBadSignature},
		{"tampered signature byte", flip(len(tok) - 1), Options{Keys: ks, At: t0}, ReasonBadSignature},
		{"truncated", tok[:len(tok)-1], Options{Keys: ks, At: t0}, ReasonMalformed},
		{"unknown key", tok, Options{Keys: keySet(other), At: t0}, ReasonUnknownKey},
		{"signed by another key under this key's id", forged(t, key, other), Options{Keys: ks, At: t0}, ReasonBadSignature},
		{"expired", tok, Options{Keys: ks, At: t0.Add(2*time.Hour + time.Second)}, ReasonExpired},
		{"not yet valid", tok, Options{Keys: ks, At: t0.Add(-time.Second)}, ReasonNotYetValid},
		{"other drone", tok, Options{Keys: ks, At: t0, Drone: "DJI-M30T-0002"}, ReasonOtherDrone},
		{"revoked", tok, Options{Keys: ks, At: t0, Revocations: revoked("AU-000001")}, ReasonRevoked},
		{"1 m outside the volume", tok, Options{Keys: ks, At: t0, Position: &Position{Lat: out[1], Lon: out[0], Alt: 100, AltRef: "AGL"}}, ReasonOutsideVolume},
		{"1 m above the route", tok, Options{Keys: ks, At: t0, Position: &Position{Lat: mid[1], Lon: mid[0], Alt: 101, AltRef: "AGL"}}, ReasonOutsideVolume},
		{"other height reference", tok, Options{Keys: ks, At: t0, Position: &Position{Lat: mid[1], Lon: mid[0], Alt: 100, AltRef: "AMSL"}}, ReasonOutsideVolume},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Verify(tc.tok, tc.opts)
			if got := ReasonOf(err); got != tc.want {
				t.Fatalf("Verify: reason %q (err %v), want %q", got, err, tc.want)
			}
			if tc.want == "" && (res == nil || res.Authorisation.ID != "AU-000001") {
				t.Fatalf("accepted, but the result is %+v", res)
			}
			if err != nil && !strings.Contains(err.Error(), string(tc.want)) {
				t.Errorf("the error %q does not name its reason", err)
			}
		})
	}
}

// forged is sample signed by other but claiming key's key id: the message
// parses, the key is found, the signature fails.
func forged(t *testing.T, key, other ed25519.PrivateKey) []byte {
	t.Helper()
	good := mustSign(t, key, sample())
	bad := mustSign(t, other, sample())
	kg, kb := Thumbprint(key.Public().(ed25519.PublicKey)), Thumbprint(other.Public().(ed25519.PublicKey))
	if !bytes.Contains(bad, kb) || !bytes.Contains(good, kg) {
		t.Fatal("key id not found in the message")
	}
	return bytes.Replace(bad, kb, kg, 1)
}

// TestEveryByteMatters flips each byte of a signed authorisation in turn:
// none is accepted.
func TestEveryByteMatters(t *testing.T) {
	key := testKey(1)
	tok := mustSign(t, key, sample())
	ks := keySet(key)
	for i := range tok {
		b := bytes.Clone(tok)
		b[i] ^= 0x40
		if _, err := Verify(b, Options{Keys: ks, At: t0}); ReasonOf(err) == "" {
			t.Fatalf("byte %d altered: accepted (err %v)", i, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	key := testKey(1)
	a := sample()
	a.Volume = Volume{Polygon: [][][2]float64{{{5, 52}, {5.01, 52}, {5.01, 52.01}, {5, 52}}}, BufferM: 10.25, Lower: 0, Upper: 120, AltRef: "AGL"}
	res, err := Verify(mustSign(t, key, a), Options{Keys: keySet(key), At: t0, Drone: a.Drone})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Authorisation
	if got.Volume.BufferM != 10.25 || got.Volume.Upper != 120 || got.Volume.Polygon[0][1] != [2]float64{5.01, 52} ||
		!got.ValidUntil.Equal(a.ValidUntil) || got.Zones[0].Exemption.Conditions != a.Zones[0].Exemption.Conditions {
		t.Errorf("round trip changed the authorisation: %+v", got)
	}
	if want := Thumbprint(key.Public().(ed25519.PublicKey)); !bytes.Equal(got.KeyID, want) {
		t.Errorf("key id %x, want %x", got.KeyID, want)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "revocation") {
		t.Errorf("warnings %q: want the missing revocation list", res.Warnings)
	}
}

// TestThumbprint checks the key id against RFC 9679's rules by hand: the
// SHA-256 of a1 01 01 20 06 21 58 20 ‖ x.
func TestThumbprint(t *testing.T) {
	pub := testKey(1).Public().(ed25519.PublicKey)
	want := sha256Hex(append(mustHex("a301012006215820"), pub...))
	if got := hex.EncodeToString(Thumbprint(pub)); got != want {
		t.Errorf("thumbprint %s, want %s", got, want)
	}
}

func TestKeySetRoundTrip(t *testing.T) {
	ks := keySet(testKey(1), testKey(2))
	b, err := ks.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseKeySet(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Keys) != 2 || !bytes.Equal(got.Keys[1].ID, ks.Keys[1].ID) {
		t.Errorf("key set round trip: %+v", got)
	}
	// A key whose kid is not its thumbprint is refused.
	bad := bytes.Replace(b, ks.Keys[0].ID, ks.Keys[1].ID, 1)
	if _, err := ParseKeySet(bad); err == nil || !strings.Contains(err.Error(), "thumbprint") {
		t.Errorf("a key under another key's id: err %v", err)
	}
}

func TestPrivateKeyPEM(t *testing.T) {
	pemb, err := MarshalPrivateKey(testKey(3))
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePrivateKey(pemb)
	if err != nil || !k.Equal(testKey(3)) {
		t.Fatalf("PEM round trip: %v", err)
	}
	if _, err := ParsePrivateKey([]byte("nonsense")); err == nil {
		t.Error("nonsense parsed as a key")
	}
}

func TestRevocationList(t *testing.T) {
	key := testKey(1)
	b, err := SignRevocationList(key, &RevocationList{Issuer: "nofly test", IssuedAt: t0, NextUpdate: t0.Add(time.Hour),
		Entries: []Revoked{{ID: "AU-9", RevokedAt: t0, Reason: RevokedWithdrawn}, {ID: "AU-1", RevokedAt: t0, Reason: RevokedExemptionRevoked}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseRevocationList(b, keySet(testKey(2))); err == nil {
		t.Error("a list signed by an unknown key was accepted")
	}
	rl, err := ParseRevocationList(b, keySet(key))
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := rl.Lookup("AU-1"); !ok || e.Reason != RevokedExemptionRevoked {
		t.Errorf("AU-1: %+v %v", e, ok)
	}
	if _, ok := rl.Lookup("AU-5"); ok {
		t.Error("AU-5 listed")
	}
	// An authorisation is not a revocation list, nor the reverse.
	tok := mustSign(t, key, sample())
	if _, err := ParseRevocationList(tok, keySet(key)); err == nil {
		t.Error("an authorisation passed for a revocation list")
	}
	if _, err := Verify(b, Options{Keys: keySet(key), At: t0}); ReasonOf(err) != ReasonMalformed {
		t.Errorf("a revocation list passed for an authorisation: %v", err)
	}
	// A stale list still counts, with a warning.
	res, err := Verify(tok, Options{Keys: keySet(key), At: t0.Add(90 * time.Minute), Revocations: rl})
	if err != nil || len(res.Warnings) != 2 || !strings.Contains(strings.Join(res.Warnings, "\n"), "past its next update") {
		t.Errorf("stale list: %v, warnings %q", err, res.Warnings)
	}
}

// TestGolden pins the encoded form: a fixed key and time give the same
// bytes, so a change of encoding shows in review (go test -update).
func TestGolden(t *testing.T) {
	tok := mustSign(t, testKey(1), sample())
	path := filepath.Join("testdata", "sample.cose.hex")
	got := hex.EncodeToString(tok) + "\n"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the encoding changed (run go test -update and review):\ngot  %s\nwant %s", got, want)
	}
	if len(tok) > 1000 {
		t.Errorf("%d bytes: too large for a QR code of a sensible size", len(tok))
	}
}

// TestPure keeps the package importable by a ground-station program: no
// gRPC, no database driver, no network client.
func TestPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"google.golang.org/grpc", "github.com/jackc/pgx", "modernc.org/sqlite", "database/sql", "net/http"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("imports %s", dep)
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	key := testKey(1)
	f.Add(mustSign(f, key, sample()))
	rl, _ := SignRevocationList(key, &RevocationList{Issuer: "x", IssuedAt: t0, NextUpdate: t0})
	f.Add(rl)
	ks := keySet(key)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Decode(b)
		_, _ = ParseRevocationList(b, ks)
		_, _ = ParseKeySet(b)
		res, err := Verify(b, Options{Keys: ks, At: t0, Position: &Position{Lat: 52, Lon: 4.9}})
		if err == nil && res.Authorisation.Validate() != nil {
			t.Fatal("accepted an invalid authorisation")
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	key := testKey(1)
	tok := mustSign(b, key, sample())
	ks := keySet(key)
	opts := Options{Keys: ks, At: t0, Drone: "DJI-M30T-0001", Position: &Position{Lat: 52.005, Lon: 4.9, Alt: 100, AltRef: "AGL"}}
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		if _, err := Verify(tok, opts); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time, unlike ns/op, does not count the time spent waiting for a
	// core on a busy machine: it is the cost on one core.
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

func BenchmarkSign(b *testing.B) {
	key := testKey(1)
	a := sample()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(key, a); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTextForm(t *testing.T) {
	tok := mustSign(t, testKey(1), sample())
	txt := EncodeText(tok)
	for _, in := range [][]byte{tok, []byte(txt), []byte("  " + txt + "\n")} {
		got, err := ReadSigned(in)
		if err != nil || !bytes.Equal(got, tok) {
			t.Errorf("ReadSigned(%.20q…): %v", in, err)
		}
	}
	for _, bad := range []string{"", "hello", TextPrefix + "!!"} {
		if _, err := ReadSigned([]byte(bad)); err == nil {
			t.Errorf("ReadSigned(%q): no error", bad)
		}
	}
}

// BenchmarkEd25519Verify is the signature check alone, on a message of the
// sample's size: the floor under BenchmarkVerify on this machine.
func BenchmarkEd25519Verify(b *testing.B) {
	key := testKey(1)
	msg := mustSign(b, key, sample())
	sig := ed25519.Sign(key, msg)
	pub := key.Public().(ed25519.PublicKey)
	cpu := cpuTime()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("no")
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// TestNoHeights: a plan without heights was checked against every height
// of every zone, so any height of a position inside it is accepted, with a
// warning that says so.
func TestNoHeights(t *testing.T) {
	key := testKey(1)
	a := sample()
	a.Volume = Volume{Route: [][3]float64{{4.9, 52.0, 0}, {4.9, 52.01, 0}}, BufferM: 50}
	res, err := Verify(mustSign(t, key, a), Options{Keys: keySet(key), At: t0, Drone: a.Drone,
		Position: &Position{Lat: 52.005, Lon: 4.9, Alt: 3000, AltRef: "AMSL"}})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(res.Warnings, "\n"); !strings.Contains(w, "gave no heights") {
		t.Errorf("warnings: %q", w)
	}
	out := eastOf(orb.Point{4.9, 52.005}, 51)
	if _, err := Verify(mustSign(t, key, a), Options{Keys: keySet(key), At: t0,
		Position: &Position{Lat: out[1], Lon: out[0], Alt: 100, AltRef: "AGL"}}); ReasonOf(err) != ReasonOutsideVolume {
		t.Errorf("1 m outside: %v", err)
	}
}
