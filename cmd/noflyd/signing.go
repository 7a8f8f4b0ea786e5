package main

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nofly-project/nofly/authorisation"
	"github.com/nofly-project/nofly/internal/server"
)

// signingFlags configure signed flight authorisations.
type signingFlags struct {
	key          string
	previous     multiFlag
	issuer       string
	maxValidity  time.Duration
	listValidity time.Duration
}

func (s *signingFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.key, "signing-key", "", "Ed25519 private key `file` (PKCS#8 PEM, from `nofly keys new`) that signs flight authorisations and revocation lists; without it none are issued")
	fs.Var(&s.previous, "previous-key", "earlier signing key `file` (public or private PEM; repeatable), still published in the key set after a rotation so that its authorisations verify until they expire")
	fs.StringVar(&s.issuer, "issuer", "nofly", "`name` of this deployment in every authorisation and revocation list")
	fs.DurationVar(&s.maxValidity, "max-authorisation-validity", server.DefaultMaxValidity, "longest `duration` an authorisation may be valid; longer flight windows are refused")
	fs.DurationVar(&s.listValidity, "revocation-list-validity", server.DefaultListValidity, "`duration` after which a revocation list is due to be replaced (its next update)")
}

// load reads the keys.
func (s *signingFlags) load() (server.AuthorisationConfig, error) {
	cfg := server.AuthorisationConfig{Issuer: s.issuer, MaxValidity: s.maxValidity, ListValidity: s.listValidity}
	if s.maxValidity <= 0 || s.listValidity <= 0 {
		return cfg, errors.New("--max-authorisation-validity and --revocation-list-validity must be positive")
	}
	if s.key != "" {
		b, err := os.ReadFile(s.key)
		if err != nil {
			return cfg, fmt.Errorf("--signing-key: %w", err)
		}
		if cfg.Key, err = authorisation.ParsePrivateKey(b); err != nil {
			return cfg, fmt.Errorf("--signing-key %s: %w", s.key, err)
		}
	}
	for _, p := range s.previous {
		pub, err := readPublicKey(p)
		if err != nil {
			return cfg, fmt.Errorf("--previous-key %s: %w", p, err)
		}
		cfg.Previous = append(cfg.Previous, pub)
	}
	return cfg, nil
}

// readPublicKey reads an Ed25519 public key from a PEM "PUBLIC KEY" or
// PKCS#8 "PRIVATE KEY" file.
func readPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk != nil && blk.Type == "PUBLIC KEY" {
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, err
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("a %T key: want Ed25519", k)
		}
		return pub, nil
	}
	priv, err := authorisation.ParsePrivateKey(b)
	if err != nil {
		return nil, err
	}
	return priv.Public().(ed25519.PublicKey), nil
}
