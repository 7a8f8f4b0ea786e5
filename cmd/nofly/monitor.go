package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

func monitorCommand() *command {
	var (
		ref       = refFlag{ref: noflyv1.VerticalReference_VERTICAL_REFERENCE_AGL}
		start     = timeFlag{now: time.Now}
		op        operatorFlags
		reference string
		lookAhead time.Duration
		lookM     float64
		realtime  bool
	)
	return &command{
		name:  "monitor",
		usage: "TRACK|- [--start TIME] [--alt-ref agl|amsl|wgs84] [--look-ahead D | --look-ahead-m M] [flags]",
		summary: `Follows a flight through the server's MonitorFlight stream and prints each
event as it comes: ENTER and EXIT of a zone (with what the zone means for
the flight: blocked, exempted by which record, or advisory), APPROACH of a
blocking zone ahead at the aircraft's velocity, EXPIRING of an exemption the
flight relies on (5 minutes ahead), CHANGED when new zones or exemptions
change a zone the aircraft is in, and ALTITUDE when the aircraft climbs
above the highest height it may fly where it is (with that height and
what sets it).

TRACK is a recorded track, replayed position by position: CSV with a header
line time,lat,lon,alt (and optionally speed in m/s and track in degrees),
RFC 3339 times, heights in metres above --alt-ref; or a GeoJSON LineString
feature whose properties hold the positions' times ("times" or
"coordTimes"). With --start the track is moved in time to start then,
keeping its pace. "-" reads CSV from standard input line by line, a live
feed, each position sent as it comes.

Exit status: 0 when the flight entered no blocking zone that no exemption
covered and never climbed above the permitted height, 1 when it did, 2
usage, input or connection error.`,
		example: `  nofly monitor examples/patrol-track.csv --start now --unit AMS-DRONE --pilot P-0412 --purpose forensic
  telemetry-gateway | nofly monitor - --unit AMS-DRONE --pilot P-0412 --alt-ref amsl
`,
		flags: func(fs *flag.FlagSet) {
			fs.Var(&ref, "alt-ref", "`REF` that the track's heights are measured from: agl, amsl or wgs84")
			fs.Var(&start, "start", "move the recorded track in time to start at `TIME`; default: its own times")
			fs.DurationVar(&lookAhead, "look-ahead", 30*time.Second, "warn of a blocking zone the aircraft reaches within this `duration` at its velocity")
			fs.Float64Var(&lookM, "look-ahead-m", 0, "warn of a blocking zone within this many `metres` along the track instead")
			fs.BoolVar(&realtime, "realtime", false, "replay the track at its own pace rather than as fast as the server answers")
			op.register(fs)
			fs.StringVar(&reference, "reference", "", "your `reference` for the flight (e.g. a mission number), kept in the audit log")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly monitor"
			if len(args) != 1 {
				return &usageError{cmd: name, msg: "needs one TRACK file, or - for standard input"}
			}
			flightStart := &noflyv1.MonitorFlightStart{
				Flight: &noflyv1.LiveFlight{Operator: op.operator(), Purpose: op.purpose, OperationCategory: op.category, Classification: op.classification,
					ClientReference: reference, AltitudeReference: ref.ref},
				LookAheadS: lookAhead.Seconds(), LookAheadM: lookM,
			}
			m := &monitorRun{e: e, ref: ref.ref}
			if args[0] == "-" {
				return m.live(ctx, flightStart, csvTrackReader(e.stdin, "standard input"))
			}
			track, err := readTrack(args[0])
			if err != nil {
				return err
			}
			if start.set {
				shift := start.t.Sub(track[0].at)
				for i := range track {
					track[i].at = track[i].at.Add(shift)
				}
			}
			return m.replay(ctx, flightStart, args[0], track, realtime)
		},
	}
}

// trackPoint is one position of a track.
type trackPoint struct {
	at           time.Time
	lat, lon     float64
	alt          *float64
	speed, track *float64
}

func (p trackPoint) proto() *noflyv1.TelemetryPosition {
	return &noflyv1.TelemetryPosition{At: timestamppb.New(p.at), Latitude: p.lat, Longitude: p.lon,
		AltitudeM: p.alt, GroundSpeedMps: p.speed, TrackDeg: p.track}
}

