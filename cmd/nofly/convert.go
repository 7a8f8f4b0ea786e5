package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nofly-project/nofly/geo"
)

func zonesConvertCommand() *command {
	var mapping, to, out string
	return &command{
		name:  "zones convert",
		usage: "IN [--mapping FILE] --to ed318|nofly -o OUT",
		summary: `Reads the zone file IN (any format noflyd reads: nofly GeoJSON, ED-269,
ED-318, KML or KMZ, gzip too; GeoJSON with other property names through
--mapping, or a NAME.mapping file beside it) and writes what nofly
understood, to inspect or publish: ED-318 GeoJSON (--to ed318) or nofly's
own schema (--to nofly). It reads the file as noflyd would, refusing it
with every problem; it refuses to write what the target format cannot hold
(a U-space class, a daylight event in nofly's schema, a time zone in
ED-318), naming the zone. It needs no server. OUT "-" is standard output;
an existing OUT is overwritten.`,
		example: `  nofly zones convert dipul-ctr.geojson --mapping data/mappings/de-dipul.mapping --to nofly -o de-ctr.geojson
  nofly zones convert zones.kmz --to ed318 -o zones-ed318.json
`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&mapping, "mapping", "", "read IN through this mapping `FILE` (docs/zones.md, Mappings)")
			fs.StringVar(&to, "to", "", "format to write: `ed318` or nofly")
			fs.StringVar(&out, "o", "", "`file` to write; - for standard output")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly zones convert"
			switch {
			case len(args) == 0:
				return &usageError{cmd: name, msg: "no zone file given"}
			case len(args) > 1:
				return &usageError{cmd: name, msg: fmt.Sprintf("unexpected argument %q after IN", args[1])}
			case out == "":
				return &usageError{cmd: name, msg: "-o OUT is required (- for standard output)"}
			}
			write := map[string]func(*bytes.Buffer, []geo.Zone) error{
				"ed318": func(b *bytes.Buffer, z []geo.Zone) error { return geo.WriteED318(b, z) },
				"nofly": func(b *bytes.Buffer, z []geo.Zone) error { return geo.WriteNofly(b, z) },
			}[strings.ToLower(to)]
			if write == nil {
				return &usageError{cmd: name, msg: fmt.Sprintf("--to %q: want ed318 or nofly", to)}
			}
			var opts geo.ReadOptions
			if mapping != "" {
				m, err := geo.ReadMappingFile(mapping)
				if err != nil {
					return err
				}
				opts.Mapping = m
			}
			zones, err := geo.ReadPathsWith(opts, args[0])
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := write(&buf, zones); err != nil {
				return fmt.Errorf("--to %s: %w", to, err)
			}
			if out == "-" {
				_, err := e.stdout.Write(buf.Bytes())
				return err
			}
			// Write beside OUT and rename, so that a failure leaves no half file.
			tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			if _, err := tmp.Write(buf.Bytes()); err != nil {
				tmp.Close()
				return err
			}
			if err := tmp.Close(); err != nil {
				return err
			}
			if err := os.Chmod(tmp.Name(), 0o644); err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "%s: %d zone%s from %s written as %s\n", out, len(zones), plural(len(zones)), args[0], strings.ToLower(to))
			return nil
		},
	}
}
