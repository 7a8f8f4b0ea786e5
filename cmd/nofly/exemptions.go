package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/internal/flightplan"
)

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("empty")
	}
	*l = append(*l, s)
	return nil
}

// parsePurpose reads a purpose as the --purpose flag takes it.
func parsePurpose(s string) (noflyv1.Purpose, error) {
	p, ok := noflyv1.Purpose_value["PURPOSE_"+strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))]
	if !ok || p == 0 {
		return 0, fmt.Errorf("%q: want one of %s", s, strings.Join(purposeNames(), ", "))
	}
	return noflyv1.Purpose(p), nil
}

// recordFlags are the flags of a new exemption record (create, supersede).
type recordFlags struct {
	unit                       string
	pilots, drones, zones      listFlag
	country                    string
	reasons, restrictions      listFlag
	circle, areaFile           string
	from, until                timeFlag
	maxAlt                     optFloat
	ref                        refFlag
	purposes                   []noflyv1.Purpose
	conditions, legalBasis, by string
	override                   bool
}

func newRecordFlags() *recordFlags {
	return &recordFlags{from: timeFlag{now: time.Now}, until: timeFlag{now: time.Now},
		ref: refFlag{ref: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}}
}

func (r *recordFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.unit, "unit", "", "police `unit` that holds the exemption; required")
	fs.Var(&r.pilots, "pilot", "only this pilot `id` (repeatable); default: any pilot of the unit")
	fs.Var(&r.drones, "drone", "only this drone `serial` (repeatable); default: any drone of the unit")
	fs.Var(&r.zones, "zone", "zone `ID` covered (repeatable); --zone or a selector flag is required")
	fs.StringVar(&r.country, "country", "", "selector: zones of this `country` (ISO 3166-1 alpha-3, e.g. NLD)")
	fs.Var(&r.reasons, "reason", "selector: zones with this `reason`, e.g. AIR_TRAFFIC (repeatable)")
	fs.Var(&r.restrictions, "restriction", "selector: zones with this `restriction`: prohibited or req_authorisation (repeatable)")
	fs.StringVar(&r.circle, "area-circle", "", "only flights inside this circle: `LAT,LON,RADIUS_M`")
	fs.StringVar(&r.areaFile, "area-file", "", "only flights inside the Polygon (or Point with radius_m) in this GeoJSON `FILE`")
	fs.Var(&r.from, "from", "`TIME` the exemption starts; required")
	fs.Var(&r.until, "until", "`TIME` the exemption ends; required")
	fs.Var(&r.maxAlt, "max-alt", "ceiling in `metres` above --alt-ref; required")
	fs.Var(&r.ref, "alt-ref", "`REF` of --max-alt: agl, amsl or wgs84")
	fs.Func("purpose", "`PURPOSE` allowed (repeatable): "+strings.Join(purposeNames(), ", ")+"; default: any", func(s string) error {
		p, err := parsePurpose(s)
		if err == nil {
			r.purposes = append(r.purposes, p)
		}
		return err
	})
	fs.StringVar(&r.conditions, "conditions", "", "conditions shown to the pilot, e.g. \"call the tower 10 minutes before take-off\"")
	fs.StringVar(&r.legalBasis, "legal-basis", "", "reference of the exemption `document`; required")
	fs.BoolVar(&r.override, "override", false, "also cover the --zone zones whose data allows no exemption (regulationExemption NO)")
	fs.StringVar(&r.by, "by", "", "who issues it; default: $NOFLY_USER, else $USER (with TLS: your certificate's subject, and only that)")
}

