package geo

// validateZone is the validation NewIndex applies to each zone.
var validateZone = func(z *Zone) []Problem { return nil }
