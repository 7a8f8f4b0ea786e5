package geo

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// kmlDoc wraps placemarks in a KML document.
func kmlDoc(placemarks string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>` + placemarks + `</Document></kml>`
}

const kmlSquare = `<Polygon><outerBoundaryIs><LinearRing><coordinates>5,52 5.1,52 5.1,52.1 5,52.1 5,52</coordinates></LinearRing></outerBoundaryIs></Polygon>`

// TestKMLProblems: what a KML zone file cannot give is a problem naming
// the Placemark (its index as the feature) and the element.
func TestKMLProblems(t *testing.T) {
	pm := func(id, inner string) string {
		return `<Placemark id="` + id + `"><name>Z</name>` + inner + `</Placemark>`
	}
	tests := []struct {
		name, data string
		want       []string
	}{
		{"only lines and points", kmlDoc(pm("R", `<LineString><coordinates>5,52 5.1,52.1</coordinates></LineString>`) + pm("P", `<Point><coordinates>5,52</coordinates></Point>`)),
			[]string{"k.kml: holds no areas: 2 Placemarks with 1 lines and 1 points, and no Polygon", "nofly plan check reads it"}},
		{"a line among areas", kmlDoc(pm("A", kmlSquare) + pm("R", `<LineString><coordinates>5,52 5.1,52.1</coordinates></LineString>`)),
			[]string{"k.kml: feature 1 (R): LineString: a LineString is not an area"}},
		{"no geometry", kmlDoc(pm("A", kmlSquare) + pm("B", "")), []string{"feature 1 (B): Placemark: no geometry"}},
		{"no id", kmlDoc(`<Placemark><name>Z</name>` + kmlSquare + `</Placemark>`),
			[]string{"feature 0: ExtendedData.id: required by the mapping's id (nofly's KML default mapping)"}},
		{"unknown restriction", kmlDoc(pm("A", `<ExtendedData><Data name="restriction"><value>FORBIDDEN</value></Data></ExtendedData>`+kmlSquare)),
			[]string{`feature 0 (A): ExtendedData.restriction: unknown restriction "FORBIDDEN"`}},
		{"height not a number", kmlDoc(pm("A", `<ExtendedData><Data name="upper_m"><value>120 m</value></Data></ExtendedData>`+kmlSquare)),
			[]string{`ExtendedData.upper_m: want a number, got a string ("120 m")`}},
		{"property twice", kmlDoc(pm("A", `<ExtendedData><Data name="upper_m"><value>1</value></Data><Data name="upper_m"><value>2</value></Data></ExtendedData>`+kmlSquare)),
			[]string{`ExtendedData.upper_m: property "upper_m" given more than once in the Placemark at line 2`}},
		{"unknown altitudeMode", kmlDoc(pm("A", strings.Replace(kmlSquare, "<Polygon>", "<Polygon><altitudeMode>floating</altitudeMode>", 1))),
			[]string{`Polygon.altitudeMode: unknown altitudeMode "floating"`}},
		{"ring not closed", kmlDoc(pm("A", strings.Replace(kmlSquare, "5,52.1 5,52<", "5,52.1<", 1))),
			[]string{"feature 0 (A): Polygon.rings[0]: ring not closed: last position [5 52.1] differs from first [5 52]"}},
		{"space in a tuple", kmlDoc(pm("A", strings.Replace(kmlSquare, "5.1,52 ", "5.1, 52 ", 1))),
			[]string{`Polygon.outerBoundaryIs.LinearRing.coordinates[2]: want longitude,latitude[,altitude] without spaces inside, got "52"`}},
		{"coordinate not a number", kmlDoc(pm("A", strings.Replace(kmlSquare, "5.1,52 ", "5.1,NaN ", 1))),
			[]string{`coordinates[1]: want a number, got "NaN"`}},
		{"two outer boundaries", kmlDoc(pm("A", strings.Replace(kmlSquare, "</Polygon>", "<outerBoundaryIs><LinearRing><coordinates>5,52 5.1,52 5.1,52.1 5,52</coordinates></LinearRing></outerBoundaryIs></Polygon>", 1))),
			[]string{"Polygon.outerBoundaryIs: want one outer boundary, got 2"}},
		{"across the antimeridian", kmlDoc(pm("FJ", `<Polygon><outerBoundaryIs><LinearRing><coordinates>179.5,-17 -179.5,-17 -179.5,-16 179.5,-16 179.5,-17</coordinates></LinearRing></outerBoundaryIs></Polygon>`)),
			[]string{"feature 0 (FJ): Polygon.rings[0][0]: edge from position 0 (179.5, -17) to position 1 (-179.5, -17) spans 359° of longitude"}},
		{"zero area", kmlDoc(pm("A", `<Polygon><outerBoundaryIs><LinearRing><coordinates>5,52 5.1,52 5.2,52 5,52</coordinates></LinearRing></outerBoundaryIs></Polygon>`)),
			[]string{"Polygon.rings[0]: ring encloses no area"}},
		{"C1 control character in a name", kmlDoc(`<Placemark id="A"><name>Z&#x9b;2K</name>` + kmlSquare + `</Placemark>`),
			[]string{"ExtendedData.name: control character U+009B (CSI)"}},
		{"escape in a message", kmlDoc(pm("A", "<ExtendedData><Data name=\"message\"><value>fly\u0085free</value></Data></ExtendedData>"+kmlSquare)),
			[]string{"ExtendedData.message: control character U+0085"}},
		{"XML control character", kmlDoc(`<Placemark id="A"><name>Z&#x1b;[2K</name>` + kmlSquare + `</Placemark>`),
			[]string{"k.kml: invalid XML in the Placemark at line 2"}},
		{"unknown encoding", `<?xml version="1.0" encoding="KOI8-R"?><kml/>`, []string{`k.kml: invalid XML at line 1: xml: opening charset "KOI8-R": encoding "KOI8-R": want UTF-8 or ISO-8859-1`}},
		{"Latin-1 with a C1 control", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><kml><Placemark id=\"A\"><name>Stra\xdfe \x9b</name>" + kmlSquare + "</Placemark></kml>",
			[]string{"ExtendedData.name: control character U+009B (CSI)"}},
		{"not KML", `<?xml version="1.0"?><gpx><trk/></gpx>`, []string{"k.kml: not a KML file: the document's root element is <gpx>, want <kml>"}},
		{"broken XML", kmlDoc(`<Placemark id="A"><name>Z</nam>` + kmlSquare + `</Placemark>`), []string{"k.kml: invalid XML in the Placemark at line 2: element <name> closed by </nam>"}},
		{"duplicate", kmlDoc(pm("A", kmlSquare) + pm("A", kmlSquare)), []string{"feature 1 (A): id: duplicate zone ID: also feature 0 of k.kml: the same zone twice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zones, err := Read(strings.NewReader(tc.data), "k.kml")
			if err == nil {
				t.Fatalf("read %d zones, want problems", len(zones))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("want %q in:\n%s", w, err)
				}
			}
		})
	}
}

