package mapview

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
)

// The SVG picture is written with html/template from the standard
// library: the markup stays readable in one template, and every text that
// comes from zone data (names, messages) is escaped by its context without
// a call to forget. A drawing library would add a dependency for the few
// elements used here (paths, lines, circles, text, patterns).

// Picture size in SVG user units (pixels): the map on the left, the
// legend on the right, the title above.
const (
	svgW          = 1100.0
	mapX0, mapX1  = 10.0, 770.0
	mapH          = 684.0 // the map's height; above it the title and its lines
	legendX       = 785.0
	earthRadius   = 6378137.0 // Web Mercator sphere, metres
	svgSimplifyPx = 0.4       // simplification tolerance, in pixels
	svgLabelLimit = 40        // label every zone when no more are drawn
)

// merc projects lon/lat degrees to Web Mercator metres (y north).
func merc(p orb.Point) (float64, float64) {
	lat := math.Max(math.Min(p[1], 85.05), -85.05)
	return earthRadius * p[0] * math.Pi / 180, earthRadius * math.Log(math.Tan(math.Pi/4+lat*math.Pi/360))
}

// projection maps lon/lat to picture coordinates.
type projection struct {
	s      float64 // picture units per Mercator metre
	cx, cy float64 // Mercator centre
	mx, my float64 // picture centre
}

func newProjection(b orb.Bound, mapY0, mapY1 float64) projection {
	x0, y0 := merc(b.Min)
	x1, y1 := merc(b.Max)
	s := math.Min((mapX1-mapX0)/math.Max(x1-x0, 1), (mapY1-mapY0)/math.Max(y1-y0, 1))
	return projection{s: s, cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, mx: (mapX0 + mapX1) / 2, my: (mapY0 + mapY1) / 2}
}

func (pr projection) xy(p orb.Point) (float64, float64) {
	x, y := merc(p)
	return pr.mx + (x-pr.cx)*pr.s, pr.my - (y-pr.cy)*pr.s
}

// metresPerUnit is the ground distance of one picture unit at latitude
// lat.
func (pr projection) metresPerUnit(lat float64) float64 {
	return math.Cos(lat*math.Pi/180) / pr.s
}

