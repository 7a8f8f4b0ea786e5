package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// checkResult is what both check responses carry.
type checkResult struct {
	verdict    noflyv1.Verdict
	conflicts  []*noflyv1.ZoneHit
	advisories []*noflyv1.ZoneHit
	caveats    []*noflyv1.Caveat
	zoneSet    *noflyv1.ZoneSetInfo
	// window is the flight's time window, for plans; nil for positions.
	window *noflyv1.TimeWindow
	// route says whether hits have legs worth a column.
	route bool
	// exemptions applied to the check.
	exemptions []*noflyv1.AppliedExemption
	// exemptionsAsOf is when the server last saw its exemptions match the
	// exemption database, checkedAt when it answered; stale says that is
	// too long ago.
	exemptionsAsOf, checkedAt *timestamppb.Timestamp
	stale                     bool
	// refusals are the force's own rules' (registry, policy, general
	// ceiling), apart from the airspace's conflicts; warnings what the
	// server says besides.
	refusals []*noflyv1.PolicyRefusal
	warnings []string
	// limit is how high the flight may fly; legLimits per leg of a route.
	limit     *noflyv1.HeightLimit
	legLimits []*noflyv1.HeightLimit
}

// printResult prints a check result for a person: the verdict first, then
// the blocking zones, the advisories and the caveats.
func printResult(w io.Writer, r checkResult, subject string) {
	nc, na := len(r.conflicts), len(r.advisories)
	switch nr := len(r.refusals); {
	case r.verdict == noflyv1.Verdict_VERDICT_DENIED && nr > 0:
		fmt.Fprintf(w, "DENIED — refused by %d rule%s of the force; %d blocking zone%s", nr, plural(nr), nc, plural(nc))
	case r.verdict == noflyv1.Verdict_VERDICT_DENIED:
		fmt.Fprintf(w, "DENIED — %d blocking zone%s", nc, plural(nc))
	case r.verdict == noflyv1.Verdict_VERDICT_CLEAR:
		fmt.Fprint(w, "CLEAR — no blocking zones")
	case r.verdict == noflyv1.Verdict_VERDICT_EXEMPTED:
		fmt.Fprintf(w, "EXEMPTED — %d blocking zone%s, covered by exemption%s: keep the conditions", nc, plural(nc), plural(len(r.exemptions)))
	default:
		fmt.Fprint(w, strings.TrimPrefix(r.verdict.String(), "VERDICT_"))
	}
	if na > 0 {
		fmt.Fprintf(w, "; %d advisor%s: read the conditions", na, pluralY(na))
	}
	fmt.Fprintln(w)
	if r.limit != nil {
		fmt.Fprintln(w, fmtLimit(r.limit))
	}
	fmt.Fprintln(w, esc(subject))
	if r.stale {
		fmt.Fprintf(w, "\nWARNING: exemptions as of %s%s: the server cannot reach its exemption database;\n"+
			"exemptions issued or revoked since then are not taken into account.\n",
			fmtTime(r.exemptionsAsOf), fmtAge(r.exemptionsAsOf, r.checkedAt))
	}
	if len(r.warnings) > 0 {
		fmt.Fprintln(w)
		for _, m := range r.warnings {
			fmt.Fprintf(w, "WARNING: %s\n", esc(m))
		}
	}
	if len(r.refusals) > 0 {
		fmt.Fprintln(w, "\nRefused by the force's rules (no exemption overrides these):")
		for _, x := range r.refusals {
			if x.GetRuleText() != "" {
				fmt.Fprintf(w, "  %s  %q: %s\n", esc(x.GetRuleLocation()), esc(x.GetRuleText()), esc(x.GetReason()))
			} else {
				fmt.Fprintf(w, "  %s: %s\n", esc(x.GetRuleLocation()), esc(x.GetReason()))
			}
		}
	}
	if legsDiffer(r.legLimits) {
		fmt.Fprintln(w, "\nHeight limit by leg:")
		for _, l := range r.legLimits {
			fmt.Fprintf(w, "  leg %d: %s\n", l.GetLeg()+1, fmtLimit(l))
		}
	}
	if nc > 0 {
		fmt.Fprintln(w, "\nBlocking zones:")
		printHits(w, r.conflicts, r)
		printCover(w, r.conflicts)
	}
	if len(r.exemptions) > 0 {
		fmt.Fprintln(w, "\nExemptions applied:")
		for _, ex := range r.exemptions {
			fmt.Fprintf(w, "  %s  legal basis %s; valid until %s; ceiling %s m %s\n", esc(ex.GetId()), esc(ex.GetLegalBasis()),
				fmtTime(ex.GetValidUntil()), fmtMetres(ex.GetCeilingM()), shortRef(ex.GetCeilingReference()))
			if c := esc(strings.Join(strings.Fields(ex.GetConditions()), " ")); c != "" {
				fmt.Fprintf(w, "    Conditions: %s\n", c)
			}
		}
	}
	if na > 0 {
		fmt.Fprintln(w, "\nAdvisories (do not block; read their conditions):")
		printHits(w, r.advisories, r)
	}
	if len(r.caveats) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, c := range r.caveats {
			fmt.Fprintf(w, "  - %s\n", esc(c.GetText()))
		}
	}
	if zs := r.zoneSet; zs != nil {
		fmt.Fprintf(w, "\nZone set %s: %d zones, loaded %s\n", esc(zs.GetVersion()), zs.GetZoneCount(), fmtTime(zs.GetLoadedAt()))
	}
}

