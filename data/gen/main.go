// Command gen writes data/nl-sample.geojson, nofly's sample zone set for the
// Netherlands, from the public-domain OurAirports coordinates in
// ../shared/data/airports/ourairports-2016.csv.gz. Run it from the repository
// root:
//
//	go run ./data/gen
//
// The output is deterministic: the same CSV gives the same bytes. It is a
// SAMPLE for development and demonstration, not legal airspace data: the
// shapes, radii, limits and schedules are illustrative.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(2)
	}
}

func run(args []string, log io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	csvPath := fs.String("airports", "../shared/data/airports/ourairports-2016.csv.gz", "OurAirports CSV (`;`-separated, optionally gzipped)")
	out := fs.String("out", "data/nl-sample.geojson", "output file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	airports, err := readAirports(*csvPath)
	if err != nil {
		return err
	}
	features, err := build(airports)
	if err != nil {
		return err
	}
	b, err := encode(features)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s: %d zones, %d bytes\n", *out, len(features), len(b))
	return nil
}

// airport is one row of the OurAirports CSV.
type airport struct {
	code, kind, name string
	lon, lat         float64
}

// readAirports reads the Dutch rows (country NL) of the OurAirports CSV:
// id;code;airport_type;airport_name;latitude;longitude;elevation;continent;
// country;state;city;active;icao_code;iata_code. Fields are `;`-separated and
// may be quoted; some rows lack the trailing field.
func readAirports(path string) (map[string]airport, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	cr := csv.NewReader(r)
	cr.Comma = ';'
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, h := range []string{"code", "airport_type", "airport_name", "latitude", "longitude", "country"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("%s: no column %q in header %q", path, h, header)
		}
	}
	out := map[string]airport{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) < len(header)-1 || rec[col["country"]] != "NL" {
			continue
		}
		lat, err1 := strconv.ParseFloat(rec[col["latitude"]], 64)
		lon, err2 := strconv.ParseFloat(rec[col["longitude"]], 64)
		if err1 != nil || err2 != nil {
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("%s:%d: bad coordinates %q %q", path, line, rec[col["latitude"]], rec[col["longitude"]])
		}
		a := airport{code: rec[col["code"]], kind: rec[col["airport_type"]], name: rec[col["airport_name"]], lon: lon, lat: lat}
		if _, dup := out[a.code]; dup {
			return nil, fmt.Errorf("%s: duplicate code %q", path, a.code)
		}
		out[a.code] = a
	}
	return out, nil
}

// Feature is one zone in nofly's GeoJSON schema. Field order is the output
// order.
type Feature struct {
	Type       string     `json:"type"`
	Properties Properties `json:"properties"`
	Geometry   Geometry   `json:"geometry"`
}

// Properties of a zone. Heights are metres above LowerRef/UpperRef; a nil
// UpperM means no ceiling.
type Properties struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Country     string     `json:"country"`
	Restriction string     `json:"restriction"`
	Reasons     []string   `json:"reasons"`
	Message     string     `json:"message"`
	LowerM      float64    `json:"lower_m"`
	LowerRef    string     `json:"lower_ref"`
	UpperM      *float64   `json:"upper_m"`
	UpperRef    string     `json:"upper_ref"`
	RadiusM     float64    `json:"radius_m,omitempty"`
	Authority   *Authority `json:"authority,omitempty"`
	Exemptions  string     `json:"exemptions,omitempty"`
	Active      []Period   `json:"active,omitempty"`
}

// Authority to contact about a zone.
type Authority struct {
	Name    string `json:"name"`
	SiteURL string `json:"site_url,omitempty"`
}

// Period when a zone is active, optionally narrowed by a weekly schedule.
type Period struct {
	Start    string  `json:"start"`
	End      string  `json:"end"`
	Schedule []Daily `json:"schedule,omitempty"`
}

// Daily is a time of day on some days of the week, in an IANA time zone.
type Daily struct {
	Days  []string `json:"days"`
	Start string   `json:"start"`
	End   string   `json:"end"`
	TZ    string   `json:"tz"`
}

// Geometry is a Point (circle centre, with properties.radius_m), a Polygon or
// a MultiPolygon.
type Geometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

type pt = [2]float64  // lon, lat in degrees
type ring = []pt      // closed: first point == last point
type polygon = []ring // outer ring, then holes

func f64(v float64) *float64 { return &v }

