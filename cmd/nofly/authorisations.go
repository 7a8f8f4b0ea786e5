package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"rsc.io/qr"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/authorisation"
)

// maxArtefact bounds an authorisation, key set or revocation list file
// read, in bytes.
const maxArtefact = authorisation.MaxSize

// callAuthorisations is call for the authorisation service.
func callAuthorisations(ctx context.Context, e *env, fn func(ctx context.Context, c noflyv1.AuthorisationServiceClient) error) error {
	return dial(ctx, e, func(ctx context.Context, conn *grpc.ClientConn) error {
		return fn(ctx, noflyv1.NewAuthorisationServiceClient(conn))
	})
}

// readArtefact reads a file (or stdin for "-"), bounded.
func readArtefact(e *env, path, what string) ([]byte, error) {
	var r io.Reader = e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxArtefact+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	if len(b) > maxArtefact {
		return nil, fmt.Errorf("%s %s: larger than %d bytes", what, path, maxArtefact)
	}
	return b, nil
}

// writeFile writes b to path ("-" for stdout) with mode, refusing to
// replace an existing file unless force.
func writeFile(e *env, path string, b []byte, mode os.FileMode, force bool) error {
	if path == "-" {
		_, err := e.stdout.Write(b)
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !force {
		flags |= os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, mode)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists; give --force to replace it", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeQR writes the text form of signed as a QR code PNG to path.
func writeQR(path string, signed []byte) error {
	code, err := qr.Encode(authorisation.EncodeText(signed), qr.M)
	if err != nil {
		return fmt.Errorf("--qr: the authorisation (%d bytes) does not fit a QR code: %v; hand over the file instead", len(signed), err)
	}
	return os.WriteFile(path, code.PNG(), 0o644)
}

func planAuthoriseCommand() *command {
	pf := newPlanFlags()
	var out, qrFile string
	var force bool
	return &command{
		name:  "plan authorise",
		usage: "FILE --drone SERIAL [--unit U --pilot P --purpose P] [--start TIME] [--end TIME] [--buffer M] -o FILE [--qr FILE.png]",
		summary: `Asks the server for a signed flight authorisation of a flight plan. The
plan is checked exactly as "nofly plan check" checks it (the same FILE
formats and flags); when it is CLEAR or EXEMPTED the server signs an
authorisation that names the drone, pilot, unit, the 4-D volume, the zones
crossed and the exemption relied on for each, valid for the flight's
window. It is written to -o, and verified offline by any ground station
with "nofly authorisation verify". --qr also writes it as a QR code.

Exit status: 0 issued (and written), 1 denied (nothing issued), 2 usage,
input or connection error.`,
		example: `  nofly plan authorise patrol.geojson --drone DJI-M30T-0001 --purpose forensic \
    --start +30m --end +2h30m --buffer 50 -o patrol.au --qr patrol.png
`,
		flags: func(fs *flag.FlagSet) {
			pf.register(fs)
			fs.StringVar(&out, "o", "", "`FILE` to write the signed authorisation to; required")
			fs.StringVar(&qrFile, "qr", "", "also write the authorisation as a QR code to `FILE.png`")
			fs.BoolVar(&force, "force", false, "replace an existing -o file")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly plan authorise"
			if out == "" {
				return &usageError{cmd: name, msg: "-o FILE required: where to write the authorisation"}
			}
			if pf.op.drone == "" {
				return &usageError{cmd: name, msg: "--drone SERIAL required: an authorisation names its aircraft"}
			}
			p, fp, err := pf.plan(e, name, args)
			if err != nil {
				return err
			}
			var resp *noflyv1.IssueAuthorisationResponse
			err = callAuthorisations(ctx, e, func(ctx context.Context, c noflyv1.AuthorisationServiceClient) (err error) {
				resp, err = c.IssueAuthorisation(ctx, &noflyv1.IssueAuthorisationRequest{FlightPlan: fp})
				return err
			})
			if err != nil {
				return err
			}
			check := resp.GetCheck()
			if len(resp.GetAuthorisation()) > 0 {
				if err := writeFile(e, out, resp.GetAuthorisation(), 0o644, force); err != nil {
					return fmt.Errorf("the authorisation %s was issued but not written: %w (ask an administrator to revoke it)", resp.GetRecord().GetId(), err)
				}
				if qrFile != "" {
					if err := writeQR(qrFile, resp.GetAuthorisation()); err != nil {
						return err
					}
				}
			}
			if e.json {
				if err := printJSON(e, resp); err != nil {
					return err
				}
			} else {
				printResult(e.stdout, checkResult{
					verdict: check.GetVerdict(), conflicts: check.GetConflicts(), advisories: check.GetAdvisories(),
					caveats: check.GetCaveats(), zoneSet: check.GetZoneSet(), window: check.GetWindow(), route: p.Route != nil,
					exemptions:     check.GetExemptions(),
					exemptionsAsOf: check.GetExemptionsAsOf(), checkedAt: check.GetCheckedAt(), stale: check.GetExemptionsStale(),
					refusals: check.GetPolicyRefusals(), warnings: check.GetWarnings(), limit: check.GetHeightLimit(), legLimits: check.GetLegHeightLimits(),
				}, planSubject(p, fp, check, pf.maxAlt.set && !pf.minAlt.set))
				if r := resp.GetRecord(); r != nil {
					fmt.Fprintf(e.stdout, "\nAuthorisation %s for drone %s, valid %s to %s, written to %s (%d bytes, key %s)\n",
						r.GetId(), r.GetOperator().GetDroneSerial(), fmtTime(r.GetValidity().GetStart()), fmtTime(r.GetValidity().GetEnd()),
						out, len(resp.GetAuthorisation()), r.GetKeyId())
					if qrFile != "" {
						fmt.Fprintf(e.stdout, "QR code written to %s\n", qrFile)
					}
				} else {
					fmt.Fprintln(e.stdout, "\nNo authorisation issued: the flight may not go ahead.")
				}
			}
			return verdictError(check.GetVerdict())
		},
	}
}

func keysNewCommand() *command {
	var force bool
	return &command{
		name:  "keys new",
		usage: "FILE [--force]",
		summary: `Writes a new Ed25519 signing key for noflyd's --signing-key to FILE (PKCS#8
PEM, readable by its owner only) and prints its key id. Keep it as secret
as the server's TLS key: whoever holds it can authorise flights.`,
		example: "  nofly keys new /etc/nofly/signing-key.pem\n",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&force, "force", false, "replace an existing FILE")
		},
		run: func(_ context.Context, e *env, args []string) error {
			if len(args) != 1 {
				return &usageError{cmd: "nofly keys new", msg: "give exactly one FILE"}
			}
			priv, err := authorisation.GenerateKey()
			if err != nil {
				return err
			}
			pemb, err := authorisation.MarshalPrivateKey(priv)
			if err != nil {
				return err
			}
			if err := writeFile(e, args[0], pemb, 0o600, force); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "signing key %s written to %s\n",
				authorisation.KeyIDString(authorisation.Thumbprint(priv.Public().(ed25519.PublicKey))), args[0])
			return err
		},
	}
}