// readTrack reads a recorded track: GeoJSON when the file is JSON, CSV
// otherwise.
func readTrack(path string) ([]trackPoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	var track []trackPoint
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		track, err = geojsonTrack(b, name)
	} else {
		next := csvTrackReader(bytes.NewReader(b), name)
		for {
			p, err := next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			track = append(track, p)
		}
	}
	if err != nil {
		return nil, err
	}
	if len(track) == 0 {
		return nil, fmt.Errorf("%s: no positions", name)
	}
	return track, nil
}

// csvTrackReader returns a function that reads the next position of a CSV
// track, one line at a time (so that a live feed is sent as it comes), and
// io.EOF at its end.
func csvTrackReader(r io.Reader, name string) func() (trackPoint, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	col := map[string]int{}
	return func() (trackPoint, error) {
		rec, err := cr.Read()
		var line int
		if err == nil {
			line, _ = cr.FieldPos(0)
		}
		if err == io.EOF {
			if len(col) == 0 {
				return trackPoint{}, fmt.Errorf("%s: empty: want a header line time,lat,lon,alt", name)
			}
			return trackPoint{}, io.EOF
		}
		if err != nil {
			return trackPoint{}, fmt.Errorf("%s: %v", name, err)
		}
		if len(col) == 0 {
			for i, h := range rec {
				h = strings.ToLower(strings.TrimSpace(h))
				if !slices.Contains([]string{"time", "lat", "lon", "alt", "speed", "track"}, h) {
					return trackPoint{}, fmt.Errorf("%s:%d: unknown column %q: want time,lat,lon,alt and optionally speed,track", name, line, h)
				}
				col[h] = i
			}
			for _, need := range []string{"time", "lat", "lon"} {
				if _, ok := col[need]; !ok {
					return trackPoint{}, fmt.Errorf("%s:%d: no %s column: want a header line time,lat,lon,alt", name, line, need)
				}
			}
			rec, err = cr.Read()
			if err == nil {
				line, _ = cr.FieldPos(0)
			}
			if err == io.EOF {
				return trackPoint{}, io.EOF
			}
			if err != nil {
				return trackPoint{}, fmt.Errorf("%s: %v", name, err)
			}
		}
		field := func(c string) (string, bool) {
			i, ok := col[c]
			if !ok || i >= len(rec) || strings.TrimSpace(rec[i]) == "" {
				return "", false
			}
			return strings.TrimSpace(rec[i]), true
		}
		var p trackPoint
		s, _ := field("time")
		if p.at, err = time.Parse(time.RFC3339, s); err != nil {
			return p, fmt.Errorf("%s:%d: time: %q is not an RFC 3339 time", name, line, s)
		}
		num := func(c string, required bool) (*float64, error) {
			s, ok := field(c)
			if !ok {
				if required {
					return nil, fmt.Errorf("%s:%d: %s: missing", name, line, c)
				}
				return nil, nil
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%s:%d: %s: %q is not a number", name, line, c, s)
			}
			return &v, nil
		}
		lat, err := num("lat", true)
		if err != nil {
			return p, err
		}
		lon, err := num("lon", true)
		if err != nil {
			return p, err
		}
		p.lat, p.lon = *lat, *lon
		for c, dst := range map[string]**float64{"alt": &p.alt, "speed": &p.speed, "track": &p.track} {
			if *dst, err = num(c, false); err != nil {
				return p, err
			}
		}
		return p, nil
	}
}