var (
	lvnl    = &Authority{Name: "Luchtverkeersleiding Nederland (LVNL)", SiteURL: "https://www.lvnl.nl"}
	defence = &Authority{Name: "Ministerie van Defensie, Commando Luchtstrijdkrachten", SiteURL: "https://www.defensie.nl"}
	ilt     = &Authority{Name: "Inspectie Leefomgeving en Transport (ILT)", SiteURL: "https://www.ilent.nl"}
)

// controlZone is an aerodrome control zone drawn as a circle around the
// aerodrome's reference point from the CSV.
type controlZone struct {
	code     string
	radius   float64 // metres
	upper    *float64
	upperRef string
	military bool
}

var controlZones = []controlZone{
	{"EHRD", 10_000, nil, "AGL", false},
	{"EHEH", 12_000, nil, "AGL", false},
	{"EHGG", 10_000, f64(900), "AMSL", false},
	{"EHBK", 10_000, nil, "AGL", false},
	{"EHLE", 8_000, f64(120), "AGL", false},
	{"EHVK", 15_000, nil, "AGL", true},
	{"EHLW", 15_000, nil, "AGL", true},
	{"EHGR", 12_000, nil, "AGL", true},
	{"EHKD", 8_000, nil, "AGL", true},
	{"EHWO", 10_000, nil, "AGL", true},
	{"EHDP", 8_000, f64(120), "AGL", true},
}

// schipholCTR is a rough outline of the Schiphol control zone: kilometres
// east and north of the aerodrome reference point, stretched along the
// runways (Polderbaan to the north, Kaagbaan to the south-west).
var schipholCTR = [][2]float64{
	{13, -4}, {12, 6}, {4, 16}, {-4, 19}, {-10, 12}, {-14, 2}, {-12, -8}, {-4, -14}, {6, -12},
}

// hospital matches the names of hospital helipads in the CSV, and academic
// those of the university hospitals (trauma centres, busier helipads).
var (
	hospital = regexp.MustCompile(`(?i)ziekenhuis|medisch|klinieken|^mc `)
	academic = regexp.MustCompile(`(?i)universitair|erasmus|^vu `)
)

// heliportRadius gives the radius (metres) of non-hospital heliports by code;
// university hospital helipads get 1000 m, other hospital helipads 500 m and
// any other heliport 1000 m.
var heliportRadius = map[string]float64{
	"EHHA": 1500, // Amsterdam Heliport
	"EHYP": 1500, // IJmuiden (offshore traffic)
	"EHTP": 1500, // Maasvlakte (offshore traffic)
	"EHVL": 1000, // Vlieland
	"EHMC": 1000, // Nieuw Milligen (military)
}

// wantHeliports is how many NL heliports the 2016 CSV holds; a different
// count means a different CSV, which the README would then misdescribe.
const wantHeliports = 29