// record builds the request's record.
func (r *recordFlags) record(e *env, cmd string) (*noflyv1.Exemption, error) {
	ex := &noflyv1.Exemption{
		Holder:           &noflyv1.ExemptionHolder{Unit: r.unit, PilotIds: r.pilots, DroneSerials: r.drones},
		ZoneIds:          r.zones,
		CeilingM:         r.maxAlt.v,
		CeilingReference: r.ref.ref,
		Purposes:         r.purposes,
		Conditions:       r.conditions,
		LegalBasis:       r.legalBasis,
		Override:         r.override,
		IssuedBy:         r.by,
	}
	if ex.IssuedBy == "" && !e.tls.on() { // with TLS the server names the issuer
		ex.IssuedBy = e.user
	}
	var missing []string
	for _, m := range []struct {
		ok   bool
		name string
	}{{r.unit != "", "--unit"}, {r.from.set, "--from"}, {r.until.set, "--until"}, {r.maxAlt.set, "--max-alt"},
		{r.legalBasis != "", "--legal-basis"}, {ex.IssuedBy != "" || e.tls.on(), "--by"}} {
		if !m.ok {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		msg := strings.Join(missing, ", ") + " required"
		if missing[len(missing)-1] == "--by" {
			msg += byMissing
		}
		return nil, &usageError{cmd: cmd, msg: msg}
	}
	ex.ValidFrom, ex.ValidUntil = timestamppb.New(r.from.t), timestamppb.New(r.until.t)
	if r.country != "" || len(r.reasons) > 0 || len(r.restrictions) > 0 {
		ex.Selector = &noflyv1.ZoneSelector{Country: r.country, Reasons: r.reasons}
		for _, s := range r.restrictions {
			v, ok := noflyv1.Restriction_value["RESTRICTION_"+strings.ToUpper(strings.ReplaceAll(s, "-", "_"))]
			if !ok || v == 0 {
				return nil, &usageError{cmd: cmd, msg: fmt.Sprintf("--restriction %q: want prohibited, req_authorisation, conditional or no_restriction", s)}
			}
			ex.Selector.Restrictions = append(ex.Selector.Restrictions, noflyv1.Restriction(v))
		}
	}
	if len(r.zones) == 0 && ex.Selector == nil {
		return nil, &usageError{cmd: cmd, msg: "--zone or a selector (--country, --reason, --restriction) required"}
	}
	if r.circle != "" && r.areaFile != "" {
		return nil, &usageError{cmd: cmd, msg: "give --area-circle or --area-file, not both"}
	}
	if r.areaFile != "" {
		b, err := readPlanFile(e, r.areaFile)
		if err != nil {
			return nil, err
		}
		p, err := flightplan.Parse(r.areaFile, b, flightplan.Options{})
		if err != nil {
			return nil, err
		}
		if p.Area == nil {
			return nil, fmt.Errorf("%s: a route, not an area: want a GeoJSON Polygon, or a Point with radius_m", r.areaFile)
		}
		switch a := areaToProto(p.Area); {
		case a.GetPolygon() != nil:
			ex.Area = &noflyv1.ExemptionArea{Shape: &noflyv1.ExemptionArea_Polygon{Polygon: a.GetPolygon()}}
		default:
			ex.Area = &noflyv1.ExemptionArea{Shape: &noflyv1.ExemptionArea_Circle{Circle: a.GetCircle()}}
		}
	}
	if r.circle != "" {
		var v [3]float64
		parts := strings.Split(r.circle, ",")
		ok := len(parts) == 3
		for i := 0; ok && i < 3; i++ {
			f, err := strconv.ParseFloat(strings.TrimSpace(parts[i]), 64)
			v[i], ok = f, err == nil
		}
		if !ok {
			return nil, &usageError{cmd: cmd, msg: fmt.Sprintf("--area-circle %q: want LAT,LON,RADIUS_M, e.g. 52.31,4.76,500", r.circle)}
		}
		ex.Area = &noflyv1.ExemptionArea{Shape: &noflyv1.ExemptionArea_Circle{Circle: &noflyv1.Circle{
			Center: &noflyv1.Position{Latitude: v[0], Longitude: v[1]}, RadiusM: v[2]}}}
	}
	return ex, nil
}

// byMissing explains a missing --by: where the name was looked for.
const byMissing = ": who does this was not given with --by, and neither $NOFLY_USER nor $USER is set; " +
	"give --by NAME or set NOFLY_USER (with TLS the server names you by your certificate)"

// printRecordResult prints a new record: its id, or the whole record as
// JSON.
func printRecordResult(e *env, ex *noflyv1.Exemption) error {
	if e.json {
		return printJSON(e, ex)
	}
	_, err := fmt.Fprintln(e.stdout, esc(ex.GetId()))
	return err
}

const recordUsage = "--unit U [--pilot P]... [--drone SERIAL]... --zone ID... [--country C] [--reason R]... [--restriction R]... [--area-circle LAT,LON,M | --area-file FILE] --from TIME --until TIME --max-alt METRES [--alt-ref agl|amsl] [--purpose P]... [--conditions TEXT] --legal-basis TEXT [--override] [--by WHO]"

func exemptionsCreateCommand() *command {
	r := newRecordFlags()
	return &command{
		name:  "exemptions create",
		usage: recordUsage,
		summary: `Issues an exemption and prints its id (the whole record with --json). The
exemption lets the unit (only the named pilots and drones, when given) fly
in the zones named with --zone, and in those the selector flags pick at each
check, from --from to --until, up to --max-alt, for the purposes given (any
when none). TIME is RFC 3339 or relative to now (now, +90m, +8h).

A zone whose data allows no exemption (regulationExemption NO) is covered
only by an exemption that names it with --zone and sets --override.`,
		example: `  nofly exemptions create --unit AMS-DRONE --zone NL-EHAM-CTR --from now --until +8h \
    --max-alt 60 --purpose forensic --conditions "call the tower 10 minutes before take-off" \
    --legal-basis "ILT/2026/0042"
`,
		flags: r.register,
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly exemptions create"
			if len(args) > 0 {
				return &usageError{cmd: name, msg: fmt.Sprintf("unexpected argument %q", args[0])}
			}
			ex, err := r.record(e, name)
			if err != nil {
				return err
			}
			var resp *noflyv1.CreateExemptionResponse
			err = writeExemptions(ctx, e, func(ctx context.Context, c noflyv1.ExemptionServiceClient, rid string) (err error) {
				resp, err = c.CreateExemption(ctx, &noflyv1.CreateExemptionRequest{Exemption: ex, RequestId: rid})
				return err
			})
			if err != nil {
				return err
			}
			printWarnings(e, resp.GetWarnings())
			return printRecordResult(e, resp.GetExemption())
		},
	}
}

