package geo

import (
	"bytes"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// fullZone has every field of a Zone set, and every list one element long
// at least, so that a walk over it reaches every field there is.
func fullZone() Zone {
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	return Zone{
		ID: "NL-1", Name: "Schiphol", Country: "NLD", Restriction: Prohibited,
		Reasons: []string{"AIR_TRAFFIC", "SENSITIVE"}, Message: "call the tower",
		Authorities: []Authority{{Name: "LVNL", Service: "ATC", Email: "a@b", ContactName: "duty", SiteURL: "https://x",
			Phone: "+31", Purpose: "AUTHORIZATION", IntervalBefore: "PT1H"}},
		Exemptions: ExemptionsAllowed,
		Volumes: []Volume{
			{Shape: Shape{Kind: ShapePolygon, Polygons: orb.MultiPolygon{{{{4.7, 52.3}, {4.8, 52.3}, {4.8, 52.4}, {4.7, 52.3}}}},
				Center: orb.Point{1, 2}, Radius: 3},
				Lower: Limit{Metres: 0, Ref: AGL}, Upper: Limit{Metres: 120, Ref: AMSL, Open: false}},
		},
		Applicability: Applicability{Periods: []Period{{Start: t0, End: t0.Add(time.Hour),
			Schedule: []DailyPeriod{{Days: AllDays, Start: 3600, End: 7200, Offset: 3600, Loc: ams, StartEvent: "SR", EndEvent: "SS"}}}}},
		Source: Source{File: "a.json", Feature: 3, Format: "nofly"},
	}
}

// leaves calls visit with the path and value of every field of v that
// holds data (strings, numbers, booleans, instants, time zones), through
// structs, slices, arrays and pointers.
func leaves(v reflect.Value, path string, visit func(path string, v reflect.Value)) {
	switch {
	case v.Type() == reflect.TypeFor[time.Time](), v.Type() == reflect.TypeFor[*time.Location]():
		visit(path, v)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			leaves(v.Field(i), path+"."+v.Type().Field(i).Name, visit)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			leaves(v.Index(i), path+"["+strconv.Itoa(i)+"]", visit)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			leaves(v.Elem(), path, visit)
		}
	default:
		visit(path, v)
	}
}

// change sets v to another value of its type.
func change(t *testing.T, path string, v reflect.Value) {
	switch {
	case v.Type() == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Nanosecond)))
		return
	case v.Type() == reflect.TypeFor[*time.Location]():
		v.Set(reflect.ValueOf(time.FixedZone("X", 0)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(v.Float() + 1e-9)
	default:
		t.Fatalf("%s: cannot change a %s; teach this test (and AppendCanonical) about it", path, v.Type())
	}
}

// TestCanonicalCoversEveryField changes each field of a zone in turn: the
// encoding changes with every one but those of Source. A field added to
// Zone (or below it) and not encoded fails here.
func TestCanonicalCoversEveryField(t *testing.T) {
	base := fullZone()
	want := base.AppendCanonical(nil)
	if again := fullZone(); !bytes.Equal(again.AppendCanonical(nil), want) {
		t.Fatal("the same zone encodes differently twice")
	}
	var paths []string
	leaves(reflect.ValueOf(&base).Elem(), "Zone", func(path string, _ reflect.Value) { paths = append(paths, path) })
	if len(paths) < 40 {
		t.Fatalf("only %d fields found: %v", len(paths), paths)
	}
	for i, path := range paths {
		z := fullZone()
		n := 0
		leaves(reflect.ValueOf(&z).Elem(), "Zone", func(p string, v reflect.Value) {
			if n == i {
				change(t, p, v)
			}
			n++
		})
		got := z.AppendCanonical(nil)
		if source := strings.HasPrefix(path, "Zone.Source."); source != bytes.Equal(got, want) {
			if source {
				t.Errorf("%s: where the zone was read from changes its encoding", path)
			} else {
				t.Errorf("%s: the encoding does not change with it", path)
			}
		}
	}
}

// Lists and strings are delimited: moving data between neighbours changes
// the encoding. -0 is 0, and an instant's location does not matter.
func TestCanonicalEdges(t *testing.T) {
	enc := func(f func(z *Zone)) []byte {
		z := fullZone()
		f(&z)
		return z.AppendCanonical(nil)
	}
	differ := map[string][2]func(z *Zone){
		"reasons split": {func(z *Zone) { z.Reasons = []string{"AB"} }, func(z *Zone) { z.Reasons = []string{"A", "B"} }},
		"id and name":   {func(z *Zone) { z.ID, z.Name = "AB", "" }, func(z *Zone) { z.ID, z.Name = "A", "B" }},
		"a ring more": {func(z *Zone) {}, func(z *Zone) {
			z.Volumes[0].Shape.Polygons[0] = append(z.Volumes[0].Shape.Polygons[0], z.Volumes[0].Shape.Polygons[0][0])
		}},
		"an open period": {func(z *Zone) {}, func(z *Zone) { z.Applicability.Periods[0].Start = time.Time{} }},
	}
	for name, fs := range differ {
		if bytes.Equal(enc(fs[0]), enc(fs[1])) {
			t.Errorf("%s: encoded alike", name)
		}
	}
	same := map[string][2]func(z *Zone){
		"-0": {func(z *Zone) { z.Volumes[0].Lower.Metres = 0 }, func(z *Zone) { z.Volumes[0].Lower.Metres = math.Copysign(0, -1) }},
		"location of an instant": {func(z *Zone) {}, func(z *Zone) {
			p := &z.Applicability.Periods[0]
			p.Start = p.Start.In(time.FixedZone("CET", 3600))
		}},
	}
	for name, fs := range same {
		if !bytes.Equal(enc(fs[0]), enc(fs[1])) {
			t.Errorf("%s: encoded differently", name)
		}
	}
}
