// Package report computes oversight reports from the audit log: how often
// the police flew, for which purposes, with which drones, under which
// exemptions and legal bases, in a period.
//
// It is pure: it reads no database and no clock. A Builder is fed every
// audit entry in order, from the first (the exemption records issued before
// the period are needed for their legal bases); it checks that each entry
// is the next link of the hash chain, and counts those of the period.
// Report then says at which head the report was computed, so that anyone
// holding the database or an export can compute it again and compare.
//
// What is counted, and what is not, is explained in docs/oversight.md.
package report

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nofly-project/nofly/exemptions"
)

// Grouping is what a report's rows are grouped by.
type Grouping string

// The groupings.
const (
	ByPurpose      Grouping = "purpose"
	ByUnit         Grouping = "unit"
	ByManufacturer Grouping = "manufacturer"
	ByModel        Grouping = "model"
	ByZone         Grouping = "zone"
	ByMonth        Grouping = "month"
)

// Groupings lists every grouping.
var Groupings = []Grouping{ByPurpose, ByUnit, ByManufacturer, ByModel, ByZone, ByMonth}

// ParseGrouping reads a grouping by name.
func ParseGrouping(s string) (Grouping, error) {
	g := Grouping(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Groupings, g) {
		return g, nil
	}
	names := make([]string, len(Groupings))
	for i, g := range Groupings {
		names[i] = string(g)
	}
	return "", fmt.Errorf("unknown grouping %q (want one of %s)", s, strings.Join(names, ", "))
}

// DroneInfo says what make and model the drone with a serial number is, and
// whether it knows the drone at all. It is filled from the drone registry.
type DroneInfo func(serial string) (manufacturer, model string, ok bool)

// NoRegistry knows no drone: every drone is reported as Unregistered.
func NoRegistry(string) (string, string, bool) { return "", "", false }

// Labels of values a report could not know.
const (
	// Unregistered is the manufacturer and model of a drone the registry
	// does not know (or of every drone, without a registry).
	Unregistered = "unregistered"
	// NoDrone is the manufacturer and model of a flight that named no drone.
	NoDrone = "none given"
	// NoZone groups the flights of --by zone whose entry names no zone.
	NoZone = "none"
	// NotRecorded is the zone, manufacturer and model of refused checks:
	// their counters do not record them (docs/oversight.md).
	NotRecorded = "not recorded"
)

// DefaultMinGroup is the smallest group shown with its numbers in reports
// grouped by unit or zone.
const DefaultMinGroup = 5

// Options say what to report.
type Options struct {
	// From and Until bound the period: a flight counts when it starts at
	// From or later and before Until.
	From, Until time.Time
	// By groups the rows, in this order; none: one row, the totals.
	By []Grouping
	// MinGroup: in a report grouped by unit or zone, a row of fewer
	// flights than MinGroup shows no numbers, only that it is small
	// ("< 5"). 0 means DefaultMinGroup; 1 shows every row.
	MinGroup int
	// Drones says a drone's make and model; nil: NoRegistry.
	Drones DroneInfo
	// Unsealed are the refusal counts not yet sealed into the log (the
	// store's UnsealedRefusals, read with UpTo); those of the period's
	// days are counted, and reported as such (Report.Unsealed).
	Unsealed []exemptions.RefusalCount
	// UpTo is the last entry to read (0: the log's last, or none when
	// Unsealed holds counts): the entry the store's log ended at when
	// Unsealed was read. Compute fails, wrapping
	// ErrChain, when the log ends before it.
	UpTo int64
	// Detail lists the individual records counted (Report.Records), with
	// pilots: only for administrators, and logged (docs/oversight.md).
	Detail bool
}