func num(x float64) string {
	x = math.Round(x*10) / 10
	if x == 0 {
		x = 0 // no "-0"
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// pathD writes rings or lines as SVG path data; closed adds Z.
func (pr projection) pathD(lines []orb.Ring, closed bool) string {
	var b strings.Builder
	for _, l := range lines {
		px, py := math.NaN(), math.NaN()
		for i, p := range l {
			x, y := pr.xy(p)
			x, y = math.Round(x*10)/10, math.Round(y*10)/10
			if i > 0 && x == px && y == py {
				continue
			}
			if i == 0 {
				b.WriteString("M")
			} else {
				b.WriteString("L")
			}
			b.WriteString(num(x) + " " + num(y))
			px, py = x, y
		}
		if closed && len(l) > 0 {
			b.WriteString("Z")
		}
	}
	return b.String()
}

type svgZone struct {
	ID, Status, D string
	LabelX        string
	LabelY        string
	Label         string
}

type svgText struct {
	X, Y, Text, Class string
}

type svgLegend struct {
	Y      float64
	Kind   string // zone, line, fill
	Status string
	Text   string
	Stroke string
	Dash   string
	Width  string
}

type svgData struct {
	W, H                     string
	MapX, MapY, MapW, MapH   string
	Title                    string
	Lines                    []svgText
	Coast, Border            string
	Zones                    []svgZone
	Exemption                string
	Buffer, Area             string
	Legs                     []svgLeg
	Points                   []svgText // X, Y of waypoints
	Closest                  []svgClosest
	Legend                   []svgLegend
	LegendX, LegendTextX     string
	ScaleX0, ScaleX1, ScaleY string
	ScaleLabel               string
	NorthX, NorthY           string
	Footer                   []svgText
}

type svgLeg struct {
	Kind, D, Title string
}

type svgClosest struct {
	D, X, Y, LX, LY, Label string
}

var svgTemplate = template.Must(template.New("map.svg").Parse(`<svg xmlns="http://www.w3.org/2000/svg" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" font-family="Helvetica, Arial, sans-serif" font-size="12">
<title>{{.Title}}</title>
<defs>
<pattern id="p-conflict" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#f3c4c4"/><line x1="0" y1="0" x2="0" y2="8" stroke="#b00000" stroke-width="3"/></pattern>
<pattern id="p-covered" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#d2ecd2"/><path d="M0 0V8M0 0H8" stroke="#1a7a1a" stroke-width="1.2"/></pattern>
<pattern id="p-advisory" width="7" height="7" patternUnits="userSpaceOnUse"><rect width="7" height="7" fill="#fbe7c2"/><circle cx="3.5" cy="3.5" r="1.3" fill="#b36b00"/></pattern>
<pattern id="p-named" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="#dbe5f5"/><line x1="0" y1="4" x2="8" y2="4" stroke="#1a4fa0" stroke-width="1"/></pattern>
<pattern id="p-near" width="10" height="10" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><rect width="10" height="10" fill="#f6eeee"/><line x1="0" y1="0" x2="0" y2="10" stroke="#8a2a2a" stroke-width="0.6"/></pattern>
<pattern id="p-near-advisory" width="10" height="10" patternUnits="userSpaceOnUse"><rect width="10" height="10" fill="#f8f4e6"/><circle cx="5" cy="5" r="0.8" fill="#8a6a2a"/></pattern>
<clipPath id="mapclip"><rect x="{{.MapX}}" y="{{.MapY}}" width="{{.MapW}}" height="{{.MapH}}"/></clipPath>
</defs>
<rect width="{{.W}}" height="{{.H}}" fill="#fff"/>
<text x="10" y="24" font-size="17" font-weight="bold">{{.Title}}</text>
{{range .Lines}}<text x="{{.X}}" y="{{.Y}}" class="{{.Class}}"{{if eq .Class "note"}} fill="#7a4d00"{{end}}>{{.Text}}</text>
{{end}}<g clip-path="url(#mapclip)">
<rect x="{{.MapX}}" y="{{.MapY}}" width="{{.MapW}}" height="{{.MapH}}" fill="#f4f7f9"/>
<path d="{{.Coast}}" fill="none" stroke="#555" stroke-width="1.2"/>
<path d="{{.Border}}" fill="none" stroke="#555" stroke-width="1" stroke-dasharray="5 3"/>
{{range .Zones}}<path class="zone {{.Status}}" data-zone="{{.ID}}" d="{{.D}}" fill="url(#p-{{.Status}})" fill-opacity="0.85" fill-rule="evenodd" {{if eq .Status "conflict"}}stroke="#b00000" stroke-width="2.5"{{else if eq .Status "covered"}}stroke="#1a7a1a" stroke-width="2" stroke-dasharray="10 4"{{else if eq .Status "advisory"}}stroke="#b36b00" stroke-width="1.8" stroke-dasharray="2 3"{{else if eq .Status "named"}}stroke="#1a4fa0" stroke-width="1.8" stroke-dasharray="6 3"{{else if eq .Status "near"}}stroke="#8a2a2a" stroke-width="0.8"{{else}}stroke="#8a6a2a" stroke-width="0.8" stroke-dasharray="2 3"{{end}}/>
{{end}}{{if .Exemption}}<path class="exemption" d="{{.Exemption}}" fill="none" stroke="#1a7a1a" stroke-width="3" stroke-dasharray="12 4 2 4"/>
{{end}}{{if .Buffer}}<path class="buffer" d="{{.Buffer}}" fill="#1f4e99" fill-opacity="0.18" fill-rule="nonzero" stroke="none"/>
{{end}}{{if .Area}}<path class="area" d="{{.Area}}" fill="#1f4e99" fill-opacity="0.1" stroke="#1f4e99" stroke-width="2.5"/>
{{end}}{{range .Legs}}<path class="leg {{.Kind}}" d="{{.D}}" fill="none" {{if eq .Kind "conflict"}}stroke="#d00000" stroke-width="6" stroke-dasharray="12 6"{{else if eq .Kind "covered"}}stroke="#1a7a1a" stroke-width="5" stroke-dasharray="4 4"{{else}}stroke="#1f4e99" stroke-width="4"{{end}}><title>{{.Title}}</title></path>
{{end}}{{range .Points}}<circle class="{{.Class}}" cx="{{.X}}" cy="{{.Y}}" r="{{if eq .Class "position"}}6{{else}}3.5{{end}}" fill="#fff" stroke="#000" stroke-width="2"><title>{{.Text}}</title></circle>
{{end}}{{range .Closest}}<path class="closest" d="{{.D}}" stroke="#000" stroke-width="1.5" stroke-dasharray="3 3"/><circle cx="{{.X}}" cy="{{.Y}}" r="3" fill="#000"/><text x="{{.LX}}" y="{{.LY}}" font-size="11" stroke="#fff" stroke-width="3" paint-order="stroke">{{.Label}}</text>
{{end}}{{range .Zones}}{{if .Label}}<text class="label" x="{{.LabelX}}" y="{{.LabelY}}" font-size="11" stroke="#fff" stroke-width="3" paint-order="stroke"{{if eq .Status "conflict"}} font-weight="bold"{{end}}>{{.Label}}</text>
{{end}}{{end}}<g class="scale"><rect x="{{.ScaleX0}}" y="{{.ScaleY}}" width="4" height="1" fill="none"/><path d="M{{.ScaleX0}} {{.ScaleY}}v-6M{{.ScaleX0}} {{.ScaleY}}H{{.ScaleX1}}v-6" fill="none" stroke="#000" stroke-width="2"/><text x="{{.ScaleX0}}" y="{{.ScaleY}}" dx="4" dy="-9" font-size="11">{{.ScaleLabel}}</text></g>
<g class="north" transform="translate({{.NorthX}} {{.NorthY}})"><path d="M0 -22L8 2L0 -4L-8 2Z" fill="#000"/><text x="0" y="18" text-anchor="middle" font-weight="bold">N</text></g>
</g>
<rect x="{{.MapX}}" y="{{.MapY}}" width="{{.MapW}}" height="{{.MapH}}" fill="none" stroke="#333"/>
<g class="legend"><text x="{{.LegendX}}" y="{{.MapY}}" dy="12" font-weight="bold">Legend</text>
{{range .Legend}}{{if eq .Kind "zone"}}<rect x="{{$.LegendX}}" y="{{.Y}}" width="30" height="14" fill="url(#p-{{.Status}})" {{if eq .Status "conflict"}}stroke="#b00000" stroke-width="2.5"{{else if eq .Status "covered"}}stroke="#1a7a1a" stroke-width="2" stroke-dasharray="10 4"{{else if eq .Status "advisory"}}stroke="#b36b00" stroke-width="1.8" stroke-dasharray="2 3"{{else if eq .Status "named"}}stroke="#1a4fa0" stroke-width="1.8" stroke-dasharray="6 3"{{else if eq .Status "near"}}stroke="#8a2a2a" stroke-width="0.8"{{else}}stroke="#8a6a2a" stroke-width="0.8" stroke-dasharray="2 3"{{end}}/>{{else if eq .Kind "fill"}}<rect x="{{$.LegendX}}" y="{{.Y}}" width="30" height="14" fill="#1f4e99" fill-opacity="0.18"/>{{else}}<path d="M{{$.LegendX}} {{.Y}}m0 7h30" stroke="{{.Stroke}}" stroke-width="{{.Width}}"{{if .Dash}} stroke-dasharray="{{.Dash}}"{{end}}/>{{end}}<text x="{{$.LegendTextX}}" y="{{.Y}}" dy="11">{{.Text}}</text>
{{end}}</g>
{{range .Footer}}<text x="{{.X}}" y="{{.Y}}" font-size="10" fill="#444">{{.Text}}</text>
{{end}}</svg>
`))

// WriteSVG writes m as an SVG picture in Web Mercator.
func WriteSVG(w io.Writer, m *Map) error {
	view := m.view()
	mapY0 := 42 + 15*float64(len(m.Lines))
	mapY1 := mapY0 + mapH
	svgH := mapY1 + 10
	pr := newProjection(view, mapY0, mapY1)
	d := svgData{
		W: num(svgW), H: num(svgH), MapX: num(mapX0), MapY: num(mapY0), MapW: num(mapX1 - mapX0), MapH: num(mapY1 - mapY0),
		Title: m.Title, LegendX: num(legendX), LegendTextX: num(legendX + 38),
	}
	y := 42.0
	for _, l := range m.Lines {
		d.Lines = append(d.Lines, svgText{X: "10", Y: num(y), Text: l})
		y += 15
	}
	// The picture's extent in lon/lat, for the base map and labels.
	tl, br := pr.lonlat(mapX0, mapY0), pr.lonlat(mapX1, mapY1)
	shown := orb.Bound{Min: orb.Point{tl[0], br[1]}, Max: orb.Point{br[0], tl[1]}}
	arcs, err := basemapNear(shown.Pad(0.5))
	if err != nil {
		return err
	}
	var coast, border []orb.Ring
	for _, a := range arcs {
		if a.border {
			border = append(border, orb.Ring(a.pts))
		} else {
			coast = append(coast, orb.Ring(a.pts))
		}
	}
	d.Coast, d.Border = pr.pathD(coast, false), pr.pathD(border, false)

	// Simplify to under half a picture unit: invisible at this scale.
	tol := svgSimplifyPx * pr.metresPerUnit(shown.Center()[1])
	named := map[string]bool{}
	if m.Exemption != nil {
		for _, id := range m.Exemption.ZoneIDs {
			named[id] = true
		}
	}
	order := map[string]int{statusNearAdv: 0, statusNear: 1, statusNamed: 2, statusAdvisory: 3, statusCovered: 4, statusConflict: 5}
	seen := map[string]bool{}
	var zones []svgZone
	for _, z := range m.Zones {
		var rings []orb.Ring
		for _, s := range z.Shapes {
			for _, r := range s {
				rings = append(rings, simplifyRing(r, tol))
			}
		}
		if !ringsMeet(rings, shown) {
			continue
		}
		sz := svgZone{ID: z.ID, Status: z.status(named), D: pr.pathD(rings, true)}
		seen[sz.Status] = true
		if z.Hit != nil || len(m.Zones) <= svgLabelLimit {
			if p, ok := m.labelAt(&z, shown); ok {
				x, y := pr.xy(p)
				sz.LabelX, sz.LabelY, sz.Label = num(x+8), num(y+15), z.ID+" · "+z.Heights
			}
		}
		zones = append(zones, sz)
	}
	// Zones met on top, then by id: a stable picture.
	sortZones(zones, order)
	d.Zones = zones

	var exRings []orb.Ring
	for _, ex := range m.exemptions() {
		exRings = append(exRings, ex.rings()...)
	}
	d.Exemption = pr.pathD(exRings, true)
	if f := m.Flight; f != nil {
		if f.Buffer > 0 {
			d.Buffer = pr.pathD(f.flightRings(), true)
		}
		switch {
		case f.Radius > 0 && len(f.Path) > 0:
			d.Area = pr.pathD([]orb.Ring{geo.CircleOutline(f.Path[0], f.Radius, 96)}, true)
		case len(f.Area) > 0:
			d.Area = pr.pathD(f.Area, true)
		default:
			for i := 0; i+1 < len(f.Path); i++ {
				k := f.legKind(i)
				title := fmt.Sprintf("leg %d", i)
				if k == "conflict" {
					title += ": meets a blocking zone, not covered"
				} else if k == "covered" {
					title += ": covered by an exemption"
				}
				d.Legs = append(d.Legs, svgLeg{Kind: k, D: pr.pathD([]orb.Ring{{f.Path[i], f.Path[i+1]}}, false), Title: title})
			}
			for i, p := range f.Path {
				x, y := pr.xy(p)
				t := svgText{X: num(x), Y: num(y), Class: "waypoint", Text: fmt.Sprintf("waypoint %d", i)}
				if len(f.Path) == 1 {
					t.Class, t.Text = "position", "position"
				}
				d.Points = append(d.Points, t)
			}
		}
	}
	for _, c := range m.closest() {
		x, y := pr.xy(c.q)
		d.Closest = append(d.Closest, svgClosest{
			D: pr.pathD([]orb.Ring{{c.p, c.q}}, false), X: num(x), Y: num(y), LX: num(x + 6), LY: num(y - 6),
			Label: fmtDistance(c.metres) + " to " + c.zone,
		})
	}

	// Legend.
	ly := mapY0 + 24
	addLegend := func(l svgLegend) {
		l.Y = ly
		d.Legend = append(d.Legend, l)
		ly += 22
	}
	for _, l := range legend {
		if seen[l.status] {
			addLegend(svgLegend{Kind: "zone", Status: l.status, Text: m.legendText(l.status, l.text)})
		}
	}
	if f := m.Flight; f != nil {
		kinds := map[string]bool{}
		for _, l := range d.Legs {
			kinds[l.Kind] = true
		}
		if len(d.Legs) > 0 {
			addLegend(svgLegend{Kind: "line", Stroke: "#1f4e99", Width: "4", Text: "route leg"})
		}
		if kinds["conflict"] {
			addLegend(svgLegend{Kind: "line", Stroke: "#d00000", Width: "5", Dash: "12 6", Text: "leg meets a blocking zone, not covered"})
		}
		if kinds["covered"] {
			addLegend(svgLegend{Kind: "line", Stroke: "#1a7a1a", Width: "5", Dash: "4 4", Text: "leg covered by an exemption"})
		}
		if d.Area != "" {
			addLegend(svgLegend{Kind: "line", Stroke: "#1f4e99", Width: "2.5", Text: "operating area"})
		}
		if f.Buffer > 0 {
			addLegend(svgLegend{Kind: "fill", Text: "buffer " + fmtMetresShort(f.Buffer) + " m"})
		}
	}
	if len(d.Closest) > 0 {
		addLegend(svgLegend{Kind: "line", Stroke: "#000", Width: "1.5", Dash: "3 3", Text: "closest approach (as checked)"})
	}
	if d.Exemption != "" {
		addLegend(svgLegend{Kind: "line", Stroke: "#1a7a1a", Width: "3", Dash: "12 4 2 4", Text: "exemption area"})
	}
	addLegend(svgLegend{Kind: "line", Stroke: "#555", Width: "1.2", Text: "coastline"})
	addLegend(svgLegend{Kind: "line", Stroke: "#555", Width: "1", Dash: "5 3", Text: "border"})

	// Scale bar: a round distance near a fifth of the map's width.
	mpu := pr.metresPerUnit(shown.Center()[1])
	dist := niceDistance((mapX1 - mapX0) / 5 * mpu)
	sx0, sy := mapX0+16, mapY1-16
	d.ScaleX0, d.ScaleX1, d.ScaleY = num(sx0), num(sx0+dist/mpu), num(sy)
	d.ScaleLabel = fmtDistance(dist)
	d.NorthX, d.NorthY = num(mapX1-24), num(mapY0+34)

	fy := mapY1 - 60.0
	for _, t := range []string{
		"Web Mercator; north is up.",
		"Outlines: Natural Earth (public domain).",
		"Shapes drawn simplified to under half a",
		"pixel; checks use the zones as loaded.",
	} {
		d.Footer = append(d.Footer, svgText{X: num(legendX), Y: num(fy), Text: t})
		fy += 13
	}
	return svgTemplate.Execute(w, d)
}

func (pr projection) lonlat(x, y float64) orb.Point {
	mx := pr.cx + (x-pr.mx)/pr.s
	my := pr.cy - (y-pr.my)/pr.s
	return orb.Point{mx / earthRadius * 180 / math.Pi, (2*math.Atan(math.Exp(my/earthRadius)) - math.Pi/2) * 180 / math.Pi}
}

func ringsMeet(rings []orb.Ring, b orb.Bound) bool {
	for _, r := range rings {
		if r.Bound().Intersects(b) {
			return true
		}
	}
	return false
}

// labelPoint is where the label of a zone the flight does not meet goes:
// the vertex of its outlines, within the shown region, nearest the
// region's middle; on the zone's edge, so that a label is never drawn
// where the zone is not. ok is false when no vertex is shown.
func labelPoint(shapes []orb.Polygon, shown orb.Bound) (orb.Point, bool) {
	c := shown.Center()
	kx := math.Cos(c[1] * math.Pi / 180)
	var best orb.Point
	bestD, found := math.Inf(1), false
	for _, s := range shapes {
		for _, r := range s {
			for _, p := range r {
				if !shown.Contains(p) {
					continue
				}
				dx, dy := (p[0]-c[0])*kx, p[1]-c[1]
				if d := dx*dx + dy*dy; d < bestD {
					best, bestD, found = p, d, true
				}
			}
		}
	}
	return best, found
}

func sortZones(z []svgZone, order map[string]int) {
	sort.SliceStable(z, func(i, j int) bool {
		if order[z[i].Status] != order[z[j].Status] {
			return order[z[i].Status] < order[z[j].Status]
		}
		return z[i].ID < z[j].ID
	})
}

// niceDistance rounds m down to 1, 2 or 5 times a power of ten.
func niceDistance(m float64) float64 {
	if m <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(m)))
	for _, k := range []float64{5, 2, 1} {
		if k*p <= m {
			return k * p
		}
	}
	return p
}

func fmtMetresShort(m float64) string { return strconv.FormatFloat(math.Round(m*10)/10, 'f', -1, 64) }
