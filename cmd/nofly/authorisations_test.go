package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nofly-project/nofly/authorisation"
)

// TestAuthorisationVerifyExit runs "nofly authorisation verify" in
// process, offline: 0 accepted, 1 refused with its reason on stdout, 2 for
// usage and input errors on one line of stderr.
func TestAuthorisationVerifyExit(t *testing.T) {
	dir := t.TempDir()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{4}, ed25519.SeedSize))
	from := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	au := &authorisation.Authorisation{ID: "AU-000007", Issuer: "test", IssuedAt: from, ValidFrom: from, ValidUntil: from.Add(2 * time.Hour),
		Drone: "SN-1", Unit: "AMS", Verdict: "CLEAR",
		Volume: authorisation.Volume{Circle: &authorisation.Circle{Lon: 4.9, Lat: 52.37, RadiusM: 500}, BufferM: 0, Lower: 0, Upper: 120, AltRef: "AGL"}}
	signed, err := authorisation.Sign(key, au)
	if err != nil {
		t.Fatal(err)
	}
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keySet := func(k ed25519.PrivateKey) []byte {
		ks := &authorisation.KeySet{Keys: []authorisation.Key{authorisation.NewKey(k.Public().(ed25519.PublicKey))}}
		b, err := ks.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	list := func(k ed25519.PrivateKey, ids ...string) []byte {
		rl := &authorisation.RevocationList{Issuer: "test", IssuedAt: from, NextUpdate: time.Now().Add(time.Hour)}
		for _, id := range ids {
			rl.Entries = append(rl.Entries, authorisation.Revoked{ID: id, RevokedAt: from, Reason: authorisation.RevokedWithdrawn})
		}
		b, err := authorisation.SignRevocationList(k, rl)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	auFile, keys, otherKeys := file("a.au", signed), file("keys.cbor", keySet(key)), file("other.cbor", keySet(other))
	text := file("a.txt", []byte(authorisation.EncodeText(signed)))
	empty, revoked, forged := file("empty.cbor", list(key)), file("revoked.cbor", list(key, "AU-000007")), file("forged.cbor", list(other))
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"accepted", []string{auFile, "--keys", keys, "--revocations", empty, "--drone", "SN-1", "--lat", "52.37", "--lon", "4.9", "--alt", "100"}, 0, "ACCEPTED — AU-000007"},
		{"the QR text", []string{text, "--keys", keys, "--drone", "SN-1"}, 0, "WARNING: no revocation list"},
		{"revoked", []string{auFile, "--keys", keys, "--revocations", revoked}, 1, "REFUSED (revoked)"},
		{"unknown key", []string{auFile, "--keys", otherKeys}, 1, "REFUSED (unknown-key)"},
		{"other drone", []string{auFile, "--keys", keys, "--drone", "SN-2"}, 1, "REFUSED (other-drone)"},
		{"above the band", []string{auFile, "--keys", keys, "--lat", "52.37", "--lon", "4.9", "--alt", "121"}, 1, "REFUSED (outside-volume)"},
		{"expired", []string{auFile, "--keys", keys, "--at", "+2h"}, 1, "REFUSED (expired)"},
		{"no keys", []string{auFile}, 2, "--keys KEYSET required"},
		{"lat without lon", []string{auFile, "--keys", keys, "--lat", "52"}, 2, "both --lat and --lon"},
		{"a list the keys did not sign", []string{auFile, "--keys", keys, "--revocations", forged}, 2, "not in the key set"},
		{"not a key set", []string{auFile, "--keys", auFile}, 2, "not a COSE_KeySet"},
		{"not an authorisation", []string{keys, "--keys", keys}, 2, "neither a COSE_Sign1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), append([]string{"authorisation", "verify"}, tc.args...), nil, &out, &errb, func(string) string { return "" })
			code := exit(err, &errb)
			if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.out) {
				t.Fatalf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, tc.code, tc.out, out.String(), errb.String())
			}
			if code == 2 && strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
				t.Errorf("want one line on stderr, got %q", errb.String())
			}
		})
	}
}

func TestKeysNewAndExport(t *testing.T) {
	dir := t.TempDir()
	keyFile, setFile := filepath.Join(dir, "k.pem"), filepath.Join(dir, "k.cbor")
	var out, errb bytes.Buffer
	env := func(string) string { return "" }
	if err := run(context.Background(), []string{"keys", "new", keyFile}, nil, &out, &errb, env); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi.Mode(), err)
	}
	if err := run(context.Background(), []string{"keys", "new", keyFile}, nil, &out, &errb, env); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("over an existing key: %v", err)
	}
	if err := run(context.Background(), []string{"keys", "export", "--signing-key", keyFile, "--out", setFile}, nil, &out, &errb, env); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(setFile)
	ks, err := authorisation.ParseKeySet(b)
	if err != nil || len(ks.Keys) != 1 || !strings.Contains(out.String(), authorisation.KeyIDString(ks.Keys[0].ID)) {
		t.Errorf("exported set: %v\n%s", err, out.String())
	}
}