func exemptionsSupersedeCommand() *command {
	r := newRecordFlags()
	return &command{
		name:  "exemptions supersede",
		usage: "ID " + recordUsage,
		summary: `Issues a new exemption that replaces exemption ID, and prints the new id.
The old record stays, marked superseded, and no longer covers anything.
The new record is given whole, with the same flags as "exemptions create".`,
		example: `  nofly exemptions supersede EX-000001 --unit AMS-DRONE --zone NL-EHAM-CTR --from now --until +4h \
    --max-alt 40 --legal-basis "ILT/2026/0042-A"
`,
		flags: r.register,
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly exemptions supersede"
			if len(args) != 1 {
				return &usageError{cmd: name, msg: "give exactly one exemption ID"}
			}
			ex, err := r.record(e, name)
			if err != nil {
				return err
			}
			var resp *noflyv1.SupersedeExemptionResponse
			err = writeExemptions(ctx, e, func(ctx context.Context, c noflyv1.ExemptionServiceClient, rid string) (err error) {
				resp, err = c.SupersedeExemption(ctx, &noflyv1.SupersedeExemptionRequest{Id: args[0], Exemption: ex, RequestId: rid})
				return err
			})
			if err != nil {
				return err
			}
			printWarnings(e, resp.GetWarnings())
			return printRecordResult(e, resp.GetExemption())
		},
	}
}

// printWarnings prints the server's warnings about a new record on
// stderr, so that stdout stays the record's id (or JSON).
func printWarnings(e *env, warnings []string) {
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "nofly: warning: %s\n", strings.Join(strings.Fields(w), " "))
	}
}

