package e2e

import (
	"context"
	"database/sql"
	"encoding/csv"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
)

// seedReportLog writes, through the store as noflyd would, a log of two
// exemptions and the flights of February to May 2026 under them (noflyd
// stamps its own records with the present; the store takes the times
// given). The numbers TestReport expects are counted here, by hand.
func seedReportLog(t *testing.T, db string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	day := func(month time.Month, d, h int) time.Time { return time.Date(2026, month, d, h, 0, 0, 0, time.UTC) }
	create := func(unit, zone, basis string) string {
		ex, err := st.Create(ctx, exemptions.Request{}, exemptions.Exemption{Holder: exemptions.Holder{Unit: unit}, ZoneIDs: []string{zone},
			ValidFrom: day(2, 1, 0), ValidUntil: day(6, 1, 0), Ceiling: exemptions.Ceiling{Metres: 100}, LegalBasis: basis,
			IssuedBy: "CN=admin", IssuedAt: day(1, 20, 9)})
		if err != nil {
			t.Fatal(err)
		}
		return ex.ID
	}
	ams := create("AMS-DRONE", "NL-EHAM-CTR", "ILT/2026/0042")
	rtm := create("RTM-DRONE", "NL-EHRD-CTR", "ILT/2026/0051")
	check := func(at time.Time, unit, pilot, drone string, p exemptions.Purpose, ex, zone string) {
		if _, err := st.RecordCheck(ctx, exemptions.CheckRecord{At: at, Actor: "CN=" + pilot, Unit: unit, Pilot: pilot, Drone: drone,
			Purpose: p, ExemptionIDs: []string{ex}, ZoneIDs: []string{zone}, Verdict: "EXEMPTED"}); err != nil {
			t.Fatal(err)
		}
	}
	authorise := func(at time.Time, unit, pilot, drone string, p exemptions.Purpose, ex, zone string) {
		rec := exemptions.AuthorisationRecord{KeyID: "k1", IssuedAt: at.Add(-time.Hour), ValidFrom: at, ValidUntil: at.Add(2 * time.Hour),
			Unit: unit, Pilot: pilot, Drone: drone, Purpose: p, IssuedBy: "CN=" + pilot, Verdict: "CLEAR"}
		if ex != "" {
			rec.Verdict, rec.ExemptionIDs, rec.ZoneIDs = "EXEMPTED", []string{ex}, []string{zone}
		}
		if _, err := st.IssueAuthorisation(ctx, rec, func(id string) ([]byte, error) { return []byte("signed " + id), nil }); err != nil {
			t.Fatal(err)
		}
	}
	// February: before the period.
	check(day(2, 27, 10), "AMS-DRONE", "P-0412", "DJI-M30T-0001", exemptions.PurposeForensic, ams, "NL-EHAM-CTR")
	// March: five exempted checks of AMS (two drones), one of RTM.
	for i, drone := range []string{"DJI-M30T-0001", "DJI-M30T-0001", "DJI-M30T-0001", "DJI-M30T-0001", "DJI-M30T-0003"} {
		check(day(3, 2+i, 14), "AMS-DRONE", "P-0412", drone, exemptions.PurposeForensic, ams, "NL-EHAM-CTR")
	}
	check(day(3, 14, 20), "RTM-DRONE", "P-0100", "DJI-M30T-0002", exemptions.PurposePublicOrder, rtm, "NL-EHRD-CTR")
	// April: three authorisations of AMS (one under its exemption), one
	// exempted check of RTM.
	authorise(day(4, 3, 8), "AMS-DRONE", "P-0412", "DJI-M30T-0001", exemptions.PurposeTrafficAccident, "", "")
	authorise(day(4, 11, 12), "AMS-DRONE", "P-0413", "PARROT-ANAFI-0007", exemptions.PurposeEventSupervision, "", "")
	authorise(day(4, 20, 23), "AMS-DRONE", "P-0412", "DJI-M30T-0003", exemptions.PurposeForensic, ams, "NL-EHAM-CTR")
	check(day(4, 30, 23), "RTM-DRONE", "P-0100", "DJI-M30T-0002", exemptions.PurposePublicOrder, rtm, "NL-EHRD-CTR")
	// May: after the period.
	check(day(5, 1, 0), "AMS-DRONE", "P-0412", "DJI-M30T-0001", exemptions.PurposeForensic, ams, "NL-EHAM-CTR")
	// Refused checks, counted as noflyd counts them, and sealed on 2 May:
	// March 4 for airspace (AMS, forensic) and 2 by the fleet rules (RTM,
	// public order, authorisation requests); April 1 (AMS, traffic
	// accident); May 9, after the period.
	refused := func(d, unit string, p exemptions.Purpose, k exemptions.RefusalKind, auth bool, n int64) exemptions.RefusalCount {
		return exemptions.RefusalCount{Day: d, Unit: unit, Purpose: p, Kind: k, Authorisation: auth, Count: n}
	}
	if err := st.AddRefusals(ctx, []exemptions.RefusalCount{
		refused("2026-03-03", "AMS-DRONE", exemptions.PurposeForensic, exemptions.RefusedAirspace, false, 4),
		refused("2026-03-20", "RTM-DRONE", exemptions.PurposePublicOrder, exemptions.RefusedFleet, true, 2),
		refused("2026-04-02", "AMS-DRONE", exemptions.PurposeTrafficAccident, exemptions.RefusedAirspace, false, 1),
		refused("2026-05-01", "AMS-DRONE", exemptions.PurposeForensic, exemptions.RefusedAirspace, false, 9),
	}); err != nil {
		t.Fatal(err)
	}
	if _, sealed, err := st.SealRefusals(ctx, "2026-05-02", "noflyd", day(5, 2, 0)); err != nil || !sealed {
		t.Fatalf("seal: %v %v", sealed, err)
	}
}

