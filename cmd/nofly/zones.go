package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"google.golang.org/protobuf/proto"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

func zonesListCommand() *command {
	var (
		bbox     string
		pageSize int
		mapOut   mapFile
	)
	return &command{
		name:  "zones list",
		usage: "[--bbox WEST,SOUTH,EAST,NORTH] [flags]",
		summary: `Lists the zones the server has loaded, sorted by id, with their restriction
and heights. --bbox lists only zones whose bounds meet the box (degrees, in
GeoJSON's bbox order). With --json it prints one ListZonesResponse holding
every page.`,
		example: `  nofly zones list
  nofly zones list --bbox 4.6,52.2,5.0,52.5 --json
  nofly zones list --bbox 4.6,52.2,5.0,52.5 --map zones.svg
`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&bbox, "bbox", "", "only zones meeting this box: `WEST,SOUTH,EAST,NORTH` in degrees")
			fs.IntVar(&pageSize, "page-size", 1000, "zones per request (the server allows up to 1000)")
			mapOut.register(fs)
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly zones list"
			if len(args) > 0 {
				return &usageError{cmd: name, msg: fmt.Sprintf("unexpected argument %q", args[0])}
			}
			if err := mapOut.check(name); err != nil {
				return err
			}
			req := &noflyv1.ListZonesRequest{PageSize: int32(pageSize)}
			if mapOut.path != "" {
				req.View = noflyv1.ZoneView_ZONE_VIEW_FULL // the map draws the shapes
			}
			if bbox != "" {
				b, err := parseBBox(bbox)
				if err != nil {
					return &usageError{cmd: name, msg: "--bbox " + err.Error()}
				}
				req.Bbox = b
			}
			var all *noflyv1.ListZonesResponse
			err := call(ctx, e, func(ctx context.Context, c noflyv1.GeofenceServiceClient) (err error) {
				all, err = listAll(ctx, c, req)
				return err
			})
			if err != nil {
				return err
			}
			if e.json {
				if err := printJSON(e, all); err != nil {
					return err
				}
			} else {
				printZones(e.stdout, all)
			}
			if mapOut.path != "" {
				return mapOut.drawZones(e, all, req.Bbox)
			}
			return nil
		},
	}
}

func printZones(w io.Writer, resp *noflyv1.ListZonesResponse) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tRESTRICTION\tHEIGHTS\tACTIVE")
	for _, z := range resp.GetZones() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", esc(z.GetId()), cell(z.GetName(), 40),
			shortRestriction(z.GetRestriction())+fmtCategories(z.GetOperationCategories()), zoneHeights(z), esc(active(z)))
	}
	tw.Flush()
	n := len(resp.GetZones())
	zs := resp.GetZoneSet()
	fmt.Fprintf(w, "\n%d zone%s (zone set %s: %d zones, loaded %s)\n", n, plural(n),
		esc(zs.GetVersion()), zs.GetZoneCount(), fmtTime(zs.GetLoadedAt()))
}

// zoneHeights writes the heights of a zone's volumes, each distinct band
// once.
func zoneHeights(z *noflyv1.Zone) string {
	var bands []string
	seen := map[string]bool{}
	for _, v := range z.GetVolumes() {
		b := fmtLimits(v.GetLower(), v.GetUpper())
		if !seen[b] {
			seen[b] = true
			bands = append(bands, b)
		}
	}
	if len(bands) == 0 {
		return "-"
	}
	return strings.Join(bands, "; ")
}

// active says in one cell when a zone is active: "always", its one period,
// or how many periods it has.
func active(z *noflyv1.Zone) string {
	periods := z.GetApplicability()
	switch {
	case alwaysActive(periods):
		return "always"
	case len(periods) == 1:
		return fmtPeriod(periods[0])
	}
	return fmt.Sprintf("%d periods (see zones show)", len(periods))
}

// alwaysActive says whether periods leave a zone active all the time: none
// at all, or one without dates whose schedule is every day, all day.
func alwaysActive(periods []*noflyv1.Period) bool {
	for _, p := range periods {
		if p.GetStart() == nil && p.GetEnd() == nil && allDayEveryDay(p.GetSchedule()) {
			return true
		}
	}
	return len(periods) == 0
}

// allDayEveryDay says whether a schedule is empty (no daily limits) or
// holds a daily period that covers all seven days from midnight to
// midnight.
func allDayEveryDay(sched []*noflyv1.DailyPeriod) bool {
	for _, d := range sched {
		if len(d.GetDays()) == 7 && wholeDay(d) {
			return true
		}
	}
	return len(sched) == 0
}

func wholeDay(d *noflyv1.DailyPeriod) bool {
	return d.GetStartEvent() == "" && d.GetEndEvent() == "" && d.GetStartSeconds() == 0 &&
		(d.GetEndSeconds() == 0 || d.GetEndSeconds() == 24*3600)
}

// fmtPeriod writes a period as its dates and its daily times:
// "2026-06-26T00:00:00Z to 2026-06-29T00:00:00Z; fri,sat,sun 08:00–19:00 Europe/Amsterdam".
func fmtPeriod(p *noflyv1.Period) string {
	var parts []string
	switch {
	case p.GetStart() != nil && p.GetEnd() != nil:
		parts = append(parts, fmtTime(p.GetStart())+" to "+fmtTime(p.GetEnd()))
	case p.GetStart() != nil:
		parts = append(parts, "from "+fmtTime(p.GetStart()))
	case p.GetEnd() != nil:
		parts = append(parts, "until "+fmtTime(p.GetEnd()))
	}
	for _, d := range p.GetSchedule() {
		parts = append(parts, fmtDaily(d))
	}
	if len(parts) == 0 {
		return "always"
	}
	return strings.Join(parts, "; ")
}

