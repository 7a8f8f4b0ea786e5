// Package data embeds nofly's sample zone set for the Netherlands, which
// noflyd serves when started without --zones. It is a sample built from
// public-domain airport coordinates, not legal airspace data.
package data

import "embed"

// FS holds the sample zone files (*.geojson) at its root.
//
//go:embed *.geojson
var FS embed.FS