func keysExportCommand() *command {
	var out, keyFile string
	var force bool
	return &command{
		name:  "keys export",
		usage: "--out FILE [--signing-key FILE]",
		summary: `Writes the public key set that verifies authorisations (a COSE_KeySet: the
current signing key and the previous ones still in use) to --out, from the
server, or without a server from a signing key file. Hand it to every
ground station; it is public.`,
		example: "  nofly keys export --out nofly-keys.cbor\n  nofly keys export --signing-key signing-key.pem --out nofly-keys.cbor\n",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&out, "out", "", "`FILE` to write the key set to (- for stdout); required")
			fs.StringVar(&keyFile, "signing-key", "", "derive the key set from this private key `FILE` instead of asking the server")
			fs.BoolVar(&force, "force", false, "replace an existing --out file")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly keys export"
			if len(args) > 0 {
				return &usageError{cmd: name, msg: fmt.Sprintf("unexpected argument %q", args[0])}
			}
			if out == "" {
				return &usageError{cmd: name, msg: "--out FILE required"}
			}
			var set []byte
			var ids []string
			if keyFile != "" {
				b, err := readArtefact(e, keyFile, "--signing-key")
				if err != nil {
					return err
				}
				priv, err := authorisation.ParsePrivateKey(b)
				if err != nil {
					return fmt.Errorf("%s: %w", keyFile, err)
				}
				ks := &authorisation.KeySet{Keys: []authorisation.Key{authorisation.NewKey(priv.Public().(ed25519.PublicKey))}}
				if set, err = ks.Marshal(); err != nil {
					return err
				}
				ids = []string{authorisation.KeyIDString(ks.Keys[0].ID)}
			} else {
				err := callAuthorisations(ctx, e, func(ctx context.Context, c noflyv1.AuthorisationServiceClient) error {
					resp, err := c.GetKeySet(ctx, &noflyv1.GetKeySetRequest{})
					set, ids = resp.GetKeySet(), resp.GetKeyIds()
					return err
				})
				if err != nil {
					return err
				}
				// Refuse to hand on a set that does not parse.
				if _, err := authorisation.ParseKeySet(set); err != nil {
					return fmt.Errorf("the server's %w", err)
				}
			}
			if err := writeFile(e, out, set, 0o644, force); err != nil {
				return err
			}
			if out != "-" {
				fmt.Fprintf(e.stdout, "key set of %d key%s written to %s: %s\n", len(ids), plural(len(ids)), out, strings.Join(ids, ", "))
			}
			return nil
		},
	}
}

