package geo

import "bytes"

// How a zone file is recognised and read: format detection, shared by the
// two ways of reading a file (whole, and streamed).

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// readBytes reads a whole zone file. It returns the zones it could read
// along with every problem; callers refuse the zones when there are
// problems.
func readBytes(data []byte, name string) ([]Zone, []Problem) {
	if isKMZ(data) || isKML(data) {
		return readBytesWith(data, name, nil)
	}
	base := 0
	if bytes.HasPrefix(data, utf8BOM) {
		base = len(utf8BOM)
	}
	if zones, ok := readFast(data[base:], name); ok {
		return zones, nil
	}
	return readWhole(data, base, name)
}

// Two ways read a file, and both detect its format with detectLayout:
// readWhole, the reference, parses the whole file into one tree and reports
// every problem; readFast streams the array that holds the zones and keeps
// only one zone's tree in memory at a time, but gives up on anything that is
// not a valid file laid out as real files are. Both give the same zones
// (TestReadFastMatches, FuzzReadFastMatches).

// layout is how a zone file holds its zones.
type layout uint8

const (
	layoutNone          layout = iota // not a zone file
	layoutED269Array                  // a bare array of ED-269 zones
	layoutED269List                   // {"UASZoneList": [zones]}
	layoutED269Features               // {"features": [zones]} of ED-269 zones, not GeoJSON Features
	layoutCollection                  // a GeoJSON FeatureCollection: ED-318 or nofly, by its features
	layoutFeature                     // a single GeoJSON Feature
)

// zoneList is the member of the top-level object that holds the zones in
// layout l; "" for the document itself or a single Feature.
func (l layout) zoneList() string {
	switch l {
	case layoutED269List:
		return "UASZoneList"
	case layoutED269Features, layoutCollection:
		return "features"
	}
	return ""
}

// detectLayout recognises how root holds its zones (docs/zones.md,
// "Detection"):
//   - a JSON array, or an object with "UASZoneList": ED-269;
//   - an object with a "features" array whose items look like ED-269 zones
//     (see looksED269), unless its "type" is "FeatureCollection": ED-269;
//   - an object with "features", or with "type": "Feature": GeoJSON,
//     whose features then say ED-318 or nofly (see ed318Marker).
//
// items says that the answer depended on the items of root's "features"
// (which a streamed root does not hold). For a root that is not a zone
// file it returns layoutNone and the problem: the member and the message.
func detectLayout(root *jvalue) (l layout, items bool, field, problem string) {
	switch root.kind {
	case jArray:
		return layoutED269Array, false, "", ""
	case jObject:
	default:
		return layoutNone, false, "", "not a zone file: want a GeoJSON FeatureCollection, an ED-269 zone list or an array of ED-269 zones, got " + root.kind.String()
	}
	if l := root.get("UASZoneList"); l.kind != jAbsent {
		if l.kind != jArray {
			return layoutNone, false, "UASZoneList", "want an array of ED-269 zones, got " + l.describe()
		}
		return layoutED269List, false, "", ""
	}
	typ := root.get("type")
	collection := typ.kind == jString && typ.str == "FeatureCollection"
	feats := root.get("features")
	switch {
	case typ.kind == jString && typ.str == "Feature":
		return layoutFeature, false, "", ""
	case feats.kind == jArray && collection:
		return layoutCollection, false, "", ""
	case feats.kind == jArray && looksED269(feats.kids):
		return layoutED269Features, true, "", ""
	case feats.kind == jArray:
		return layoutCollection, true, "", ""
	case feats.kind != jAbsent:
		return layoutNone, false, "features", "want an array of features, got " + feats.describe()
	}
	return layoutNone, false, "", "not a zone file: want a GeoJSON FeatureCollection (with \"features\"), an ED-269 \"UASZoneList\" or an array of ED-269 zones"
}

// readWhole reads the zone file data, whose JSON starts at byte base, as one
// tree: the reference way, which reports every problem.
func readWhole(data []byte, base int, name string) ([]Zone, []Problem) {
	root, perr := parseJSON(data[base:])
	if perr != nil {
		return nil, []Problem{{File: name, Feature: -1, Msg: syntaxProblemMsg(data, base, perr)}}
	}
	r := &fileReader{file: name, lines: lineIndex{data: data[base:]}}
	r.read(&root)
	r.checkDuplicates()
	return r.zones, r.probs
}

