package geo

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// Formats of zone files, as Source.Format names them.
const (
	// FormatNofly is nofly's own GeoJSON schema (see docs/zones.md).
	FormatNofly = "nofly"
	// FormatED269 is EUROCAE ED-269 JSON.
	FormatED269 = "ED-269"
	// FormatED318 is EUROCAE ED-318 GeoJSON.
	FormatED318 = "ED-318"
)

// MaxFileSize is the largest zone file read, in bytes after gunzip.
const MaxFileSize = 1 << 30

// Read reads the zones of one zone file from r. name names the file in
// problems and in each zone's Source.File.
//
// The data may be gzip-compressed (recognised by its first two bytes, 1f 8b,
// whatever the name) and may start with a UTF-8 byte order mark. The format
// is recognised from the content:
//   - a JSON array of zones, or an object with a "UASZoneList" array, or with
//     a "features" array whose items are not GeoJSON Features: ED-269;
//   - a GeoJSON FeatureCollection (or a single Feature) in which any feature
//     carries an ED-318 marker (properties.identifier, geometry.layer,
//     geometry.extent, or properties.type holding an ED-318 zone type): ED-318;
//   - any other FeatureCollection or Feature: nofly's own schema.
//
// Read is strict: if any zone is invalid (see Validate) or anything in the
// file cannot be read as its format says, Read returns no zones and a
// *LoadError listing every problem, each with the file, the 0-based feature
// index, the zone ID when known, and the field. Invalid JSON gives one
// problem with its byte offset, line and column. Members a format does not
// use are ignored; a value nofly cannot interpret (an unknown restriction,
// vertical reference, unit or day, an unsupported geometry) is a problem,
// never skipped. Zone IDs must be unique within the file. A file with no
// zones reads as an empty list without error. docs/zones.md describes each
// format's members and how they map to Zone.
func Read(r io.Reader, name string) ([]Zone, error) {
	data, err := readAllMaybeGzip(r, 0)
	if err != nil {
		return nil, &LoadError{Problems: []Problem{{File: name, Feature: -1, Msg: err.Error()}}}
	}
	zones, probs := readBytes(data, name)
	if len(probs) > 0 {
		return nil, &LoadError{Problems: probs}
	}
	return zones, nil
}

// ReadFile reads the zones of the zone file at path, as Read does, naming
// the file by path. It is ReadPaths(path): a directory is read as
// ReadPaths reads one.
func ReadFile(path string) ([]Zone, error) {
	return ReadPaths(path)
}

// ReadPaths reads the zones of every zone file at paths, in order. A path
// may be a file, read whatever its name, or a directory, whose files named
// *.json, *.geojson, *.json.gz or *.geojson.gz are read in name order;
// subdirectories are not entered, and a directory without such files is a
// problem (so that a wrong path cannot load an empty zone set).
//
// Each file is read as Read does. Zone IDs must be unique across all files;
// a duplicate is a problem naming both places. ReadPaths returns every zone
// or, if any file has any problem (including one that cannot be opened),
// no zones and a *LoadError listing every problem of every file. No paths is
// a problem too.
func ReadPaths(paths ...string) ([]Zone, error) {
	return readTree(osTree{}, paths)
}

// ReadFS reads zone files from fsys as ReadPaths does; paths are slash-
// separated fs.FS paths, and no paths means the root ("."). It lets the
// embedded sample set (data.FS) load like files on disk:
//
//	zones, err := geo.ReadFS(data.FS)
func ReadFS(fsys fs.FS, paths ...string) ([]Zone, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	return readTree(fsTree{fsys}, paths)
}

// fileTree is a file system zone files are read from.
type fileTree interface {
	stat(name string) (fs.FileInfo, error)
	readDir(name string) ([]fs.DirEntry, error)
	open(name string) (fs.File, error)
	join(dir, name string) string
}

type osTree struct{}

func (osTree) stat(name string) (fs.FileInfo, error)      { return os.Stat(name) }
func (osTree) readDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }
func (osTree) open(name string) (fs.File, error)          { return os.Open(name) }
func (osTree) join(dir, name string) string               { return filepath.Join(dir, name) }

type fsTree struct{ fsys fs.FS }

func (t fsTree) stat(name string) (fs.FileInfo, error)      { return fs.Stat(t.fsys, name) }
func (t fsTree) readDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(t.fsys, name) }
func (t fsTree) open(name string) (fs.File, error)          { return t.fsys.Open(name) }
func (t fsTree) join(dir, name string) string               { return path.Join(dir, name) }