// TestKMLLatin1 reads a KML in ISO-8859-1 and HTML entities.
func TestKMLLatin1(t *testing.T) {
	data := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<kml><Placemark id=\"A\"><name>Stra\xdfe&nbsp;1</name>" + kmlSquare + "</Placemark></kml>"
	zones, err := Read(strings.NewReader(data), "l.kml")
	if err != nil || zones[0].Name != "Straße\u00a01" {
		t.Fatalf("%v, %+v", err, zones)
	}
}

// TestKMZ reads KMZ archives: deflated and stored, and refuses a damaged
// one, one without a .kml file, and a decompression bomb while unpacking it.
func TestKMZ(t *testing.T) {
	kml, err := os.ReadFile("testdata/mapped/zones.kml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Read(bytes.NewReader(kml), "z")
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []uint16{zip.Deflate, zip.Store} {
		zones, err := Read(bytes.NewReader(kmzOf(t, kml, method)), "z")
		if err != nil || len(zones) != len(want) || zones[0].Source.Format != FormatKMZ {
			t.Errorf("method %d: %d zones, %v", method, len(zones), err)
		}
	}
	damaged := kmzOf(t, kml, zip.Store)
	i := bytes.Index(damaged, []byte("Testpark"))
	damaged[i] = 'X'
	if _, err := Read(bytes.NewReader(damaged), "z.kmz"); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("damaged: %v", err)
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("readme.txt")
	w.Write([]byte("no zones"))
	zw.Close()
	if _, err := Read(bytes.NewReader(b.Bytes()), "z.kmz"); err == nil || !strings.Contains(err.Error(), "z.kmz: kmz: the archive holds no .kml file") {
		t.Errorf("no kml: %v", err)
	}
	// 1 GiB of spaces (valid XML white space) after a KML start: refused
	// once InflateSlack is unpacked at more than MaxInflateRatio.
	b.Reset()
	zw = zip.NewWriter(&b)
	w, _ = zw.Create("doc.kml")
	w.Write([]byte(`<kml>`))
	spaces := bytes.Repeat([]byte{' '}, 1<<20)
	for range 1 << 10 {
		w.Write(spaces)
	}
	zw.Close()
	_, err = Read(bytes.NewReader(b.Bytes()), "bomb.kmz")
	var le *LoadError
	if !errors.As(err, &le) || len(le.Problems) != 1 || !strings.Contains(err.Error(), "bomb.kmz: kmz: refused while unpacking") {
		t.Errorf("bomb: %v", err)
	}
	t.Logf("%d-byte bomb: %v", b.Len(), err)
}

// FuzzReadKML reads any bytes as a KML file: never a panic, and what reads
// without problems is valid zone data.
func FuzzReadKML(f *testing.F) {
	for _, p := range []string{"testdata/mapped/zones.kml", "testdata/mapped/schema.kml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(kmlDoc(`<Placemark id="A"><MultiGeometry><Point><coordinates>1,2</coordinates></Point><MultiGeometry>` + kmlSquare + `</MultiGeometry></MultiGeometry></Placemark>`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !isKML(data) {
			data = append([]byte("<"), data...)
		}
		zones, err := Read(bytes.NewReader(data), "f.kml")
		var probs []Problem
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) || len(le.Problems) == 0 || zones != nil {
				t.Fatalf("error %v with %d zones", err, len(zones))
			}
			probs = le.Problems
		}
		checkRead(t, zones, probs, "f.kml")
	})
}

// FuzzParseMapping parses any bytes as a mapping, and reads the dipul test
// file through what parses: never a panic, and every refusal names the
// mapping.
func FuzzParseMapping(f *testing.F) {
	for _, p := range []string{"../data/mappings/de-dipul.mapping", "../data/mappings/kml-nofly.mapping", "testdata/mapped/schema.mapping"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	data, err := os.ReadFile("../examples/de-dipul-layer.geojson")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMapping(b, "f.mapping")
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) || len(le.Problems) == 0 || m != nil {
				t.Fatalf("error %v, mapping %v", err, m)
			}
			for _, p := range le.Problems {
				if p.File != "f.mapping" || p.Msg == "" {
					t.Fatalf("problem %#v", p)
				}
			}
			return
		}
		zones, err := ReadMapped(bytes.NewReader(data), "d.geojson", m)
		var probs []Problem
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatal(err)
			}
			probs = le.Problems
		}
		checkRead(t, zones, probs, "d.geojson")
	})
}