func exemptionsRevokeCommand() *command {
	var reason, by string
	return &command{
		name:    "exemptions revoke",
		usage:   "ID --reason TEXT [--by WHO]",
		summary: `Revokes exemption ID: from now on it covers nothing. The record stays, with who revoked it, when and why.`,
		example: "  nofly exemptions revoke EX-000001 --reason \"operation ended\"\n",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&reason, "reason", "", "why it is revoked; required")
			fs.StringVar(&by, "by", "", "who revokes it; default: $NOFLY_USER, else $USER (with TLS: your certificate's subject, and only that)")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly exemptions revoke"
			if len(args) != 1 {
				return &usageError{cmd: name, msg: "give exactly one exemption ID"}
			}
			if strings.TrimSpace(reason) == "" {
				return &usageError{cmd: name, msg: "--reason required"}
			}
			if by == "" && !e.tls.on() { // with TLS the server names the revoker
				by = e.user
				if by == "" {
					return &usageError{cmd: name, msg: "--by required" + byMissing}
				}
			}
			var resp *noflyv1.RevokeExemptionResponse
			err := writeExemptions(ctx, e, func(ctx context.Context, c noflyv1.ExemptionServiceClient, rid string) (err error) {
				resp, err = c.RevokeExemption(ctx, &noflyv1.RevokeExemptionRequest{Id: args[0], RevokedBy: by, Reason: reason, RequestId: rid})
				return err
			})
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(e, resp.GetExemption())
			}
			rv := resp.GetExemption().GetRevocation()
			_, err = fmt.Fprintf(e.stdout, "%s revoked at %s by %s\n", esc(resp.GetExemption().GetId()), fmtTime(rv.GetRevokedAt()), esc(rv.GetRevokedBy()))
			return err
		},
	}
}

func exemptionsShowCommand() *command {
	var mapOut mapFile
	return &command{
		name:    "exemptions show",
		usage:   "ID [flags]",
		summary: "Shows one exemption record.",
		example: "  nofly exemptions show EX-000001\n  nofly exemptions show EX-000001 --map EX-000001.html\n",
		flags:   func(fs *flag.FlagSet) { mapOut.register(fs) },
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) != 1 {
				return &usageError{cmd: "nofly exemptions show", msg: "give exactly one exemption ID"}
			}
			if err := mapOut.check("nofly exemptions show"); err != nil {
				return err
			}
			var resp *noflyv1.GetExemptionResponse
			err := callExemptions(ctx, e, func(ctx context.Context, c noflyv1.ExemptionServiceClient) (err error) {
				resp, err = c.GetExemption(ctx, &noflyv1.GetExemptionRequest{Id: args[0]})
				return err
			})
			if err != nil {
				return err
			}
			if e.json {
				if err := printJSON(e, resp.GetExemption()); err != nil {
					return err
				}
			} else {
				printExemption(e.stdout, resp.GetExemption())
			}
			if mapOut.path != "" {
				return mapOut.drawExemption(ctx, e, resp.GetExemption())
			}
			return nil
		},
	}
}

func shortPurpose(p noflyv1.Purpose) string {
	return strings.ToLower(strings.TrimPrefix(p.String(), "PURPOSE_"))
}

func printExemption(w io.Writer, ex *noflyv1.Exemption) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(k, v string) { // v may hold the record's texts: escaped here
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, esc(v))
		}
	}
	line("ID", ex.GetId())
	line("Status", exemptionStatus(ex))
	h := ex.GetHolder()
	line("Unit", h.GetUnit())
	line("Pilots", strings.Join(h.GetPilotIds(), ", "))
	line("Drones", strings.Join(h.GetDroneSerials(), ", "))
	line("Zones", strings.Join(ex.GetZoneIds(), ", "))
	if s := ex.GetSelector(); s != nil {
		var parts []string
		if s.GetCountry() != "" {
			parts = append(parts, "country "+s.GetCountry())
		}
		if len(s.GetReasons()) > 0 {
			parts = append(parts, "reasons "+strings.Join(s.GetReasons(), "|"))
		}
		for _, r := range s.GetRestrictions() {
			parts = append(parts, "restriction "+shortRestriction(r))
		}
		line("Selector", "all zones with "+strings.Join(parts, ", "))
	}
	if c := ex.GetArea().GetCircle(); c != nil {
		line("Area", fmt.Sprintf("circle of %s m around %s", fmtMetres(c.GetRadiusM()),
			fmtPosition(c.GetCenter().GetLatitude(), c.GetCenter().GetLongitude())))
	} else if ex.GetArea().GetPolygon() != nil {
		line("Area", "polygon")
	}
	line("Valid", fmtTime(ex.GetValidFrom())+" to "+fmtTime(ex.GetValidUntil()))
	line("Ceiling", fmt.Sprintf("%s m %s", fmtMetres(ex.GetCeilingM()), shortRef(ex.GetCeilingReference())))
	var ps []string
	for _, p := range ex.GetPurposes() {
		ps = append(ps, shortPurpose(p))
	}
	if len(ps) == 0 {
		ps = []string{"any"}
	}
	line("Purposes", strings.Join(ps, ", "))
	line("Conditions", ex.GetConditions())
	line("Legal basis", ex.GetLegalBasis())
	if ex.GetOverride() {
		line("Override", "covers the named zones even where their data allows no exemption")
	}
	line("Issued", fmtTime(ex.GetIssuedAt())+" by "+ex.GetIssuedBy())
	line("Supersedes", ex.GetSupersedes())
	line("Superseded by", ex.GetSupersededBy())
	if r := ex.GetRevocation(); r != nil {
		line("Revoked", fmt.Sprintf("%s by %s: %s", fmtTime(r.GetRevokedAt()), r.GetRevokedBy(), r.GetReason()))
	}
	tw.Flush()
}