// Counts are a group's numbers.
type Counts struct {
	// Authorised is the number of flight authorisations issued, of which
	// AuthorisedExempted relied on an exemption.
	Authorised         int `json:"authorised"`
	AuthorisedExempted int `json:"authorised_exempted"`
	// ExemptedChecks is the number of checks whose verdict was EXEMPTED:
	// a position or flight plan cleared only by an exemption.
	ExemptedChecks int `json:"exempted_checks"`
	// UnderExemption is AuthorisedExempted + ExemptedChecks: how often an
	// exemption was relied on.
	UnderExemption int `json:"under_exemption"`
	// Drones is the number of distinct drones named by them.
	Drones int `json:"drones"`
	// Refused is the number of checks answered DENIED, from the anonymous
	// daily counters: RefusedAirspace for a blocking zone no exemption
	// covered, RefusedFleet by the registry, the deployment policy or the
	// ceiling. RefusedAuthorisations of them were requests for a flight
	// authorisation.
	Refused               int `json:"refused"`
	RefusedAirspace       int `json:"refused_airspace"`
	RefusedFleet          int `json:"refused_fleet"`
	RefusedAuthorisations int `json:"refused_authorisations"`
}

// small reports whether a group is smaller than n: its flights (the
// authorisations and exempted checks, which name pilots) when it has any,
// whatever its refusals (they must not make a unit that flew once
// visible); else its refusals.
func (c Counts) small(n int) bool {
	if f := c.Authorised + c.ExemptedChecks; f > 0 {
		return f < n
	}
	return c.Refused < n
}

// Row is one group.
type Row struct {
	// Key holds the group's value of each grouping of Options.By.
	Key []string `json:"key"`
	Counts
	// Small: the group holds fewer flights than MinGroup, and its numbers
	// are left out (all zero here).
	Small bool `json:"small,omitempty"`
}

// ZoneUse is how often exemptions were relied on in one zone.
type ZoneUse struct {
	Zone string `json:"zone"`
	// Uses is the number of exempted checks and exempted authorisations
	// that met the zone.
	Uses int `json:"uses"`
	// LegalBases are the legal bases of the exemptions relied on there,
	// sorted.
	LegalBases []string `json:"legal_bases"`
	// Small: fewer uses than MinGroup; Uses is left out (zero here). The
	// legal bases are shown: they are public documents.
	Small bool `json:"small,omitempty"`
}

// Report is an oversight report.
type Report struct {
	From  time.Time  `json:"from"`
	Until time.Time  `json:"until"`
	By    []Grouping `json:"by"`
	// HeadSeq and HeadHash are the last audit entry the report read: it
	// was computed from entries 1 to HeadSeq of the chain ending in
	// HeadHash.
	HeadSeq  int64  `json:"head_seq"`
	HeadHash string `json:"head_hash"`
	MinGroup int    `json:"min_group"`
	// Total is every flight of the period, whatever the grouping.
	Total Counts    `json:"total"`
	Rows  []Row     `json:"rows"`
	Zones []ZoneUse `json:"zones"`
	// Unregistered is the number of distinct drones the registry did not
	// know: their make and model are reported as Unregistered.
	Unregistered int `json:"unregistered_drones"`
	// Unsealed is how many of Total.Refused come from counters not yet
	// sealed into the log (today's, usually): they are not verified by the
	// chain, and a report computed again later finds them sealed.
	Unsealed int `json:"refused_unsealed"`
	// Records are the authorisations and exempted checks counted, in the
	// log's order: only with Options.Detail.
	Records []Record `json:"records,omitempty"`
}

// Record is one authorisation or exempted check a report counted, as its
// audit entry holds it (with Options.Detail). The log holds no position:
// an authorisation's volume is in its signed token.
type Record struct {
	// Kind is "authorisation" or "exempted_check".
	Kind string `json:"kind"`
	// Seq is the audit entry.
	Seq int64 `json:"seq"`
	// ID is the authorisation's id; none for a check.
	ID string `json:"id,omitempty"`
	// At is when the check was made, or when the authorised flight
	// starts; Until when it must end.
	At           time.Time          `json:"at"`
	Until        time.Time          `json:"until,omitempty"`
	Unit         string             `json:"unit"`
	Pilot        string             `json:"pilot"`
	Drone        string             `json:"drone"`
	Purpose      exemptions.Purpose `json:"purpose"`
	ExemptionIDs []string           `json:"exemption_ids"`
	ZoneIDs      []string           `json:"zone_ids"`
}

