package main

import "testing"

func TestCSVText(t *testing.T) {
	for in, want := range map[string]string{
		"AMS-DRONE":                      "AMS-DRONE",
		"=HYPERLINK(\"http://x\",\"a\")": "'=HYPERLINK(\"http://x\",\"a\")",
		"+31":                            "'+31",
		"-1":                             "'-1",
		"@SUM(A1)":                       "'@SUM(A1)",
		"\tX":                            "'\tX",
		"":                               "",
	} {
		if got := csvText(in); got != want {
			t.Errorf("csvText(%q) = %q, want %q", in, got, want)
		}
	}
}