func zonesShowCommand() *command {
	return &command{
		name:  "zones show",
		usage: "ID [flags]",
		summary: `Shows one zone: restriction, message, authorities, volumes (shape and
heights), when it is active and where it was read from. A zone published in
variants for different categories of operation (ED-269 uSpaceClass) shows
each variant. An unknown ID is an error (exit status 2).`,
		example: `  nofly zones show NL-EHAM-CTR
  nofly zones show NL-EHAM-CTR --json
`,
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly zones show"
			switch {
			case len(args) == 0:
				return &usageError{cmd: name, msg: "no zone ID given"}
			case len(args) > 1:
				return &usageError{cmd: name, msg: fmt.Sprintf("unexpected argument %q after ID", args[1])}
			}
			var resp *noflyv1.GetZoneResponse
			err := call(ctx, e, func(ctx context.Context, c noflyv1.GeofenceServiceClient) (err error) {
				resp, err = c.GetZone(ctx, &noflyv1.GetZoneRequest{Id: args[0]})
				return err
			})
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(e, resp)
			}
			printZone(e.stdout, resp.GetZone())
			for _, v := range resp.GetVariants() {
				fmt.Fprintln(e.stdout)
				printZone(e.stdout, v)
			}
			return nil
		},
	}
}

func printZone(w io.Writer, z *noflyv1.Zone) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(k, v string) { // v may hold zone data: escaped here
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, esc(v))
		}
	}
	line("ID", z.GetId())
	line("Name", z.GetName())
	line("Country", z.GetCountry())
	line("Restriction", shortRestriction(z.GetRestriction()))
	if cs := fmtCategories(z.GetOperationCategories()); cs != "" {
		line("Categories", strings.Trim(cs, " []")+" (a variant of the zone: the others apply to other categories)")
	}
	line("U-space class", strings.Join(z.GetUspaceClass(), ", "))
	line("Reasons", strings.Join(z.GetReasons(), ", "))
	line("Message", strings.Join(strings.Fields(z.GetMessage()), " "))
	switch z.GetRegulationExemption() {
	case noflyv1.RegulationExemption_REGULATION_EXEMPTION_ALLOWED:
		line("Exemptions", "allowed")
	case noflyv1.RegulationExemption_REGULATION_EXEMPTION_NOT_ALLOWED:
		line("Exemptions", "not allowed by the zone's data; only an exemption that names this zone and is marked --override covers it")
	}
	for _, a := range z.GetAuthorities() {
		var parts []string
		for _, p := range []string{a.GetName(), a.GetService(), a.GetContactName(), a.GetEmail(), a.GetPhone(), a.GetSiteUrl()} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		if a.GetPurpose() != "" {
			parts = append(parts, "for "+strings.ToLower(a.GetPurpose()))
		}
		if a.GetIntervalBefore() != "" {
			parts = append(parts, a.GetIntervalBefore()+" before")
		}
		line("Authority", strings.Join(parts, ", "))
	}
	for i, v := range z.GetVolumes() {
		var shape string
		switch s := v.GetShape().(type) {
		case *noflyv1.Volume_Circle:
			shape = fmt.Sprintf("circle of %s m around %s", fmtMetres(s.Circle.GetRadiusM()),
				fmtPosition(s.Circle.GetCenter().GetLatitude(), s.Circle.GetCenter().GetLongitude()))
		case *noflyv1.Volume_Polygon:
			n := 0
			for _, r := range s.Polygon.GetRings() {
				ps := r.GetPositions()
				n += len(ps)
				if len(ps) > 1 && proto.Equal(ps[0], ps[len(ps)-1]) {
					n-- // the closing position repeats the first
				}
			}
			shape = fmt.Sprintf("polygon of %d vertices", n)
			if h := len(s.Polygon.GetRings()) - 1; h > 0 {
				shape += fmt.Sprintf(" (%d hole%s)", h, plural(h))
			}
		}
		line(fmt.Sprintf("Volume %d", i), shape+", "+fmtLimits(v.GetLower(), v.GetUpper()))
	}
	if b := z.GetBounds(); b != nil {
		line("Bounds", fmt.Sprintf("%s to %s", fmtPosition(b.GetMinLatitude(), b.GetMinLongitude()),
			fmtPosition(b.GetMaxLatitude(), b.GetMaxLongitude())))
	}
	if alwaysActive(z.GetApplicability()) {
		line("Active", "always")
	} else {
		for _, p := range z.GetApplicability() {
			line("Active", fmtPeriod(p))
		}
	}
	if s := z.GetSource(); s != nil && s.GetFile() != "" {
		line("Source", fmt.Sprintf("%s, feature %d (%s)", s.GetFile(), s.GetFeature(), s.GetFormat()))
	}
	tw.Flush()
}

func fmtDaily(d *noflyv1.DailyPeriod) string {
	var days []string
	for _, wd := range d.GetDays() {
		days = append(days, strings.ToLower(strings.TrimPrefix(wd.String(), "WEEKDAY_"))[:3])
	}
	hm := func(secs int32, event string) string {
		if event != "" {
			return event // a daylight event such as sunrise (SR)
		}
		return fmt.Sprintf("%02d:%02d", secs/3600, secs%3600/60)
	}
	if len(days) == 7 {
		days = []string{"every day"}
	}
	hours := hm(d.GetStartSeconds(), d.GetStartEvent()) + "–" + hm(d.GetEndSeconds(), d.GetEndEvent())
	if wholeDay(d) {
		hours = "all day"
	}
	return fmt.Sprintf("%s %s %s", strings.Join(days, ","), hours, d.GetTimeZone())
}