// zoneFileSuffixes are the names of the files read from a directory.
var zoneFileSuffixes = []string{".json", ".geojson", ".json.gz", ".geojson.gz"}

func isZoneFileName(name string) bool {
	for _, s := range zoneFileSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

func readTree(t fileTree, paths []string) ([]Zone, error) {
	var probs []Problem
	fileProblem := func(file, msg string) { probs = append(probs, Problem{File: file, Feature: -1, Msg: msg}) }
	if len(paths) == 0 {
		fileProblem("", "no zone files given")
	}
	var files []string
	for _, p := range paths {
		fi, err := t.stat(p)
		if err != nil {
			fileProblem(p, errMsg(err, p))
			continue
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := t.readDir(p)
		if err != nil {
			fileProblem(p, errMsg(err, p))
			continue
		}
		n := len(files)
		for _, e := range entries {
			if !e.IsDir() && isZoneFileName(e.Name()) {
				files = append(files, t.join(p, e.Name()))
			}
		}
		if len(files) == n {
			fileProblem(p, "directory holds no zone files (*.json, *.geojson, *.json.gz, *.geojson.gz)")
		}
	}

	var zones []Zone
	for _, name := range files {
		fzones, fprobs := readTreeFile(t, name)
		probs = append(probs, fprobs...)
		if zones == nil {
			zones = fzones // one file: no copy
		} else {
			zones = append(zones, fzones...)
		}
	}
	if len(files) > 1 {
		// Each file's reader applied the rules within the file; now across.
		var dups []Problem
		zones, dups = mergeZones(zones, false)
		probs = append(probs, dups...)
	}
	if len(probs) > 0 {
		return nil, &LoadError{Problems: probs}
	}
	return zones, nil
}

// readTreeFile reads one file; it returns the zones it could read even when
// there are problems, so that duplicates across files are reported too.
func readTreeFile(t fileTree, name string) ([]Zone, []Problem) {
	f, err := t.open(name)
	if err != nil {
		return nil, []Problem{{File: name, Feature: -1, Msg: errMsg(err, name)}}
	}
	defer f.Close()
	size := int64(0)
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	data, err := readAllMaybeGzip(f, size)
	if err != nil {
		return nil, []Problem{{File: name, Feature: -1, Msg: err.Error()}}
	}
	return readBytes(data, name)
}

// errMsg is err's message without the path a Problem already names.
func errMsg(err error, name string) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == name {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

// MaxInflateRatio bounds how much a gzip-compressed zone file may grow as
// it is unpacked: past the first InflateSlack bytes, the data unpacked so
// far may be at most MaxInflateRatio times the compressed bytes read. Zone
// files (coordinates, names) compress 3 to 15 times; a decompression bomb,
// such as 1 GB of zeros in 1 MB, compresses a thousand times, and is
// refused after unpacking InflateSlack bytes rather than the whole of it.
const (
	MaxInflateRatio = 100
	InflateSlack    = 16 << 20
)

// readAllMaybeGzip reads all of r, gunzipping it when it starts with the
// gzip magic bytes, up to MaxFileSize bytes and, when compressed, within
// MaxInflateRatio. size is r's length when known (else 0), so that a large
// file is read into one buffer of the right size.
func readAllMaybeGzip(r io.Reader, size int64) ([]byte, error) {
	in := &countingReader{r: r}
	br := bufio.NewReader(in)
	magic, _ := br.Peek(2)
	var src io.Reader = br
	gz := len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
	if gz {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		src = &inflateGuard{r: zr, in: in}
	}
	var buf bytes.Buffer
	if !gz && size > 0 && size <= MaxFileSize {
		buf.Grow(int(size) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(src, MaxFileSize+1))
	data := buf.Bytes()
	if err != nil {
		var bomb *inflateError
		if errors.As(err, &bomb) {
			return nil, err
		}
		if gz {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxFileSize)
	}
	return data, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// inflateGuard fails a gzip stream, while it is read, once it has grown more
// than MaxInflateRatio times the compressed bytes in has read.
type inflateGuard struct {
	r   io.Reader
	in  *countingReader
	out int64
}

func (g *inflateGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.out += int64(n)
	if g.out > InflateSlack && g.out > MaxInflateRatio*g.in.n {
		return n, &inflateError{out: g.out, in: g.in.n}
	}
	return n, err
}

type inflateError struct{ out, in int64 }

func (e *inflateError) Error() string {
	return fmt.Sprintf("gzip: refused while unpacking: %d compressed bytes unpacked to %d, more than %d times as many "+
		"(zone data compresses far less; this looks like a decompression bomb)", e.in, e.out, MaxInflateRatio)
}

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// readBytes reads a whole zone file. It returns the zones it could read
// along with every problem; callers refuse the zones when there are
// problems.
func readBytes(data []byte, name string) ([]Zone, []Problem) {
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

// zone starts reading the zone at feature index i. The zoneReader is
// reused from one feature to the next.
func (r *fileReader) zone(i int) *zoneReader {
	c := &r.zr
	*c = zoneReader{r: r, feature: i, reported: c.reported[:0],
		names: srcNames{vols: c.names.vols[:0], pers: c.names.pers[:0]}}
	return c
}

// checkDuplicates applies the rules for features that share an identifier
// (see mergeZones) to the zones of the file.
func (r *fileReader) checkDuplicates() {
	var probs []Problem
	r.zones, probs = mergeZones(r.zones, true)
	r.probs = append(r.probs, probs...)
}

// idField names the member that holds a zone's ID in a format.
func idField(format string) string {
	switch format {
	case FormatED269:
		return "identifier"
	case FormatED318:
		return "properties.identifier"
	}
	return "properties.id"
}

// zoneReader reads one zone of a file.
type zoneReader struct {
	r       *fileReader
	feature int
	z       Zone
	names   srcNames
	// lines: texts read now may hold line feeds and tabs (see str).
	lines bool
	// reported lists the fields the reader found problems in, so that
	// validation does not report the same field again.
	reported []string
}

func (c *zoneReader) add(field, msg string) {
	c.reported = append(c.reported, field)
	c.r.probs = append(c.r.probs, Problem{File: c.r.file, Feature: c.feature, ZoneID: c.z.ID, Field: field, Msg: msg})
}

// finish validates the zone and adds it to the file's zones.
func (c *zoneReader) finish() {
	c.z.Source = Source{File: c.r.file, Feature: c.feature, Format: c.r.format}
	c.z.Applicability.Periods = normalizePeriods(c.z.Applicability.Periods)
	validateWith(&c.z, &c.names, func(field, msg string) {
		for _, f := range c.reported {
			if fieldsRelated(f, field) {
				return
			}
		}
		c.r.probs = append(c.r.probs, Problem{File: c.r.file, Feature: c.feature, ZoneID: c.z.ID, Field: field, Msg: msg})
	})
	c.r.zones = append(c.r.zones, c.z)
}

// fieldsRelated reports whether one field is the other or inside it, so that a
// problem found while reading "geometry.coordinates[0][3]" hides what
// validation then finds in "geometry.coordinates[0]".
func fieldsRelated(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return strings.HasPrefix(b, a) && (len(a) == len(b) || b[len(a)] == '.' || b[len(a)] == '[')
}

// normalizePeriods returns nil (permanent) when some period is unbounded and
// has no schedule, since the zone is then always active.
func normalizePeriods(ps []Period) []Period {
	for _, p := range ps {
		if p.Start.IsZero() && p.End.IsZero() && len(p.Schedule) == 0 {
			return nil
		}
	}
	return ps
}

// wrongType reports that v is not of the kind the field wants.
func (c *zoneReader) wrongType(v *jvalue, field, want string) {
	c.add(field, fmt.Sprintf("want %s, got %s (%s)", want, v.describe(), c.r.lines.at(v.off)))
}

// object reports whether v is an object, and a problem when it is present
// but not one (or holds a member twice).
func (c *zoneReader) object(v *jvalue, field string) bool {
	switch v.kind {
	case jObject:
		if v.dup {
			c.add(subField(field, dupKey(v.kids)), "member given more than once")
		}
		return true
	case jAbsent, jNull:
		return false
	}
	c.wrongType(v, field, "an object")
	return false
}

// array returns v's elements; absent or null is none.
func (c *zoneReader) array(v *jvalue, field string) ([]jmember, bool) {
	switch v.kind {
	case jArray:
		return v.kids, true
	case jAbsent, jNull:
		return nil, false
	}
	c.wrongType(v, field, "an array")
	return nil, false
}

// str returns v's text; absent or null is "". A text that is not UTF-8 or
// holds a control character is a problem (see CheckText); line feeds and
// tabs are allowed while c.lines is set.
func (c *zoneReader) str(v *jvalue, field string) string {
	switch v.kind {
	case jString:
		c.checkText(v, field)
		return v.str
	case jAbsent, jNull:
		return ""
	}
	c.wrongType(v, field, "a string")
	return ""
}

// checkText reports a string value that cannot be shown as it is.
func (c *zoneReader) checkText(v *jvalue, field string) {
	if v.badUTF8 {
		c.add(field, fmt.Sprintf("invalid UTF-8 (%s): write the text in UTF-8", c.r.lines.at(v.off)))
		return
	}
	if msg := CheckText(v.str, c.lines); msg != "" {
		c.add(field, msg)
	}
}

// message reads a text that may have several lines: a message or
// conditions, through read.
func (c *zoneReader) message(read func(v *jvalue, field string) string, v *jvalue, field string) string {
	c.lines = true
	defer func() { c.lines = false }()
	return read(v, field)
}

// num returns v's value and whether it is there.
func (c *zoneReader) num(v *jvalue, field string) (float64, bool) {
	switch v.kind {
	case jNumber:
		return v.num, true
	case jAbsent, jNull:
		return 0, false
	}
	c.wrongType(v, field, "a number")
	return 0, false
}

// strList reads an array of strings; a single string reads as a list of one.
func (c *zoneReader) strList(v *jvalue, field string) []string {
	if v.kind == jString {
		return []string{c.str(v, field)}
	}
	elems, _ := c.array(v, field)
	var out []string
	for i := range elems {
		e := &elems[i].val
		if e.kind != jString {
			c.wrongType(e, fieldIndex(field, i), "a string")
			continue
		}
		out = append(out, c.str(e, fieldIndex(field, i)))
	}
	return out
}

// yesNo reads an ED-269 regulationExemption.
func (c *zoneReader) yesNo(v *jvalue, field string) Exemptions {
	s := c.str(v, field)
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "":
		if v.kind == jString {
			c.add(field, `want "YES" or "NO", got an empty string`)
		}
		return ExemptionsUnspecified
	case "YES":
		return ExemptionsAllowed
	case "NO":
		return ExemptionsNotAllowed
	}
	c.add(field, fmt.Sprintf(`want "YES" or "NO", got %q`, s))
	return ExemptionsUnspecified
}

// restriction reads a restriction; absent leaves RestrictionUnknown, which
// validation reports as missing.
func (c *zoneReader) restriction(v *jvalue, field string) Restriction {
	s := c.str(v, field)
	if v.kind != jString {
		return RestrictionUnknown
	}
	r, err := ParseRestriction(s)
	if err != nil {
		c.add(field, err.Error())
	}
	return r
}

// verticalRef reads a vertical reference; absent is RefUnknown.
func (c *zoneReader) verticalRef(v *jvalue, field string) VerticalRef {
	s := c.str(v, field)
	if v.kind != jString {
		return RefUnknown
	}
	ref, err := ParseVerticalRef(s)
	if err != nil {
		c.add(field, err.Error())
	}
	return ref
}

// height reads a limit's value: a number, null (open), or, when strs is
// set (ED-269), a string holding a number. ok is false when there is a
// problem.
func (c *zoneReader) height(v *jvalue, field string, strs bool) (h float64, open, ok bool) {
	switch v.kind {
	case jAbsent, jNull:
		return 0, true, true
	case jNumber:
		return v.num, false, true
	case jString:
		if strs {
			f, err := parseNumberText(v.str)
			if err == nil {
				return f, false, true
			}
			c.add(field, fmt.Sprintf("want a number, got %s (%s)", v.describe(), c.r.lines.at(v.off)))
			return 0, false, false
		}
	}
	c.wrongType(v, field, "a number or null")
	return 0, false, false
}

// parseNumberText reads a number written as text ("0", " 120.5 ").
func parseNumberText(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty")
	}
	v, err := parseJSON([]byte(s))
	if err != nil || v.kind != jNumber {
		return 0, errors.New("not a number")
	}
	return v.num, nil
}

// lengthUnit is a length unit of a source.
type lengthUnit uint8

const (
	unitMetres lengthUnit = iota
	unitFeet
)

func (u lengthUnit) toMetres(v float64) float64 {
	if u == unitFeet {
		return FeetToMetres(v)
	}
	return v
}

// dateTime reads an RFC 3339 date-time; absent or null is the zero time.
func (c *zoneReader) dateTime(v *jvalue, field string) time.Time {
	s := c.str(v, field)
	if v.kind != jString {
		return time.Time{}
	}
	t, err := parseZoneDateTime(s)
	if err != nil {
		c.add(field, err.Error())
	}
	return t
}

// parseZoneDateTime reads an RFC 3339 date-time, with or without fractional
// seconds, into UTC.
func parseZoneDateTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("want an RFC 3339 date-time such as \"2025-06-01T08:00:00Z\", got %q", s)
	}
	return t.UTC(), nil
}

// dayTime is a time of day read from a source.
type dayTime struct {
	sec    int32 // seconds after midnight, 0..86400
	offset int32 // seconds east of UTC
	hasOff bool  // the text gave an offset (or Z)
}

// parseScheduleTime reads a time of day: "HH:MM", "HH:MM:SS" or
// "HH:MM:SS.fff", then optionally "Z" or an offset "+hh:mm"/"-hh:mm". "24:00"
// is allowed only as an end. Fractions of a second round outward: a start
// down, an end up.
func parseScheduleTime(s string, end bool) (dayTime, error) {
	bad := func(why string) (dayTime, error) {
		return dayTime{}, fmt.Errorf(`want a time of day "HH:MM", "HH:MM:SS" or "HH:MM:SS.fff", optionally followed by "Z" or an offset like "+01:00", got %q%s`, s, why)
	}
	two := func(i int) (int, bool) {
		if i+2 > len(s) || s[i] < '0' || s[i] > '9' || s[i+1] < '0' || s[i+1] > '9' {
			return 0, false
		}
		return int(s[i]-'0')*10 + int(s[i+1]-'0'), true
	}
	hh, ok1 := two(0)
	mm, ok2 := two(3)
	if !ok1 || !ok2 || s[2] != ':' {
		return bad("")
	}
	i, ss, frac := 5, 0, false
	if i < len(s) && s[i] == ':' {
		var ok bool
		if ss, ok = two(i + 1); !ok {
			return bad("")
		}
		i += 3
		if i < len(s) && s[i] == '.' {
			i++
			j := i
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				if s[i] != '0' {
					frac = true
				}
				i++
			}
			if i == j {
				return bad("")
			}
		}
	}
	var c dayTime
	if i < len(s) {
		switch s[i] {
		case 'Z', 'z':
			c.hasOff = true
			i++
		case '+', '-':
			oh, ok1 := two(i + 1)
			om, ok2 := two(i + 4)
			if !ok1 || !ok2 || s[i+3] != ':' || oh > 23 || om > 59 {
				return bad("")
			}
			c.hasOff = true
			c.offset = int32(oh*3600 + om*60)
			if s[i] == '-' {
				c.offset = -c.offset
			}
			i += 6
		}
		if i != len(s) {
			return bad("")
		}
	}
	switch {
	case mm > 59 || ss > 59:
		return bad(": minutes and seconds run 00..59")
	case hh == 24 && (mm != 0 || ss != 0 || frac):
		return bad(": 24:00 is the latest time")
	case hh == 24 && !end:
		return bad(": 24:00 can only end a period")
	case hh > 24:
		return bad(": hours run 00..24")
	}
	c.sec = int32(hh*3600 + mm*60 + ss)
	if frac && end {
		c.sec++
	}
	return c, nil
}

// dayNames are the day names of ED-269, ED-318 and nofly.
var dayNames = map[string]Weekdays{
	"SUN": 1 << time.Sunday, "MON": 1 << time.Monday, "TUE": 1 << time.Tuesday, "WED": 1 << time.Wednesday,
	"THU": 1 << time.Thursday, "FRI": 1 << time.Friday, "SAT": 1 << time.Saturday, "ANY": AllDays,
}

// days reads a list of day names (MON..SUN, ANY), case-insensitively.
func (c *zoneReader) days(v *jvalue, field string) Weekdays {
	elems, _ := c.array(v, field)
	var w Weekdays
	for i := range elems {
		e := &elems[i].val
		f := fieldIndex(field, i)
		if e.kind != jString {
			c.wrongType(e, f, "a day name")
			continue
		}
		d, ok := dayNames[strings.ToUpper(strings.TrimSpace(e.str))]
		if !ok {
			c.add(f, fmt.Sprintf("unknown day %q: want MON, TUE, WED, THU, FRI, SAT, SUN or ANY", e.str))
			continue
		}
		w |= d
	}
	return w
}

// dailyPeriod reads the start and end of a daily period: text times in
// startV and endV, or daylight events in startEv and endEv (ED-318). A
// missing start is midnight and a missing end the next midnight, which only
// widens the period. It reports whether either time gave a UTC offset.
func (c *zoneReader) dailyPeriod(d *DailyPeriod, startV, endV *jvalue, startField, endField string, startEv, endEv *jvalue, startEvField, endEvField string) (hasOff bool) {
	d.End = daySeconds
	sc, sOK := c.scheduleTime(startV, startField, false)
	ec, eOK := c.scheduleTime(endV, endField, true)
	if sOK {
		d.Start = sc.sec
	}
	if eOK {
		d.End = ec.sec
	}
	// A daylight event replaces the time beside it (which is still checked).
	if ev := c.daylightEvent(startEv, startEvField); ev != "" {
		d.StartEvent, d.Start, sOK = ev, 0, false
	}
	if ev := c.daylightEvent(endEv, endEvField); ev != "" {
		d.EndEvent, d.End, eOK = ev, daySeconds, false
	}
	switch {
	case sOK && eOK && sc.hasOff && ec.hasOff && sc.offset != ec.offset:
		c.add(endField, fmt.Sprintf("UTC offset %s differs from the start's %s: give both times in one offset", fmtUTCOffset(ec.offset), fmtUTCOffset(sc.offset)))
	case sOK && sc.hasOff:
		d.Offset = sc.offset
	case eOK && ec.hasOff:
		d.Offset = ec.offset
	}
	return (sOK && sc.hasOff) || (eOK && ec.hasOff)
}

// scheduleTime reads a time of day; ok is false when it is absent or wrong.
func (c *zoneReader) scheduleTime(v *jvalue, field string, end bool) (t dayTime, ok bool) {
	s := c.str(v, field)
	if v.kind != jString {
		return t, false
	}
	t, err := parseScheduleTime(s, end)
	if err != nil {
		c.add(field, err.Error())
		return t, false
	}
	return t, true
}

func fmtUTCOffset(s int32) string {
	sign := '+'
	if s < 0 {
		sign, s = '-', -s
	}
	return fmt.Sprintf("%c%02d:%02d", sign, s/3600, s/60%60)
}

// daylightEvent reads an ED-318 daylight event name; absent is "".
func (c *zoneReader) daylightEvent(v *jvalue, field string) string {
	if v == nil {
		return ""
	}
	s := c.str(v, field)
	if v.kind != jString {
		return ""
	}
	e := strings.ToUpper(strings.TrimSpace(s))
	if e == "" || !knownDaylightEvent(e) {
		c.add(field, fmt.Sprintf("unknown daylight event %q: want BMCT, SR, SS or EECT", s))
		return ""
	}
	return e
}

// geoJSONShape reads a GeoJSON Polygon, MultiPolygon or Point (whose circle
// radius the caller sets). It returns ok false, after reporting why, when
// the geometry cannot give a shape.
func (c *zoneReader) geoJSONShape(g *jvalue, field string, allowed string) (s Shape, vn volNames, ok bool) {
	typField := subField(field, "type")
	typ := c.str(g.get("type"), typField)
	cv := g.get("coordinates")
	cf := subField(field, "coordinates")
	vn.shape, vn.center = cf, cf
	if g.get("type").kind == jAbsent {
		c.add(typField, "required: want "+allowed)
		return s, vn, false
	}
	switch typ {
	case "Polygon", "MultiPolygon", "Point":
	default:
		if g.get("type").kind == jString {
			c.add(typField, fmt.Sprintf("unsupported geometry type %q: want %s", typ, allowed))
		}
		return s, vn, false
	}
	if cv.kind != jCoords {
		if cv.kind == jAbsent || cv.kind == jNull {
			c.add(cf, "required")
		} else {
			c.wrongType(cv, cf, "an array")
		}
		return s, vn, false
	}
	n := cv.coords
	switch typ {
	case "Polygon":
		poly, ok := c.polygon(n, cf)
		return Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{poly}}, vn, ok
	case "MultiPolygon":
		vn.multi = true
		if n.bad != "" {
			c.add(cf, n.bad)
			return s, vn, false
		}
		if n.depth == 1 || n.depth == 2 || n.depth == 3 && len(n.kids) > 0 && n.kids[0].depth == 2 {
			c.add(cf, fmt.Sprintf("want an array of polygons (each an array of rings), got %s", depthName(n.depth)))
			return s, vn, false
		}
		mp := make(orb.MultiPolygon, 0, len(n.kids))
		ok := true
		for i := range n.kids {
			poly, pok := c.polygon(&n.kids[i], fieldIndex(cf, i))
			ok = ok && pok
			mp = append(mp, poly)
		}
		return Shape{Kind: ShapePolygon, Polygons: mp}, vn, ok
	}
	// Point
	if n.bad != "" {
		c.add(cf, n.bad)
		return s, vn, false
	}
	if n.depth != 1 {
		c.add(cf, fmt.Sprintf("want a position [longitude, latitude], got %s", depthName(n.depth)))
		return s, vn, false
	}
	return Shape{Kind: ShapeCircle, Center: n.pos}, vn, true
}

