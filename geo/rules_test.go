package geo

import (
	"math"
	"testing"
	"time"
)

func TestHeightOverlap(t *testing.T) {
	agl := func(m float64) Limit { return Limit{Metres: m, Ref: AGL} }
	amsl := func(m float64) Limit { return Limit{Metres: m, Ref: AMSL} }
	wgs := func(m float64) Limit { return Limit{Metres: m, Ref: WGS84} }
	tests := []struct {
		name         string
		lo, hi       float64
		ref          VerticalRef
		lower, upper Limit
		want         bool
		band         Band
		cav          Caveat
	}{
		{"inside band", 50, 50, AGL, agl(0), agl(120), true, Band{50, 50, AGL}, 0},
		{"on the ceiling counts", 120, 120, AGL, agl(0), agl(120), true, Band{120, 120, AGL}, 0},
		{"on the floor counts", 60, 60, AGL, agl(60), OpenLimit, true, Band{60, 60, AGL}, 0},
		{"above the ceiling", 120.01, 150, AGL, agl(0), agl(120), false, Band{}, 0},
		{"below the floor", 0, 59.9, AGL, agl(60), OpenLimit, false, Band{}, 0},
		{"band straddles the ceiling", 100, 200, AGL, agl(0), agl(120), true, Band{100, 120, AGL}, 0},
		{"open both ends", 5000, 5000, AMSL, OpenLimit, OpenLimit, true, Band{5000, 5000, AMSL}, 0},
		{"unknown flight height", 0, 0, RefUnknown, agl(0), agl(120), true, Band{0, 120, AGL}, CaveatNoAltitude},
		{"unknown height, open zone", 0, 0, RefUnknown, OpenLimit, OpenLimit, true, Band{math.Inf(-1), math.Inf(1), RefUnknown}, CaveatNoAltitude},
		{"AGL flight, AMSL ceiling: terrain may lift it in", 100, 100, AGL, OpenLimit, amsl(50), true, Band{100, 100, AGL}, CaveatReference},
		{"AGL flight far above any AMSL ceiling", 9500, 9500, AGL, OpenLimit, amsl(100), false, Band{}, 0},
		{"AMSL flight against WGS84 floor, within geoid range", 100, 100, AMSL, wgs(150), OpenLimit, true, Band{100, 100, AMSL}, CaveatReference},
		{"AMSL flight below WGS84 floor beyond geoid range", 100, 100, AMSL, wgs(200), OpenLimit, false, Band{}, 0},
		{"AMSL flight certainly above WGS84 floor: no caveat", 300, 300, AMSL, wgs(100), OpenLimit, true, Band{300, 300, AMSL}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			band, ok, cav := heightOverlap(tc.lo, tc.hi, tc.ref, tc.lower, tc.upper)
			if ok != tc.want {
				t.Fatalf("overlap %v, want %v", ok, tc.want)
			}
			if !ok {
				return
			}
			if band != tc.band || cav != tc.cav {
				t.Errorf("band %+v caveats %v, want %+v %v", band, cav, tc.band, tc.cav)
			}
		})
	}
}

