package geo

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
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
//   - any other FeatureCollection or Feature: nofly's own schema;
//   - XML (first character '<') or a zip archive: KML or KMZ, each
//     Placemark a zone, its ExtendedData read through the default KML
//     mapping (see Mapping; ReadMapped reads through another).
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
	return readTree(osTree{}, paths, ReadOptions{})
}

// ReadOptions change how ReadPathsWith reads zone files.
type ReadOptions struct {
	// Mapping, when set, reads every GeoJSON and KML file through it (see
	// Mapping) instead of nofly's own schema. A file with a mapping of its
	// own beside it (see ReadPathsWith) is a problem then: one of the two
	// would be ignored.
	Mapping *Mapping
}

// ReadPathsWith reads zone files as ReadPaths does, with opts. Whether or
// not opts gives a mapping, a file NAME.EXT (NAME.EXT.gz) with a file
// NAME.mapping beside it is read through that mapping (ReadMappingFile).
func ReadPathsWith(opts ReadOptions, paths ...string) ([]Zone, error) {
	return readTree(osTree{}, paths, opts)
}

// ReadMapped reads one GeoJSON or KML (KMZ) zone file from r through m, as
// Read reads one without a mapping. A nil m reads as Read does.
func ReadMapped(r io.Reader, name string, m *Mapping) ([]Zone, error) {
	data, err := readAllMaybeGzip(r, 0)
	if err != nil {
		return nil, &LoadError{Problems: []Problem{{File: name, Feature: -1, Msg: err.Error()}}}
	}
	zones, probs := readBytesWith(data, name, m)
	if len(probs) > 0 {
		return nil, &LoadError{Problems: probs}
	}
	return zones, nil
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
	return readTree(fsTree{fsys}, paths, ReadOptions{})
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
var zoneFileSuffixes = []string{".json", ".geojson", ".json.gz", ".geojson.gz", ".kml", ".kmz"}

func isZoneFileName(name string) bool {
	for _, s := range zoneFileSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

func readTree(t fileTree, paths []string, opts ReadOptions) ([]Zone, error) {
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
			fileProblem(p, "directory holds no zone files (*.json, *.geojson, *.json.gz, *.geojson.gz, *.kml, *.kmz)")
		}
		// A mapping that no zone file uses is most likely a renamed data
		// file, which would then be read without it.
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".mapping") {
				continue
			}
			mp := t.join(p, e.Name())
			if !slices.ContainsFunc(files[n:], func(f string) bool { return besideMapping(f) == mp }) {
				fileProblem(mp, "no zone file beside it uses this mapping: name the data "+
					strings.TrimSuffix(e.Name(), ".mapping")+".geojson (or .json, .kml, .kmz, .gz), or move the mapping away")
			}
		}
	}

	var zones []Zone
	for _, name := range files {
		fzones, fprobs := readTreeFile(t, name, opts)
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
func readTreeFile(t fileTree, name string, opts ReadOptions) ([]Zone, []Problem) {
	m := opts.Mapping
	if mp := besideMapping(name); mp != name {
		if fi, err := t.stat(mp); err == nil && !fi.IsDir() {
			if m != nil && filepath.Clean(m.Name) != filepath.Clean(mp) {
				return nil, []Problem{{File: name, Feature: -1, Msg: fmt.Sprintf(
					"has a mapping of its own beside it, %s, and another was given (%s): give one", mp, m.Name)}}
			}
			if m == nil {
				var probs []Problem
				if m, probs = readTreeMapping(t, mp); len(probs) > 0 {
					return nil, probs
				}
			}
		}
	}
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
	return readBytesWith(data, name, m)
}

// besideMapping names the mapping that may lie beside a zone file:
// dir/NAME.mapping for dir/NAME.EXT or dir/NAME.EXT.gz.
func besideMapping(name string) string {
	base := strings.TrimSuffix(name, ".gz")
	if ext := path.Ext(base); ext != "" && !strings.ContainsAny(ext, `/\`) {
		base = strings.TrimSuffix(base, ext)
	}
	return base + ".mapping"
}

// readTreeMapping reads the mapping at name in t.
func readTreeMapping(t fileTree, name string) (*Mapping, []Problem) {
	f, err := t.open(name)
	if err != nil {
		return nil, []Problem{{File: name, Feature: -1, Msg: errMsg(err, name)}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxMappingSize+1))
	if err != nil {
		return nil, []Problem{{File: name, Feature: -1, Msg: errMsg(err, name)}}
	}
	m, err := ParseMapping(data, name)
	if err != nil {
		var le *LoadError
		if errors.As(err, &le) {
			return nil, le.Problems
		}
		return nil, []Problem{{File: name, Feature: -1, Msg: err.Error()}}
	}
	return m, nil
}

// errMsg is err's message without the path a Problem already names.
func errMsg(err error, name string) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == name {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}
