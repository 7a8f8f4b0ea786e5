package mapview

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// Leaflet, vendored from the npm registry by scripts/update-leaflet.sh.
var (
	//go:embed leaflet/leaflet.js
	leafletJS string
	//go:embed leaflet/leaflet.css
	leafletCSS string
	//go:embed leaflet/VERSION
	leafletVersion string
	//go:embed leaflet/LICENSE
	leafletLicense string
	//go:embed map.js
	mapJS string
	//go:embed map.css
	mapCSS string
)

// htmlVertexBudget bounds the zone vertices an HTML map carries: about 20
// bytes each, so that a map of a whole country's zones stays a few
// megabytes and opens in a second.
const htmlVertexBudget = 60_000

// line is a path or ring, written to JSON as [[lon,lat],...] to 6
// decimals (0.1 m).
type line []orb.Point

func (l line) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(l)*22)
	b = append(b, '[')
	for i, p := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = appendCoord(b, p[0])
		b = append(b, ',')
		b = appendCoord(b, p[1])
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

func appendCoord(b []byte, x float64) []byte {
	return strconv.AppendFloat(b, math.Round(x*1e6)/1e6, 'f', -1, 64)
}

type htmlData struct {
	Title      string          `json:"title"`
	Lines      []string        `json:"lines"`
	View       [4]float64      `json:"view"` // west, south, east, north
	Note       string          `json:"note,omitempty"`
	Basemap    []htmlArc       `json:"basemap"`
	Zones      []htmlZone      `json:"zones"`
	Flight     *htmlFlight     `json:"flight,omitempty"`
	Closest    []htmlClosest   `json:"closest,omitempty"`
	Exemptions []htmlExemption `json:"exemptions,omitempty"`
	Legend     []legendItem    `json:"legend"`
	Labels     bool            `json:"labels"` // label every zone drawn
	Canvas     bool            `json:"canvas"` // draw on a canvas: many zones
}

type htmlArc struct {
	Border bool `json:"b,omitempty"`
	C      line `json:"c"`
}

type htmlZone struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Restriction string   `json:"restriction"`
	Status      string   `json:"status"`
	Heights     string   `json:"heights"`
	Schedule    string   `json:"schedule"`
	Message     string   `json:"message,omitempty"`
	Reasons     []string `json:"reasons,omitempty"`
	Shapes      [][]line `json:"shapes"`
	// At is where the zone's label goes, [[lon,lat]]: on the flight where
	// it meets the zone, else the zone's middle.
	At line `json:"at,omitempty"`
	// What the check found.
	Met        bool     `json:"met,omitempty"`
	Distance   string   `json:"distance,omitempty"`
	Legs       string   `json:"legs,omitempty"`
	Band       string   `json:"band,omitempty"`
	When       string   `json:"when,omitempty"`
	CoveredBy  string   `json:"coveredBy,omitempty"`
	NotCovered []string `json:"notCovered,omitempty"`
}

type htmlFlight struct {
	Path   line      `json:"path"`
	Area   []line    `json:"area,omitempty"`
	Buffer []line    `json:"buffer,omitempty"`
	BufM   float64   `json:"bufferM"`
	Legs   []htmlLeg `json:"legs,omitempty"`
	Point  bool      `json:"point"`
}

type htmlLeg struct {
	I    int    `json:"i"`
	Kind string `json:"kind"` // conflict, covered, clear
	C    line   `json:"c"`
}

type htmlClosest struct {
	Zone  string `json:"zone"`
	C     line   `json:"c"`
	Label string `json:"label"`
}

type htmlExemption struct {
	ID    string   `json:"id"`
	Lines []string `json:"lines"`
	Area  []line   `json:"area,omitempty"`
}

type legendItem struct {
	Status string `json:"status"`
	Text   string `json:"text"`
}

// WriteHTML writes m as one HTML file that holds everything it needs.
func WriteHTML(w io.Writer, m *Map) error {
	d, err := buildHTMLData(m)
	if err != nil {
		return err
	}
	data, err := json.Marshal(d) // escapes <, > and &: safe inside <script>
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	// Nothing may leave the building: the browser may load nothing but
	// this file's own inline scripts, styles and data: images.
	b.WriteString("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n", html.EscapeString(m.Title))
	fmt.Fprintf(&b, "<!-- nofly map. Outlines: Natural Earth (public domain). Leaflet %s, under this licence:\n\n%s\n-->\n",
		strings.TrimSpace(leafletVersion), strings.ReplaceAll(leafletLicense, "--", "- -"))
	b.WriteString("<style>\n" + leafletCSS + "\n" + mapCSS + "\n</style>\n</head>\n<body>\n")
	b.WriteString("<div id=\"head\"></div>\n<div id=\"map\"></div>\n")
	b.WriteString("<script>\n" + leafletJS + "\n</script>\n")
	b.WriteString("<script type=\"application/json\" id=\"nofly-data\">")
	b.Write(data)
	b.WriteString("</script>\n<script>\n" + mapJS + "\n</script>\n</body>\n</html>\n")
	_, err = io.WriteString(w, b.String())
	return err
}