// refusedCounts is a row's refusals as "refused/airspace/fleet/authorisations".
func refusedCounts(c *noflyv1.ReportCounts) string {
	return strings.Join([]string{itoa(c.GetRefused()), itoa(c.GetRefusedAirspace()), itoa(c.GetRefusedFleet()),
		itoa(c.GetRefusedAuthorisations())}, "/")
}

func refusedRows(resp *noflyv1.GetReportResponse) map[string]string {
	out := map[string]string{}
	for _, r := range resp.GetRows() {
		if !r.GetSmall() {
			out[strings.Join(r.GetKey(), "|")] = refusedCounts(r.GetCounts())
		}
	}
	return out
}

func reportJSON(t *testing.T, r result) *noflyv1.GetReportResponse {
	t.Helper()
	wantExit(t, r, 0)
	var resp noflyv1.GetReportResponse
	if err := protojson.Unmarshal([]byte(r.stdout), &resp); err != nil {
		t.Fatalf("report --json: %v\n%s", err, r)
	}
	return &resp
}

// counts is a row's numbers as "authorised/exempted/exempted checks/under exemption/drones".
func counts(c *noflyv1.ReportCounts) string {
	if c == nil {
		return "none"
	}
	return strings.Join([]string{itoa(c.GetAuthorised()), itoa(c.GetAuthorisedExempted()), itoa(c.GetExemptedChecks()),
		itoa(c.GetUnderExemption()), itoa(c.GetDrones())}, "/")
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func rows(resp *noflyv1.GetReportResponse) map[string]string {
	out := map[string]string{}
	for _, r := range resp.GetRows() {
		v := counts(r.GetCounts())
		if r.GetSmall() {
			v = "small"
		}
		out[strings.Join(r.GetKey(), "|")] = v
	}
	return out
}

// TestReport: a log of two exemptions and flights over two months
// (seeded), and an exempted check made now through the binaries; every
// number of the report, by month, unit, purpose and make; the roles that
// may ask; no pilot in any answer; no report once the log is edited.
func TestReport(t *testing.T) {
	t.Parallel()
	c := devCerts(t)
	db := filepath.Join(t.TempDir(), "nofly.db")
	seedReportLog(t, db)
	d := launchDaemon(t, append(c.serverFlags(), "--db", db, "--signing-key", c.path("signing-key.pem"), "--issuer", "Politie NL test")...)
	waitServingTLS(t, d.addr, c)
	auditor := func(args ...string) result { return nofly(t, d.addr, append(c.flags("auditor"), args...)...) }
	period := []string{"report", "--from", "2026-03", "--until", "2026-05"}

	resp := reportJSON(t, auditor(append(period, "--by", "month", "--json")...))
	want := map[string]string{"2026-03": "0/0/6/6/3", "2026-04": "3/1/1/2/4"}
	if got := rows(resp); !equalMaps(got, want) {
		t.Errorf("by month: %v, want %v", got, want)
	}
	if got := counts(resp.GetTotal()); got != "3/1/7/8/4" {
		t.Errorf("total %s, want 3/1/7/8/4", got)
	}
	if got, want := refusedRows(resp), map[string]string{"2026-03": "6/4/2/2", "2026-04": "1/1/0/0"}; !equalMaps(got, want) {
		t.Errorf("refusals by month: %v, want %v", got, want)
	}
	if got := refusedCounts(resp.GetTotal()); got != "7/5/2/2" || resp.GetRefusedUnsealed() != 0 {
		t.Errorf("refusals %s (%d unsealed), want 7/5/2/2 (0)", got, resp.GetRefusedUnsealed())
	}
	if resp.GetHeadSeq() != 15 || resp.GetUnregisteredDrones() != 4 || resp.GetMinGroup() != 5 {
		t.Errorf("head %d, %d unregistered, min group %d; want 15, 4, 5", resp.GetHeadSeq(), resp.GetUnregisteredDrones(), resp.GetMinGroup())
	}
	zones := map[string]string{}
	for _, z := range resp.GetZones() {
		v := itoa(z.GetUses())
		if z.GetSmall() {
			v = "small"
		}
		zones[z.GetZoneId()] = v + " " + strings.Join(z.GetLegalBases(), ",")
	}
	if want := map[string]string{"NL-EHAM-CTR": "6 ILT/2026/0042", "NL-EHRD-CTR": "small ILT/2026/0051"}; !equalMaps(zones, want) {
		t.Errorf("zones %v, want %v", zones, want)
	}

	resp = reportJSON(t, auditor(append(period, "--by", "unit", "--json")...))
	if want := map[string]string{"AMS-DRONE": "3/1/5/6/3", "RTM-DRONE": "small"}; !equalMaps(rows(resp), want) {
		t.Errorf("by unit: %v, want %v", rows(resp), want)
	}
	resp = reportJSON(t, auditor(append(period, "--by", "unit", "--min-group", "1", "--json")...))
	if want := map[string]string{"AMS-DRONE": "3/1/5/6/3", "RTM-DRONE": "0/0/2/2/1"}; !equalMaps(rows(resp), want) {
		t.Errorf("by unit, --min-group 1: %v, want %v", rows(resp), want)
	}
	if want := map[string]string{"AMS-DRONE": "5/5/0/0", "RTM-DRONE": "2/0/2/2"}; !equalMaps(refusedRows(resp), want) {
		t.Errorf("refusals by unit, --min-group 1: %v, want %v", refusedRows(resp), want)
	}
	resp = reportJSON(t, auditor(append(period, "--by", "manufacturer,model", "--json")...))
	if want := map[string]string{"unregistered|unregistered": "3/1/7/8/4", "not recorded|not recorded": "0/0/0/0/0"}; !equalMaps(rows(resp), want) ||
		refusedRows(resp)["not recorded|not recorded"] != "7/5/2/2" {
		t.Errorf("by make (no registry): %v, want %v", rows(resp), want)
	}

	r := auditor(append(period, "--by", "purpose", "--csv")...)
	wantExit(t, r, 0)
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatalf("--csv: %v\n%s", err, r)
	}
	wantCSV := [][]string{
		{"purpose", "authorised", "authorised_exempted", "exempted_checks", "under_exemption", "drones",
			"refused", "refused_airspace", "refused_fleet", "refused_authorisations"},
		{"EVENT_SUPERVISION", "1", "0", "0", "0", "1", "0", "0", "0", "0"},
		{"FORENSIC", "1", "1", "5", "6", "2", "4", "4", "0", "0"},
		{"PUBLIC_ORDER", "0", "0", "2", "2", "1", "2", "0", "2", "2"},
		{"TRAFFIC_ACCIDENT", "1", "0", "0", "0", "1", "1", "1", "0", "0"},
		{"TOTAL", "3", "1", "7", "8", "4", "7", "5", "2", "2"},
	}
	if !equalRecords(recs, wantCSV) {
		t.Errorf("--by purpose --csv:\n%s", r.stdout)
	}
	r = auditor(append(period, "--by", "zone", "--csv")...)
	wantExit(t, r, 0)
	if want := "zone,authorised,authorised_exempted,exempted_checks,under_exemption,drones,refused,refused_airspace,refused_fleet,refused_authorisations\n" +
		"NL-EHAM-CTR,1,1,5,6,2,0,0,0,0\nNL-EHRD-CTR,< 5,< 5,< 5,< 5,< 5,< 5,< 5,< 5,< 5\nnone,< 5,< 5,< 5,< 5,< 5,< 5,< 5,< 5,< 5\n" +
		"not recorded,0,0,0,0,0,7,5,2,2\nTOTAL,3,1,7,8,4,7,5,2,2\n"; r.stdout != want {
		t.Errorf("--by zone --csv:\n%s\nwant\n%s", r.stdout, want)
	}
	r = auditor(append(period, "--csv", "--zones")...)
	if wantExit(t, r, 0); r.stdout != "zone,uses,legal_bases\nNL-EHAM-CTR,6,ILT/2026/0042\nNL-EHRD-CTR,< 5,ILT/2026/0051\n" {
		t.Errorf("--csv --zones:\n%s", r)
	}

	// The table, and the head it names is the one audit verify proves.
	r = auditor(append(period, "--by", "month")...)
	wantExit(t, r, 0)
	v := auditor("audit", "verify")
	wantExit(t, v, 0)
	head := regexp.MustCompile(`head ([0-9a-f]{64})`).FindStringSubmatch(v.stdout)
	if head == nil || !strings.Contains(r.stdout, "from audit entries 1 to 15, verified, head "+head[1]) {
		t.Errorf("report and verify name different heads:\n%s\n%s", r, v)
	}
	for _, line := range []string{
		"2026-03           0                  0                6                6       3",
		"2026-04           3                  1                1                2       4",
		"TOTAL             3                  1                7                8       4        7",
		"Refused: 7 checks, 5 for airspace no exemption covered, 2 by the fleet rules; 2 of them authorisation requests.",
		"NL-EHAM-CTR  6     ILT/2026/0042",
		"NL-EHRD-CTR  < 5   ILT/2026/0051",
		"4 drones not in the drone registry",
	} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("table: no line %q:\n%s", line, r.stdout)
		}
	}

	// No pilot, actor or certificate subject in any report.
	for _, out := range []string{r.stdout, auditor(append(period, "--by", "unit,purpose,zone,month", "--min-group", "1", "--json")...).stdout} {
		for _, who := range []string{"P-0412", "P-0413", "P-0100", "CN="} {
			if strings.Contains(out, who) {
				t.Errorf("a report names %s:\n%s", who, out)
			}
		}
	}

	// Now, through the binaries: a check refused by the fleet rules (the
	// drone is not registered yet), an authorisation refused for the
	// airspace (no exemption yet), then an exemption and an exempted check.
	pilotCheck := append(c.flags("pilot"), "check", "--lat", "52.31", "--lon", "4.76", "--alt", "100",
		"--drone", "DJI-M30T-0009", "--purpose", "traffic-accident")
	wantExit(t, nofly(t, d.addr, pilotCheck...), 1)
	wantExit(t, nofly(t, d.addr, append(c.flags("admin"), "drones", "add", "--serial", "DJI-M30T-0009", "--manufacturer", "DJI",
		"--model", "M30T", "--unit", "AMS-DRONE", "--clearance", "regular")...), 0)
	route := filepath.Join(t.TempDir(), "route.geojson")
	write(t, route, `{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[4.74,52.30,60],[4.76,52.31,80]]}}`)
	wantExit(t, nofly(t, d.addr, append(c.flags("planner"), "plan", "authorise", route, "--drone", "DJI-M30T-0009", "--pilot", "P-0412",
		"--purpose", "forensic", "--start", "now", "--end", "+1h", "-o", filepath.Join(t.TempDir(), "x.au"))...), 1)
	wantExit(t, nofly(t, d.addr, append(c.flags("admin"), "exemptions", "create", "--unit", "AMS-DRONE", "--zone", "NL-EHAM-CTR",
		"--from", "-1h", "--until", "+8h", "--max-alt", "120", "--legal-basis", "ILT/2026/0060")...), 0)
	wantExit(t, nofly(t, d.addr, pilotCheck...), 0)
	today := time.Now().UTC()
	todayPeriod := []string{"report", "--from", today.Add(-24 * time.Hour).Format("2006-01-02"),
		"--until", today.Add(48 * time.Hour).Format("2006-01-02")}
	resp = reportJSON(t, nofly(t, d.addr, append(c.flags("admin"), append(todayPeriod, "--by", "purpose", "--json")...)...))
	if want := map[string]string{"TRAFFIC_ACCIDENT": "0/0/1/1/1", "FORENSIC": "0/0/0/0/0"}; resp.GetHeadSeq() != 18 || !equalMaps(rows(resp), want) {
		t.Errorf("today: head %d, rows %v; want 18, %v", resp.GetHeadSeq(), rows(resp), want)
	}
	// Today's refusals, counted in noflyd's memory, reach the report at
	// once, marked as not yet sealed into the log.
	if want := map[string]string{"TRAFFIC_ACCIDENT": "1/0/1/0", "FORENSIC": "1/1/0/1"}; !equalMaps(refusedRows(resp), want) || resp.GetRefusedUnsealed() != 2 {
		t.Errorf("today's refusals: %v (%d unsealed), want %v (2)", refusedRows(resp), resp.GetRefusedUnsealed(), want)
	}
	// The drone is in the registry now: its make and model, not "unregistered".
	resp = reportJSON(t, nofly(t, d.addr, append(c.flags("admin"), append(todayPeriod, "--by", "manufacturer,model", "--json")...)...))
	if want := map[string]string{"DJI|M30T": "0/0/1/1/1", "not recorded|not recorded": "0/0/0/0/0"}; !equalMaps(rows(resp), want) || resp.GetUnregisteredDrones() != 0 {
		t.Errorf("today by make: rows %v, %d unregistered; want %v, 0", rows(resp), resp.GetUnregisteredDrones(), want)
	}
	if z := resp.GetZones(); len(z) != 1 || strings.Join(z[0].GetLegalBases(), ",") != "ILT/2026/0060" {
		t.Errorf("today's zones: %v", z)
	}

	// The detail: administrators only, and the request is in the log
	// before the answer.
	r = auditor(append(period, "--detail")...)
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, "permission denied") || !strings.Contains(r.stderr, "administrators only") {
		t.Errorf("auditor --detail: %s", r)
	}
	resp = reportJSON(t, nofly(t, d.addr, append(c.flags("admin"), append(period, "--detail", "--json")...)...))
	if len(resp.GetRecords()) != 10 || resp.GetDetailSeq() != 19 || resp.GetHeadSeq() != 19 {
		t.Errorf("--detail: %d records, entry %d, head %d; want 10, 19, 19", len(resp.GetRecords()), resp.GetDetailSeq(), resp.GetHeadSeq())
	}
	pilots := map[string]int{}
	for _, rec := range resp.GetRecords() {
		pilots[rec.GetKind()+" "+rec.GetPilotId()]++
	}
	if want := map[string]int{"exempted_check P-0412": 5, "exempted_check P-0100": 2, "authorisation P-0412": 2, "authorisation P-0413": 1}; len(pilots) != len(want) ||
		pilots["exempted_check P-0412"] != 5 || pilots["authorisation P-0413"] != 1 || pilots["exempted_check P-0100"] != 2 {
		t.Errorf("--detail records by kind and pilot: %v, want %v", pilots, want)
	}
	r = nofly(t, d.addr, append(c.flags("admin"), append(period, "--detail")...)...)
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "Records counted (--detail, recorded as audit entry 20)") || !strings.Contains(r.stdout, "AU-000002") ||
		!strings.Contains(r.stdout, "P-0413") {
		t.Errorf("--detail table:\n%s", r)
	}
	r = auditor("audit", "list", "--action", "report-detail")
	wantExit(t, r, 0)
	if strings.Count(r.stdout, "report-detail") != 2 || !strings.Contains(r.stdout, "CN=") {
		t.Errorf("audit list --action report-detail:\n%s", r)
	}

	// Pilots and planners may not ask.
	for _, role := range []string{"pilot", "planner"} {
		r := nofly(t, d.addr, append(c.flags(role), period...)...)
		wantExit(t, r, 2)
		if !strings.Contains(r.stderr, "PermissionDenied") && !strings.Contains(strings.ToLower(r.stderr), "not allowed") &&
			!strings.Contains(strings.ToLower(r.stderr), "permission") {
			t.Errorf("%s asked for a report: %s", role, r)
		}
	}

	// An entry edited behind noflyd's back: no report, exit 1.
	raw, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{"DROP TRIGGER audit_no_update",
		`UPDATE audit SET entry = replace(entry, '"PUBLIC_ORDER"', '"TRAINING"') WHERE seq = 9`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	r = auditor(period...)
	wantExit(t, r, 1)
	if r.stdout != "" || !strings.Contains(r.stderr, "no report: audit log does not verify") || !strings.Contains(r.stderr, "entry 9") {
		t.Errorf("report of an edited log: %s", r)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func equalRecords(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], "\x00") != strings.Join(b[i], "\x00") {
			return false
		}
	}
	return true
}