func build(airports map[string]airport) ([]Feature, error) {
	var fs []Feature
	add := func(f Feature) {
		f.Type = "Feature"
		f.Properties.Country = "NLD"
		f.Properties.LowerRef = "AGL"
		if f.Properties.UpperRef == "" {
			f.Properties.UpperRef = "AGL"
		}
		fs = append(fs, f)
	}
	get := func(code string) (airport, error) {
		a, ok := airports[code]
		if !ok {
			return a, fmt.Errorf("aerodrome %s not in the CSV", code)
		}
		return a, nil
	}

	// Schiphol: a polygon.
	eham, err := get("EHAM")
	if err != nil {
		return nil, err
	}
	var r ring
	for _, d := range schipholCTR {
		r = append(r, offset(eham.lon, eham.lat, d[0]*1000, d[1]*1000))
	}
	add(Feature{
		Properties: Properties{
			ID: "NL-EHAM-CTR", Name: "Amsterdam Schiphol CTR (approximate outline)",
			Restriction: "REQ_AUTHORISATION", Reasons: []string{"AIR_TRAFFIC"},
			Message:   "Control zone of Amsterdam Airport Schiphol. Flying a drone here requires prior permission from air traffic control (LVNL); request it before take-off and keep radio or phone contact as instructed.",
			Authority: lvnl, Exemptions: "YES",
		},
		Geometry: polygonGeometry(polygon{r}),
	})

	// The other aerodromes: circles.
	for _, cz := range controlZones {
		a, err := get(cz.code)
		if err != nil {
			return nil, err
		}
		p := Properties{
			ID: "NL-" + cz.code + "-CTR", Name: a.name + " CTR",
			Restriction: "REQ_AUTHORISATION", Reasons: []string{"AIR_TRAFFIC"},
			Message: "Control zone of " + a.name + ". Flying a drone here requires prior permission from air traffic control (LVNL); request it before take-off.",
			UpperM:  cz.upper, UpperRef: cz.upperRef,
			RadiusM: cz.radius, Authority: lvnl, Exemptions: "YES",
		}
		if cz.military {
			p.Name = a.name + " military CTR"
			p.Reasons = []string{"AIR_TRAFFIC", "SENSITIVE"}
			p.Message = "Military control zone of " + a.name + ". Flying a drone here requires prior permission from military air traffic control; request it before take-off. Do not film or photograph military installations."
			p.Authority = defence
		}
		add(Feature{Properties: p, Geometry: circleGeometry(a)})
	}

	// Every heliport in the CSV, hospital helipads as small circles.
	var helis []airport
	for _, a := range airports {
		if a.kind == "heliport" {
			helis = append(helis, a)
		}
	}
	if len(helis) != wantHeliports {
		return nil, fmt.Errorf("found %d NL heliports in the CSV, want %d", len(helis), wantHeliports)
	}
	slices.SortFunc(helis, func(a, b airport) int { return strings.Compare(a.code, b.code) })
	for _, h := range helis {
		id := "NL-" + strings.TrimPrefix(h.code, "NL-") + "-HEL"
		p := Properties{
			ID: id, Name: h.name, UpperM: f64(120), UpperRef: "AGL",
			Restriction: "REQ_AUTHORISATION", Reasons: []string{"AIR_TRAFFIC"},
			Message: "Heliport. Flying a drone here requires permission from the heliport operator; keep clear of helicopter traffic.",
		}
		switch {
		case academic.MatchString(h.name):
			p.RadiusM = 1000
			p.Reasons = []string{"AIR_TRAFFIC", "EMERGENCY"}
			p.Message = "Helipad of a university hospital (trauma centre) with frequent air ambulance traffic. Flying a drone here requires permission from the hospital's helipad operator; give way to any helicopter and land at once when one approaches."
		case hospital.MatchString(h.name):
			p.RadiusM = 500
			p.Restriction = "CONDITIONAL"
			p.Reasons = []string{"AIR_TRAFFIC", "EMERGENCY"}
			p.Message = "Hospital helipad used by air ambulances. Flight allowed only clear of the approach paths: give way to any helicopter and land at once when one approaches."
		case heliportRadius[h.code] > 0:
			p.RadiusM = heliportRadius[h.code]
		default:
			p.RadiusM = 1000
			p.Restriction = "CONDITIONAL"
			p.Message = "Private heliport. Flight allowed after notifying the heliport operator; keep clear of helicopter traffic."
		}
		if h.code == "EHMC" {
			p.Reasons = []string{"AIR_TRAFFIC", "SENSITIVE"}
			p.Authority = defence
		}
		add(Feature{Properties: p, Geometry: circleGeometry(h)})
	}

	// Sensitive sites, events and advisories: polygons and circles drawn by
	// hand around public landmarks.
	add(Feature{
		Properties: Properties{
			ID: "NL-DHG-BINNENHOF", Name: "The Hague government quarter (Binnenhof)",
			Restriction: "PROHIBITED", Reasons: []string{"SENSITIVE"},
			Message:   "Government quarter. Drone flights are prohibited; only flights with an exemption for this zone may enter.",
			Authority: ilt, Exemptions: "YES",
		},
		Geometry: polygonGeometry(polygon{{
			{4.3095, 52.0790}, {4.3125, 52.0778}, {4.3160, 52.0783}, {4.3172, 52.0800}, {4.3150, 52.0815}, {4.3110, 52.0812}, {4.3095, 52.0790},
		}}),
	})
	add(Feature{
		Properties: Properties{
			ID: "NL-DHG-PALACES", Name: "The Hague royal palaces (Noordeinde, Huis ten Bosch)",
			Restriction: "PROHIBITED", Reasons: []string{"SENSITIVE", "PRIVACY"},
			Message:   "Royal palace. Drone flights are prohibited; exemptions do not apply unless issued for this zone.",
			Authority: ilt, Exemptions: "NO",
		},
		Geometry: polygonGeometry(
			polygon{{{4.3020, 52.0800}, {4.3070, 52.0800}, {4.3070, 52.0830}, {4.3020, 52.0830}, {4.3020, 52.0800}}},
			polygon{{{4.3290, 52.0918}, {4.3355, 52.0918}, {4.3358, 52.0955}, {4.3290, 52.0958}, {4.3290, 52.0918}}},
		),
	})
	add(Feature{
		Properties: Properties{
			ID: "NL-AMS-DAM-PALACE", Name: "Royal Palace Amsterdam (Dam)",
			Restriction: "PROHIBITED", Reasons: []string{"SENSITIVE"},
			Message:   "Royal palace. Drone flights are prohibited; only flights with an exemption for this zone may enter.",
			Authority: ilt, Exemptions: "YES",
		},
		Geometry: polygonGeometry(polygon{{
			{4.8900, 52.3725}, {4.8927, 52.3725}, {4.8927, 52.3737}, {4.8900, 52.3737}, {4.8900, 52.3725},
		}}),
	})
	add(Feature{
		Properties: Properties{
			ID: "NL-PI-VUGHT", Name: "Penitentiaire Inrichting Vught",
			Restriction: "PROHIBITED", Reasons: []string{"SENSITIVE"},
			Message: "Prison. Drone flights are prohibited; only flights with an exemption for this zone may enter.",
			UpperM:  f64(300), UpperRef: "AGL",
			Authority: ilt, Exemptions: "YES",
		},
		Geometry: polygonGeometry(polygon{{
			{5.2760, 51.6615}, {5.2840, 51.6612}, {5.2848, 51.6655}, {5.2790, 51.6664}, {5.2758, 51.6645}, {5.2760, 51.6615},
		}}),
	})
	for _, site := range []struct {
		id, name string
		lon, lat float64
		radius   float64
	}{
		{"NL-NPP-BORSSELE", "Borssele nuclear power plant", 3.7181, 51.4308, 1500},
		{"NL-NRG-PETTEN", "Petten research reactor", 4.6727, 52.7876, 1000},
	} {
		add(Feature{
			Properties: Properties{
				ID: site.id, Name: site.name,
				Restriction: "PROHIBITED", Reasons: []string{"SENSITIVE"},
				Message: "Nuclear installation. Drone flights are prohibited; only flights with an exemption for this zone may enter.",
				RadiusM: site.radius, Authority: ilt, Exemptions: "YES",
			},
			Geometry: circleGeometry(airport{lon: site.lon, lat: site.lat}),
		})
	}
	add(Feature{
		Properties: Properties{
			ID: "NL-ARN-GELREDOME-EVENTS", Name: "GelreDome Arnhem (weekend events, example schedule)",
			Restriction: "PROHIBITED", Reasons: []string{"POPULATION"},
			Message: "Stadium events on weekends. Drone flights over the crowd are prohibited while the zone is active.",
			UpperM:  f64(300), UpperRef: "AGL",
			Exemptions: "YES",
			Active: []Period{{
				Start: "2026-01-01T00:00:00+01:00", End: "2027-01-01T00:00:00+01:00",
				Schedule: []Daily{{Days: []string{"SAT", "SUN"}, Start: "10:00", End: "23:00", TZ: "Europe/Amsterdam"}},
			}},
		},
		Geometry: polygonGeometry(polygon{{
			{5.8880, 51.9605}, {5.8982, 51.9605}, {5.8982, 51.9652}, {5.8880, 51.9652}, {5.8880, 51.9605},
		}}),
	})
	add(Feature{
		Properties: Properties{
			ID: "NL-ASN-TT-CIRCUIT-EVENT", Name: "TT Circuit Assen (race weekend, example period)",
			Restriction: "PROHIBITED", Reasons: []string{"POPULATION"},
			Message: "Race weekend. Drone flights are prohibited while the zone is active, except with an exemption.",
			UpperM:  f64(300), UpperRef: "AGL",
			Exemptions: "YES",
			Active: []Period{{
				Start: "2026-06-26T00:00:00+02:00", End: "2026-06-29T00:00:00+02:00",
				Schedule: []Daily{{Days: []string{"FRI", "SAT", "SUN"}, Start: "08:00", End: "19:00", TZ: "Europe/Amsterdam"}},
			}},
		},
		Geometry: polygonGeometry(polygon{{
			{6.5110, 52.9580}, {6.5350, 52.9580}, {6.5350, 52.9660}, {6.5110, 52.9660}, {6.5110, 52.9580},
		}}),
	})
	add(Feature{
		Properties: Properties{
			ID: "NL-FL-OOSTVAARDERSPLASSEN", Name: "Oostvaardersplassen nature reserve",
			Restriction: "CONDITIONAL", Reasons: []string{"NATURE"},
			Message: "Nature reserve (birds). Flight allowed without take-off or landing in the reserve; keep well above the birds and do not hover. Avoid the breeding season (15 March to 15 July).",
		},
		Geometry: polygonGeometry(polygon{{
			{5.2280, 52.4440}, {5.3000, 52.4100}, {5.4050, 52.4400}, {5.4250, 52.4700}, {5.3550, 52.4950}, {5.2600, 52.4800}, {5.2280, 52.4440},
		}}),
	})
	vb, err := get("EHVB") // closed Valkenburg naval air base, now a drone test area
	if err != nil {
		return nil, err
	}
	add(Feature{
		Properties: Properties{
			ID: "NL-EHVB-DRONE-TEST", Name: "Valkenburg drone test area (former naval air base)",
			Restriction: "NO_RESTRICTION", Reasons: []string{"OTHER"},
			Message: "Information: drone test area. Expect other drones; tell the site operator before flying.",
			UpperM:  f64(120), UpperRef: "AGL",
			RadiusM: 1500,
		},
		Geometry: circleGeometry(vb),
	})

	if err := check(fs); err != nil {
		return nil, err
	}
	return fs, nil
}

