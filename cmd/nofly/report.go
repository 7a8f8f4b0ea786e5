package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// dayFlag is a report's bound: a date (midnight UTC), a month (its first
// day), RFC 3339, or relative to now as parseTime reads it (-24h).
type dayFlag struct {
	t   time.Time
	set bool
}

func (f *dayFlag) String() string {
	if !f.set {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *dayFlag) Set(s string) error {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "2006-01"} {
		if t, err := time.Parse(layout, s); err == nil {
			f.t, f.set = t, true
			return nil
		}
	}
	t, err := parseTime(s, time.Now())
	if err != nil {
		return fmt.Errorf("%q: want a date (2026-03-01), a month (2026-03), RFC 3339 (2026-03-01T00:00:00+01:00) or relative to now (-24h)", s)
	}
	f.t, f.set = t, true
	return nil
}

// byFlag collects --by, which may be repeated or comma-separated.
type byFlag []noflyv1.ReportGrouping

func (f *byFlag) String() string {
	var s []string
	for _, g := range *f {
		s = append(s, groupingName(g))
	}
	return strings.Join(s, ",")
}

func (f *byFlag) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		v, ok := noflyv1.ReportGrouping_value["REPORT_GROUPING_"+strings.ToUpper(strings.TrimSpace(part))]
		if !ok || v == 0 {
			return fmt.Errorf("%q: want purpose, unit, manufacturer, model, zone or month", part)
		}
		*f = append(*f, noflyv1.ReportGrouping(v))
	}
	return nil
}

func groupingName(g noflyv1.ReportGrouping) string {
	return strings.ToLower(strings.TrimPrefix(g.String(), "REPORT_GROUPING_"))
}

func reportCommand() *command {
	var (
		from, until dayFlag
		by          byFlag
		minGroup    int
		csvOut      bool
		zonesOnly   bool
		detail      bool
	)
	return &command{
		name:  "report",
		usage: "--from DATE --until DATE [--by purpose|unit|manufacturer|model|zone|month]... [--csv [--zones]] [--detail] [flags]",
		summary: `Reports how often the police flew in a period, for which purposes, with which
drones, in which zones and under which legal bases (administrators and
auditors): flights authorised, flights under an exemption (exempted checks
and authorisations), distinct drones, checks refused (from anonymous daily
counters), per group; and per zone how often an exemption was relied on. The server computes the report from the audit
log, checking every link of its hash chain from the first entry; the report
names the last entry it read and its hash, so that anyone holding the log
can compute it again.

No pilot identities and no positions. In reports by unit or zone, and in the
zone table, a group of fewer flights than --min-group shows "< N" instead of
its numbers. --detail (administrators only) lists the authorisations and
exempted checks counted, with their pilots; the request is written to the
audit log first. Makes and models come from the drone registry; a drone it does
not know is "unregistered". What is counted and what is not:
docs/oversight.md.

Exit status: 0 with a report, 1 when the audit log does not verify (no
report), 2 for errors.`,
		example: "  nofly report --from 2026-01-01 --until 2027-01-01 --by purpose\n" +
			"  nofly report --from 2026-03 --until 2026-05 --by month --by manufacturer --csv\n",
		flags: func(fs *flag.FlagSet) {
			fs.Var(&from, "from", "start of the period: `DATE` (2026-03-01, UTC), month (2026-03), RFC 3339 or relative to now (-24h); required")
			fs.Var(&until, "until", "end of the period, exclusive: `DATE`, month, RFC 3339 or relative to now; required")
			fs.Var(&by, "by", "group by `WHAT`: purpose, unit, manufacturer, model, zone or month (repeat, or comma-separated)")
			fs.IntVar(&minGroup, "min-group", 5, "in reports by unit or zone, show groups of fewer flights than `N` as \"< N\"")
			fs.BoolVar(&csvOut, "csv", false, "print the groups as CSV (with --zones: the zone table)")
			fs.BoolVar(&zonesOnly, "zones", false, "with --csv: print the zone table instead of the groups")
			fs.BoolVar(&detail, "detail", false, "list the authorisations and exempted checks counted, with pilots (administrators only; recorded in the audit log)")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly report"
			switch {
			case len(args) > 0:
				return &usageError{cmd: name, msg: fmt.Sprintf("unexpected argument %q", args[0])}
			case !from.set || !until.set:
				return &usageError{cmd: name, msg: "--from and --until are required"}
			case !until.t.After(from.t):
				return &usageError{cmd: name, msg: "--until must be after --from"}
			case minGroup < 1:
				return &usageError{cmd: name, msg: "--min-group must be 1 or more"}
			case csvOut && e.json:
				return &usageError{cmd: name, msg: "--csv and --json: choose one"}
			case zonesOnly && !csvOut:
				return &usageError{cmd: name, msg: "--zones goes with --csv (the table shows both)"}
			case detail && csvOut:
				return &usageError{cmd: name, msg: "--detail goes with the table or --json"}
			}
			req := &noflyv1.GetReportRequest{From: timestamppb.New(from.t), Until: timestamppb.New(until.t), By: by,
				MinGroup: int32(minGroup), Detail: detail}
			var (
				resp   *noflyv1.GetReportResponse
				broken error
			)
			err := dial(ctx, e, func(ctx context.Context, conn *grpc.ClientConn) error {
				var err error
				resp, err = noflyv1.NewReportServiceClient(conn).GetReport(ctx, req)
				if status.Code(err) == codes.FailedPrecondition {
					broken, err = err, nil
				}
				return err
			})
			if err != nil {
				return err
			}
			if broken != nil {
				fmt.Fprintf(e.stderr, "nofly: no report: %s\n", esc(clip(status.Convert(broken).Message(), 4*maxServerText)))
				return errBroken
			}
			switch {
			case e.json:
				return printJSON(e, resp)
			case csvOut && zonesOnly:
				return printReportZonesCSV(e, resp)
			case csvOut:
				return printReportCSV(e, resp)
			}
			return printReport(e, resp)
		},
	}
}