func authorisationsListCommand() *command {
	var unit, exemption string
	return &command{
		name:    "authorisations list",
		usage:   "[--unit U] [--exemption ID] [flags]",
		summary: "Lists the authorisations issued, in order, with their status (administrators and auditors).",
		example: "  nofly authorisations list --exemption EX-000001\n",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&unit, "unit", "", "only this `unit`'s")
			fs.StringVar(&exemption, "exemption", "", "only those that relied on exemption `ID`")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return &usageError{cmd: "nofly authorisations list", msg: fmt.Sprintf("unexpected argument %q", args[0])}
			}
			req := &noflyv1.ListAuthorisationsRequest{Unit: unit, ExemptionId: exemption, PageSize: 1000}
			var list []*noflyv1.AuthorisationRecord
			err := callAuthorisations(ctx, e, func(ctx context.Context, c noflyv1.AuthorisationServiceClient) error {
				return eachPage(func(token string) ([]*noflyv1.AuthorisationRecord, string, error) {
					req.PageToken = token
					resp, err := c.ListAuthorisations(ctx, req)
					return resp.GetAuthorisations(), resp.GetNextPageToken(), err
				}, func(page []*noflyv1.AuthorisationRecord) error { list = append(list, page...); return nil })
			})
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(e, &noflyv1.ListAuthorisationsResponse{Authorisations: list})
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tDRONE\tUNIT\tPILOT\tFROM\tUNTIL\tEXEMPTIONS")
			for _, r := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.GetId(), recordStatus(r), cell(r.GetOperator().GetDroneSerial(), 24),
					cell(r.GetOperator().GetUnit(), 24), cell(orDash(r.GetOperator().GetPilotId()), 16), fmtTime(r.GetValidity().GetStart()),
					fmtTime(r.GetValidity().GetEnd()), orDash(strings.Join(r.GetExemptionIds(), ",")))
			}
			tw.Flush()
			fmt.Fprintf(e.stdout, "%d authorisation%s\n", len(list), plural(len(list)))
			return nil
		},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func recordStatus(r *noflyv1.AuthorisationRecord) string {
	if r.GetRevokedAt() != nil {
		return "revoked (" + reasonName(r.GetRevocationReason()) + ")"
	}
	return "issued"
}