// readFast reads a valid zone file laid out as real files are, keeping
// only one feature's JSON tree in memory at a time: a layout that
// detectLayout recognises from the members before the zones' array (a bare
// array of ED-269 zones, an object with a "UASZoneList" array, a
// FeatureCollection whose "type" comes before its "features"). For anything
// else (a problem in any zone, invalid JSON, another layout, or a layout
// that the whole document does not confirm) it returns ok false, and
// readBytes reads the file again the reference way.
func readFast(data []byte, name string) (zones []Zone, ok bool) {
	r := &fileReader{file: name, lines: lineIndex{data: data}}
	n := 0 // zones streamed
	ed269 := func(i int, v *jvalue) bool {
		r.zone(i).readED269(v)
		n++
		return len(r.probs) == 0
	}
	geoJSON := func(i int, v *jvalue) bool {
		one := []jmember{{val: *v}}
		switch {
		case i == 0 && ed318Marker(one) != "":
			r.format = FormatED318
		case i == 0:
			r.format = FormatNofly
		case r.format == FormatNofly && ed318Marker(one) != "":
			return false // the file is ED-318 after all
		}
		if r.format == FormatED318 {
			r.zone(i).readED318(v, "")
		} else {
			r.zone(i).readNofly(v)
		}
		n++
		return len(r.probs) == 0
	}
	streamed := layoutNone
	root, perr := streamJSON(data, func(partial *jvalue, key string) func(int, *jvalue) bool {
		l, items, _, _ := detectLayout(partial)
		if streamed != layoutNone || items || l.zoneList() != key || l == layoutFeature {
			return nil // a tree, which the whole root's layout must then confirm
		}
		streamed = l
		// Room for every zone up front (counting a marker each zone has
		// once takes a few milliseconds; growing the slice, tens).
		marker := `Feature"`
		if l != layoutCollection {
			marker = `identifier"`
		}
		r.zones = make([]Zone, 0, min(bytes.Count(data, []byte(marker)), len(data)/64))
		if l == layoutCollection {
			return geoJSON
		}
		r.format = FormatED269
		return ed269
	})
	if perr != nil || streamed == layoutNone || n == 0 || root.dup {
		return nil, false
	}
	if l, _, _, _ := detectLayout(&root); l != streamed {
		return nil, false // a later member changes what the file is
	}
	if r.format == FormatED318 {
		r.checkED318Metadata(&root)
	}
	r.checkDuplicates()
	if len(r.probs) > 0 {
		return nil, false
	}
	return r.zones, true
}

// fileReader reads the zones of one file.
type fileReader struct {
	file   string
	format string
	lines  lineIndex
	zones  []Zone
	probs  []Problem
	zr     zoneReader
}

func (r *fileReader) fileProblem(field, msg string) {
	r.probs = append(r.probs, Problem{File: r.file, Feature: -1, Field: field, Msg: msg})
}

// read reads the zones of root in the layout detectLayout finds.
func (r *fileReader) read(root *jvalue) {
	l, _, field, problem := detectLayout(root)
	if root.kind == jObject && root.dup {
		r.fileProblem(dupKey(root.kids), "member given more than once")
	}
	switch l {
	case layoutNone:
		r.fileProblem(field, problem)
	case layoutED269Array:
		r.format = FormatED269
		r.readED269(root.kids)
	case layoutED269List, layoutED269Features:
		r.format = FormatED269
		r.readED269(root.get(l.zoneList()).kids)
	case layoutFeature:
		r.readGeoJSON(root, []jmember{{val: *root}})
	case layoutCollection:
		if typ := root.get("type"); typ.kind != jAbsent && (typ.kind != jString || typ.str != "FeatureCollection") {
			r.fileProblem("type", `want "FeatureCollection", got `+typ.describe())
		}
		r.readGeoJSON(root, root.get("features").kids)
	}
}

// looksED269 reports whether items are ED-269 zones rather than GeoJSON
// Features: none says "type": "Feature", and some have an identifier or a
// geometry array.
func looksED269(items []jmember) bool {
	ed := false
	for i := range items {
		it := &items[i].val
		if t := it.get("type"); t.kind == jString && t.str == "Feature" {
			return false
		}
		if it.get("identifier").kind != jAbsent || it.get("geometry").kind == jArray {
			ed = true
		}
	}
	return ed
}

// readGeoJSON reads a FeatureCollection's features as ED-318 or nofly.
func (r *fileReader) readGeoJSON(root *jvalue, feats []jmember) {
	r.zones = make([]Zone, 0, len(feats))
	why := ed318Marker(feats)
	if why == "" {
		r.format = FormatNofly
		for i := range feats {
			r.zone(i).readNofly(&feats[i].val)
		}
		return
	}
	r.format = FormatED318
	r.checkED318Metadata(root)
	for i := range feats {
		r.zone(i).readED318(&feats[i].val, why)
	}
}
