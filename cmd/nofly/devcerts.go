package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nofly-project/nofly/internal/devcert"
)

// devRoles are the client certificates dev-certs writes, by file name.
var devRoles = []string{"pilot", "planner", "admin", "auditor"}

func devCertsCommand() *command {
	var (
		unit, pilot string
		valid       time.Duration
		force       bool
	)
	return &command{
		name:  "dev-certs",
		usage: "DIR [--unit U] [--pilot P] [--valid D] [--force]",
		summary: `Writes a trial certificate set for noflyd's secure setup into DIR (created
when missing): a CA (ca.pem, ca-key.pem), a server certificate for
localhost, 127.0.0.1 and ::1 (server.pem, server-key.pem), one client
certificate per role (pilot.pem, planner.pem, admin.pem, auditor.pem, each
with its -key.pem), and roles.txt, the roles file that gives each its
role: the pilot and the planner belong to --unit, the pilot is --pilot.
Keys are ECDSA P-256. It also writes a trial Ed25519 signing key for
flight authorisations (signing-key.pem, for noflyd --signing-key). It
refuses to overwrite files unless --force.

For trials only: the CA's key sits next to the certificates. A real
deployment issues certificates from its own PKI.`,
		example: `  nofly dev-certs ./certs
  noflyd --tls-cert certs/server.pem --tls-key certs/server-key.pem --client-ca certs/ca.pem --roles certs/roles.txt
  nofly --ca certs/ca.pem --cert certs/pilot.pem --key certs/pilot-key.pem check --lat 52.31 --lon 4.76
`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&unit, "unit", "AMS-DRONE", "`unit` of the pilot and the planner")
			fs.StringVar(&pilot, "pilot", "P-0412", "pilot `id` of the pilot")
			fs.DurationVar(&valid, "valid", 30*24*time.Hour, "how long the certificates are valid")
			fs.BoolVar(&force, "force", false, "overwrite existing files")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly dev-certs"
			if len(args) != 1 {
				return &usageError{cmd: name, msg: "give exactly one directory"}
			}
			if valid <= 0 {
				return &usageError{cmd: name, msg: "--valid must be positive"}
			}
			for _, v := range []struct{ name, v string }{{"--unit", unit}, {"--pilot", pilot}} {
				if v.v == "" || strings.ContainsAny(v.v, " \t\n") {
					return &usageError{cmd: name, msg: v.name + " must be one word"}
				}
			}
			return writeDevCerts(e, args[0], unit, pilot, valid, force, time.Now())
		},
	}
}

func writeDevCerts(e *env, dir, unit, pilot string, valid time.Duration, force bool, now time.Time) error {
	files := []string{"ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "roles.txt", "signing-key.pem"}
	for _, r := range devRoles {
		files = append(files, r+".pem", r+"-key.pem")
	}
	if !force {
		for _, f := range files {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				return fmt.Errorf("%s exists: not overwriting it (--force to replace the set)", filepath.Join(dir, f))
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// A minute in the past, so that a clock a little behind still accepts
	// them.
	from, until := now.Add(-time.Minute), now.Add(valid)
	ca, err := devcert.NewCA("nofly dev CA", from, until)
	if err != nil {
		return err
	}
	caKey, err := ca.KeyPEM()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca.PEM, 0o644); err != nil {
		return err
	}
	if err := devcert.WriteKey(filepath.Join(dir, "ca-key.pem"), caKey); err != nil {
		return err
	}
	srv, err := ca.Issue(devcert.Request{CommonName: "nofly server", Server: true,
		Hosts: []string{"localhost", "127.0.0.1", "::1"}, NotBefore: from, NotAfter: until})
	if err != nil {
		return err
	}
	if err := srv.Write(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")); err != nil {
		return err
	}
	var roles strings.Builder
	fmt.Fprintf(&roles, "# nofly roles file: ROLE UNIT PILOT SUBJECT (see docs/security.md)\n")
	fmt.Fprintf(&roles, "# Written by nofly dev-certs on %s, for trials.\n", now.UTC().Format(time.RFC3339))
	for _, r := range devRoles {
		c, err := ca.Issue(devcert.Request{CommonName: r, NotBefore: from, NotAfter: until})
		if err != nil {
			return err
		}
		if err := c.Write(filepath.Join(dir, r+".pem"), filepath.Join(dir, r+"-key.pem")); err != nil {
			return err
		}
		u, p := "-", "-"
		switch r {
		case "pilot":
			u, p = unit, pilot
		case "planner":
			u = unit
		}
		fmt.Fprintf(&roles, "%-8s %-10s %-8s %s\n", r, u, p, c.Cert.Subject.String())
	}
	if err := os.WriteFile(filepath.Join(dir, "roles.txt"), []byte(roles.String()), 0o644); err != nil {
		return err
	}
	signingKey, keyID, err := devcert.NewSigningKey()
	if err != nil {
		return err
	}
	if err := devcert.WriteKey(filepath.Join(dir, "signing-key.pem"), signingKey); err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, `Wrote a trial CA and certificates to %s, valid until %s:
  ca.pem, ca-key.pem          the CA (keep ca-key.pem private)
  server.pem, server-key.pem  noflyd, for localhost, 127.0.0.1 and ::1
  ROLE.pem, ROLE-key.pem      pilot (%s/%s), planner (%s), admin, auditor
  roles.txt                   the roles file that gives each its role
  signing-key.pem             signs flight authorisations (key %s)

Start the server:
  noflyd --tls-cert %[1]s/server.pem --tls-key %[1]s/server-key.pem --client-ca %[1]s/ca.pem --roles %[1]s/roles.txt \
    --signing-key %[1]s/signing-key.pem
Call it as the pilot:
  nofly --ca %[1]s/ca.pem --cert %[1]s/pilot.pem --key %[1]s/pilot-key.pem check --lat 52.31 --lon 4.76
`, dir, until.UTC().Format(time.RFC3339), unit, pilot, unit, keyID)
	return err
}