func reasonName(r noflyv1.AuthorisationRevocationReason) string {
	return authorisation.ReasonCode(r).String()
}

func authorisationsShowCommand() *command {
	var out string
	var force bool
	return &command{
		name:    "authorisations show",
		usage:   "ID [-o FILE] [flags]",
		summary: "Shows one authorisation's record; -o writes its signed bytes to FILE (administrators and auditors).",
		example: "  nofly authorisations show AU-000001 -o AU-000001.au\n",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&out, "o", "", "also write the signed authorisation to `FILE`")
			fs.BoolVar(&force, "force", false, "replace an existing -o file")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) != 1 {
				return &usageError{cmd: "nofly authorisations show", msg: "give exactly one authorisation ID"}
			}
			var resp *noflyv1.GetAuthorisationResponse
			err := callAuthorisations(ctx, e, func(ctx context.Context, c noflyv1.AuthorisationServiceClient) (err error) {
				resp, err = c.GetAuthorisation(ctx, &noflyv1.GetAuthorisationRequest{Id: args[0]})
				return err
			})
			if err != nil {
				return err
			}
			r := resp.GetAuthorisation()
			if out != "" {
				if err := writeFile(e, out, r.GetAuthorisation(), 0o644, force); err != nil {
					return err
				}
			}
			if e.json {
				return printJSON(e, r)
			}
			w := e.stdout
			fmt.Fprintf(w, "%s  %s\n", r.GetId(), recordStatus(r))
			fmt.Fprintf(w, "  drone        %s\n  unit, pilot  %s, %s\n  purpose      %s\n", r.GetOperator().GetDroneSerial(),
				r.GetOperator().GetUnit(), orDash(r.GetOperator().GetPilotId()), shortPurpose(r.GetPurpose()))
			fmt.Fprintf(w, "  valid        %s to %s\n  issued       %s by %s (key %s)\n", fmtTime(r.GetValidity().GetStart()),
				fmtTime(r.GetValidity().GetEnd()), fmtTime(r.GetIssuedAt()), r.GetIssuedBy(), r.GetKeyId())
			fmt.Fprintf(w, "  verdict      %s\n  zones        %s\n  exemptions   %s\n", strings.TrimPrefix(r.GetVerdict().String(), "VERDICT_"),
				orDash(strings.Join(r.GetZoneIds(), ", ")), orDash(strings.Join(r.GetExemptionIds(), ", ")))
			if r.GetRevokedAt() != nil {
				fmt.Fprintf(w, "  revoked      %s by %s: %s (%s)\n", fmtTime(r.GetRevokedAt()), r.GetRevokedBy(), reasonName(r.GetRevocationReason()), r.GetRevocationNote())
			}
			return nil
		},
	}
}

func authorisationsRevokeCommand() *command {
	var reason, note, by string
	return &command{
		name:  "authorisations revoke",
		usage: "ID --reason withdrawn|key-compromise --note TEXT [--by WHO]",
		summary: `Revokes one authorisation (administrators): it goes on the revocation list
at once, and every ground station that fetches the list refuses it.
Revoking an exemption revokes the authorisations that relied on it by
itself.`,
		example: "  nofly authorisations revoke AU-000001 --reason withdrawn --note \"flight cancelled\"\n",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&reason, "reason", "", "`REASON` for the revocation list: withdrawn or key-compromise; required")
			fs.StringVar(&note, "note", "", "why, in words, for the audit log; required")
			fs.StringVar(&by, "by", "", "who revokes it; default: $NOFLY_USER, else $USER (with TLS: your certificate's subject, and only that)")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly authorisations revoke"
			if len(args) != 1 {
				return &usageError{cmd: name, msg: "give exactly one authorisation ID"}
			}
			code, err := authorisation.ParseReasonCode(reason)
			if err != nil || (code != authorisation.RevokedWithdrawn && code != authorisation.RevokedKeyCompromise) {
				return &usageError{cmd: name, msg: fmt.Sprintf("--reason %q: want withdrawn or key-compromise", reason)}
			}
			if strings.TrimSpace(note) == "" {
				return &usageError{cmd: name, msg: "--note required"}
			}
			if by == "" && !e.tls.on() {
				by = e.user
			}
			var resp *noflyv1.RevokeAuthorisationResponse
			err = callAuthorisations(ctx, e, func(ctx context.Context, c noflyv1.AuthorisationServiceClient) (err error) {
				resp, err = c.RevokeAuthorisation(ctx, &noflyv1.RevokeAuthorisationRequest{Id: args[0], RevokedBy: by,
					Reason: noflyv1.AuthorisationRevocationReason(code), Note: note})
				return err
			})
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(e, resp.GetAuthorisation())
			}
			r := resp.GetAuthorisation()
			_, err = fmt.Fprintf(e.stdout, "%s revoked at %s by %s (%s)\n", r.GetId(), fmtTime(r.GetRevokedAt()), r.GetRevokedBy(), reasonName(r.GetRevocationReason()))
			return err
		},
	}
}

