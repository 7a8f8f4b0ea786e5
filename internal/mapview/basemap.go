package mapview

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/paulmach/orb"
)

// basemapBin holds Natural Earth 1:50m country borders and coastlines
// (public domain), converted from the npm package world-atlas by
// internal/mapview/internal/genbasemap (scripts/update-basemap.sh).
//
//go:embed basemap.bin
var basemapBin []byte

// arc is one line of the base map.
type arc struct {
	border bool // between countries; else coastline
	pts    []orb.Point
	bound  orb.Bound
}

var (
	basemapOnce sync.Once
	basemapArcs []arc
	basemapErr  error
)

func basemap() ([]arc, error) {
	basemapOnce.Do(func() { basemapArcs, basemapErr = decodeBasemap(basemapBin) })
	return basemapArcs, basemapErr
}

func decodeBasemap(b []byte) ([]arc, error) {
	const magic = "NFBM1\n"
	if !bytes.HasPrefix(b, []byte(magic)) {
		return nil, errors.New("base map: not a basemap.bin")
	}
	r := bytes.NewReader(b[len(magic):])
	var err error
	uv := func() uint64 {
		if err != nil {
			return 0
		}
		var x uint64
		x, err = binary.ReadUvarint(r)
		return x
	}
	sv := func() int64 {
		if err != nil {
			return 0
		}
		var x int64
		x, err = binary.ReadVarint(r)
		return x
	}
	sx, sy := math.Float64frombits(uv()), math.Float64frombits(uv())
	tx, ty := math.Float64frombits(uv()), math.Float64frombits(uv())
	n := uv()
	if err != nil || n > 1<<20 {
		return nil, fmt.Errorf("base map: bad header (%v)", err)
	}
	// Each arc takes at least two bytes, each point two: no count may
	// promise more than the bytes left.
	if n > uint64(r.Len()/2) {
		return nil, errors.New("base map: more arcs than bytes")
	}
	arcs := make([]arc, 0, n)
	for range n {
		kind, np := uv(), uv()
		if err != nil || np > uint64(r.Len()/2) {
			return nil, fmt.Errorf("base map: bad arc (%v)", err)
		}
		a := arc{border: kind == 1, pts: make([]orb.Point, np)}
		var x, y int64
		for i := range a.pts {
			x += sv()
			y += sv()
			a.pts[i] = orb.Point{tx + float64(x)*sx, ty + float64(y)*sy}
		}
		if err != nil {
			return nil, fmt.Errorf("base map: %v", err)
		}
		a.bound = orb.MultiPoint(a.pts).Bound()
		arcs = append(arcs, a)
	}
	return arcs, nil
}

// basemapNear returns the arcs that meet b.
func basemapNear(b orb.Bound) ([]arc, error) {
	all, err := basemap()
	if err != nil {
		return nil, err
	}
	var out []arc
	for _, a := range all {
		if a.bound.Intersects(b) {
			out = append(out, a)
		}
	}
	return out, nil
}