// legsDiffer reports whether the legs' height limits are worth a list:
// when they are not all the same.
func legsDiffer(ls []*noflyv1.HeightLimit) bool {
	for _, l := range ls[min(1, len(ls)):] {
		if fmtLimit(l) != fmtLimit(ls[0]) {
			return true
		}
	}
	return false
}

// fmtLimit says how high the flight may fly, plainly.
func fmtLimit(l *noflyv1.HeightLimit) string {
	var b strings.Builder
	switch l.GetKind() {
	case noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_BLOCKED:
		fmt.Fprintf(&b, "Blocked from the ground (%s)", esc(l.GetLimitedBy()))
	case noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_LIMITED:
		fmt.Fprintf(&b, "You may fly here up to %s m %s (limited by %s)", fmtMetres(l.GetMetres()), shortRef(l.GetReference()), esc(l.GetLimitedBy()))
	case noflyv1.HeightLimitKind_HEIGHT_LIMIT_KIND_UNLIMITED:
		b.WriteString("No height limit known here")
	default:
		b.WriteString("Height limit not answered")
	}
	if n := l.GetNote(); n != "" {
		fmt.Fprintf(&b, "\n  (%s)", esc(n))
	}
	return b.String()
}

func printHits(w io.Writer, hits []*noflyv1.ZoneHit, r checkResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	hdr := "  ID\tNAME\tRESTRICTION\tHEIGHTS\tDISTANCE"
	if r.route {
		hdr += "\tLEGS"
	}
	if r.window != nil {
		hdr += "\tWHEN"
	}
	fmt.Fprintln(tw, hdr+"\tMESSAGE")
	for _, h := range hits {
		z := h.GetZone()
		dist := "inside"
		if !h.GetInside() {
			dist = fmt.Sprintf("%.0f m", h.GetClosestApproachM())
		}
		row := fmt.Sprintf("  %s\t%s\t%s\t%s\t%s", cell(z.GetId(), 30), cell(z.GetName(), 36),
			shortRestriction(z.GetRestriction())+fmtCategories(z.GetOperationCategories()), fmtBand(h.GetHeightBand()), dist)
		if r.route {
			row += "\t" + fmtLegs(h.GetLegs())
		}
		if r.window != nil {
			row += "\t" + fmtWhen(h.GetTimeWindow(), r.window)
		}
		fmt.Fprintln(tw, row+"\t"+cell(z.GetMessage(), 70))
	}
	tw.Flush()
}

// printCover says, for each blocking zone, which exemption covers it or why
// none does. It prints nothing when the server said neither (a server
// without exemptions).
func printCover(w io.Writer, conflicts []*noflyv1.ZoneHit) {
	known := false
	for _, h := range conflicts {
		known = known || h.GetExemption() != nil || len(h.GetNotCovered()) > 0
	}
	if !known {
		return
	}
	fmt.Fprintln(w, "\nExemptions per blocking zone:")
	for _, h := range conflicts {
		id := esc(h.GetZone().GetId())
		if ex := h.GetExemption(); ex != nil {
			fmt.Fprintf(w, "  %s: covered by %s (%s)\n", id, esc(ex.GetId()), esc(ex.GetLegalBasis()))
			continue
		}
		fmt.Fprintf(w, "  %s: NOT covered\n", id)
		for _, nc := range h.GetNotCovered() {
			if nc.GetExemptionId() == "" {
				fmt.Fprintf(w, "    - %s\n", esc(nc.GetReason()))
			} else {
				fmt.Fprintf(w, "    - %s: %s\n", esc(nc.GetExemptionId()), esc(nc.GetReason()))
			}
		}
	}
}

