package geo

import (
	"fmt"
	"strings"
	"time"
)

// Reading schedules: times of day, days, daily periods, daylight events.

// dayTime is a time of day read from a source.
type dayTime struct {
	sec    int32 // seconds after midnight, 0..86400
	offset int32 // seconds east of UTC
	hasOff bool  // the text gave an offset (or Z)
}

// parseScheduleTime reads a time of day: "HH:MM", "HH:MM:SS" or
// "HH:MM:SS.fff", then optionally "Z" or an offset "+hh:mm"/"-hh:mm". "24:00"
// is allowed only as an end. Fractions of a second round outward: a start
// down, an end up.
func parseScheduleTime(s string, end bool) (dayTime, error) {
	bad := func(why string) (dayTime, error) {
		return dayTime{}, fmt.Errorf(`want a time of day "HH:MM", "HH:MM:SS" or "HH:MM:SS.fff", optionally followed by "Z" or an offset like "+01:00", got %q%s`, s, why)
	}
	two := func(i int) (int, bool) {
		if i+2 > len(s) || s[i] < '0' || s[i] > '9' || s[i+1] < '0' || s[i+1] > '9' {
			return 0, false
		}
		return int(s[i]-'0')*10 + int(s[i+1]-'0'), true
	}
	hh, ok1 := two(0)
	mm, ok2 := two(3)
	if !ok1 || !ok2 || s[2] != ':' {
		return bad("")
	}
	i, ss, frac := 5, 0, false
	if i < len(s) && s[i] == ':' {
		var ok bool
		if ss, ok = two(i + 1); !ok {
			return bad("")
		}
		i += 3
		if i < len(s) && s[i] == '.' {
			i++
			j := i
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				if s[i] != '0' {
					frac = true
				}
				i++
			}
			if i == j {
				return bad("")
			}
		}
	}
	var c dayTime
	if i < len(s) {
		switch s[i] {
		case 'Z', 'z':
			c.hasOff = true
			i++
		case '+', '-':
			oh, ok1 := two(i + 1)
			om, ok2 := two(i + 4)
			if !ok1 || !ok2 || s[i+3] != ':' || oh > 23 || om > 59 {
				return bad("")
			}
			c.hasOff = true
			c.offset = int32(oh*3600 + om*60)
			if s[i] == '-' {
				c.offset = -c.offset
			}
			i += 6
		}
		if i != len(s) {
			return bad("")
		}
	}
	switch {
	case mm > 59 || ss > 59:
		return bad(": minutes and seconds run 00..59")
	case hh == 24 && (mm != 0 || ss != 0 || frac):
		return bad(": 24:00 is the latest time")
	case hh == 24 && !end:
		return bad(": 24:00 can only end a period")
	case hh > 24:
		return bad(": hours run 00..24")
	}
	c.sec = int32(hh*3600 + mm*60 + ss)
	if frac && end {
		c.sec++
	}
	return c, nil
}

// dayNames are the day names of ED-269, ED-318 and nofly.
var dayNames = map[string]Weekdays{
	"SUN": 1 << time.Sunday, "MON": 1 << time.Monday, "TUE": 1 << time.Tuesday, "WED": 1 << time.Wednesday,
	"THU": 1 << time.Thursday, "FRI": 1 << time.Friday, "SAT": 1 << time.Saturday, "ANY": AllDays,
}

// days reads a list of day names (MON..SUN, ANY), case-insensitively.
func (c *zoneReader) days(v *jvalue, field string) Weekdays {
	elems, _ := c.array(v, field)
	var w Weekdays
	for i := range elems {
		e := &elems[i].val
		f := fieldIndex(field, i)
		if e.kind != jString {
			c.wrongType(e, f, "a day name")
			continue
		}
		d, ok := dayNames[strings.ToUpper(strings.TrimSpace(e.str))]
		if !ok {
			c.add(f, fmt.Sprintf("unknown day %q: want MON, TUE, WED, THU, FRI, SAT, SUN or ANY", e.str))
			continue
		}
		w |= d
	}
	return w
}

// dailyPeriod reads the start and end of a daily period: text times in
// startV and endV, or daylight events in startEv and endEv (ED-318). A
// missing start is midnight and a missing end the next midnight, which only
// widens the period. It reports whether either time gave a UTC offset.
func (c *zoneReader) dailyPeriod(d *DailyPeriod, startV, endV *jvalue, startField, endField string, startEv, endEv *jvalue, startEvField, endEvField string) (hasOff bool) {
	d.End = daySeconds
	sc, sOK := c.scheduleTime(startV, startField, false)
	ec, eOK := c.scheduleTime(endV, endField, true)
	if sOK {
		d.Start = sc.sec
	}
	if eOK {
		d.End = ec.sec
	}
	// A daylight event replaces the time beside it (which is still checked).
	if ev := c.daylightEvent(startEv, startEvField); ev != "" {
		d.StartEvent, d.Start, sOK = ev, 0, false
	}
	if ev := c.daylightEvent(endEv, endEvField); ev != "" {
		d.EndEvent, d.End, eOK = ev, daySeconds, false
	}
	switch {
	case sOK && eOK && sc.hasOff && ec.hasOff && sc.offset != ec.offset:
		c.add(endField, fmt.Sprintf("UTC offset %s differs from the start's %s: give both times in one offset", fmtUTCOffset(ec.offset), fmtUTCOffset(sc.offset)))
	case sOK && sc.hasOff:
		d.Offset = sc.offset
	case eOK && ec.hasOff:
		d.Offset = ec.offset
	}
	return (sOK && sc.hasOff) || (eOK && ec.hasOff)
}

// scheduleTime reads a time of day; ok is false when it is absent or wrong.
func (c *zoneReader) scheduleTime(v *jvalue, field string, end bool) (t dayTime, ok bool) {
	s := c.str(v, field)
	if v.kind != jString {
		return t, false
	}
	t, err := parseScheduleTime(s, end)
	if err != nil {
		c.add(field, err.Error())
		return t, false
	}
	return t, true
}

func fmtUTCOffset(s int32) string {
	sign := '+'
	if s < 0 {
		sign, s = '-', -s
	}
	return fmt.Sprintf("%c%02d:%02d", sign, s/3600, s/60%60)
}

// daylightEvent reads an ED-318 daylight event name; absent is "".
func (c *zoneReader) daylightEvent(v *jvalue, field string) string {
	if v == nil {
		return ""
	}
	s := c.str(v, field)
	if v.kind != jString {
		return ""
	}
	e := strings.ToUpper(strings.TrimSpace(s))
	if e == "" || !knownDaylightEvent(e) {
		c.add(field, fmt.Sprintf("unknown daylight event %q: want BMCT, SR, SS or EECT", s))
		return ""
	}
	return e
}