var reportColumns = []string{"authorised", "authorised_exempted", "exempted_checks", "under_exemption", "drones",
	"refused", "refused_airspace", "refused_fleet", "refused_authorisations"}

// tableColumns is how many of reportColumns the table shows (the kinds of
// refusal follow below it).
const tableColumns = 6

func countCells(c *noflyv1.ReportCounts) []string {
	var out []string
	for _, n := range []int32{c.GetAuthorised(), c.GetAuthorisedExempted(), c.GetExemptedChecks(), c.GetUnderExemption(), c.GetDrones(),
		c.GetRefused(), c.GetRefusedAirspace(), c.GetRefusedFleet(), c.GetRefusedAuthorisations()} {
		out = append(out, strconv.Itoa(int(n)))
	}
	return out
}

// rowCells are a row's numbers, or "< N" in each for a small group.
func rowCells(r *noflyv1.ReportRow, minGroup int32) []string {
	if !r.GetSmall() {
		return countCells(r.GetCounts())
	}
	small := make([]string, len(reportColumns))
	for i := range small {
		small[i] = fmt.Sprintf("< %d", minGroup)
	}
	return small
}

func printReport(e *env, r *noflyv1.GetReportResponse) error {
	var by []string
	for _, g := range r.GetBy() {
		by = append(by, groupingName(g))
	}
	fmt.Fprintf(e.stdout, "Flights from %s until %s", fmtTime(r.GetFrom()), fmtTime(r.GetUntil()))
	if len(by) > 0 {
		fmt.Fprintf(e.stdout, ", by %s", strings.Join(by, " and "))
	}
	fmt.Fprintf(e.stdout, "\nfrom audit entries 1 to %d, verified, head %s\n\n", r.GetHeadSeq(), esc(r.GetHeadHash()))
	// Names left, numbers right under their headings.
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	var head []string
	for _, b := range by {
		head = append(head, strings.ToUpper(b))
	}
	numbers := []string{"AUTHORISED", "OF WHICH EXEMPTED", "EXEMPTED CHECKS", "UNDER EXEMPTION", "DRONES", "REFUSED"}
	fmt.Fprintln(tw, strings.Join(append(head, numbers...), "\t"))
	line := func(keys, cells []string) {
		cells = cells[:tableColumns]
		for i, c := range cells {
			cells[i] = fmt.Sprintf("%*s", len(numbers[i]), c)
		}
		fmt.Fprintln(tw, strings.Join(append(keys, cells...), "\t"))
	}
	if len(by) == 0 { // one row: the total
		line(nil, countCells(r.GetTotal()))
	} else {
		for _, row := range r.GetRows() {
			var keys []string
			for _, k := range row.GetKey() {
				keys = append(keys, cell(k, 40))
			}
			line(keys, rowCells(row, r.GetMinGroup()))
		}
		total := []string{"TOTAL"}
		for range by[1:] {
			total = append(total, "")
		}
		line(total, countCells(r.GetTotal()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printRefusals(e, r)
	if len(r.GetZones()) == 0 {
		fmt.Fprintln(e.stdout, "\nNo exemption was relied on in the period.")
	} else {
		fmt.Fprintln(e.stdout, "\nZones where an exemption was relied on:")
		tw = tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ZONE\tUSES\tLEGAL BASES")
		for _, z := range r.GetZones() {
			uses := strconv.Itoa(int(z.GetUses()))
			if z.GetSmall() {
				uses = fmt.Sprintf("< %d", r.GetMinGroup())
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", cell(z.GetZoneId(), 40), uses, esc(strings.Join(z.GetLegalBases(), "; ")))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if n := r.GetUnregisteredDrones(); n > 0 {
		fmt.Fprintf(e.stdout, "\n%d drone%s not in the drone registry (make and model \"unregistered\").\n", n, plural(int(n)))
	}
	if hasSmall(r) {
		fmt.Fprintf(e.stdout, "\"< %d\": a group of fewer than %d flights, not shown (--min-group).\n", r.GetMinGroup(), r.GetMinGroup())
	}
	if r.GetDetailSeq() > 0 {
		return printRecords(e, r)
	}
	return nil
}

// printRefusals says what the REFUSED column holds: the kinds of
// refusal, and how many are not yet sealed into the audit log.
func printRefusals(e *env, r *noflyv1.GetReportResponse) {
	t := r.GetTotal()
	if t.GetRefused() == 0 {
		fmt.Fprintln(e.stdout, "\nNo check was refused in the period.")
		return
	}
	fmt.Fprintf(e.stdout, "\nRefused: %d check%s, %d for airspace no exemption covered, %d by the fleet rules; %d of them authorisation request%s.\n",
		t.GetRefused(), plural(int(t.GetRefused())), t.GetRefusedAirspace(), t.GetRefusedFleet(), t.GetRefusedAuthorisations(),
		plural(int(t.GetRefusedAuthorisations())))
	if n := r.GetRefusedUnsealed(); n > 0 {
		fmt.Fprintf(e.stdout, "%d of the refusals are of days not yet sealed into the audit log (not covered by its head).\n", n)
	}
}

// printRecords lists a report's records (--detail).
func printRecords(e *env, r *noflyv1.GetReportResponse) error {
	fmt.Fprintf(e.stdout, "\nRecords counted (--detail, recorded as audit entry %d):\n", r.GetDetailSeq())
	if len(r.GetRecords()) == 0 {
		fmt.Fprintln(e.stdout, "none")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tKIND\tID\tAT\tUNTIL\tUNIT\tPILOT\tDRONE\tPURPOSE\tEXEMPTIONS\tZONES")
	for _, rec := range r.GetRecords() {
		until := "-"
		if rec.GetUntil() != nil {
			until = fmtTime(rec.GetUntil())
		}
		id := rec.GetId()
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", rec.GetSeq(), strings.ReplaceAll(rec.GetKind(), "_", " "), cell(id, 20),
			fmtTime(rec.GetAt()), until, cell(rec.GetUnit(), 30), cell(rec.GetPilotId(), 30), cell(rec.GetDroneSerial(), 30),
			cell(rec.GetPurpose(), 20), cell(strings.Join(rec.GetExemptionIds(), ","), 40), cell(strings.Join(rec.GetZoneIds(), ","), 40))
	}
	return tw.Flush()
}

func hasSmall(r *noflyv1.GetReportResponse) bool {
	for _, row := range r.GetRows() {
		if row.GetSmall() {
			return true
		}
	}
	for _, z := range r.GetZones() {
		if z.GetSmall() {
			return true
		}
	}
	return false
}

// printReportCSV prints a row per group and a last row TOTAL: the
// groupings' columns, then the counts.
func printReportCSV(e *env, r *noflyv1.GetReportResponse) error {
	w := csv.NewWriter(e.stdout)
	var head []string
	for _, g := range r.GetBy() {
		head = append(head, groupingName(g))
	}
	if err := w.Write(append(head, reportColumns...)); err != nil {
		return err
	}
	for _, row := range r.GetRows() {
		var keys []string
		for _, k := range row.GetKey() {
			keys = append(keys, csvText(k))
		}
		if err := w.Write(append(keys, rowCells(row, r.GetMinGroup())...)); err != nil {
			return err
		}
	}
	total := make([]string, len(r.GetBy()))
	if len(total) > 0 {
		total[0] = "TOTAL"
		if err := w.Write(append(total, countCells(r.GetTotal())...)); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// printReportZonesCSV prints the zone table, the legal bases separated by
// "; ".
func printReportZonesCSV(e *env, r *noflyv1.GetReportResponse) error {
	w := csv.NewWriter(e.stdout)
	if err := w.Write([]string{"zone", "uses", "legal_bases"}); err != nil {
		return err
	}
	for _, z := range r.GetZones() {
		uses := strconv.Itoa(int(z.GetUses()))
		if z.GetSmall() {
			uses = fmt.Sprintf("< %d", r.GetMinGroup())
		}
		if err := w.Write([]string{csvText(z.GetZoneId()), uses, csvText(strings.Join(z.GetLegalBases(), "; "))}); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// csvText keeps a text that a pilot's request or a zone file supplied from
// being read as a formula by the spreadsheet an auditor opens the CSV in:
// one that starts with =, +, -, @, a tab or a carriage return gets a
// leading apostrophe (OWASP's advice on CSV injection).
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