// esc makes a text from the server, or from a file, safe to print on a
// terminal: every character that is not graphic (C0 and C1 controls such as
// ESC, CR, BEL and newlines, DEL, bidirectional overrides such as U+202E,
// line separators, other format characters) and every byte that is not
// UTF-8 is written as a Go escape (\x1b, \r, \u202e), so that no text can
// move the cursor, recolour, clear or reorder what a pilot reads. Zone data
// loaded before noflyd refused such characters, and older servers, may
// still send them. Every human output prints the texts it did not make
// through esc (or cell, which calls it).
func esc(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsGraphic(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80 && !unicode.IsGraphic(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsGraphic(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// cell makes s fit one table cell: one line (white space, newlines
// included, made single spaces), escaped (esc), at most n runes.
func cell(s string, n int) string {
	s = esc(strings.Join(strings.Fields(s), " "))
	if s == "" {
		return "-"
	}
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func shortRestriction(r noflyv1.Restriction) string {
	if r == noflyv1.Restriction_RESTRICTION_UNSPECIFIED {
		return "UNKNOWN"
	}
	return strings.TrimPrefix(r.String(), "RESTRICTION_")
}

func shortRef(r noflyv1.VerticalReference) string {
	return strings.TrimPrefix(r.String(), "VERTICAL_REFERENCE_")
}

func fmtMetres(m float64) string { return strconv.FormatFloat(math.Round(m*10)/10, 'f', -1, 64) }

// fmtBand writes a height band as "0–120 m AGL", "≤ 120 m AGL",
// "≥ 50 m AMSL", or "any height".
func fmtBand(b *noflyv1.HeightBand) string {
	if b == nil || b.GetReference() == noflyv1.VerticalReference_VERTICAL_REFERENCE_UNSPECIFIED {
		return "any height"
	}
	ref := shortRef(b.GetReference())
	switch {
	case b.LowerM != nil && b.UpperM != nil && fmtMetres(b.GetLowerM()) == fmtMetres(b.GetUpperM()):
		return fmt.Sprintf("%s m %s", fmtMetres(b.GetLowerM()), ref)
	case b.LowerM != nil && b.UpperM != nil:
		return fmt.Sprintf("%s–%s m %s", fmtMetres(b.GetLowerM()), fmtMetres(b.GetUpperM()), ref)
	case b.UpperM != nil:
		return fmt.Sprintf("≤ %s m %s", fmtMetres(b.GetUpperM()), ref)
	case b.LowerM != nil:
		return fmt.Sprintf("≥ %s m %s", fmtMetres(b.GetLowerM()), ref)
	}
	return "any height"
}

// fmtLimits writes a volume's limits as a band.
func fmtLimits(lower, upper *noflyv1.Limit) string {
	switch {
	case lower == nil && upper == nil:
		return "any height"
	case lower == nil:
		return fmt.Sprintf("≤ %s m %s", fmtMetres(upper.GetMetres()), shortRef(upper.GetReference()))
	case upper == nil:
		return fmt.Sprintf("≥ %s m %s", fmtMetres(lower.GetMetres()), shortRef(lower.GetReference()))
	case lower.GetReference() == upper.GetReference():
		return fmt.Sprintf("%s–%s m %s", fmtMetres(lower.GetMetres()), fmtMetres(upper.GetMetres()), shortRef(upper.GetReference()))
	}
	return fmt.Sprintf("%s m %s – %s m %s", fmtMetres(lower.GetMetres()), shortRef(lower.GetReference()),
		fmtMetres(upper.GetMetres()), shortRef(upper.GetReference()))
}

// fmtLegs writes leg numbers as ranges: "0-3,7".
func fmtLegs(legs []int32) string {
	if len(legs) == 0 {
		return "-"
	}
	var parts []string
	for i := 0; i < len(legs); {
		j := i
		for j+1 < len(legs) && legs[j+1] == legs[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", legs[i], legs[j]))
		} else {
			parts = append(parts, strconv.Itoa(int(legs[i])))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// fmtWhen writes when in the flight's window a zone is active.
func fmtWhen(tw, window *noflyv1.TimeWindow) string {
	if tw == nil {
		return "-"
	}
	if tw.GetStart().AsTime().Equal(window.GetStart().AsTime()) && tw.GetEnd().AsTime().Equal(window.GetEnd().AsTime()) {
		return "whole flight"
	}
	return fmtTime(tw.GetStart()) + " – " + fmtTime(tw.GetEnd())
}

func fmtTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}

// fmtAge is " (N s old)": how long before checked the instant asOf was;
// "" when either is missing.
func fmtAge(asOf, checked *timestamppb.Timestamp) string {
	if asOf == nil || checked == nil {
		return ""
	}
	return fmt.Sprintf(" (%s old)", checked.AsTime().Sub(asOf.AsTime()).Round(time.Second))
}

// fmtPosition writes a position as "52.31000 N, 4.76000 E".
func fmtPosition(lat, lon float64) string {
	ns, ew := "N", "E"
	if lat < 0 {
		ns, lat = "S", -lat
	}
	if lon < 0 {
		ew, lon = "W", -lon
	}
	return fmt.Sprintf("%.5f %s, %.5f %s", lat, ns, lon, ew)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pluralY(n int) string {
	if n == 1 {
		return "y"
	}
	return "ies"
}
