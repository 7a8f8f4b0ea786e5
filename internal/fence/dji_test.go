package fence

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/nofly-project/nofly/geo"
	"github.com/nofly-project/nofly/internal/flightplan"
)

// sampleFence is every sample zone fenced around the example mission, as
// TestPlanFence builds it (which checks that it holds the zones and the
// buffered route).
func sampleFence(t testing.TB, limit int) (*Fence, []orb.Point) {
	t.Helper()
	original, err := os.ReadFile("../../examples/westpoort.plan")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := flightplan.Parse("westpoort.plan", original, flightplan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var pts []orb.Point
	for _, w := range plan.Route.Waypoints {
		pts = append(pts, orb.Point{w.Lon, w.Lat})
	}
	var zones []Zone
	for _, z := range sampleZones(t.(*testing.T)) {
		fz := Zone{ID: z.ID, Name: z.Name}
		for _, v := range z.Volumes {
			fz.Shapes = append(fz.Shapes, v.Shape)
		}
		zones = append(zones, fz)
	}
	return Build(zones, Flight{Route: pts}, 50, limit, 10), pts
}

// TestDJI writes the sample fence as a DJI custom flight area file and
// reads it back: the same operation area and GEO zones, point for point,
// with DJI's fields and limits; and the operation area holds the route
// buffered by 50 m, measured geodesically.
func TestDJI(t *testing.T) {
	f, pts := sampleFence(t, 64)
	b, err := f.WriteDJI()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadDJI(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("nofly cannot read its DJI file back: %v", err)
	}
	if !reflect.DeepEqual(back.Inclusion, closed(f.Inclusion)) {
		t.Errorf("operation area read back differs")
	}
	if len(back.Exclusions) != len(f.Exclusions) {
		t.Fatalf("%d GEO zones read back, %d written", len(back.Exclusions), len(f.Exclusions))
	}
	for i, x := range f.Exclusions {
		y := back.Exclusions[i]
		switch {
		case x.Circle != nil && (y.Circle == nil || *y.Circle != *x.Circle):
			t.Errorf("exclusion %d (%s): circle %+v read back as %+v", i, x.ZoneID, x.Circle, y.Circle)
		case x.Circle == nil && !reflect.DeepEqual(y.Polygon, closed(x.Polygon)):
			t.Errorf("exclusion %d (%s): polygon differs", i, x.ZoneID)
		}
	}
	incl := geo.Shape{Kind: geo.ShapePolygon, Polygons: orb.MultiPolygon{{back.Inclusion}}}
	if c := geo.ContainsPath(incl, pts, nil, 50); !c.Contained() {
		t.Errorf("the operation area does not hold the buffered route: %+v", c)
	}
	// DJI's fields, as its template has them.
	var raw struct {
		Type     string `json:"type"`
		Features []map[string]json.RawMessage
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	dfence := 0
	for _, ft := range raw.Features {
		var id, kind string
		_ = json.Unmarshal(ft["id"], &id)
		_ = json.Unmarshal(ft["geofence_type"], &kind)
		if ids[id] {
			t.Errorf("id %s twice", id)
		}
		ids[id] = true
		if kind == "dfence" {
			dfence++
		}
		var props struct {
			Enable bool `json:"enable"`
		}
		if err := json.Unmarshal(ft["properties"], &props); err != nil || !props.Enable {
			t.Errorf("feature %s: properties %s", id, ft["properties"])
		}
	}
	if raw.Type != "FeatureCollection" || dfence != 1 || len(raw.Features) != 1+len(f.Exclusions) {
		t.Errorf("type %q, %d operation areas, %d features", raw.Type, dfence, len(raw.Features))
	}
	// The same fence, the same file (ids included).
	again, _ := f.WriteDJI()
	if !bytes.Equal(again, b) {
		t.Error("the same fence wrote another file")
	}
}

func TestDJIRefuses(t *testing.T) {
	f := &Fence{Inclusion: geo.CircleRing(orb.Point{4.8, 52.3}, 5000, 300)}
	if _, err := f.WriteDJI(); err == nil || !strings.Contains(err.Error(), "DJI takes 3 to 255") {
		t.Errorf("a polygon of 300 vertices: %v", err)
	}
	small := &Fence{Exclusions: []Exclusion{{ZoneID: "Z", Circle: &Circle{Center: orb.Point{4, 52}, RadiusM: 5}}}}
	if _, err := small.WriteDJI(); err == nil || !strings.Contains(err.Error(), "10 m or more") {
		t.Errorf("a circle of 5 m: %v", err)
	}
	good, _ := (&Fence{Exclusions: []Exclusion{{ZoneID: "Z", Circle: &Circle{Center: orb.Point{4, 52}, RadiusM: 500}}}}).WriteDJI()
	for _, tc := range []struct{ old, new, msg string }{
		{`"nfz"`, `"zone"`, "features[0].geofence_type"},
		{`"enable": true`, `"enable": false`, "features[0].properties.enable"},
		{`"Circle"`, `"Square"`, "features[0].properties.subType"},
		{`"radius": 500`, `"radius": 2`, "features[0].properties.radius"},
		{`"Point"`, `"LineString"`, "features[0].geometry.type"},
		{`"type": "FeatureCollection"`, `"type": "Feature"`, "want FeatureCollection"},
		{`"enable": true`, `"enable": true, "height": 120`, "unknown field"},
	} {
		b := bytes.Replace(good, []byte(tc.old), []byte(tc.new), 1)
		if bytes.Equal(b, good) {
			t.Fatalf("no %s in %s", tc.old, good)
		}
		if _, err := ReadDJI(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s → %s: %v, want %q", tc.old, tc.new, err, tc.msg)
		}
	}
}

func FuzzReadDJI(f *testing.F) {
	fence := &Fence{Inclusion: orb.Ring{{4.7, 52.3}, {4.8, 52.3}, {4.8, 52.4}, {4.7, 52.3}},
		Exclusions: []Exclusion{{ZoneID: "Z", Circle: &Circle{Center: orb.Point{4.75, 52.35}, RadiusM: 500}},
			{ZoneID: "P", Polygon: orb.Ring{{4.71, 52.31}, {4.72, 52.31}, {4.72, 52.32}, {4.71, 52.31}}}}}
	good, err := fence.WriteDJI()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"type":"FeatureCollection","features":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ReadDJI(bytes.NewReader(b))
		if err != nil {
			return
		}
		// What reads writes, and reads back the same.
		out, err := got.WriteDJI()
		if err != nil {
			t.Fatalf("a fence read does not write: %v", err)
		}
		again, err := ReadDJI(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("a fence written does not read: %v", err)
		}
		if !reflect.DeepEqual(again, got) {
			t.Fatalf("round trip changed the fence:\n%+v\n%+v", got, again)
		}
	})
}