// Record kinds.
const (
	KindAuthorisation = "authorisation"
	KindExemptedCheck = "exempted_check"
)

// ErrChain is wrapped by the errors of entries that are not the next link
// of the hash chain.
var ErrChain = errors.New("audit log does not verify")

// Builder computes a report from the audit log, entry by entry.
type Builder struct {
	o       Options
	seq     int64
	prev    string
	bases   map[string]exemption // exemption id -> what the report needs of it
	total   *group
	groups  map[string]*group
	zones   map[string]*zoneGroup
	unknown map[string]bool // drones the registry does not know
	info    map[string][2]string
	// pending are the exempted checks of the period not yet counted, by
	// what an authorisation issued on them would share with them.
	pending map[checkKey][]flight
	// fromDay and untilDay bound the days whose refusals count: those
	// that start in the period.
	fromDay, untilDay string
	unsealed          int
	records           []Record
	dec               *decoder // AddStored's
	buf               []byte   // for keys
	strs              interner
	months            map[int]string
	latest            time.Time // of the checks read
	sinceSweep        int
}

type exemption struct {
	basis    string
	zones    []string
	selector bool
}

type group struct {
	key    []string
	c      Counts
	drones map[string]bool
}

type zoneGroup struct {
	uses  int
	bases map[string]bool
}

// New returns a Builder that has read no entry.
func New(o Options) (*Builder, error) {
	if o.From.IsZero() || o.Until.IsZero() {
		return nil, errors.New("a report needs a period: from and until")
	}
	if !o.Until.After(o.From) {
		return nil, fmt.Errorf("period ends (%s) before it starts (%s)", o.Until.Format(time.RFC3339), o.From.Format(time.RFC3339))
	}
	seen := map[Grouping]bool{}
	for _, g := range o.By {
		if !slices.Contains(Groupings, g) {
			return nil, fmt.Errorf("unknown grouping %q", g)
		}
		if seen[g] {
			return nil, fmt.Errorf("grouping %q given twice", g)
		}
		seen[g] = true
	}
	for _, c := range o.Unsealed {
		if err := c.Check(); err != nil {
			return nil, fmt.Errorf("unsealed %s %s: %w", c.Day, c.Unit, err)
		}
	}
	if o.MinGroup < 0 {
		return nil, fmt.Errorf("min group %d: must not be negative", o.MinGroup)
	}
	if o.MinGroup == 0 {
		o.MinGroup = DefaultMinGroup
	}
	if o.Drones == nil {
		o.Drones = NoRegistry
	}
	fromDay, untilDay := PeriodDays(o.From, o.Until)
	return &Builder{o: o, bases: map[string]exemption{}, total: newGroup(nil), groups: map[string]*group{},
		zones: map[string]*zoneGroup{}, unknown: map[string]bool{}, info: map[string][2]string{}, pending: map[checkKey][]flight{},
		fromDay: fromDay, untilDay: untilDay, months: map[int]string{}}, nil
}

// PeriodDays returns the first day (UTC, YYYY-MM-DD) whose refusals count
// in the period from until, and the first that does not: a day counts when
// it starts in the period (refusals are counted by day).
func PeriodDays(from, until time.Time) (string, string) {
	day := func(t time.Time) string {
		t = t.UTC()
		d := t.Truncate(24 * time.Hour)
		if d.Before(t) {
			d = d.Add(24 * time.Hour)
		}
		return exemptions.RefusalDay(d)
	}
	return day(from), day(until)
}

func newGroup(key []string) *group { return &group{key: key, drones: map[string]bool{}} }

// Seq is the last entry read (0 before the first).
func (b *Builder) Seq() int64 { return b.seq }

