package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/authorisation"
	"github.com/nofly-project/nofly/bundle"
	"github.com/nofly-project/nofly/internal/server"
)

func bundleExportCommand() *command {
	var (
		unit, area, around, out string
		valid                   = 12 * time.Hour
		force                   bool
	)
	return &command{
		name:  "bundle export",
		usage: "--unit UNIT (--area MINLAT,MINLON,MAXLAT,MAXLON | --around LAT,LON,KM) [--valid D] -o FILE",
		summary: `Writes an offline bundle for a unit to FILE. It holds the zones in the
area with their schedules, the unit's exemptions valid during the bundle's validity,
the unit's drone registry records and the deployment policy (with the
registry mode and general ceiling), the revocation list of authorisations, the zone set's version, issue time
and expiry, signed with the server's authorisation key. With it and the key
set ("nofly keys export") nofly check and nofly plan check answer with no
server: --bundle FILE --keys KEYSET. A check outside the area, or after
the expiry, is refused. See docs/fieldkit.md.`,
		example: `  nofly bundle export --unit AMS-DRONE --around 52.37,4.90,50 --valid 12h -o ams.bundle
  nofly bundle export --unit AMS-DRONE --area 52.2,4.6,52.5,5.1 -o ams.bundle
`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&unit, "unit", "", "the `UNIT` whose exemptions the bundle carries; required")
			fs.StringVar(&area, "area", "", "the area as `MINLAT,MINLON,MAXLAT,MAXLON` in degrees")
			fs.StringVar(&around, "around", "", "the area as `LAT,LON,KM`: the box around a circle of KM kilometres")
			fs.DurationVar(&valid, "valid", valid, "how long the bundle is valid, at most 168h")
			fs.StringVar(&out, "o", "", "`FILE` to write the bundle to; required")
			alias(fs, "out", "o")
			fs.BoolVar(&force, "force", false, "replace an existing file")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly bundle export"
			req := &noflyv1.ExportBundleRequest{Unit: unit, ValidSeconds: int64(valid / time.Second)}
			switch {
			case len(args) > 0:
				return &usageError{cmd: name, msg: fmt.Sprintf("unexpected argument %q", args[0])}
			case unit == "":
				return &usageError{cmd: name, msg: "--unit is required"}
			case out == "":
				return &usageError{cmd: name, msg: "-o FILE is required"}
			case (area == "") == (around == ""):
				return &usageError{cmd: name, msg: "give one of --area and --around"}
			case valid <= 0 || valid%time.Second != 0:
				return &usageError{cmd: name, msg: fmt.Sprintf("--valid %s: want a positive whole number of seconds", valid)}
			case area != "":
				v, err := numbers(area, 4)
				if err != nil {
					return &usageError{cmd: name, msg: "--area: " + err.Error()}
				}
				req.Area = &noflyv1.ExportBundleRequest_Bbox{Bbox: &noflyv1.BoundingBox{MinLatitude: v[0], MinLongitude: v[1], MaxLatitude: v[2], MaxLongitude: v[3]}}
			default:
				v, err := numbers(around, 3)
				if err != nil {
					return &usageError{cmd: name, msg: "--around: " + err.Error()}
				}
				req.Area = &noflyv1.ExportBundleRequest_Around{Around: &noflyv1.Circle{
					Center: &noflyv1.Position{Latitude: v[0], Longitude: v[1]}, RadiusM: v[2] * 1000}}
			}
			var resp *noflyv1.ExportBundleResponse
			err := callAuthorisations(ctx, e, func(ctx context.Context, c noflyv1.AuthorisationServiceClient) (err error) {
				resp, err = c.ExportBundle(ctx, req)
				return err
			})
			if err != nil {
				return err
			}
			if err := writeFile(e, out, resp.GetBundle(), 0o644, force); err != nil {
				return err
			}
			if e.json {
				resp.Bundle = nil
				return printJSON(e, resp)
			}
			if out != "-" {
				bb := resp.GetBbox()
				fmt.Fprintf(e.stdout, "Bundle %s for unit %s: %d zone%s, %d exemption%s, %d kB\n", out, unit,
					resp.GetZones(), plural(int(resp.GetZones())), resp.GetExemptions(), plural(int(resp.GetExemptions())), (len(resp.GetBundle())+1023)/1024)
				fmt.Fprintf(e.stdout, "  area         %.5f,%.5f,%.5f,%.5f (lat,lon,lat,lon)\n", bb.GetMinLatitude(), bb.GetMinLongitude(), bb.GetMaxLatitude(), bb.GetMaxLongitude())
				fmt.Fprintf(e.stdout, "  issued       %s\n  expires      %s\n  zone set     %s\n", fmtTime(resp.GetIssuedAt()), fmtTime(resp.GetValidUntil()), resp.GetZoneSetVersion())
				if p := resp.GetPolicy(); p != "" {
					fmt.Fprintf(e.stdout, "  fleet        %d drone%s of the unit in the registry; policy %s\n", resp.GetDrones(), plural(int(resp.GetDrones())), p)
				}
			}
			return nil
		},
	}
}

