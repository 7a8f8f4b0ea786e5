package server

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/nofly-project/nofly/data"
	"github.com/nofly-project/nofly/geo"
)

func versionOf(t *testing.T, zones []geo.Zone) string {
	t.Helper()
	idx, err := geo.NewIndex(zones)
	if err != nil {
		t.Fatal(err)
	}
	return version(idx)
}

// The zone set's version is a hash of the zones' data: the same data read
// from another file has the same version, any change of it another.
func TestVersion(t *testing.T) {
	v := versionOf(t, readZones(t, testZones))
	other, err := geo.Read(strings.NewReader(testZones), "elsewhere/other-name.geojson")
	if err != nil {
		t.Fatal(err)
	}
	if got := versionOf(t, other); got != v {
		t.Errorf("same zones from another file: version %s, want %s", got, v)
	}
	changes := map[string]func(z *geo.Zone){
		"message":    func(z *geo.Zone) { z.Message += "." },
		"upper":      func(z *geo.Zone) { z.Volumes[0].Upper.Metres++ },
		"exemptions": func(z *geo.Zone) { z.Exemptions = geo.ExemptionsNotAllowed },
		"vertex":     func(z *geo.Zone) { z.Volumes[0].Shape.Center[0] += 1e-9 },
	}
	for name, change := range changes {
		zones := readZones(t, testZones)
		change(&zones[0])
		if got := versionOf(t, zones); got == v {
			t.Errorf("%s changed: same version %s", name, got)
		}
	}
}

// The sample set's version is the one the README's examples print: it
// changes only when the sample's data (or the encoding) does, and then the
// examples must change with it.
func TestVersionOfTheSampleInTheREADME(t *testing.T) {
	zones, err := geo.ReadFS(data.FS)
	if err != nil {
		t.Fatal(err)
	}
	v := versionOf(t, zones)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`Zone set ([0-9a-f]{16}): (\d+) zones`).FindAllStringSubmatch(string(readme), -1) {
		if m[2] == "51" && m[1] != v {
			t.Errorf("README shows the sample set as version %s; it is %s", m[1], v)
		}
	}
}