func exemptionStatus(ex *noflyv1.Exemption) string {
	switch {
	case ex.GetRevocation() != nil:
		return "revoked"
	case ex.GetSupersededBy() != "":
		return "superseded"
	}
	return "in force"
}

func exemptionsListCommand() *command {
	var (
		unit, zone string
		activeAt   = timeFlag{now: time.Now}
		all        bool
	)
	return &command{
		name:    "exemptions list",
		usage:   "[--unit U] [--zone ID] [--active-at TIME] [--all] [flags]",
		summary: "Lists exemptions in the order issued: by default those neither revoked nor superseded.",
		example: "  nofly exemptions list --unit AMS-DRONE --active-at now\n",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&unit, "unit", "", "only this `unit`'s")
			fs.StringVar(&zone, "zone", "", "only those naming zone `ID`")
			fs.Var(&activeAt, "active-at", "only those valid at `TIME`")
			fs.BoolVar(&all, "all", false, "also revoked and superseded records")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return &usageError{cmd: "nofly exemptions list", msg: fmt.Sprintf("unexpected argument %q", args[0])}
			}
			req := &noflyv1.ListExemptionsRequest{Unit: unit, ZoneId: zone, IncludeRevoked: all, PageSize: 1000}
			if activeAt.set {
				req.ActiveAt = timestamppb.New(activeAt.t)
			}
			var list []*noflyv1.Exemption
			err := callExemptions(ctx, e, func(ctx context.Context, c noflyv1.ExemptionServiceClient) error {
				return eachPage(func(token string) ([]*noflyv1.Exemption, string, error) {
					req.PageToken = token
					resp, err := c.ListExemptions(ctx, req)
					return resp.GetExemptions(), resp.GetNextPageToken(), err
				}, func(page []*noflyv1.Exemption) error { list = append(list, page...); return nil })
			})
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(e, &noflyv1.ListExemptionsResponse{Exemptions: list})
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tUNIT\tZONES\tFROM\tUNTIL\tCEILING\tLEGAL BASIS")
			for _, ex := range list {
				zones := strings.Join(ex.GetZoneIds(), ",")
				if ex.GetSelector() != nil {
					zones = strings.TrimPrefix(zones+",+selector", ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s m %s\t%s\n", cell(ex.GetId(), 40), exemptionStatus(ex), cell(ex.GetHolder().GetUnit(), 40),
					cell(zones, 40), fmtTime(ex.GetValidFrom()), fmtTime(ex.GetValidUntil()), fmtMetres(ex.GetCeilingM()),
					shortRef(ex.GetCeilingReference()), cell(ex.GetLegalBasis(), 40))
			}
			tw.Flush()
			fmt.Fprintf(e.stdout, "%d exemption%s\n", len(list), plural(len(list)))
			return nil
		},
	}
}