// numbers reads n comma-separated numbers.
func numbers(s string, n int) ([]float64, error) {
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, fmt.Errorf("%q: want %d numbers separated by commas", s, n)
	}
	out := make([]float64, n)
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", p)
		}
		out[i] = v
	}
	return out, nil
}

// bundleFlags are --bundle and --keys: answer from an offline bundle, with
// no server.
type bundleFlags struct {
	file, keys string
	journal    string // --journal
	sum        string // the bundle file's SHA-256, hex, set by open
}

func (b *bundleFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.file, "bundle", "", "answer offline, with no server, from this bundle `FILE` (nofly bundle export); needs --keys")
	fs.StringVar(&b.keys, "keys", "", "the key set `FILE` (nofly keys export) that must have signed --bundle")
	fs.StringVar(&b.journal, "journal", "", "with --bundle, append the answer to this hash-chained journal `FILE` (nofly bundle journal checks it)")
}

// open reads, verifies and loads the bundle at now. Every refusal names
// the file and says why.
func (b *bundleFlags) open(e *env, name string, now time.Time) (*server.Offline, *bundle.Loaded, error) {
	if b.keys == "" {
		return nil, nil, &usageError{cmd: name, msg: "--bundle needs --keys KEYSET (nofly keys export): a bundle is trusted only under its key set"}
	}
	ksb, err := readArtefact(e, b.keys, "--keys")
	if err != nil {
		return nil, nil, err
	}
	ks, err := authorisation.ParseKeySet(ksb)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", b.keys, err)
	}
	f, err := os.Open(b.file)
	if err != nil {
		return nil, nil, fmt.Errorf("--bundle: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, bundle.MaxSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("--bundle %s: %w", b.file, err)
	}
	sum := sha256.Sum256(raw)
	b.sum = hex.EncodeToString(sum[:])
	if b.journal != "" {
		// A journal that does not verify is refused before the check:
		// nothing is appended to a broken chain.
		if _, err := readJournal(b.journal); err != nil {
			return nil, nil, err
		}
	}
	l, err := bundle.Load(raw, ks, now)
	if err != nil {
		if r := authorisation.ReasonOf(err); r != "" {
			return nil, nil, fmt.Errorf("bundle %s refused (%s): %s", b.file, r, err.(*authorisation.RefusedError).Detail)
		}
		return nil, nil, fmt.Errorf("bundle %s refused: %w", b.file, err)
	}
	return server.NewOffline(l, b.file), l, nil
}

// offlineNote says that an answer is offline, from which bundle, how old
// and until when it holds. It goes before the answer, or to stderr with
// --json (stdout is then the response alone).
func offlineNote(e *env, l *bundle.Loaded, file string, now time.Time) {
	w := e.stdout
	if e.json {
		w = e.stderr
	}
	fmt.Fprintf(w, "OFFLINE: answered from bundle %s, no server asked. Unit %s; issued %s (%s ago), expires %s (in %s).\n",
		file, l.Unit, l.IssuedAt.Format(time.RFC3339), fmtHours(now.Sub(l.IssuedAt)), l.ValidUntil.Format(time.RFC3339),
		fmtHours(l.ValidUntil.Sub(now)))
	switch {
	case l.Fleet != nil:
		fmt.Fprintf(w, "Exemptions, revocations, drone registry and policy as at the bundle's issue; nothing is recorded in the audit log.\n\n")
	case l.Version == 1:
		fmt.Fprintf(w, "Exemptions and revocations as at the bundle's issue; nothing is recorded in the audit log.\n")
		fmt.Fprintf(w, "A version 1 bundle: it holds no drone registry and no policy, and they are not applied; export a new one.\n\n")
	default:
		fmt.Fprintf(w, "Exemptions and revocations as at the bundle's issue; nothing is recorded in the audit log.\n\n")
	}
}

