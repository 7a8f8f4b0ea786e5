package fleet

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // problems, each "line: substring"; none: valid
	}{
		{name: "sample", in: "levels regular confidential\nmanufacturer DJI: only regular\n"},
		{name: "comments and blanks", in: "# policy\n\n  levels a b c # lowest first\nany: at most b\n"},
		{name: "quoted and joined", in: "levels regular confidential\nmanufacturer \"Parrot SA\" and model \"Anafi USA\": only regular, confidential\n"},
		{name: "every verb", in: "levels r c\nclass C0 and purpose EVENT_SUPERVISION: never\nclassification c: requires encrypted-link\nunit NL-1: at most r\nceiling 120 m AGL\n"},
		{name: "class none", in: "levels r\nclass none: never\n"},
		{name: "empty file", in: "", want: []string{"1: no levels line"}},
		{name: "no levels", in: "any: never\n", want: []string{"1: no levels line"}},
		{name: "levels twice", in: "levels a\nlevels b\n", want: []string{"2: levels given again (first on line 1)"}},
		{name: "levels after rules", in: "levels a\nany: never\nlevels b\n", want: []string{"3: levels given again"}},
		{name: "duplicate level", in: "levels a A\n", want: []string{"1: levels: A given twice"}},
		{name: "unknown statement", in: "levels a\nfly high\n", want: []string{"2: \"fly\": unknown statement"}},
		{name: "unknown condition", in: "levels a\ncolour red: never\n", want: []string{"2: \"colour\": unknown condition"}},
		{name: "missing value", in: "levels a\nmanufacturer: never\n", want: []string{"2: manufacturer: a value must follow"}},
		{name: "no and", in: "levels a\nmanufacturer DJI model M3: never\n", want: []string{"2: \"model\": conditions are joined by and"}},
		{name: "unknown level in only", in: "levels regular\nmanufacturer DJI: only secret\n", want: []string{"2: only secret: no such level"}},
		{name: "unknown classification", in: "levels regular\nclassification secret: never\n", want: []string{"2: classification secret is no level"}},
		{name: "bad class", in: "levels a\nclass C9: never\n", want: []string{"2: class C9: want C0 to C6"}},
		{name: "unknown action", in: "levels a\nany: maybe\n", want: []string{"2: \"maybe\": unknown action"}},
		{name: "no action", in: "levels a\nany:\n", want: []string{"2: an action must follow"}},
		{name: "never with args", in: "levels a\nany: never ever\n", want: []string{"2: never: nothing may follow"}},
		{name: "only list", in: "levels a b\nany: only a b\n", want: []string{"2: only: \"b\": levels are separated by ','"}},
		{name: "quote open", in: "levels a\nmodel \"Mavic: never\n", want: []string{"2: column 7: quote not closed"}},
		{name: "ceiling", in: "levels a\nceiling 120 ft AGL\nceiling 1 m AGL\n", want: []string{"2: ceiling: want", "3: ceiling given again"}},
		{name: "ceiling ref", in: "levels a\nceiling 120 m QNH\n", want: []string{"2: ceiling: \"QNH\": want AGL or AMSL"}},
		{name: "control character", in: "levels a\nany: never\x1b\n", want: []string{"2: control character"}},
		{name: "every problem", in: "levels a\nx\ny\nany: z\n", want: []string{"2:", "3:", "4:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("p.txt", strings.NewReader(tc.in))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("Parse = %v, %v; want a *ParseError", p, err)
			}
			if len(pe.Problems) != len(tc.want) {
				t.Fatalf("problems:\n%v\nwant %d: %q", err, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				line, msg, _ := strings.Cut(w, ": ")
				got := pe.Problems[i]
				if !strings.HasPrefix(w, strings.TrimSuffix(line, ":")) || !strings.Contains(err.Error(), "p.txt:"+strings.TrimSuffix(line, ":")+": ") || !strings.Contains(got.Msg, msg) {
					t.Errorf("problem %d = line %d %q; want %q", i, got.Line, got.Msg, w)
				}
			}
		})
	}
}