func auditListCommand() *command {
	var exemption, action, actor string
	return &command{
		name:    "audit list",
		usage:   "[--exemption ID] [--action create|supersede|revoke|check] [--actor WHO] [flags]",
		summary: "Lists the audit log: every create, supersede and revoke, and every check whose verdict relied on an exemption.",
		example: "  nofly audit list --exemption EX-000001\n",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&exemption, "exemption", "", "only entries concerning exemption `ID`")
			fs.StringVar(&action, "action", "", "only entries of this `action`: create, supersede, revoke, check, authorise, revoke-authorisation, drone-add, drone-update, drone-retire, refusals or report-detail")
			fs.StringVar(&actor, "actor", "", "only entries of this `actor`")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly audit list"
			if len(args) > 0 {
				return &usageError{cmd: name, msg: fmt.Sprintf("unexpected argument %q", args[0])}
			}
			req := &noflyv1.ListAuditEventsRequest{ExemptionId: exemption, Actor: actor, PageSize: 1000}
			if action != "" {
				v, ok := noflyv1.AuditAction_value["AUDIT_ACTION_"+strings.ToUpper(strings.ReplaceAll(action, "-", "_"))]
				if !ok || v == 0 {
					return &usageError{cmd: name, msg: fmt.Sprintf("--action %q: want create, supersede, revoke, check, authorise, revoke-authorisation, drone-add, drone-update, drone-retire, refusals or report-detail", action)}
				}
				req.Action = noflyv1.AuditAction(v)
			}
			if e.json {
				var events []*noflyv1.AuditEvent
				err := auditPages(ctx, e, req, func(page []*noflyv1.AuditEvent) error {
					events = append(events, page...)
					return nil
				})
				if err != nil {
					return err
				}
				return printJSON(e, &noflyv1.ListAuditEventsResponse{Events: events})
			}
			// Printed page by page: a log of any length lists in bounded
			// memory (columns aligned within a page).
			header := true
			return auditPages(ctx, e, req, func(page []*noflyv1.AuditEvent) error {
				tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
				if header {
					fmt.Fprintln(tw, "SEQ\tAT\tACTION\tACTOR\tEXEMPTIONS\tREFERENCE\tHASH")
					header = false
				}
				for _, ev := range page {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%.12s\n", ev.GetSeq(), fmtTime(ev.GetAt()),
						strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(ev.GetAction().String(), "AUDIT_ACTION_")), "_", "-"), cell(ev.GetActor(), 30),
						cell(strings.Join(ev.GetExemptionIds(), ","), 40), cell(auditReference(ev), 20), esc(ev.GetHash()))
				}
				return tw.Flush()
			})
		},
	}
}

// auditPages fetches the log page by page (each answer bounded in size
// by the server) and hands each page to fn as it comes.
func auditPages(ctx context.Context, e *env, req *noflyv1.ListAuditEventsRequest, fn func([]*noflyv1.AuditEvent) error) error {
	return callExemptions(ctx, e, func(ctx context.Context, c noflyv1.ExemptionServiceClient) error {
		return eachPage(func(token string) ([]*noflyv1.AuditEvent, string, error) {
			req.PageToken = token
			resp, err := c.ListAuditEvents(ctx, req)
			return resp.GetEvents(), resp.GetNextPageToken(), err
		}, fn)
	})
}

// auditReference is an entry's client reference, read from its entry_json
// when the server abridged it.
func auditReference(ev *noflyv1.AuditEvent) string {
	if !ev.GetAbridged() {
		return ev.GetClientReference()
	}
	var entry struct {
		ClientReference string `json:"client_reference"`
	}
	_ = json.Unmarshal([]byte(ev.GetEntryJson()), &entry)
	return entry.ClientReference
}

// errBroken ends an audit verification that found problems: exit status 1.
var errBroken = errors.New("audit log not intact")

// chainCheck checks the hash chain of the whole log as a client sees it,
// entry by entry in order, keeping only the last hash: entries numbered 1,
// 2, 3 … without gaps, each entry's prev_hash the hash of the one before,
// and each hash the SHA-256 of prev_hash followed by the entry's canonical
// JSON, whose fields must match the entry's.
type chainCheck struct {
	n        int64  // entries seen
	prev     string // hash of the last entry
	head     string // a hash the chain must pass through ("": none)
	headSeen bool
	problems []string
}