// readJournal verifies the journal at path (none yet: empty) and returns
// where it ends.
func readJournal(path string) (bundle.JournalTail, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return bundle.JournalTail{Seq: 1}, nil
	}
	if err != nil {
		return bundle.JournalTail{}, fmt.Errorf("--journal: %w", err)
	}
	defer f.Close()
	tail, err := bundle.VerifyJournal(f)
	if err != nil {
		return tail, fmt.Errorf("journal %s: %w", path, err)
	}
	return tail, nil
}

// record appends an offline answer to --journal, if given.
func (b *bundleFlags) record(e *env, l *bundle.Loaded, kind string, req, resp proto.Message, now time.Time) error {
	if b.journal == "" {
		return nil
	}
	tail, err := readJournal(b.journal)
	if err != nil {
		return err
	}
	rq, err := protojson.Marshal(req)
	if err != nil {
		return err
	}
	rs, err := protojson.Marshal(resp)
	if err != nil {
		return err
	}
	line, err := bundle.JournalLine(tail, bundle.JournalEntry{At: now, Unit: l.Unit, Kind: kind, Request: rq, Response: rs,
		Bundle: bundle.JournalBundle{File: b.file, SHA256: b.sum, KeyID: hex.EncodeToString(l.KeyID), IssuedAt: l.IssuedAt, ZoneSet: l.ZoneSet.Version}})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(b.journal, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("--journal: %w", err)
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("--journal %s: %w", b.journal, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--journal %s: %w", b.journal, err)
	}
	fmt.Fprintf(e.stderr, "nofly: answer recorded in %s, entry %d\n", b.journal, tail.Seq)
	return nil
}

func bundleJournalCommand() *command {
	return &command{
		name:  "bundle journal",
		usage: "FILE",
		summary: `Checks a journal of offline answers (check and plan check with --bundle
and --journal FILE): every line, and the chain of hashes from each line to
the next, so that a line changed, removed or moved is found. Prints the
number of answers and the last line's hash: note them elsewhere. The chain
has no key: lines cut off the end, or a line changed with every hash after
it recomputed, verify again; only the noted count and hash show them.
Exit status 0 intact, 1 not.`,
		example: `  nofly bundle journal field.journal
`,
		run: func(_ context.Context, e *env, args []string) error {
			if len(args) != 1 {
				return &usageError{cmd: "nofly bundle journal", msg: "give the journal FILE"}
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			tail, err := bundle.VerifyJournal(f)
			if err != nil {
				fmt.Fprintf(e.stdout, "Journal %s is NOT intact: %v\n", args[0], err)
				return errDenied
			}
			fmt.Fprintf(e.stdout, "Journal %s is intact: %d answer%s; the last line hashes to %s\n", args[0], tail.Seq-1, plural(int(tail.Seq-1)), cmp.Or(tail.Prev, "(none: empty)"))
			return nil
		},
	}
}

// offlineMapNote is the line a map of an offline answer carries.
func offlineMapNote(l *bundle.Loaded, file string, now time.Time) string {
	return fmt.Sprintf("OFFLINE: answered from bundle %s (unit %s), issued %s (%s ago), expires %s; zones and exemptions from the bundle",
		filepath.Base(file), l.Unit, l.IssuedAt.Format(time.RFC3339), fmtHours(now.Sub(l.IssuedAt)), l.ValidUntil.Format(time.RFC3339))
}

// offlineError is an Offline refusal as the CLI shows it.
func offlineError(file string, err error) error {
	return fmt.Errorf("bundle %s: %w", file, err)
}

// fmtHours writes a duration as hours and whole minutes: "11h59m".
func fmtHours(d time.Duration) string {
	d = max(d, 0).Truncate(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