func authorisationsRevocationsCommand() *command {
	var out string
	var force bool
	return &command{
		name:  "authorisations revocations",
		usage: "--out FILE",
		summary: `Fetches the server's signed revocation list (every revoked authorisation
not yet expired) and writes it to --out, for "nofly authorisation verify
--revocations" on devices that verify offline. Fetch it again before its
next update.`,
		example: "  nofly authorisations revocations --out revoked.cbor --force\n",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&out, "out", "", "`FILE` to write the list to (- for stdout); required")
			fs.BoolVar(&force, "force", false, "replace an existing --out file")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly authorisations revocations"
			if len(args) > 0 {
				return &usageError{cmd: name, msg: fmt.Sprintf("unexpected argument %q", args[0])}
			}
			if out == "" {
				return &usageError{cmd: name, msg: "--out FILE required"}
			}
			var resp *noflyv1.GetRevocationListResponse
			err := callAuthorisations(ctx, e, func(ctx context.Context, c noflyv1.AuthorisationServiceClient) (err error) {
				resp, err = c.GetRevocationList(ctx, &noflyv1.GetRevocationListRequest{})
				return err
			})
			if err != nil {
				return err
			}
			if err := writeFile(e, out, resp.GetRevocationList(), 0o644, force); err != nil {
				return err
			}
			if out != "-" {
				fmt.Fprintf(e.stdout, "revocation list of %s with %d authorisation%s written to %s; next update %s\n",
					fmtTime(resp.GetIssuedAt()), resp.GetEntries(), plural(int(resp.GetEntries())), out, fmtTime(resp.GetNextUpdate()))
			}
			return nil
		},
	}
}

// errRefused ends a verification that refused: exit status 1, the reason
// already printed.
var errRefused = fmt.Errorf("refused: %w", errDenied)