// Add reads the next entry of the log (from Entry and Hash: what Audit
// decoded besides is not used). See AddStored.
func (b *Builder) Add(e exemptions.AuditEvent) error {
	return b.AddStored(exemptions.StoredAuditEntry{Seq: e.Seq, Entry: e.Entry, Hash: e.Hash})
}

// storedEntry is what the report reads of an entry: the chain, and of the
// detail what the report needs, whatever the action (one decoding).
type storedEntry struct {
	Seq      int64             `json:"seq"`
	Action   exemptions.Action `json:"action"`
	PrevHash string            `json:"prev_hash"`
	Detail   entryDetail       `json:"detail"`
}

// entryDetail holds the fields the report reads of an exemption record
// (create, supersede: the tagged ones, snake_case) and of a check or an
// authorisation (flightDetail: Go's names). Only what the report needs:
// an exemption's area, for one, would take long to decode.
type entryDetail struct {
	ID         string              `json:"id"` // an authorisation's too (ID: JSON names match case-insensitively)
	ExZoneIDs  []string            `json:"zone_ids"`
	Selector   exemptions.Selector `json:"selector"`
	LegalBasis string              `json:"legal_basis"`
	// Counts are a refusal seal's (ActionRefusals).
	Counts []exemptions.RefusalCount `json:"counts"`
	flightDetail
}

// decoded is a stored entry checked against its stored hash (taking the
// stored hash of the entry before it as prev) and decoded, not yet linked
// to the entry the Builder read before it.
type decoded struct {
	seq        int64
	prev, hash string // prev: the hash the check took for the entry before
	e          storedEntry
	err        error
}

// decodeStored checks and decodes se with dec; it needs no Builder, so
// that entries decode in parallel (a decoder each).
func decodeStored(dec *decoder, prev string, se exemptions.StoredAuditEntry, d *decoded) {
	*d = decoded{seq: se.Seq, prev: prev, hash: se.Hash}
	if !dec.hashes(prev, se.Entry, se.Hash) {
		d.err = fmt.Errorf("%w: entry %d does not hash, after the entry before it, to its stored hash", ErrChain, se.Seq)
		return
	}
	var err error
	if !decodeEntry(se.Entry, &d.e, &dec.in, prev) {
		d.e = storedEntry{}
		err = json.Unmarshal(se.Entry, &d.e)
	}
	if err != nil {
		d.err = fmt.Errorf("%w: entry %d: %v", ErrChain, se.Seq, err)
	} else if d.e.Seq != se.Seq || d.e.PrevHash != prev {
		d.err = fmt.Errorf("%w: entry %d is not numbered or linked as stored", ErrChain, se.Seq)
	}
}

// AddStored reads the next entry of the log, as stored. It fails, wrapping
// ErrChain, when the entry is not the next link of the chain (its number,
// its previous hash or its own hash is wrong): the report would not be
// complete.
func (b *Builder) AddStored(se exemptions.StoredAuditEntry) error {
	if b.dec == nil {
		b.dec = newDecoder()
	}
	var d decoded
	decodeStored(b.dec, b.prev, se, &d)
	return b.add(&d)
}

