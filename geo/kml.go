package geo

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// KML and KMZ zone files: each Placemark with a Polygon (or a MultiGeometry
// of them) is a zone. Its properties are its ExtendedData (Data/value and
// SchemaData/SimpleData), read through a mapping like a GeoJSON feature's;
// the Placemark's <name>, <description> and id attribute stand in for
// properties "name", "description" and "id" when ExtendedData does not
// give them. Without a mapping, defaultKMLMapping reads nofly's own
// property names. docs/zones.md ("KML and KMZ") has the details.

const (
	// FormatKML is a KML zone file.
	FormatKML = "KML"
	// FormatKMZ is a KMZ (zipped KML) zone file.
	FormatKMZ = "KMZ"
)

// defaultKMLMapping reads a KML whose ExtendedData uses nofly's property
// names (docs/zones.md, "nofly's own schema"), with limits in metres.
const defaultKMLMappingText = `{
  "nofly_mapping": 1,
  "description": "KML with nofly's own property names in ExtendedData",
  "id": {"property": "id"},
  "name": {"property": "name", "optional": true},
  "country": {"property": "country", "optional": true},
  "restriction": {"property": "restriction", "optional": true},
  "message": {"property": "message", "optional": true},
  "exemptions": {"property": "exemptions", "optional": true},
  "lower": {"value": {"property": "lower_m", "optional": true}, "reference": {"property": "lower_ref", "optional": true}},
  "upper": {"value": {"property": "upper_m", "optional": true}, "reference": {"property": "upper_ref", "optional": true}},
  "radius": {"property": "radius_m", "optional": true}
}`

var defaultKMLMapping = func() *Mapping {
	m, err := ParseMapping([]byte(defaultKMLMappingText), "nofly's KML default mapping")
	if err != nil {
		panic(err) // a constant: TestDefaultKMLMapping reads it
	}
	return m
}()

// isKMZ reports whether data is a zip archive.
func isKMZ(data []byte) bool {
	return bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06"))
}

// isKML reports whether data, past a byte order mark and white space,
// starts with '<': XML, which the KML reader reads or refuses.
func isKML(data []byte) bool {
	data = bytes.TrimPrefix(data, utf8BOM)
	data = bytes.TrimLeft(data, " \t\r\n")
	return len(data) > 0 && data[0] == '<'
}

// unpackKMZ returns the KML document of a KMZ archive: the first entry
// whose name ends in .kml (the KML 2.2 rule; conventionally doc.kml),
// unpacked in memory within the bounds a gzip file has (MaxFileSize,
// MaxInflateRatio past InflateSlack).
func unpackKMZ(data []byte) ([]byte, string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, "", fmt.Errorf("kmz: not a readable zip archive: %w", err)
	}
	var doc *zip.File
	for _, f := range zr.File {
		if strings.HasSuffix(strings.ToLower(f.Name), ".kml") && !f.FileInfo().IsDir() {
			doc = f
			break
		}
	}
	if doc == nil {
		return nil, "", errors.New("kmz: the archive holds no .kml file (want doc.kml)")
	}
	if doc.Flags&0x1 != 0 {
		return nil, doc.Name, fmt.Errorf("kmz: %s is encrypted", doc.Name)
	}
	raw, err := doc.OpenRaw()
	if err != nil {
		return nil, doc.Name, fmt.Errorf("kmz: %s: %w", doc.Name, err)
	}
	in := &countingReader{r: raw}
	var src io.Reader
	switch doc.Method {
	case zip.Store:
		src = in
	case zip.Deflate:
		fr := flate.NewReader(in)
		defer fr.Close()
		src = &inflateGuard{r: fr, in: in, what: "kmz"}
	default:
		return nil, doc.Name, fmt.Errorf("kmz: %s: compression method %d: want deflate or none", doc.Name, doc.Method)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(src, MaxFileSize+1)); err != nil {
		var bomb *inflateError
		if errors.As(err, &bomb) {
			return nil, doc.Name, err
		}
		return nil, doc.Name, fmt.Errorf("kmz: %s: %w", doc.Name, err)
	}
	if buf.Len() > MaxFileSize {
		return nil, doc.Name, fmt.Errorf("kmz: %s: larger than %d bytes", doc.Name, MaxFileSize)
	}
	if crc32.ChecksumIEEE(buf.Bytes()) != doc.CRC32 {
		return nil, doc.Name, fmt.Errorf("kmz: %s: checksum mismatch: the archive is damaged", doc.Name)
	}
	return buf.Bytes(), doc.Name, nil
}