func TestActivity(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-06-01 is a Monday.
	mon := func(h, m int) time.Time { return time.Date(2026, 6, 1, h, m, 0, 0, time.UTC) }
	weekdays := Weekdays(1<<time.Monday | 1<<time.Tuesday | 1<<time.Wednesday | 1<<time.Thursday | 1<<time.Friday)
	office := Applicability{Periods: []Period{{Schedule: []DailyPeriod{{Days: weekdays, Start: 8 * 3600, End: 18 * 3600}}}}}
	night := Applicability{Periods: []Period{{Schedule: []DailyPeriod{{Days: 1 << time.Sunday, Start: 22 * 3600, End: 2 * 3600}}}}}
	local := Applicability{Periods: []Period{{Schedule: []DailyPeriod{{Days: AllDays, Start: 8 * 3600, End: 9 * 3600, Loc: ams}}}}}
	offset := Applicability{Periods: []Period{{Schedule: []DailyPeriod{{Days: AllDays, Start: 16 * 3600, End: 17 * 3600, Offset: 3600}}}}}
	daylight := Applicability{Periods: []Period{{Schedule: []DailyPeriod{{Days: 1 << time.Monday, StartEvent: "SR", End: 12 * 3600}}}}}
	bounded := Applicability{Periods: []Period{{Start: mon(10, 0), End: mon(14, 0)}}}
	allDay := Applicability{Periods: []Period{{Schedule: []DailyPeriod{{Days: 1 << time.Monday, Start: 0, End: 0}}}}}
	tests := []struct {
		name string
		a    Applicability
		at   time.Time
		want bool
		cav  Caveat
	}{
		{"permanent", Applicability{}, mon(3, 0), true, 0},
		{"office hours, inside", office, mon(12, 0), true, 0},
		{"office hours, at the start", office, mon(8, 0), true, 0},
		{"office hours, at the end", office, mon(18, 0), true, 0},
		{"office hours, after", office, mon(18, 1), false, 0},
		{"office hours, Sunday", office, mon(12, 0).AddDate(0, 0, -1), false, 0},
		{"Sunday night past midnight, Monday 01:00", night, mon(1, 0), true, 0},
		{"Sunday night, Monday 03:00", night, mon(3, 0), false, 0},
		{"Amsterdam 08:30 in summer is 06:30 UTC", local, mon(6, 30), true, 0},
		{"Amsterdam 08:30 in summer, not 08:30 UTC", local, mon(8, 30), false, 0},
		{"Amsterdam 08:30 in winter is 07:30 UTC", local, time.Date(2026, 1, 5, 7, 30, 0, 0, time.UTC), true, 0},
		{"fixed +01:00 offset", offset, mon(15, 30), true, 0},
		{"sunrise counted as midnight", daylight, mon(0, 30), true, CaveatDaylight},
		{"period bounds inclusive", bounded, mon(14, 0), true, 0},
		{"outside period", bounded, mon(14, 1), false, 0},
		{"start equal to end is the whole day", allDay, mon(23, 59), true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			act := compileActivity(tc.a)
			got, cav := act.activeAt(tc.at)
			if got != tc.want || (got && cav != tc.cav) {
				t.Errorf("activeAt(%s) = %v %v, want %v %v", tc.at, got, cav, tc.want, tc.cav)
			}
		})
	}
}

func TestActivityOverlap(t *testing.T) {
	mon := func(h, m int) time.Time { return time.Date(2026, 6, 1, h, m, 0, 0, time.UTC) }
	weekdays := Weekdays(1<<time.Monday | 1<<time.Tuesday | 1<<time.Wednesday | 1<<time.Thursday | 1<<time.Friday)
	office := Applicability{Periods: []Period{{Schedule: []DailyPeriod{{Days: weekdays, Start: 8 * 3600, End: 18 * 3600}}}}}
	tests := []struct {
		name string
		a    Applicability
		w    TimeWindow
		want TimeWindow
		ok   bool
	}{
		{"permanent: the whole window", Applicability{}, TimeWindow{mon(1, 0), mon(2, 0)}, TimeWindow{mon(1, 0), mon(2, 0)}, true},
		{"flight before office hours", office, TimeWindow{mon(6, 0), mon(7, 59)}, TimeWindow{}, false},
		{"flight ends when the zone starts", office, TimeWindow{mon(6, 0), mon(8, 0)}, TimeWindow{mon(8, 0), mon(8, 0)}, true},
		{"flight across the afternoon", office, TimeWindow{mon(17, 0), mon(20, 0)}, TimeWindow{mon(17, 0), mon(18, 0)}, true},
		{"weekend flight", office, TimeWindow{mon(0, 0).AddDate(0, 0, -2), mon(0, 0).AddDate(0, 0, -1)}, TimeWindow{}, false},
		{"a week: first Monday 08:00 to Friday 18:00", office, TimeWindow{mon(0, 0), mon(0, 0).AddDate(0, 0, 7)},
			TimeWindow{mon(8, 0), mon(18, 0).AddDate(0, 0, 4)}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			act := compileActivity(tc.a)
			got, ok, _ := act.overlap(tc.w)
			if ok != tc.ok || (ok && (!got.Start.Equal(tc.want.Start) || !got.End.Equal(tc.want.End))) {
				t.Errorf("overlap = %v %v – %v, want %v %v – %v", ok, got.Start, got.End, tc.ok, tc.want.Start, tc.want.End)
			}
		})
	}
}
