package interuss

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/nofly-project/nofly/geo"
)

// MaxSources bounds the data sources held at once.
const MaxSources = 64

// source is a geospatial data source put through the interface: its zones,
// when they loaded, and its status.
type source struct {
	id     string
	url    string // as given; a second put of the same id must name the same
	status sourceStatus
	idx    *geo.Index // nil unless Ready
}

// sources are the data sources in memory. They last as long as the
// process: the harness loads its test data, queries and deletes it.
type sources struct {
	dir string // --interuss-data-dir, cleaned and resolved; "" allows none

	mu   sync.Mutex
	byID map[string]*source
}

var sourceIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// put loads a data source, or returns the one of that id already put with
// the same URL. Sources nofly does not load are kept as Rejected (or
// Unsupported), so that the harness reads why.
func (s *sources) put(id string, req *createSourceRequest) (sourceStatus, error) {
	if req.HTTPSSource == nil {
		return sourceStatus{}, &RequestError{Field: "https_source", Msg: "required"}
	}
	if req.HTTPSSource.URL == nil || *req.HTTPSSource.URL == "" {
		return sourceStatus{}, &RequestError{Field: "https_source.url", Msg: "required"}
	}
	raw := *req.HTTPSSource.URL
	s.mu.Lock()
	if old, ok := s.byID[id]; ok {
		s.mu.Unlock()
		if old.url != raw {
			return sourceStatus{}, errConflict
		}
		return old.status, nil
	}
	if len(s.byID) >= MaxSources {
		s.mu.Unlock()
		return sourceStatus{}, &RequestError{Field: "geospatial_data_source_id", Msg: fmt.Sprintf("%d data sources held already: delete one first", MaxSources)}
	}
	s.mu.Unlock()

	src := &source{id: id, url: raw, status: sourceStatus{ID: id}}
	if f := req.HTTPSSource.Format; f != nil && *f != "ED-269" {
		src.status.Status, src.status.Message = SourceUnsupported, fmt.Sprintf("format %q: the interface defines ED-269", *f)
	} else if path, why := s.localPath(raw); why != "" {
		src.status.Status, src.status.Message = SourceRejected, why
	} else if idx, why := load(path); why != "" {
		src.status.Status, src.status.Message = SourceRejected, why
	} else {
		src.idx = idx
		src.status.Status = SourceReady
		src.status.Message = fmt.Sprintf("%d zones loaded from %s", idx.Len(), filepath.Base(path))
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byID[id]; ok { // put concurrently
		if old.url != raw {
			return sourceStatus{}, errConflict
		}
		return old.status, nil
	}
	s.byID[id] = src
	return src.status, nil
}

var errConflict = errors.New("a request with this id has already been made to load a different data source")

// localPath is the file a file:// URL names inside the data directory, or
// why nofly will not read it.
func (s *sources) localPath(raw string) (string, string) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Sprintf("url %q does not parse: %v", raw, err)
	}
	switch u.Scheme {
	case "https", "http":
		return "", "nofly makes no outbound connections, so it does not download data sources: put the file in the directory noflyd names with --interuss-data-dir and give its file:// URL"
	case "file":
	default:
		return "", fmt.Sprintf("url scheme %q: nofly loads file:// URLs inside --interuss-data-dir only", u.Scheme)
	}
	if s.dir == "" {
		return "", "noflyd was started without --interuss-data-dir: it loads no data source"
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Sprintf("file URL names host %q: want file:///path", u.Host)
	}
	if !filepath.IsAbs(u.Path) {
		return "", fmt.Sprintf("url %q: want an absolute file:///path", raw)
	}
	p, err := filepath.EvalSymlinks(filepath.Clean(u.Path))
	if err != nil {
		return "", fmt.Sprintf("file %s: %v", u.Path, errors.Unwrap(err))
	}
	rel, err := filepath.Rel(s.dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return "", fmt.Sprintf("file %s is outside the data directory --interuss-data-dir", u.Path)
	}
	return p, ""
}

// load reads a zone file (ED-269, ED-318 or nofly's GeoJSON, as geo
// detects it) with geo's whole validation, or says every problem.
func load(path string) (*geo.Index, string) {
	zones, err := geo.ReadPaths(path)
	if err == nil {
		var idx *geo.Index
		if idx, err = geo.NewIndex(zones); err == nil {
			return idx, ""
		}
	}
	return nil, "zones not loaded: " + err.Error()
}

func (s *sources) get(id string) (sourceStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	src, ok := s.byID[id]
	if !ok {
		return sourceStatus{}, false
	}
	return src.status, true
}

func (s *sources) list() []sourceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]sourceStatus, 0, len(s.byID))
	for _, src := range s.byID {
		out = append(out, src.status)
	}
	slices.SortFunc(out, func(a, b sourceStatus) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (s *sources) remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byID[id]
	delete(s.byID, id)
	return ok
}

// layers are the ready sources' indexes, in id order.
func (s *sources) layers() []layer {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []layer
	for _, src := range s.byID {
		if src.idx != nil {
			out = append(out, layer{idx: src.idx, id: src.id})
		}
	}
	slices.SortFunc(out, func(a, b layer) int { return strings.Compare(a.id, b.id) })
	return out
}