// offset moves (lon, lat) by dx metres east and dy metres north in a local
// equirectangular frame; good to well under 1% over the 20 km used here.
func offset(lon, lat, dx, dy float64) pt {
	const mPerDeg = 111_320.0
	return pt{lon + dx/(mPerDeg*math.Cos(lat*math.Pi/180)), lat + dy/mPerDeg}
}

func round7(v float64) float64 { return math.Round(v*1e7) / 1e7 }

func circleGeometry(a airport) Geometry {
	return Geometry{Type: "Point", Coordinates: pt{round7(a.lon), round7(a.lat)}}
}

// polygonGeometry rounds to 7 decimals, closes rings and orients outer rings
// counter-clockwise and holes clockwise (RFC 7946).
func polygonGeometry(ps ...polygon) Geometry {
	out := make([]polygon, len(ps))
	for i, p := range ps {
		for j, r := range p {
			var q ring
			for _, c := range r {
				q = append(q, pt{round7(c[0]), round7(c[1])})
			}
			if q[0] != q[len(q)-1] {
				q = append(q, q[0])
			}
			if ccw := signedArea(q) > 0; ccw != (j == 0) {
				slices.Reverse(q)
			}
			out[i] = append(out[i], q)
		}
	}
	if len(out) == 1 {
		return Geometry{Type: "Polygon", Coordinates: out[0]}
	}
	return Geometry{Type: "MultiPolygon", Coordinates: out}
}

