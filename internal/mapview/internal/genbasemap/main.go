// Command genbasemap converts Natural Earth country outlines, as TopoJSON
// from the npm package world-atlas (countries-50m.json), into the small
// binary file internal/mapview embeds (basemap.bin). scripts/update-basemap.sh
// runs it; the result is committed, so building nofly needs neither npm nor
// the network.
//
// basemap.bin, all integers unsigned or zigzag varints:
//
//	"NFBM1\n"
//	scale: longitude and latitude degrees per unit, as two float64 bits (uvarint)
//	translate: longitude and latitude of unit 0, likewise
//	arc count
//	per arc: kind (0 coastline, 1 border between countries), point count,
//	         then the points as zigzag deltas from the previous point
//	         (the first from 0,0) in units
//
// Each TopoJSON arc is kept once, so a border shared by two countries is
// stored (and drawn) once. An arc of the "land" object is coastline; an arc
// only in "countries" is a border.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
)

type topology struct {
	Transform struct {
		Scale     [2]float64 `json:"scale"`
		Translate [2]float64 `json:"translate"`
	} `json:"transform"`
	Arcs    [][][2]int64               `json:"arcs"`
	Objects map[string]json.RawMessage `json:"objects"`
}

type geometry struct {
	Type       string          `json:"type"`
	Arcs       json.RawMessage `json:"arcs"`
	Geometries []geometry      `json:"geometries"`
}

func main() {
	in := flag.String("in", "", "world-atlas countries-50m.json")
	out := flag.String("out", "", "basemap.bin to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "genbasemap:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var topo topology
	if err := json.Unmarshal(b, &topo); err != nil {
		return fmt.Errorf("%s: %v", in, err)
	}
	landRaw, ok := topo.Objects["land"]
	if !ok {
		return fmt.Errorf("%s: no \"land\" object", in)
	}
	var land geometry
	if err := json.Unmarshal(landRaw, &land); err != nil {
		return fmt.Errorf("%s: land: %v", in, err)
	}
	coast := map[int]bool{}
	if err := collectArcs(land, coast); err != nil {
		return fmt.Errorf("%s: land: %v", in, err)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	var buf [binary.MaxVarintLen64]byte
	uv := func(x uint64) { w.Write(buf[:binary.PutUvarint(buf[:], x)]) }
	sv := func(x int64) { w.Write(buf[:binary.PutVarint(buf[:], x)]) }
	w.WriteString("NFBM1\n")
	uv(math.Float64bits(topo.Transform.Scale[0]))
	uv(math.Float64bits(topo.Transform.Scale[1]))
	uv(math.Float64bits(topo.Transform.Translate[0]))
	uv(math.Float64bits(topo.Transform.Translate[1]))
	uv(uint64(len(topo.Arcs)))
	for i, arc := range topo.Arcs {
		kind := uint64(1)
		if coast[i] {
			kind = 0
		}
		uv(kind)
		uv(uint64(len(arc)))
		// TopoJSON arcs are already delta-encoded after the first point.
		for _, p := range arc {
			sv(p[0])
			sv(p[1])
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// collectArcs adds the index of every arc g refers to. TopoJSON writes a
// reversed arc i as ^i.
func collectArcs(g geometry, into map[int]bool) error {
	for _, c := range g.Geometries {
		if err := collectArcs(c, into); err != nil {
			return err
		}
	}
	if len(g.Arcs) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(g.Arcs, &v); err != nil {
		return err
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				walk(e)
			}
		case float64:
			i := int(v)
			if i < 0 {
				i = ^i
			}
			into[i] = true
		}
	}
	walk(v)
	return nil
}