// geojsonTrack reads a LineString feature (alone or the first of a
// collection) whose properties give each coordinate's time.
func geojsonTrack(b []byte, name string) ([]trackPoint, error) {
	type feature struct {
		Type       string `json:"type"`
		Properties struct {
			Times      []string `json:"times"`
			CoordTimes []string `json:"coordTimes"`
		} `json:"properties"`
		Geometry struct {
			Type        string      `json:"type"`
			Coordinates [][]float64 `json:"coordinates"`
		} `json:"geometry"`
	}
	var doc struct {
		feature
		Features []feature `json:"features"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: not a GeoJSON track: %v", name, err)
	}
	f := doc.feature
	if doc.Type == "FeatureCollection" {
		if len(doc.Features) == 0 {
			return nil, fmt.Errorf("%s: no features", name)
		}
		f = doc.Features[0]
	}
	if f.Geometry.Type != "LineString" {
		return nil, fmt.Errorf("%s: geometry: want a LineString, got %q", name, f.Geometry.Type)
	}
	times := f.Properties.Times
	if times == nil {
		times = f.Properties.CoordTimes
	}
	if len(times) != len(f.Geometry.Coordinates) {
		return nil, fmt.Errorf("%s: properties.times: %d times for %d coordinates (one RFC 3339 time per coordinate)",
			name, len(times), len(f.Geometry.Coordinates))
	}
	track := make([]trackPoint, len(times))
	for i, c := range f.Geometry.Coordinates {
		if len(c) < 2 || len(c) > 3 {
			return nil, fmt.Errorf("%s: geometry.coordinates[%d]: want [lon, lat] or [lon, lat, alt]", name, i)
		}
		at, err := time.Parse(time.RFC3339, times[i])
		if err != nil {
			return nil, fmt.Errorf("%s: properties.times[%d]: %q is not an RFC 3339 time", name, i, times[i])
		}
		track[i] = trackPoint{at: at, lat: c[1], lon: c[0]}
		if len(c) == 3 {
			track[i].alt = proto.Float64(c[2])
		}
	}
	return track, nil
}

// monitorRun prints a monitored flight's events.
type monitorRun struct {
	e      *env
	ref    noflyv1.VerticalReference
	first  time.Time // the first position's instant: times print relative to it
	sent   int
	last   time.Time
	events int
	// entered lists each zone entered, with what it meant when entered.
	entered   []string
	uncovered []string // blocking zones the aircraft was in without cover
	altitude  []string // each climb above the permitted height
	stale     bool     // the last answer's exemptions_stale
}

// stream opens a MonitorFlight stream, sends start, and runs fn. The
// stream has no deadline: a flight lasts as long as it lasts.
func (m *monitorRun) stream(ctx context.Context, start *noflyv1.MonitorFlightStart,
	fn func(s noflyv1.GeofenceService_MonitorFlightClient) error) error {
	e := m.e
	creds, err := e.tls.credentials()
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(e.server, append(textOptions(), grpc.WithTransportCredentials(creds))...)
	if err != nil {
		return fmt.Errorf("server address %q: %v", e.server, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := noflyv1.NewGeofenceServiceClient(conn).MonitorFlight(ctx)
	if err == nil {
		err = s.Send(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Start{Start: start}})
	}
	if err == nil {
		err = fn(s)
	}
	if err != nil {
		if errors.Is(err, io.EOF) { // the server ended the stream: Recv says why
			_, err = s.Recv()
		}
		var ie *inputError
		if errors.As(err, &ie) {
			return ie.err
		}
		return connError(e, rpcError(e.server, e.timeout, err), err)
	}
	return nil
}

// inputError is a problem of the track, not of the call.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }

// replay sends a recorded track, each position after the answer to the
// one before (or at the track's pace with realtime), so that the server
// checks every one.
func (m *monitorRun) replay(ctx context.Context, start *noflyv1.MonitorFlightStart, path string, track []trackPoint, realtime bool) error {
	m.first = track[0].at
	if !m.e.json {
		fmt.Fprintf(m.e.stdout, "Monitoring %s: %d positions from %s to %s, heights %s\n", esc(filepath.Base(path)), len(track),
			fmtTime(timestamppb.New(track[0].at)), fmtTime(timestamppb.New(track[len(track)-1].at)), m.heights(track))
	}
	err := m.stream(ctx, start, func(s noflyv1.GeofenceService_MonitorFlightClient) error {
		wall := time.Now()
		for i, p := range track {
			if realtime {
				if d := time.Until(wall.Add(p.at.Sub(track[0].at))); d > 0 {
					time.Sleep(d)
				}
			}
			if err := s.Send(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Position{Position: p.proto()}}); err != nil {
				return err
			}
			m.sent = i + 1
			for { // answers to reloads and exemption changes may come first
				resp, err := s.Recv()
				if err != nil {
					return err
				}
				if err := m.print(resp); err != nil {
					return err
				}
				if resp.Reason == noflyv1.MonitorReason_MONITOR_REASON_POSITION {
					break
				}
			}
		}
		if err := s.CloseSend(); err != nil {
			return err
		}
		if _, err := s.Recv(); err != io.EOF {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return m.summary()
}

// live sends positions as next reads them and prints answers as they
// come, until the input ends.
func (m *monitorRun) live(ctx context.Context, start *noflyv1.MonitorFlightStart, next func() (trackPoint, error)) error {
	if !m.e.json {
		fmt.Fprintln(m.e.stdout, "Monitoring standard input")
	}
	err := m.stream(ctx, start, func(s noflyv1.GeofenceService_MonitorFlightClient) error {
		sendErr := make(chan error, 1)
		go func() {
			for {
				p, err := next()
				if err == io.EOF {
					sendErr <- s.CloseSend()
					return
				}
				if err != nil {
					sendErr <- &inputError{err}
					return
				}
				if m.first.IsZero() {
					m.first = p.at
				}
				if err := s.Send(&noflyv1.MonitorFlightRequest{Kind: &noflyv1.MonitorFlightRequest_Position{Position: p.proto()}}); err != nil {
					sendErr <- err
					return
				}
			}
		}()
		for {
			resp, err := s.Recv()
			if err == io.EOF {
				return <-sendErr
			}
			if err != nil {
				select {
				case serr := <-sendErr:
					var ie *inputError
					if errors.As(serr, &ie) {
						return serr
					}
				default:
				}
				return err
			}
			if err := m.print(resp); err != nil {
				return err
			}
			m.sent += 1 + int(resp.SkippedPositions)
		}
	})
	if err != nil {
		return err
	}
	return m.summary()
}

func (m *monitorRun) heights(track []trackPoint) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range track {
		if p.alt == nil {
			return "not given (every height counts)"
		}
		lo, hi = min(lo, *p.alt), max(hi, *p.alt)
	}
	if lo == hi {
		return fmt.Sprintf("%s m %s", fmtMetres(lo), shortRef(m.ref))
	}
	return fmt.Sprintf("%s–%s m %s", fmtMetres(lo), fmtMetres(hi), shortRef(m.ref))
}

// print prints an answer's events, one line each: the time since the
// track's first position, the event, the zone and what it means.
func (m *monitorRun) print(resp *noflyv1.MonitorFlightResponse) error {
	m.last = resp.GetAt().AsTime()
	for _, ev := range resp.Events {
		m.note(ev)
	}
	if m.e.json {
		b, err := protojson.Marshal(resp)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(m.e.stdout, "%s\n", b)
		return err
	}
	w := m.e.stdout
	when := fmtOffset(m.last.Sub(m.first))
	if n := resp.SkippedPositions; n > 0 {
		fmt.Fprintf(w, "%s  (%d earlier position%s answered together with this one: the server fell behind; each was checked)\n", when, n, plural(int(n)))
	}
	if resp.ExemptionsStale != m.stale {
		m.stale = resp.ExemptionsStale
		if m.stale {
			fmt.Fprintf(w, "%s  WARNING: the server cannot reach its exemption database; exemptions as of %s\n", when, fmtTime(resp.ExemptionsAsOf))
		} else {
			fmt.Fprintf(w, "%s  the server's exemptions are current again\n", when)
		}
	}
	switch resp.Reason {
	case noflyv1.MonitorReason_MONITOR_REASON_ZONES_RELOADED:
		if len(resp.Events) > 0 {
			fmt.Fprintf(w, "%s  zones reloaded (version %s):\n", when, esc(resp.GetZoneSet().GetVersion()))
		}
	case noflyv1.MonitorReason_MONITOR_REASON_EXEMPTIONS_CHANGED:
		fmt.Fprintf(w, "%s  exemptions changed:\n", when)
	case noflyv1.MonitorReason_MONITOR_REASON_TIME:
		fmt.Fprintf(w, "%s  no new position; the last one judged again at the server's clock:\n", when)
	}
	for _, ev := range resp.Events {
		when := when
		if ev.At != nil {
			when = fmtOffset(ev.At.AsTime().Sub(m.first))
		}
		zone, restriction := esc(ev.ZoneId), shortRestriction(ev.Restriction)
		if ev.ZoneId == "" {
			zone, restriction = "—", "—" // a ceiling, no zone
		}
		fmt.Fprintf(w, "%s  %-8s  %-12s  %-17s  %s\n", when, strings.TrimPrefix(ev.Kind.String(), "FLIGHT_EVENT_KIND_"),
			zone, restriction, eventDetail(ev))
	}
	return nil
}

// note keeps what the summary says.
func (m *monitorRun) note(ev *noflyv1.FlightEvent) {
	m.events++
	blocked := ev.Verdict == noflyv1.ZoneVerdict_ZONE_VERDICT_BLOCKED
	switch ev.Kind {
	case noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_ENTER:
		m.entered = append(m.entered, fmt.Sprintf("%s (%s)", esc(ev.ZoneId), verdictWord(ev)))
		if blocked && !slices.Contains(m.uncovered, ev.ZoneId) {
			m.uncovered = append(m.uncovered, ev.ZoneId)
		}
	case noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_CHANGED:
		if blocked && !slices.Contains(m.uncovered, ev.ZoneId) {
			m.uncovered = append(m.uncovered, ev.ZoneId)
		}
	case noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_ALTITUDE:
		m.altitude = append(m.altitude, fmt.Sprintf("%s m %s at %s, above %s", fmtMetres(ev.GetAltitudeM()), shortRef(ev.GetHeightLimit().GetReference()),
			fmtOffset(ev.GetAt().AsTime().Sub(m.first)), permitted(ev.GetHeightLimit())))
	}
}

// permitted says how high a height limit lets the flight go, and why.
func permitted(c *noflyv1.HeightLimit) string {
	return fmt.Sprintf("%s m %s (%s)", fmtMetres(c.GetMetres()), shortRef(c.GetReference()), esc(c.GetLimitedBy()))
}

func verdictWord(ev *noflyv1.FlightEvent) string {
	switch ev.Verdict {
	case noflyv1.ZoneVerdict_ZONE_VERDICT_BLOCKED:
		return "BLOCKED, no exemption covers it"
	case noflyv1.ZoneVerdict_ZONE_VERDICT_EXEMPTED:
		return "exempted by " + esc(ev.ExemptionId)
	case noflyv1.ZoneVerdict_ZONE_VERDICT_ADVISORY:
		return "advisory: read its conditions"
	}
	return "unknown"
}

func eventDetail(ev *noflyv1.FlightEvent) string {
	switch ev.Kind {
	case noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_APPROACH:
		d := fmt.Sprintf("in %s m", fmtMetres(math.Round(ev.DistanceM)))
		if ev.TimeS != nil {
			d += fmt.Sprintf(", %s s", fmtMetres(math.Round(*ev.TimeS)))
		}
		return fmt.Sprintf("%s; %s", d, verdictWord(ev))
	case noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_EXIT:
		return "left"
	case noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_EXPIRING:
		return fmt.Sprintf("%s ends in %s, at %s", esc(ev.ExemptionId), strings.TrimPrefix(fmtOffset(time.Duration(ev.GetTimeS()*float64(time.Second))), "+"),
			fmtTime(ev.ValidUntil))
	case noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_CHANGED:
		return "now " + verdictWord(ev)
	case noflyv1.FlightEventKind_FLIGHT_EVENT_KIND_ALTITUDE:
		return fmt.Sprintf("%s m %s, above the %s permitted here", fmtMetres(ev.GetAltitudeM()),
			shortRef(ev.GetHeightLimit().GetReference()), permitted(ev.GetHeightLimit()))
	}
	return verdictWord(ev)
}

// fmtOffset prints a duration as [-]M:SS, or H:MM:SS from an hour.
func fmtOffset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%s%d:%02d:%02d", sign, s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%s%02d:%02d", sign, s/60, s%60)
}

// summary prints what the flight did and returns errDenied (exit status
// 1) when it entered a blocking zone that no exemption covered or climbed
// above the permitted height.
func (m *monitorRun) summary() error {
	if !m.e.json {
		w := m.e.stdout
		fmt.Fprintf(w, "Flight of %d position%s over %s: %d event%s", m.sent, plural(m.sent), strings.TrimPrefix(fmtOffset(m.last.Sub(m.first)), "+"),
			m.events, plural(m.events))
		if len(m.entered) > 0 {
			fmt.Fprintf(w, "; entered %s", strings.Join(m.entered, ", "))
		}
		fmt.Fprintln(w)
		if len(m.uncovered) > 0 {
			fmt.Fprintf(w, "DENIED — the flight was in %d blocking zone%s that no exemption covered: %s\n", len(m.uncovered),
				plural(len(m.uncovered)), esc(strings.Join(m.uncovered, ", ")))
		}
		if len(m.altitude) > 0 {
			fmt.Fprintf(w, "DENIED — the flight climbed above the height permitted %d time%s: %s\n", len(m.altitude),
				plural(len(m.altitude)), strings.Join(m.altitude, "; "))
		}
		if len(m.uncovered) == 0 && len(m.altitude) == 0 {
			fmt.Fprintln(w, "No blocking zone entered without an exemption covering it, and never above the height permitted.")
		}
	}
	if len(m.uncovered) > 0 || len(m.altitude) > 0 {
		return errDenied
	}
	return nil
}