// add checks the next entry.
func (c *chainCheck) add(ev *noflyv1.AuditEvent) {
	c.n++
	if ev.GetSeq() != c.n {
		c.problem("entry %d: expected entry %d (entries missing)", ev.GetSeq(), c.n)
		c.n = ev.GetSeq()
	}
	var entry struct {
		Seq      int64  `json:"seq"`
		Actor    string `json:"actor"`
		PrevHash string `json:"prev_hash"`
	}
	if err := json.Unmarshal([]byte(ev.GetEntryJson()), &entry); err != nil {
		c.problem("entry %d: not valid JSON", ev.GetSeq())
	} else if entry.Seq != ev.GetSeq() || entry.Actor != ev.GetActor() || entry.PrevHash != ev.GetPrevHash() {
		c.problem("entry %d: fields differ from the hashed entry", ev.GetSeq())
	}
	if ev.GetPrevHash() != c.prev {
		c.problem("entry %d: previous hash %.12s…, the entry before it hashes to %.12s…", ev.GetSeq(), ev.GetPrevHash(), c.prev)
	}
	sum := sha256.Sum256([]byte(ev.GetPrevHash() + ev.GetEntryJson()))
	if hex.EncodeToString(sum[:]) != ev.GetHash() {
		c.problem("entry %d: changed (its content does not hash to its hash)", ev.GetSeq())
	}
	c.prev = ev.GetHash()
	c.headSeen = c.headSeen || (c.head != "" && ev.GetHash() == c.head)
}

// maxChainProblems are listed; more are counted.
const maxChainProblems = 100

func (c *chainCheck) problem(format string, args ...any) {
	if len(c.problems) <= maxChainProblems {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
	}
}

// result is what was found wrong once every entry was added.
func (c *chainCheck) result() []string {
	ps := c.problems
	if len(ps) > maxChainProblems {
		ps = append(ps[:maxChainProblems:maxChainProblems], "… and more problems in the chain not listed")
	}
	if c.head != "" && !c.headSeen {
		ps = append(ps, fmt.Sprintf("no entry has the hash %s: entries were removed or changed", c.head))
	}
	return ps
}

// verifyChain checks events, the whole log in order (chainCheck).
func verifyChain(events []*noflyv1.AuditEvent) []string {
	var c chainCheck
	for _, ev := range events {
		c.add(ev)
	}
	return c.result()
}

func auditVerifyCommand() *command {
	var head string
	return &command{
		name:  "audit verify",
		usage: "[--head HASH] [flags]",
		summary: `Verifies the audit log: fetches every entry and checks the hash chain here,
then asks the server to check that every exemption record is as the log
says it was issued, superseded and revoked. Prints the last entry's hash:
note it, and pass it as --head next time to prove that no entry was removed
from the end since.

Exit status: 0 when the log is intact, 1 when it is not, 2 for errors.`,
		example: "  nofly audit verify\n  nofly audit verify --head 3f1c…\n",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&head, "head", "", "a `HASH` printed by an earlier verification, which the chain must still contain")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return &usageError{cmd: "nofly audit verify", msg: fmt.Sprintf("unexpected argument %q", args[0])}
			}
			// Page by page, keeping only the last hash: a log of any
			// length verifies in bounded memory and answers.
			chain := chainCheck{head: head}
			err := auditPages(ctx, e, &noflyv1.ListAuditEventsRequest{PageSize: 1000}, func(page []*noflyv1.AuditEvent) error {
				for _, ev := range page {
					chain.add(ev)
				}
				return nil
			})
			if err != nil {
				return err
			}
			problems := chain.result()
			var resp *noflyv1.VerifyAuditLogResponse
			err = callExemptions(ctx, e, func(ctx context.Context, c noflyv1.ExemptionServiceClient) (err error) {
				resp, err = c.VerifyAuditLog(ctx, &noflyv1.VerifyAuditLogRequest{})
				return err
			})
			if err != nil {
				return err
			}
			problems = append(problems, resp.GetProblems()...)
			if e.json {
				resp.Problems, resp.Ok = problems, len(problems) == 0
				if err := printJSON(e, resp); err != nil {
					return err
				}
			} else if len(problems) == 0 {
				fmt.Fprintf(e.stdout, "audit log intact: %d entr%s, %d exemption record%s\nhead %s\n",
					chain.n, pluralY(int(chain.n)), resp.GetRecords(), plural(int(resp.GetRecords())), esc(chain.prev))
			} else {
				fmt.Fprintf(e.stdout, "audit log NOT intact: %d problem%s\n", len(problems), plural(len(problems)))
				for _, p := range problems {
					fmt.Fprintf(e.stdout, "  - %s\n", esc(p))
				}
			}
			if len(problems) > 0 {
				return errBroken
			}
			return nil
		},
	}
}