func TestParseRule(t *testing.T) {
	p, err := Parse("p.txt", strings.NewReader("levels regular confidential\nmanufacturer \"SZ DJI\" and class c2: only regular, confidential # note\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := p.Rules[0]
	if r.Line != 2 || r.Text != `manufacturer "SZ DJI" and class c2: only regular, confidential` {
		t.Errorf("line %d text %q", r.Line, r.Text)
	}
	if len(r.Cond) != 2 || r.Cond[0] != (Condition{AttrManufacturer, "SZ DJI"}) || r.Cond[1] != (Condition{AttrClass, "c2"}) {
		t.Errorf("conditions %+v", r.Cond)
	}
	if r.Act.Verb != VerbOnly || strings.Join(r.Act.Args, "|") != "regular|confidential" {
		t.Errorf("action %+v", r.Act)
	}
}

func TestExamplePolicy(t *testing.T) {
	f, err := os.Open("../examples/policy.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := Parse("examples/policy.txt", f)
	if err != nil {
		t.Fatal(err)
	}
	dji := &Drone{Serial: "1581F4XX", Manufacturer: "DJI", Model: "Matrice 30T", Unit: "U", Status: StatusActive, Clearance: "confidential"}
	other := &Drone{Serial: "PI4020", Manufacturer: "Parrot", Model: "Anafi USA", Unit: "U", Status: StatusActive, Clearance: "confidential"}
	if rs := p.Refusals(Operation{Classification: "regular"}, dji); len(rs) != 0 {
		t.Errorf("DJI regular: %v", rs)
	}
	rs := p.Refusals(Operation{Classification: "confidential"}, dji)
	if len(rs) != 1 || rs[0].Where != "examples/policy.txt:12" || rs[0].Rule != "manufacturer DJI: only regular" {
		t.Errorf("DJI confidential: %v", rs)
	}
	if rs := p.Refusals(Operation{Classification: "confidential"}, other); len(rs) != 0 {
		t.Errorf("cleared drone, confidential: %v", rs)
	}
	if !p.Ceiling.Set || p.Ceiling.Metres != 120 || p.Ceiling.Ref != "AGL" {
		t.Errorf("ceiling %+v", p.Ceiling)
	}
}

func TestRefusals(t *testing.T) {
	p, err := Parse("p.txt", strings.NewReader(`levels regular confidential secret
manufacturer DJI: only regular
class C0 and purpose EVENT_SUPERVISION: never
classification secret: requires encrypted-link
unit NL-TRAIN: at most regular
`))
	if err != nil {
		t.Fatal(err)
	}
	drone := func(man, class, clearance string, caps ...string) *Drone {
		return &Drone{Serial: "S1", Manufacturer: man, Model: "M", Class: class, Unit: "U", Status: StatusActive, Clearance: clearance, Capabilities: caps}
	}
	tests := []struct {
		name  string
		op    Operation
		d     *Drone
		where []string
	}{
		{"dji regular", Operation{Classification: "regular"}, drone("DJI", "C2", "secret"), nil},
		{"dji confidential", Operation{Classification: "confidential"}, drone("dji", "C2", "secret"), []string{"p.txt:2"}},
		{"cleared confidential", Operation{Classification: "confidential"}, drone("Parrot", "C2", "confidential"), nil},
		{"not cleared", Operation{Classification: "confidential"}, drone("Parrot", "C2", "regular"), []string{"clearance"}},
		{"both", Operation{Classification: "confidential"}, drone("DJI", "C2", "regular"), []string{"clearance", "p.txt:2"}},
		{"c0 over an event", Operation{Classification: "regular", Purpose: "EVENT_SUPERVISION"}, drone("Parrot", "C0", "regular"), []string{"p.txt:3"}},
		{"c0 elsewhere", Operation{Classification: "regular", Purpose: "FORENSIC"}, drone("Parrot", "C0", "regular"), nil},
		{"secret without capability", Operation{Classification: "secret"}, drone("Parrot", "C2", "secret"), []string{"p.txt:4"}},
		{"secret with capability", Operation{Classification: "secret"}, drone("Parrot", "C2", "secret", "Encrypted-Link"), nil},
		{"training unit", Operation{Unit: "NL-TRAIN", Classification: "confidential"}, drone("Parrot", "C2", "secret"), []string{"p.txt:5"}},
		{"unknown drone regular", Operation{Classification: "regular", Purpose: "FORENSIC"}, nil, nil},
		{"unknown drone over an event", Operation{Classification: "regular", Purpose: "EVENT_SUPERVISION"}, nil, []string{"p.txt:3"}},
		{"unknown drone confidential", Operation{Classification: "confidential"}, nil, []string{"clearance", "p.txt:2"}},
		{"unknown classification", Operation{Classification: "top"}, drone("Parrot", "C2", "secret"), []string{"classification"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := p.Refusals(tc.op, tc.d)
			var got []string
			for _, r := range rs {
				got = append(got, r.Where)
				if r.Reason == "" {
					t.Errorf("refusal %v without a reason", r)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.where, " ") {
				t.Errorf("refusals %v; want %v", rs, tc.where)
			}
		})
	}
}

func TestNormalizeSerial(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: " 1581f5fhc236 ", err: "length code F says 15 characters follow, not 7"},
		{in: "1581F5FHC23610000A0B", want: "1581F5FHC23610000A0B"},
		{in: "abcd3xyz", want: "ABCD3XYZ"},
		{in: "ABCD3XY", err: "length code 3 says 3 characters follow, not 2"},
		{in: "PI040416BA6H091239", want: "PI040416BA6H091239"},
		{in: "", err: "want 1 to 64"},
		{in: "a b", err: "want 1 to 64"},
		{in: strings.Repeat("A", 65), err: "want 1 to 64"},
	}
	for _, tc := range tests {
		got, err := NormalizeSerial(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("NormalizeSerial(%q) = %q, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeSerial(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestDroneValidate(t *testing.T) {
	d := Drone{Serial: "x1", Manufacturer: "DJI", Model: "M30T", Unit: "U", Status: StatusActive, Clearance: "regular", Class: "c2"}
	if err := d.Validate([]string{"regular"}); err != nil || d.Serial != "X1" || d.Class != "C2" {
		t.Fatalf("Validate: %v, %+v", err, d)
	}
	bad := Drone{Serial: "x1", Status: "lost", Clearance: "secret", Class: "C7"}
	err := bad.Validate([]string{"regular"})
	for _, w := range []string{"manufacturer: required", "model: required", "unit: required", "class: \"C7\"", "status: \"lost\"", "clearance: \"secret\" is no level"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate: %v; want %q", err, w)
		}
	}
}
