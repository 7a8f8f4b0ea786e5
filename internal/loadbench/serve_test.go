package loadbench

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/server"
)

// serveZones starts a real noflyd server on loopback over the zones of
// the GeoJSON FeatureCollection given, stopped when tb ends, and returns
// its address.
func serveZones(tb testing.TB, geojson string) string {
	tb.Helper()
	zones, err := geo.Read(strings.NewReader(geojson), "test.geojson")
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Config{Load: func(context.Context) ([]geo.Zone, error) { return zones, nil },
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	g := srv.NewGRPCServer()
	go func() { _ = g.Serve(lis) }()
	tb.Cleanup(g.Stop)
	return lis.Addr().String()
}
