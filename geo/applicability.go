package geo

import (
	"time"
)

// daySeconds is the length of a day on the clock, in seconds.
const daySeconds = 86400

// schedLoc is the location a daily period's times are read in.
func (d *DailyPeriod) location() *time.Location {
	if d.Loc != nil {
		return d.Loc
	}
	if d.Offset == 0 {
		return time.UTC
	}
	return time.FixedZone("", int(d.Offset))
}

// span is a daily period's start and end in seconds after local midnight,
// daylight events widened to the whole day, and End > Start (a period
// running past midnight has End beyond 86400).
func (d *DailyPeriod) span() (start, end int32, daylight bool) {
	start, end = d.Start, d.End
	if d.StartEvent != "" {
		start, daylight = 0, true
	}
	if d.EndEvent != "" {
		end, daylight = daySeconds, true
	}
	if end <= start {
		end += daySeconds
	}
	return start, end, daylight
}

// compiledPeriod is a Period with its schedule's locations resolved once.
type compiledPeriod struct {
	start, end time.Time // zero: open
	sched      []compiledDaily
}

type compiledDaily struct {
	days       Weekdays
	start, end int32 // seconds after local midnight; end > start, may pass 86400
	loc        *time.Location
	daylight   bool
}

// activity is a zone's compiled Applicability.
type activity struct {
	periods []compiledPeriod // none: permanent
}

func compileActivity(a Applicability) activity {
	var act activity
	for _, p := range a.Periods {
		cp := compiledPeriod{start: p.Start, end: p.End}
		for i := range p.Schedule {
			d := &p.Schedule[i]
			s, e, dl := d.span()
			cp.sched = append(cp.sched, compiledDaily{days: d.Days, start: s, end: e, loc: d.location(), daylight: dl})
		}
		act.periods = append(act.periods, cp)
	}
	return act
}

// activeAt reports whether the zone is active at t (bounds inclusive) and
// the caveats of that answer.
func (a *activity) activeAt(t time.Time) (bool, Caveat) {
	if len(a.periods) == 0 {
		return true, 0
	}
	for i := range a.periods {
		p := &a.periods[i]
		if (!p.start.IsZero() && t.Before(p.start)) || (!p.end.IsZero() && t.After(p.end)) {
			continue
		}
		if len(p.sched) == 0 {
			return true, 0
		}
		for j := range p.sched {
			if ok, cav := p.sched[j].activeAt(t); ok {
				return true, cav
			}
		}
	}
	return false, 0
}

func (d *compiledDaily) activeAt(t time.Time) (bool, Caveat) {
	lt := t.In(d.loc)
	h, m, s := lt.Clock()
	secs := int32(h*3600 + m*60 + s)
	wd := lt.Weekday()
	var cav Caveat
	if d.daylight {
		cav = CaveatDaylight
	}
	// Today's period, or yesterday's running past midnight.
	if d.days.Has(wd) && secs >= d.start && secs <= d.end {
		return true, cav
	}
	if d.end > daySeconds && d.days.Has((wd+6)%7) && secs+daySeconds <= d.end {
		return true, cav
	}
	return false, 0
}

// overlap returns the span of w during which the zone is active, from the
// first to the last active instant, and whether there is any.
func (a *activity) overlap(w TimeWindow) (TimeWindow, bool, Caveat) {
	if len(a.periods) == 0 {
		return w, true, 0
	}
	var out TimeWindow
	found := false
	var cav Caveat
	for i := range a.periods {
		p := &a.periods[i]
		s, e := w.Start, w.End
		if !p.start.IsZero() && s.Before(p.start) {
			s = p.start
		}
		if !p.end.IsZero() && e.After(p.end) {
			e = p.end
		}
		if e.Before(s) {
			continue
		}
		var got TimeWindow
		ok := false
		if len(p.sched) == 0 {
			got, ok = TimeWindow{s, e}, true
		} else {
			got, ok, cav = schedOverlap(p.sched, s, e, cav)
		}
		if !ok {
			continue
		}
		if !found || got.Start.Before(out.Start) {
			out.Start = got.Start
		}
		if !found || got.End.After(out.End) {
			out.End = got.End
		}
		found = true
	}
	return out, found, cav
}

// schedOverlap finds the first and last instants in [s, e] at which one of
// the daily periods is active. It looks at most nine days from either end:
// a weekly schedule repeats within seven.
func schedOverlap(sched []compiledDaily, s, e time.Time, cav Caveat) (TimeWindow, bool, Caveat) {
	var out TimeWindow
	found := false
	for i := range sched {
		d := &sched[i]
		first, ok := d.scan(s, e, true)
		if !ok {
			continue
		}
		last, _ := d.scan(s, e, false)
		if d.daylight {
			cav |= CaveatDaylight
		}
		if !found || first.Before(out.Start) {
			out.Start = first
		}
		if !found || last.After(out.End) {
			out.End = last
		}
		found = true
	}
	return out, found, cav
}

// scan walks local days forward from s (or backward from e) and returns the
// first (last) instant in [s, e] inside one of d's daily intervals.
func (d *compiledDaily) scan(s, e time.Time, forward bool) (time.Time, bool) {
	from := s
	if !forward {
		from = e
	}
	lt := from.In(d.loc)
	y, m, dd := lt.Date()
	for k := 0; k < 9; k++ {
		off := k - 1 // start a day early: yesterday's period may run past midnight
		if !forward {
			off = -k
		}
		day := time.Date(y, m, dd+off, 0, 0, 0, 0, d.loc)
		if !d.days.Has(day.Weekday()) {
			continue
		}
		is := clockOn(day, d.start, d.loc)
		ie := clockOn(day, d.end, d.loc)
		if w := offsetChange(day, d.loc); w > 0 {
			// A wall time may be skipped or happen twice on a day the
			// offset changes: widen by the change, so that every instant
			// the wall clock shows the period counts.
			is, ie = is.Add(-w), ie.Add(w)
		}
		if ie.Before(s) || is.After(e) {
			if forward && is.After(e) {
				break
			}
			if !forward && ie.Before(s) {
				break
			}
			continue
		}
		if forward {
			if is.Before(s) {
				return s, true
			}
			return is, true
		}
		if ie.After(e) {
			return e, true
		}
		return ie, true
	}
	return time.Time{}, false
}

// clockOn is the instant secs seconds of wall clock after midnight of the
// local day, so that 08:00 stays 08:00 across daylight saving changes.
func clockOn(day time.Time, secs int32, loc *time.Location) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, 0, 0, int(secs), 0, loc)
}

// offsetChange is how much loc's UTC offset changes between the start of
// day and two days later (a period may run past midnight), or 0.
func offsetChange(day time.Time, loc *time.Location) time.Duration {
	y, m, d := day.Date()
	_, o1 := time.Date(y, m, d, 0, 0, 0, 0, loc).Zone()
	_, o2 := time.Date(y, m, d+2, 0, 0, 0, 0, loc).Zone()
	if o1 == o2 {
		return 0
	}
	return time.Duration(max(o1-o2, o2-o1)) * time.Second
}
