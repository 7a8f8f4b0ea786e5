//go:build !linux

package geo_test

func threadNanos() (int64, bool) { return 0, false }