func buildHTMLData(m *Map) (*htmlData, error) {
	view := m.view()
	d := &htmlData{Title: m.Title, Lines: m.Lines, View: [4]float64{view.Min[0], view.Min[1], view.Max[0], view.Max[1]}}
	// Outlines for some way around the view, so that zooming out a
	// little still shows where one is.
	w, h := view.Max[0]-view.Min[0], view.Max[1]-view.Min[1]
	pad := math.Min(math.Max(math.Max(w, h)*0.5, 1), 5)
	around := orb.Bound{Min: orb.Point{view.Min[0] - pad, view.Min[1] - pad}, Max: orb.Point{view.Max[0] + pad, view.Max[1] + pad}}
	arcs, err := basemapNear(around)
	if err != nil {
		return nil, err
	}
	for _, a := range arcs {
		d.Basemap = append(d.Basemap, htmlArc{Border: a.border, C: a.pts})
	}
	shapes, tol := simplifyZones(m.Zones, htmlVertexBudget)
	if tol > 0 {
		d.Note = fmt.Sprintf("Zone outlines simplified for display to within %s; checks use the full outlines.", fmtDistance(tol))
	}
	named := map[string]bool{}
	if m.Exemption != nil {
		for _, id := range m.Exemption.ZoneIDs {
			named[id] = true
		}
	}
	seen := map[string]bool{}
	for i, z := range m.Zones {
		hz := htmlZone{ID: z.ID, Name: z.Name, Restriction: z.Restriction, Status: z.status(named),
			Heights: z.Heights, Schedule: z.Schedule, Message: z.Message, Reasons: z.Reasons}
		for _, s := range shapes[i] {
			p := make([]line, len(s))
			for k, r := range s {
				p[k] = line(r)
			}
			hz.Shapes = append(hz.Shapes, p)
		}
		if hit := z.Hit; hit != nil {
			hz.Met, hz.Band, hz.When, hz.CoveredBy, hz.NotCovered = true, hit.Band, hit.When, hit.CoveredBy, hit.NotCovered
			hz.Distance = "inside"
			if !hit.Inside {
				hz.Distance = fmtDistance(hit.Distance) + " away at closest"
			}
			hz.Legs = fmtLegList(hit.Legs)
		}
		if p, ok := m.labelAt(&z, view); ok {
			hz.At = line{p}
		}
		seen[hz.Status] = true
		d.Zones = append(d.Zones, hz)
	}
	d.Labels = len(m.Zones) <= 40
	// A canvas draws a country's zones about twice as fast as SVG
	// elements; below this many zones SVG keeps each zone an element.
	d.Canvas = len(m.Zones) > 300
	if f := m.Flight; f != nil {
		hf := &htmlFlight{Path: f.Path, BufM: f.Buffer, Point: len(f.Path) == 1 && len(f.Area) == 0 && f.Radius == 0}
		for _, r := range f.Area {
			hf.Area = append(hf.Area, line(r))
		}
		if f.Radius > 0 && len(f.Path) > 0 {
			hf.Area = []line{line(geo.CircleOutline(f.Path[0], f.Radius, 96))}
			hf.Path = nil
		}
		if f.Buffer > 0 {
			for _, r := range f.flightRings() {
				hf.Buffer = append(hf.Buffer, line(r))
			}
		}
		if len(f.Area) == 0 && f.Radius == 0 {
			for i := 0; i+1 < len(f.Path); i++ {
				hf.Legs = append(hf.Legs, htmlLeg{I: i, Kind: f.legKind(i), C: line{f.Path[i], f.Path[i+1]}})
			}
		}
		d.Flight = hf
	}
	for _, c := range m.closest() {
		d.Closest = append(d.Closest, htmlClosest{Zone: c.zone, C: line{c.p, c.q}, Label: fmtDistance(c.metres) + " to " + c.zone})
	}
	for _, ex := range m.exemptions() {
		he := htmlExemption{ID: ex.ID, Lines: ex.Lines}
		for _, r := range ex.rings() {
			he.Area = append(he.Area, line(r))
		}
		if len(he.Area) > 0 {
			d.Exemptions = append(d.Exemptions, he)
		}
	}
	for _, l := range legend {
		if seen[l.status] {
			d.Legend = append(d.Legend, legendItem{Status: l.status, Text: m.legendText(l.status, l.text)})
		}
	}
	return d, nil
}

func (f *Flight) legKind(i int) string {
	for _, l := range f.ConflictLegs {
		if l == i {
			return "conflict"
		}
	}
	for _, l := range f.CoveredLegs {
		if l == i {
			return "covered"
		}
	}
	return "clear"
}

// fmtLegList writes leg numbers as ranges: "0-3, 7".
func fmtLegList(legs []int) string {
	var parts []string
	for i := 0; i < len(legs); {
		j := i
		for j+1 < len(legs) && legs[j+1] == legs[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", legs[i], legs[j]))
		} else {
			parts = append(parts, strconv.Itoa(legs[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// labelAt is where a zone's label goes: for a zone a route or position
// meets, the point of the zone closest to it, the middle of the first leg
// in it, or the position; else (and for areas) on the zone's outline, as
// labelPoint says.
func (m *Map) labelAt(z *Zone, view orb.Bound) (orb.Point, bool) {
	if f := m.Flight; f != nil && z.Hit != nil {
		if len(f.Area) > 0 || f.Radius > 0 {
			// Zones inside an area would all be labelled at one point.
			if p, ok := labelPoint(z.Shapes, view); ok {
				return p, true
			}
		}
		if !z.Hit.Inside {
			for _, c := range m.closest() {
				if c.zone == z.ID {
					return c.q, true
				}
			}
		}
		if len(z.Hit.Legs) > 0 && z.Hit.Legs[0]+1 < len(f.Path) {
			i := z.Hit.Legs[0]
			return orb.Point{(f.Path[i][0] + f.Path[i+1][0]) / 2, (f.Path[i][1] + f.Path[i+1][1]) / 2}, true
		}
		if len(f.Path) > 0 {
			return f.Path[0], true
		}
		if len(f.Area) > 0 {
			return f.Area.Bound().Center(), true
		}
	}
	return labelPoint(z.Shapes, view)
}