// TestRefusalsSurviveStop: the refusals noflyd counted in memory are in
// the store once it has stopped on SIGTERM, and the next noflyd reports
// them.
func TestRefusalsSurviveStop(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "nofly.db")
	d := launchDaemon(t, "--db", db)
	waitServing(t, d.addr)
	for range 2 {
		wantExit(t, nofly(t, d.addr, "check", "--lat", "52.31", "--lon", "4.76", "--alt", "100", "--unit", "AMS-DRONE",
			"--purpose", "forensic"), 1)
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		t.Fatal("noflyd did not stop within 15 s of SIGTERM")
	}
	d = launchDaemon(t, "--db", db)
	waitServing(t, d.addr)
	today := time.Now().UTC()
	resp := reportJSON(t, nofly(t, d.addr, "report", "--from", today.Add(-24*time.Hour).Format("2006-01-02"),
		"--until", today.Add(48*time.Hour).Format("2006-01-02"), "--by", "unit", "--min-group", "1", "--json"))
	if got := refusedRows(resp); got["AMS-DRONE"] != "2/2/0/0" || resp.GetRefusedUnsealed() != 2 {
		t.Errorf("after a restart: %v (%d unsealed), want AMS-DRONE 2/2/0/0 (2)", got, resp.GetRefusedUnsealed())
	}
}