// signedArea is the shoelace area in square degrees, positive for a
// counter-clockwise ring.
func signedArea(r ring) float64 {
	var a float64
	for i := 0; i+1 < len(r); i++ {
		a += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return a / 2
}

// check refuses duplicate IDs and malformed geometry, so that a mistake in
// the tables above fails here rather than when noflyd loads the file.
func check(fs []Feature) error {
	seen := map[string]bool{}
	for i, f := range fs {
		p := f.Properties
		if p.ID == "" || seen[p.ID] {
			return fmt.Errorf("feature %d: empty or duplicate id %q", i, p.ID)
		}
		seen[p.ID] = true
		switch f.Geometry.Type {
		case "Point":
			if p.RadiusM <= 0 {
				return fmt.Errorf("feature %d (%s): circle without radius_m", i, p.ID)
			}
		case "Polygon", "MultiPolygon":
			if p.RadiusM != 0 {
				return fmt.Errorf("feature %d (%s): radius_m on a polygon", i, p.ID)
			}
		}
	}
	return nil
}

// encode writes the collection with one feature per line, so that diffs of
// the generated file stay readable.
func encode(fs []Feature) ([]byte, error) {
	var b bytes.Buffer
	name, err := json.Marshal("nofly sample zones for the Netherlands (SAMPLE, NOT legal airspace data)")
	if err != nil {
		return nil, err
	}
	desc, err := json.Marshal("A SAMPLE zone set for developing and demonstrating nofly. It is NOT legal airspace data " +
		"and must not be used to plan real flights. Aerodrome and heliport positions come from OurAirports " +
		"(public domain, 2016 extract); the outlines, radii, height limits, schedules and messages are " +
		"illustrative. Regenerate with `go run ./data/gen`.")
	if err != nil {
		return nil, err
	}
	b.WriteString(`{"type":"FeatureCollection","name":`)
	b.Write(name)
	b.WriteString(`,"description":`)
	b.Write(desc)
	b.WriteString(`,"features":[` + "\n")
	for i, f := range fs {
		line, err := json.Marshal(f)
		if err != nil {
			return nil, err
		}
		b.Write(line)
		if i < len(fs)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]}\n")
	return b.Bytes(), nil
}