func (b *Builder) add(de *decoded) error {
	if de.seq != b.seq+1 {
		return fmt.Errorf("%w: entry %d follows entry %d", ErrChain, de.seq, b.seq)
	}
	if de.prev != b.prev {
		return fmt.Errorf("%w: entry %d does not follow the hash of entry %d", ErrChain, de.seq, b.seq)
	}
	if de.err != nil {
		return de.err
	}
	e := &de.e
	b.seq, b.prev = de.seq, de.hash
	d := &e.Detail
	switch e.Action {
	case exemptions.ActionCreate, exemptions.ActionSupersede:
		b.bases[d.ID] = exemption{basis: d.LegalBasis, zones: d.ExZoneIDs, selector: !d.Selector.IsZero()}
	case exemptions.ActionCheck:
		f := flight{at: d.At, unit: d.Unit, drone: d.Drone, purpose: d.Purpose,
			exemptions: d.ExemptionIDs, zones: d.ZoneIDs, check: true, seq: e.Seq}
		if b.o.Detail {
			f.pilot = d.Pilot
		}
		if b.inPeriod(f.at) {
			k := b.key(&d.flightDetail, d.At)
			b.pending[k] = append(b.pending[k], f)
		}
		b.sweep(d.At)
	case exemptions.ActionAuthorise:
		// The plan check an exempted authorisation was issued on is in the
		// log too, just before it: it is the same decision, counted once,
		// as the authorisation.
		if k := b.key(&d.flightDetail, d.IssuedAt); len(b.pending[k]) > 0 {
			b.pending[k] = b.pending[k][1:]
		}
		f := flight{at: d.ValidFrom, unit: d.Unit, drone: d.Drone, purpose: d.Purpose,
			exemptions: d.ExemptionIDs, zones: d.ZoneIDs, seq: e.Seq}
		if b.o.Detail {
			f.pilot, f.id, f.until = d.Pilot, d.ID, d.ValidUntil
		}
		b.flight(f)
	case exemptions.ActionRefusals:
		// A count the stores would not take is counted nowhere: the
		// report fails, as audit verify does (a day that is no date would
		// be no month either).
		for _, c := range d.Counts {
			if err := c.Check(); err != nil {
				return fmt.Errorf("%w: entry %d: %v", ErrChain, e.Seq, err)
			}
		}
		for _, c := range d.Counts {
			b.refusal(c)
		}
	}
	return nil
}

// refusal counts c when its day is in the period.
func (b *Builder) refusal(c exemptions.RefusalCount) {
	if c.Day < b.fromDay || c.Day >= b.untilDay {
		return
	}
	n := int(c.Count)
	count := func(g *group) {
		g.c.Refused += n
		switch c.Kind {
		case exemptions.RefusedAirspace:
			g.c.RefusedAirspace += n
		case exemptions.RefusedFleet:
			g.c.RefusedFleet += n
		}
		if c.Authorisation {
			g.c.RefusedAuthorisations += n
		}
	}
	count(b.total)
	count(b.groupOf(func(g Grouping) string {
		switch g {
		case ByPurpose:
			return purposeKey(c.Purpose)
		case ByUnit:
			return c.Unit
		case ByMonth:
			return c.Day[:7]
		}
		return NotRecorded
	}))
}

// flightDetail is what the report reads of an exemptions.CheckRecord (At)
// or an exemptions.AuthorisationRecord (ValidFrom): the fields they share,
// and no pilot.
//
// Pilot is read only to tell an authorisation's own plan check (key).
type flightDetail struct {
	At, ValidFrom, IssuedAt time.Time
	Unit, Pilot, Drone      string
	Purpose                 exemptions.Purpose
	ExemptionIDs            []string
	ZoneIDs                 []string
	ValidUntil              time.Time
}

// checkKey is what a check and the authorisation issued on it share: the
// instant of the check (the authorisation's IssuedAt), who, with what and
// under which exemptions.
type checkKey struct {
	at                     time.Time
	unit, pilot, drone, ex string
	purpose                exemptions.Purpose
}

func (b *Builder) key(d *flightDetail, at time.Time) checkKey {
	b.buf = b.buf[:0]
	for i, id := range d.ExemptionIDs {
		if i > 0 {
			b.buf = append(b.buf, ',')
		}
		b.buf = append(b.buf, id...)
	}
	return checkKey{at: at.UTC(), unit: d.Unit, pilot: d.Pilot, drone: d.Drone, purpose: d.Purpose, ex: b.strs.str(b.buf)}
}

func (b *Builder) inPeriod(t time.Time) bool { return !t.Before(b.o.From) && t.Before(b.o.Until) }

// flight is what a check or an authorisation says of a flight.
type flight struct {
	at         time.Time
	unit       string
	drone      string
	purpose    exemptions.Purpose
	exemptions []string
	zones      []string
	check      bool // an exempted check, else an authorisation
	seq        int64
	// With Options.Detail only.
	pilot, id string
	until     time.Time
}

