package fleet

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"levels regular confidential\nmanufacturer DJI: only regular\n",
		"levels a b\nclass C0 and purpose X: never\nclassification b: requires thermal\nceiling 120 m AGL\n",
		"levels a\nmodel \"Anafi USA\": at most a # c\n",
		"levels a\nany: only a, a\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse("f", bytes.NewReader(b))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 {
				t.Fatalf("error %v is no ParseError with problems", err)
			}
			return
		}
		if len(p.Levels) == 0 {
			t.Fatal("a policy without levels was accepted")
		}
		// Every accepted policy decides without panicking, for a known
		// and an unknown drone.
		for _, l := range p.Levels {
			p.Refusals(Operation{Classification: l}, nil)
			p.Refusals(Operation{Classification: l}, &Drone{Serial: "S", Manufacturer: "DJI", Clearance: p.Levels[0]})
		}
	})
}