// depthName describes a coordinates array of the given depth.
func depthName(depth int) string {
	switch depth {
	case 0:
		return "an empty array"
	case 1:
		return "a position"
	case 2:
		return "an array of positions"
	case 3:
		return "an array of arrays of positions"
	}
	return "arrays nested too deep"
}

// polygon reads a GeoJSON polygon: an array of rings.
func (c *zoneReader) polygon(n *coordNode, field string) (orb.Polygon, bool) {
	if n.bad != "" {
		c.add(field, n.bad)
		return nil, false
	}
	if n.depth == 1 || n.depth == 2 {
		c.add(field, fmt.Sprintf("want a polygon (an array of rings, each an array of positions), got %s", depthName(n.depth)))
		return nil, false
	}
	poly := make(orb.Polygon, 0, len(n.kids))
	ok := true
	for i := range n.kids {
		ring, rok := c.ring(&n.kids[i], field, i)
		ok = ok && rok
		poly = append(poly, ring)
	}
	return poly, ok
}

// ring reads an array of positions, element i of parent.
func (c *zoneReader) ring(n *coordNode, parent string, i int) (orb.Ring, bool) {
	if n.pts != nil && len(n.badPos) == 0 {
		return orb.Ring(n.pts), true
	}
	field := fieldIndex(parent, i)
	if n.bad != "" {
		c.add(field, n.bad)
		return nil, false
	}
	switch {
	case n.depth == 0:
		return orb.Ring{}, true
	case n.depth == 1:
		c.add(field, "want a ring (an array of positions), got a single position")
		return nil, false
	case n.pts != nil:
		for _, b := range n.badPos {
			c.add(fieldIndex(field, b.index), b.msg)
		}
		return orb.Ring(n.pts), len(n.badPos) == 0
	}
	// Read slowly: the first element was not a position.
	ring := make(orb.Ring, 0, len(n.kids))
	ok := true
	for i := range n.kids {
		k := &n.kids[i]
		switch {
		case k.bad != "":
			c.add(fieldIndex(field, i), k.bad)
			ok = false
		case k.depth != 1:
			c.add(fieldIndex(field, i), "want a position [longitude, latitude], got "+depthName(k.depth))
			ok = false
		}
		ring = append(ring, k.pos)
	}
	return ring, ok
}

// position reads a [longitude, latitude] array that is not under a
// "coordinates" member (the ED-269 circle center).
func (c *zoneReader) position(v *jvalue, field string) (orb.Point, bool) {
	elems, ok := c.array(v, field)
	if !ok {
		if v.kind == jAbsent || v.kind == jNull {
			c.add(field, "required: a position [longitude, latitude]")
		}
		return orb.Point{}, false
	}
	if len(elems) < 2 || len(elems) > 3 {
		c.add(field, fmt.Sprintf("position has %d numbers; want [longitude, latitude] or [longitude, latitude, altitude]", len(elems)))
		return orb.Point{}, false
	}
	var pt orb.Point
	for i := range elems {
		e := &elems[i].val
		if e.kind != jNumber {
			c.wrongType(e, fieldIndex(field, i), "a number")
			return orb.Point{}, false
		}
		if i < 2 {
			pt[i] = e.num
		}
	}
	return pt, true
}

// subField returns field.member, or member when field is empty.
func subField(field, member string) string {
	switch field {
	case "":
		return member
	case "geometry":
		// Constant names for what every zone of a large file asks.
		switch member {
		case "type":
			return "geometry.type"
		case "coordinates":
			return "geometry.coordinates"
		}
	}
	return field + "." + member
}