// KML elements, as encoding/xml reads them (by local name, in any
// namespace).

type kmlPlacemark struct {
	ID           string        `xml:"id,attr"`
	Name         []string      `xml:"name"`
	Description  []string      `xml:"description"`
	ExtendedData []kmlExtended `xml:"ExtendedData"`
	kmlGeometries
}

type kmlGeometries struct {
	Polygon       []kmlPolygon  `xml:"Polygon"`
	MultiGeometry []kmlMulti    `xml:"MultiGeometry"`
	Point         []kmlPoint    `xml:"Point"`
	LineString    []kmlAnything `xml:"LineString"`
	LinearRing    []kmlAnything `xml:"LinearRing"`
	Model         []kmlAnything `xml:"Model"`
	Track         []kmlAnything `xml:"Track"`
	MultiTrack    []kmlAnything `xml:"MultiTrack"`
}

type kmlMulti struct {
	kmlGeometries
}

type kmlAnything struct{}

type kmlExtended struct {
	Data []struct {
		Name  string   `xml:"name,attr"`
		Value []string `xml:"value"`
	} `xml:"Data"`
	SchemaData []struct {
		SimpleData []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:",chardata"`
		} `xml:"SimpleData"`
	} `xml:"SchemaData"`
}

type kmlPolygon struct {
	Extrude      []string      `xml:"extrude"`
	AltitudeMode []string      `xml:"altitudeMode"`
	Outer        []kmlBoundary `xml:"outerBoundaryIs"`
	Inner        []kmlBoundary `xml:"innerBoundaryIs"`
}

type kmlBoundary struct {
	LinearRing []struct {
		Coordinates []string `xml:"coordinates"`
	} `xml:"LinearRing"`
}

type kmlPoint struct {
	Coordinates []string `xml:"coordinates"`
}

// kmlCounts counts a file's placemarks by what they hold.
type kmlCounts struct {
	placemarks, areas, lines, points int
}

// readKML reads the zones of a KML document through m (nil: the default
// mapping). format is FormatKML or FormatKMZ.
func (r *fileReader) readKML(data []byte, m *Mapping, format string) {
	if m == nil {
		m = defaultKMLMapping
	}
	r.format = format
	if m != defaultKMLMapping {
		r.format = format + " via " + filepath.Base(m.Name)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.Entity = xml.HTMLEntity // &nbsp; and the like, common in descriptions
	d.CharsetReader = kmlCharset
	root := true
	var n kmlCounts
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			line, _ := d.InputPos()
			r.fileProblem("", fmt.Sprintf("invalid XML at line %d: %s", line, xmlErrMsg(err)))
			return
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root {
			root = false
			if se.Name.Local != "kml" {
				r.fileProblem("", fmt.Sprintf("not a KML file: the document's root element is <%s>, want <kml>", se.Name.Local))
				return
			}
			continue
		}
		if se.Name.Local != "Placemark" {
			continue
		}
		line, _ := d.InputPos()
		var pm kmlPlacemark
		if err := d.DecodeElement(&pm, &se); err != nil {
			r.fileProblem("", fmt.Sprintf("invalid XML in the Placemark at line %d: %s", line, xmlErrMsg(err)))
			return
		}
		r.zone(n.placemarks).readPlacemark(m, &pm, line, &n)
		n.placemarks++
	}
	if root {
		r.fileProblem("", "not a KML file: no XML element")
		return
	}
	if n.placemarks > 0 && n.areas == 0 {
		r.probs = r.probs[:0] // one clear problem instead of one per placemark
		r.zones = nil
		r.fileProblem("", fmt.Sprintf("holds no areas: %d Placemarks with %d lines and %d points, and no Polygon; "+
			"a zone is an area (a Polygon, or a MultiGeometry of them). A KML route is a flight plan: nofly plan check reads it",
			n.placemarks, n.lines, n.points))
	}
}

// kmlCharset reads the encodings a KML file may declare besides UTF-8:
// ISO-8859-1 (Latin-1), whose bytes are the first 256 code points.
func kmlCharset(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "iso-8859-1", "iso8859-1", "latin1", "l1":
		b, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		out := make([]rune, len(b))
		for i, c := range b {
			out[i] = rune(c)
		}
		return strings.NewReader(string(out)), nil
	}
	return nil, fmt.Errorf("encoding %q: want UTF-8 or ISO-8859-1", label)
}

func xmlErrMsg(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return se.Msg
	}
	return err.Error()
}

// readPlacemark reads one Placemark as a zone.
func (c *zoneReader) readPlacemark(m *Mapping, pm *kmlPlacemark, line int, n *kmlCounts) {
	c.names = srcNames{volumes: "Placemark", vols: c.names.vols[:0], pers: c.names.pers[:0]}
	props := c.placemarkProps(pm, line)
	lower, upper, vn, radius, hasRadius := c.readMapped(m, mappedProps{v: props, prefix: "ExtendedData."})
	var geoms []kmlPlaced
	flattenKML(&pm.kmlGeometries, "", &geoms)
	lines, points, areas := 0, 0, 0
	for _, g := range geoms {
		switch {
		case g.polygon != nil:
			areas++
			shape, alt, altRef, ok := c.kmlPolygon(g.polygon, g.field)
			if !ok {
				c.reported = append(c.reported, "Placemark") // no volume: say so once
				continue
			}
			v := Volume{Shape: shape, Lower: lower, Upper: upper}
			if upper.Open && alt.ok && m.kmlHeights {
				v.Upper = Limit{Metres: alt.max, Ref: altRef}
			}
			pvn := vn
			pvn.shape, pvn.multi = g.field+".rings", false
			if v.Upper != upper {
				pvn.upper, pvn.upperRef = g.field+".coordinates", g.field+".altitudeMode"
			}
			c.z.Volumes = append(c.z.Volumes, v)
			c.names.vols = append(c.names.vols, pvn)
		case g.point != nil:
			points++
			pt, ok := c.kmlPoint(g.point, g.field)
			if !ok {
				continue
			}
			if !hasRadius {
				if m.radius.from == fromDefault || m.radius.optional {
					c.add(g.field, "a Point is a circle, and the mapping gives it no radius; a zone is an area")
				}
				continue
			}
			areas++
			pvn := vn
			pvn.center = g.field + ".coordinates"
			c.z.Volumes = append(c.z.Volumes, Volume{Shape: Shape{Kind: ShapeCircle, Center: pt, Radius: radius}, Lower: lower, Upper: upper})
			c.names.vols = append(c.names.vols, pvn)
		default:
			lines++
			c.add(g.field, fmt.Sprintf("a %s is not an area: a zone is a Polygon (or a MultiGeometry of them)", g.kind))
		}
	}
	if len(geoms) == 0 {
		c.add("Placemark", "no geometry: want a Polygon or a MultiGeometry of them")
	}
	n.areas += areas
	n.lines += lines
	n.points += points
	c.finish()
}

// placemarkProps gathers a Placemark's properties into an object: its
// ExtendedData, then name, description and id from the Placemark when
// ExtendedData lacks them.
func (c *zoneReader) placemarkProps(pm *kmlPlacemark, line int) *jvalue {
	props := &jvalue{kind: jObject}
	seen := map[string]bool{}
	addProp := func(name, value, field string) {
		if seen[name] {
			c.add(field, fmt.Sprintf("property %q given more than once in the Placemark at line %d", name, line))
			props.dup = true
			return
		}
		seen[name] = true
		props.kids = append(props.kids, jmember{key: name, val: jvalue{kind: jString, str: value}})
	}
	for _, ed := range pm.ExtendedData {
		for _, d := range ed.Data {
			if len(d.Value) != 1 {
				c.add("ExtendedData."+d.Name, fmt.Sprintf("want one <value> in <Data name=%q>, got %d", d.Name, len(d.Value)))
				continue
			}
			addProp(d.Name, strings.TrimSpace(d.Value[0]), "ExtendedData."+d.Name)
		}
		for _, sd := range ed.SchemaData {
			for _, s := range sd.SimpleData {
				addProp(s.Name, strings.TrimSpace(s.Value), "ExtendedData."+s.Name)
			}
		}
	}
	for _, el := range []struct {
		name string
		vals []string
	}{{"name", pm.Name}, {"description", pm.Description}} {
		if len(el.vals) > 1 {
			c.add(el.name, fmt.Sprintf("given %d times in the Placemark at line %d", len(el.vals), line))
		}
		if len(el.vals) > 0 && !seen[el.name] {
			seen[el.name] = true
			props.kids = append(props.kids, jmember{key: el.name, val: jvalue{kind: jString, str: strings.TrimSpace(el.vals[0])}})
		}
	}
	if pm.ID != "" && !seen["id"] {
		props.kids = append(props.kids, jmember{key: "id", val: jvalue{kind: jString, str: pm.ID}})
	}
	return props
}

// kmlPlaced is one geometry of a Placemark, with its field name.
type kmlPlaced struct {
	field   string
	kind    string
	polygon *kmlPolygon
	point   *kmlPoint
}

// flattenKML lists the geometries of g, entering MultiGeometry.
func flattenKML(g *kmlGeometries, prefix string, out *[]kmlPlaced) {
	name := func(kind string, i, n int) string {
		f := prefix + kind
		if n > 1 {
			f = fieldIndex(f, i)
		}
		return f
	}
	for i := range g.Polygon {
		*out = append(*out, kmlPlaced{field: name("Polygon", i, len(g.Polygon)), kind: "Polygon", polygon: &g.Polygon[i]})
	}
	for i := range g.Point {
		*out = append(*out, kmlPlaced{field: name("Point", i, len(g.Point)), kind: "Point", point: &g.Point[i]})
	}
	for _, o := range []struct {
		kind string
		n    int
	}{{"LineString", len(g.LineString)}, {"LinearRing", len(g.LinearRing)}, {"Model", len(g.Model)},
		{"gx:Track", len(g.Track)}, {"gx:MultiTrack", len(g.MultiTrack)}} {
		for i := range o.n {
			*out = append(*out, kmlPlaced{field: name(o.kind, i, o.n), kind: o.kind})
		}
	}
	for i := range g.MultiGeometry {
		flattenKML(&g.MultiGeometry[i].kmlGeometries, name("MultiGeometry", i, len(g.MultiGeometry))+".", out)
	}
}

// kmlAltitude is the highest altitude of a polygon that is extruded from
// the ground, when its altitudeMode gives altitudes meaning.
type kmlAltitude struct {
	max float64
	ok  bool
}

// kmlPolygon reads a Polygon: an outer boundary and any inner ones. When
// the polygon is extruded (extrude 1) with altitudeMode relativeToGround or
// absolute, it reaches from the ground to its coordinates' altitude: alt
// is the highest of them, AGL or AMSL (which readPlacemark uses only when
// the mapping says kml_heights). Other modes, and polygons not extruded,
// say nothing of heights.
func (c *zoneReader) kmlPolygon(p *kmlPolygon, field string) (Shape, kmlAltitude, VerticalRef, bool) {
	n := len(c.r.probs)
	var alt kmlAltitude
	ref := AGL
	mode := "clampToGround"
	switch len(p.AltitudeMode) {
	case 0:
	case 1:
		mode = strings.TrimSpace(p.AltitudeMode[0])
	default:
		c.add(field+".altitudeMode", "given more than once")
	}
	switch mode {
	case "clampToGround", "clampToSeaFloor", "relativeToSeaFloor":
	case "relativeToGround":
	case "absolute":
		ref = AMSL
	default:
		c.add(field+".altitudeMode", fmt.Sprintf("unknown altitudeMode %q: want clampToGround, relativeToGround or absolute", mode))
	}
	extrude := false
	if len(p.Extrude) > 0 {
		switch strings.TrimSpace(p.Extrude[len(p.Extrude)-1]) {
		case "1", "true":
			extrude = true
		case "0", "false":
		default:
			c.add(field+".extrude", fmt.Sprintf("want 0 or 1, got %q", p.Extrude[len(p.Extrude)-1]))
		}
	}
	heights := extrude && (mode == "relativeToGround" || mode == "absolute")
	poly := orb.Polygon{}
	ring := func(b kmlBoundary, bf string) {
		if len(b.LinearRing) != 1 {
			c.add(bf, fmt.Sprintf("want one LinearRing, got %d", len(b.LinearRing)))
		}
		for i, lr := range b.LinearRing {
			rf := bf + ".LinearRing"
			if len(b.LinearRing) > 1 {
				rf = fieldIndex(rf, i)
			}
			if len(lr.Coordinates) != 1 {
				c.add(rf+".coordinates", fmt.Sprintf("want one <coordinates>, got %d", len(lr.Coordinates)))
				continue
			}
			pts, alts, ok := c.kmlCoordinates(lr.Coordinates[0], rf+".coordinates")
			if !ok {
				continue
			}
			poly = append(poly, orb.Ring(pts))
			if heights && len(poly) == 1 {
				for _, a := range alts {
					if !alt.ok || a > alt.max {
						alt = kmlAltitude{max: a, ok: true}
					}
				}
			}
		}
	}
	if len(p.Outer) != 1 {
		c.add(field+".outerBoundaryIs", fmt.Sprintf("want one outer boundary, got %d", len(p.Outer)))
	}
	for _, o := range p.Outer {
		ring(o, field+".outerBoundaryIs")
	}
	for i, in := range p.Inner {
		ring(in, fieldIndex(field+".innerBoundaryIs", i))
	}
	return Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{poly}}, alt, ref, len(c.r.probs) == n
}

// kmlCoordinates reads a KML <coordinates> text: tuples lon,lat[,alt]
// separated by white space. alts holds each tuple's altitude (0 when not
// given).
func (c *zoneReader) kmlCoordinates(text, field string) (pts []orb.Point, alts []float64, ok bool) {
	tuples := strings.Fields(text)
	ok = true
	for i, t := range tuples {
		parts := strings.Split(t, ",")
		if len(parts) < 2 || len(parts) > 3 {
			c.add(fieldIndex(field, i), fmt.Sprintf("want longitude,latitude[,altitude] without spaces inside, got %q", clip(t)))
			ok = false
			continue
		}
		var v [3]float64
		for j, p := range parts {
			f, err := strconv.ParseFloat(p, 64)
			if err != nil || !isFinite(f) {
				c.add(fieldIndex(field, i), fmt.Sprintf("want a number, got %q in %q", clip(p), clip(t)))
				ok = false
				break
			}
			v[j] = f
		}
		pts = append(pts, orb.Point{v[0], v[1]})
		alts = append(alts, v[2])
	}
	return pts, alts, ok
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// kmlPoint reads a Point's position.
func (c *zoneReader) kmlPoint(p *kmlPoint, field string) (orb.Point, bool) {
	if len(p.Coordinates) != 1 {
		c.add(field+".coordinates", fmt.Sprintf("want one <coordinates>, got %d", len(p.Coordinates)))
		return orb.Point{}, false
	}
	pts, _, ok := c.kmlCoordinates(p.Coordinates[0], field+".coordinates")
	if !ok {
		return orb.Point{}, false
	}
	if len(pts) != 1 {
		c.add(field+".coordinates", fmt.Sprintf("want one position, got %d", len(pts)))
		return orb.Point{}, false
	}
	return pts[0], ok
}
