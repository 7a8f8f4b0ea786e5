package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

func checkCommand() *command {
	var (
		lat, lon, alt optFloat
		ref           = refFlag{ref: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}
		at            = timeFlag{now: time.Now}
		op            operatorFlags
		reference     string
		mapOut        mapFile
		bf            bundleFlags
	)
	return &command{
		name:  "check",
		usage: "--lat DEG --lon DEG [--alt M] [--alt-ref agl|amsl|wgs84] [--at TIME] [flags]",
		summary: `Asks whether a drone may be at a position, at a height, at a time. Prints
the verdict first (CLEAR, EXEMPTED or DENIED), then the zones met, the
exemptions applied with their conditions, and why no exemption covers a
blocking zone. Without --alt every
height counts; without --at the server checks now. TIME is RFC 3339
(2026-05-01T14:00:00+02:00) or relative to now (now, +2h, +90m, -30m).

Exit status: 0 clear or exempted, 1 denied, 2 usage, input or connection
error.`,
		example: `  nofly check --lat 52.31 --lon 4.76 --alt 100
  nofly check --lat 52.31 --lon 4.76 --alt 60 --alt-ref agl --at +2h --unit AMS-DRONE --pilot P123 --purpose forensic --json
`,
		flags: func(fs *flag.FlagSet) {
			fs.Var(&lat, "lat", "latitude in decimal `degrees` (-90..90, north positive); required")
			fs.Var(&lon, "lon", "longitude in decimal `degrees` (-180..180, east positive); required")
			fs.Var(&alt, "alt", "height in `metres` above --alt-ref; default: not known (every height counts)")
			fs.Var(&ref, "alt-ref", "`REF` that --alt is measured from: agl, amsl or wgs84")
			fs.Var(&at, "at", "`TIME` of the flight; default: now")
			op.register(fs)
			fs.StringVar(&reference, "reference", "", "your `reference` for the check (e.g. a mission number), kept in the audit log")
			mapOut.register(fs)
			bf.register(fs)
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly check"
			if len(args) > 0 {
				return &usageError{cmd: name, msg: fmt.Sprintf("unexpected argument %q", args[0])}
			}
			if !lat.set || !lon.set {
				return &usageError{cmd: name, msg: "--lat and --lon are required"}
			}
			if bf.journal != "" && bf.file == "" {
				return &usageError{cmd: name, msg: "--journal records offline answers: it needs --bundle"}
			}
			if err := mapOut.check(name); err != nil {
				return err
			}
			req := &noflyv1.CheckPositionRequest{
				Position:          &noflyv1.Position{Latitude: lat.v, Longitude: lon.v},
				Operator:          op.operator(),
				Purpose:           op.purpose,
				OperationCategory: op.category,
				Classification:    op.classification,

				ClientReference: reference,
			}
			if alt.set {
				req.Altitude = &noflyv1.Altitude{Metres: alt.v, Reference: ref.ref}
			}
			if at.set {
				req.At = timestamppb.New(at.t)
			}
			var resp *noflyv1.CheckPositionResponse
			if bf.file != "" {
				now := time.Now()
				off, l, err := bf.open(e, name, now)
				if err != nil {
					return err
				}
				if resp, err = off.CheckPosition(ctx, req, now); err != nil {
					return offlineError(bf.file, err)
				}
				if err := bf.record(e, l, "position", req, resp, now); err != nil {
					return err
				}
				offlineNote(e, l, bf.file, now)
				mapOut.offline, mapOut.note = off, offlineMapNote(l, bf.file, now)
			} else if err := call(ctx, e, func(ctx context.Context, c noflyv1.GeofenceServiceClient) (err error) {
				resp, err = c.CheckPosition(ctx, req)
				return err
			}); err != nil {
				return err
			}
			height := "height not given"
			if alt.set {
				height = fmt.Sprintf("%s m %s", fmtMetres(alt.v), shortRef(ref.ref))
			}
			result := checkResult{
				verdict: resp.GetVerdict(), conflicts: resp.GetConflicts(), advisories: resp.GetAdvisories(),
				caveats: resp.GetCaveats(), zoneSet: resp.GetZoneSet(), exemptions: resp.GetExemptions(),
				exemptionsAsOf: resp.GetExemptionsAsOf(), checkedAt: resp.GetCheckedAt(), stale: resp.GetExemptionsStale(),
				refusals: resp.GetPolicyRefusals(), warnings: resp.GetWarnings(), limit: resp.GetHeightLimit(),
			}
			subject := fmt.Sprintf("Position %s, %s, at %s", fmtPosition(lat.v, lon.v), height, fmtTime(resp.GetAt()))
			if e.json {
				if err := printJSON(e, resp); err != nil {
					return err
				}
			} else {
				printResult(e.stdout, result, subject)
			}
			if mapOut.path != "" {
				if err := mapOut.drawCheck(ctx, e, result, subject, positionFlight(lat.v, lon.v)); err != nil {
					return err
				}
			}
			return verdictError(resp.GetVerdict())
		},
	}
}

// verdictError turns a verdict into the run's result: errDenied (exit
// status 1) for DENIED. CLEAR and EXEMPTED let the flight go ahead.
func verdictError(v noflyv1.Verdict) error {
	switch v {
	case noflyv1.Verdict_VERDICT_CLEAR, noflyv1.Verdict_VERDICT_EXEMPTED:
		return nil
	case noflyv1.Verdict_VERDICT_DENIED:
		return errDenied
	}
	// A verdict this client does not know may not be read as clear.
	return fmt.Errorf("the server answered with verdict %v, which this nofly does not know; not clear", v)
}
