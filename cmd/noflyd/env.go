package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// lookupEnv reads the environment; tests replace it.
var lookupEnv = os.LookupEnv

// envName is the environment variable that gives flag name's default:
// NOFLY_ and the name in capitals with - as _ (--metrics-listen:
// NOFLY_METRICS_LISTEN).
func envName(flagName string) string {
	return "NOFLY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnv sets every flag of fset not given on the command line from its
// environment variable, when that is set. A repeatable flag (--zones)
// takes a list separated by the OS path list separator (: on Unix).
func applyEnv(fset *flag.FlagSet) error {
	given := map[string]bool{}
	fset.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fset.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] || f.Name == "version" { // --version is a question, never a setting
			return
		}
		name := envName(f.Name)
		v, ok := lookupEnv(name)
		if !ok {
			return
		}
		values := []string{v}
		if _, multi := f.Value.(*multiFlag); multi {
			values = filepath.SplitList(v)
		}
		for _, v := range values {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q (for --%s): %w", name, v, f.Name, e)
				return
			}
		}
	})
	return err
}