func (b *Builder) flight(f flight) {
	if !b.inPeriod(f.at) {
		return
	}
	exempted := f.check || len(f.exemptions) > 0
	mk, mdl := b.drone(f.drone)
	count := func(g *group) {
		if f.check {
			g.c.ExemptedChecks++
		} else {
			g.c.Authorised++
			if exempted {
				g.c.AuthorisedExempted++
			}
		}
		if f.drone != "" {
			g.drones[f.drone] = true
		}
	}
	count(b.total)
	if b.o.Detail {
		r := Record{Kind: KindAuthorisation, Seq: f.seq, ID: f.id, At: f.at.UTC(), Unit: f.unit, Pilot: f.pilot, Drone: f.drone,
			Purpose: f.purpose, ExemptionIDs: nonNil(f.exemptions), ZoneIDs: nonNil(f.zones)}
		if f.check {
			r.Kind = KindExemptedCheck
		} else {
			r.Until = f.until.UTC()
		}
		b.records = append(b.records, r)
	}
	zones := f.zones
	if len(zones) == 0 {
		zones = []string{NoZone}
	}
	if slices.Contains(b.o.By, ByZone) {
		for _, z := range zones {
			count(b.group(f, mk, mdl, z))
		}
	} else {
		count(b.group(f, mk, mdl, ""))
	}
	if !exempted {
		return
	}
	for _, z := range f.zones {
		zg := b.zones[z]
		if zg == nil {
			zg = &zoneGroup{bases: map[string]bool{}}
			b.zones[z] = zg
		}
		zg.uses++
		for _, basis := range b.basesFor(f.exemptions, z) {
			zg.bases[basis] = true
		}
	}
}

// basesFor returns the legal bases of the exemptions of ids that covered
// zone: those that name it; else those that pick zones by a selector (the
// entry does not say which zone each exemption covered); else all.
func (b *Builder) basesFor(ids []string, zone string) []string {
	var named, selected, all []string
	for _, id := range ids {
		ex, ok := b.bases[id]
		if !ok {
			continue
		}
		all = append(all, ex.basis)
		switch {
		case slices.Contains(ex.zones, zone):
			named = append(named, ex.basis)
		case ex.selector:
			selected = append(selected, ex.basis)
		}
	}
	switch {
	case len(named) > 0:
		return named
	case len(selected) > 0:
		return selected
	}
	return all
}

