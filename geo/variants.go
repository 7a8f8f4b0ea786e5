package geo

import (
	"fmt"
	"reflect"
	"slices"
)

// Features that share an identifier are read by these rules (docs/zones.md,
// "Zones that share an identifier"):
//   - features that differ in uSpaceClass are variants of one zone for
//     different categories of operation: each stays a Zone of its own, with
//     the same ID and its own Class (the InterUSS CHE-1 test file publishes
//     "Gantrisch Nature Park" so: NO_RESTRICTION for OPEN, REQ_AUTHORISATION
//     for SPECIFIC and CERTIFIED);
//   - features of one file that agree in everything but geometry are one
//     zone with the volumes of all of them;
//   - any other pair is refused, naming both features and what differs: the
//     same feature twice, features of different files (an old and a new
//     edition of a zone, most likely), or features that differ in more than
//     geometry.

// mergeZones applies the rules to zones, in order, and returns the zones
// kept (a zone merged into an earlier one, or refused, is left out) and a
// problem for each refused duplicate. sameFile says that zones come from
// one file; else only variants are allowed (each file's own duplicates were
// settled by its reader). Volumes merged into a zone are appended to a new
// slice, so that no two zones share volume storage.
func mergeZones(zones []Zone, sameFile bool) ([]Zone, []Problem) {
	type key struct{ id, variant string }
	var probs []Problem
	seen := make(map[key]int, len(zones))
	n := 0 // zones[:n] are kept: the rules compact zones in place
	for i := range zones {
		z := &zones[i]
		k := key{z.ID, z.VariantKey()}
		j, dup := seen[k]
		if !dup || z.ID == "" {
			if z.ID != "" {
				seen[k] = n
			}
			if n != i {
				zones[n] = *z
			}
			n++
			continue
		}
		first := &zones[j]
		why := ""
		switch what := differs(first, z); {
		case !sameFile:
		case what != "":
			why = ", and the two differ in " + what + " (features of one file that share an identifier must differ in uSpaceClass, as variants for different categories of operation, or agree in everything but geometry, as volumes of one zone)"
		case reflect.DeepEqual(first.Volumes, z.Volumes):
			why = ": the same zone twice"
		default:
			first.Volumes = append(slices.Clip(first.Volumes), z.Volumes...)
			continue
		}
		probs = append(probs, Problem{File: z.Source.File, Feature: z.Source.Feature, ZoneID: z.ID, Field: idField(z.Source.Format),
			Msg: fmt.Sprintf("duplicate zone ID: also feature %d of %s%s", first.Source.Feature, first.Source.File, why)})
	}
	clear(zones[n:]) // let the collector have what dropped zones held
	return zones[:n], probs
}

// differs names the first thing other than geometry in which a and b
// differ, or returns "".
func differs(a, b *Zone) string {
	switch {
	case a.Name != b.Name:
		return "name"
	case a.Country != b.Country:
		return "country"
	case a.Restriction != b.Restriction:
		return "restriction"
	case !slices.Equal(a.Reasons, b.Reasons):
		return "reasons"
	case a.Message != b.Message:
		return "message"
	case !slices.Equal(a.Authorities, b.Authorities):
		return "authorities"
	case a.Exemptions != b.Exemptions:
		return "regulation exemption"
	case !reflect.DeepEqual(a.Applicability, b.Applicability):
		return "applicability"
	case a.Categories != b.Categories:
		return "categories"
	}
	return ""
}