func authorisationVerifyCommand() *command {
	var (
		keys, revocations, drone string
		at                       = timeFlag{now: time.Now}
		lat, lon, altM           optFloat
		ref                      = refFlag{ref: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}
		refSet                   bool
	)
	return &command{
		name:  "authorisation verify",
		usage: "FILE --keys KEYSET [--revocations FILE] [--drone SERIAL] [--at TIME] [--lat DEG --lon DEG [--alt M --alt-ref REF]]",
		summary: `Verifies a signed flight authorisation offline, with no server and no
network: FILE (the signed bytes, or the text a QR code holds; - for stdin)
must be signed by a key of KEYSET ("nofly keys export"), valid at --at
(default now), for --drone, not on the revocation list (itself signed by
KEYSET; a list past its next update is used with a warning) and, with
--lat and --lon, the position must lie in the authorised 4-D volume (the
same geometry as the flight-plan check, metres on WGS84; with --alt also
its height). Each refusal says why.

Exit status: 0 accepted, 1 refused, 2 usage or input error.`,
		example: `  nofly authorisation verify patrol.au --keys nofly-keys.cbor --revocations revoked.cbor \
    --drone DJI-M30T-0001 --lat 52.3676 --lon 4.9041 --alt 80 --alt-ref agl
`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&keys, "keys", "", "public key set `FILE` (COSE_KeySet, from \"nofly keys export\"); required")
			fs.StringVar(&revocations, "revocations", "", "signed revocation list `FILE` (from \"nofly authorisations revocations\")")
			fs.StringVar(&drone, "drone", "", "the aircraft's `serial`: must be the one authorised")
			fs.Var(&at, "at", "`TIME` to verify at; default: now")
			fs.Var(&lat, "lat", "the aircraft's latitude in `degrees`")
			fs.Var(&lon, "lon", "the aircraft's longitude in `degrees`")
			fs.Var(&altM, "alt", "the aircraft's height in `metres` above --alt-ref")
			fs.Func("alt-ref", "`REF` of --alt: agl, amsl or wgs84 (default agl)", func(s string) error {
				refSet = true
				return ref.Set(s)
			})
		},
		run: func(_ context.Context, e *env, args []string) error {
			const name = "nofly authorisation verify"
			switch {
			case len(args) != 1:
				return &usageError{cmd: name, msg: "give exactly one authorisation FILE"}
			case keys == "":
				return &usageError{cmd: name, msg: "--keys KEYSET required: the issuer's public keys"}
			case lat.set != lon.set:
				return &usageError{cmd: name, msg: "give both --lat and --lon, or neither"}
			case altM.set && !lat.set:
				return &usageError{cmd: name, msg: "--alt needs --lat and --lon"}
			case refSet && !altM.set:
				return &usageError{cmd: name, msg: "--alt-ref needs --alt"}
			}
			raw, err := readArtefact(e, args[0], "authorisation")
			if err != nil {
				return err
			}
			signed, err := authorisation.ReadSigned(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			kb, err := readArtefact(e, keys, "--keys")
			if err != nil {
				return err
			}
			ks, err := authorisation.ParseKeySet(kb)
			if err != nil {
				return fmt.Errorf("%s: %w", keys, err)
			}
			opts := authorisation.Options{Keys: ks, At: time.Now().UTC(), Drone: drone}
			if at.set {
				opts.At = at.t
			}
			if revocations != "" {
				rb, err := readArtefact(e, revocations, "--revocations")
				if err != nil {
					return err
				}
				if opts.Revocations, err = authorisation.ParseRevocationList(rb, ks); err != nil {
					return fmt.Errorf("%s: %w", revocations, err)
				}
			}
			if lat.set {
				opts.Position = &authorisation.Position{Lat: lat.v, Lon: lon.v}
				if altM.set {
					opts.Position.Alt, opts.Position.AltRef = altM.v, shortRef(ref.ref)
				}
			}
			res, err := authorisation.Verify(signed, opts)
			if reason := authorisation.ReasonOf(err); reason != "" {
				var re *authorisation.RefusedError
				errors.As(err, &re)
				fmt.Fprintf(e.stdout, "REFUSED (%s): %s\n", reason, re.Detail)
				return errRefused
			}
			if err != nil {
				return err
			}
			a := res.Authorisation
			fmt.Fprintf(e.stdout, "ACCEPTED — %s for drone %s (%s%s), valid %s to %s, signed by %s key %s\n",
				a.ID, a.Drone, a.Unit, prefixed("/", a.Pilot), fmtUTC(a.ValidFrom), fmtUTC(a.ValidUntil), a.Issuer, authorisation.KeyIDString(a.KeyID))
			if opts.Position != nil {
				fmt.Fprintf(e.stdout, "Position %s inside the authorised %s\n", fmtPosition(opts.Position.Lat, opts.Position.Lon), a.Volume.Describe())
			}
			if rl := opts.Revocations; rl != nil {
				fmt.Fprintf(e.stdout, "Not on the revocation list of %s (%d revoked)\n", fmtUTC(rl.IssuedAt), len(rl.Entries))
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(e.stdout, "WARNING: %s\n", w)
			}
			printConditions(e.stdout, a)
			return nil
		},
	}
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func fmtUTC(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// printConditions prints what the pilot must keep: each exemption's
// conditions and each advisory's message.
func printConditions(w io.Writer, a *authorisation.Authorisation) {
	for _, z := range a.Zones {
		if ex := z.Exemption; ex != nil {
			fmt.Fprintf(w, "Zone %s (%s): under exemption %s (%s)", z.ID, z.Restriction, ex.ID, orDash(ex.LegalBasis))
			if ex.Conditions != "" {
				fmt.Fprintf(w, ": %s", ex.Conditions)
			}
			fmt.Fprintln(w)
		}
	}
	for _, z := range a.Advisories {
		fmt.Fprintf(w, "Advisory %s (%s)", z.ID, z.Restriction)
		if z.Message != "" {
			fmt.Fprintf(w, ": %s", z.Message)
		}
		fmt.Fprintln(w)
	}
}

func authorisationShowCommand() *command {
	var qrFile, tz string
	return &command{
		name:  "authorisation show",
		usage: "FILE [--qr FILE.png] [--tz ZONE]",
		summary: `Prints a signed flight authorisation for a pilot: drone, unit, validity in
local time and UTC, the authorised volume, the zones crossed with the
exemption relied on and its conditions, and the advisories. It does NOT
check the signature: use "nofly authorisation verify" to rely on it.
--qr writes its text form as a QR code, for an officer to verify on the
spot.`,
		example: "  nofly authorisation show patrol.au --qr patrol.png\n",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&qrFile, "qr", "", "write the authorisation as a QR code to `FILE.png`")
			fs.StringVar(&tz, "tz", "", "IANA time `zone` for local times (e.g. Europe/Amsterdam); default: the system's")
		},
		run: func(_ context.Context, e *env, args []string) error {
			const name = "nofly authorisation show"
			if len(args) != 1 {
				return &usageError{cmd: name, msg: "give exactly one authorisation FILE"}
			}
			loc := time.Local
			if tz != "" {
				var err error
				if loc, err = time.LoadLocation(tz); err != nil {
					return &usageError{cmd: name, msg: fmt.Sprintf("--tz %q: %v", tz, err)}
				}
			}
			raw, err := readArtefact(e, args[0], "authorisation")
			if err != nil {
				return err
			}
			signed, err := authorisation.ReadSigned(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			a, err := authorisation.Decode(signed)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if qrFile != "" {
				if err := writeQR(qrFile, signed); err != nil {
					return err
				}
			}
			w := e.stdout
			fmt.Fprintf(w, "Flight authorisation %s (%s), issued by %s — signature NOT checked here\n", a.ID, a.Verdict, a.Issuer)
			fmt.Fprintf(w, "  drone        %s\n  unit, pilot  %s, %s\n  purpose      %s\n", a.Drone, a.Unit, orDash(a.Pilot),
				orDash(strings.ToLower(a.Purpose)))
			fmt.Fprintf(w, "  valid from   %s  (%s)\n  valid until  %s  (%s)\n", a.ValidFrom.In(loc).Format("Mon 2 Jan 2006 15:04:05 MST"),
				fmtUTC(a.ValidFrom), a.ValidUntil.In(loc).Format("Mon 2 Jan 2006 15:04:05 MST"), fmtUTC(a.ValidUntil))
			fmt.Fprintf(w, "  volume       %s\n  zone data    %s\n  issued       %s, key %s\n", a.Volume.Describe(), a.ZoneSet,
				fmtUTC(a.IssuedAt), authorisation.KeyIDString(a.KeyID))
			if len(a.Zones) == 0 {
				fmt.Fprintln(w, "No blocking zones crossed.")
			}
			printConditions(w, a)
			if qrFile != "" {
				fmt.Fprintf(w, "QR code written to %s (%d bytes)\n", qrFile, len(signed))
			}
			return nil
		},
	}
}