// drone returns the make and model of serial, noting the drones the
// registry does not know.
func (b *Builder) drone(serial string) (string, string) {
	if serial == "" {
		return NoDrone, NoDrone
	}
	if mm, ok := b.info[serial]; ok {
		return mm[0], mm[1]
	}
	mk, mdl, ok := b.o.Drones(serial)
	if !ok {
		mk, mdl = Unregistered, Unregistered
		b.unknown[serial] = true
	}
	b.info[serial] = [2]string{mk, mdl}
	return mk, mdl
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func purposeKey(p exemptions.Purpose) string {
	if p == "" {
		return "UNSPECIFIED"
	}
	return string(p)
}

// group returns the group of a flight, made on first use.
func (b *Builder) group(f flight, mk, mdl, zone string) *group {
	return b.groupOf(func(g Grouping) string {
		switch g {
		case ByPurpose:
			return purposeKey(f.purpose)
		case ByUnit:
			return f.unit
		case ByManufacturer:
			return mk
		case ByModel:
			return mdl
		case ByZone:
			return zone
		case ByMonth:
			return b.month(f.at)
		}
		return ""
	})
}

// month is t's month, 2026-03, UTC.
func (b *Builder) month(t time.Time) string {
	t = t.UTC()
	k := t.Year()*12 + int(t.Month())
	m, ok := b.months[k]
	if !ok {
		m = t.Format("2006-01")
		b.months[k] = m
	}
	return m
}

// groupOf returns the group whose value of each grouping is value's,
// made on first use.
func (b *Builder) groupOf(value func(Grouping) string) *group {
	b.buf = b.buf[:0]
	for i, g := range b.o.By {
		if i > 0 {
			b.buf = append(b.buf, 0)
		}
		b.buf = append(b.buf, value(g)...)
	}
	if g := b.groups[string(b.buf)]; g != nil {
		return g
	}
	key := make([]string, len(b.o.By))
	for i, g := range b.o.By {
		key[i] = value(g)
	}
	g := newGroup(key)
	b.groups[string(b.buf)] = g
	return g
}

// pendingWindow is how long a check waits for an authorisation issued on
// it: an authorisation's entry follows its plan check's within the same
// request (seconds), so a check an hour older than the newest check read
// is counted as a check. It keeps the checks waiting few, however long
// the log.
const pendingWindow = time.Hour

// sweepEvery is how many checks are read between sweeps of the pending.
const sweepEvery = 4096

// sweep notes a check at at, and now and then counts the pending checks
// older than the window.
func (b *Builder) sweep(at time.Time) {
	if at.After(b.latest) {
		b.latest = at
	}
	if b.sinceSweep++; b.sinceSweep < sweepEvery {
		return
	}
	b.sinceSweep = 0
	cutoff := b.latest.Add(-pendingWindow)
	for k, fs := range b.pending {
		if k.at.Before(cutoff) {
			for _, f := range fs {
				b.flight(f)
			}
			delete(b.pending, k)
		}
	}
}

// Report returns the report of the entries read so far.
//
// It counts the checks read so far that no authorisation was issued on
// (an authorisation may follow its check by a few entries); it is called
// once, after the last entry.
func (b *Builder) Report() Report {
	for _, fs := range b.pending {
		for _, f := range fs {
			b.flight(f)
		}
	}
	clear(b.pending)
	for _, c := range b.o.Unsealed {
		before := b.total.c.Refused
		b.refusal(c)
		b.unsealed += b.total.c.Refused - before
	}
	b.o.Unsealed = nil
	r := Report{From: b.o.From.UTC(), Until: b.o.Until.UTC(), By: slices.Clone(b.o.By), HeadSeq: b.seq, HeadHash: b.prev,
		MinGroup: b.o.MinGroup, Total: b.total.counts(), Rows: []Row{}, Zones: []ZoneUse{}}
	if r.By == nil {
		r.By = []Grouping{}
	}
	for serial := range b.unknown {
		if b.total.drones[serial] {
			r.Unregistered++
		}
	}
	hide := slices.Contains(b.o.By, ByUnit) || slices.Contains(b.o.By, ByZone)
	for _, g := range b.groups {
		row := Row{Key: g.key, Counts: g.counts()}
		if hide && row.small(b.o.MinGroup) {
			row = Row{Key: g.key, Small: true}
		}
		r.Rows = append(r.Rows, row)
	}
	slices.SortFunc(r.Rows, func(a, b Row) int { return slices.Compare(a.Key, b.Key) })
	for z, zg := range b.zones {
		u := ZoneUse{Zone: z, Uses: zg.uses, LegalBases: []string{}}
		for basis := range zg.bases {
			u.LegalBases = append(u.LegalBases, basis)
		}
		slices.Sort(u.LegalBases)
		if u.Uses < b.o.MinGroup {
			u.Uses, u.Small = 0, true
		}
		r.Zones = append(r.Zones, u)
	}
	slices.SortFunc(r.Zones, func(a, b ZoneUse) int { return strings.Compare(a.Zone, b.Zone) })
	r.Unsealed = b.unsealed
	if b.o.Detail {
		r.Records = b.records
		slices.SortFunc(r.Records, func(a, b Record) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	return r
}

func (g *group) counts() Counts {
	c := g.c
	c.UnderExemption = c.AuthorisedExempted + c.ExemptedChecks
	c.Drones = len(g.drones)
	return c
}
