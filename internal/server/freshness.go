package server

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nofly-project/nofly/exemptions"
)

// exemptionsStaleAfter is how old the checks' exemptions may be before
// responses call them stale. The cache confirms them every second
// (noflyd's WatchExemptions interval), so a few missed confirmations mean
// the exemption database cannot be reached.
const exemptionsStaleAfter = 5 * time.Second

// ExemptionsAsOf is when the checks' exemptions were last seen to match the
// exemption store: checks answered now apply the exemptions as they were
// then. It is zero when the server has no exemption store, and before
// Start has read the exemptions (exCache is set by Start, before ready).
func (s *Server) ExemptionsAsOf() time.Time {
	if !s.ready.Load() || s.exCache == nil {
		return time.Time{}
	}
	return s.exCache.AsOf()
}

// exemptionsStale reports whether exemptions confirmed at asOf are too old
// to be called current at now.
func exemptionsStale(asOf, now time.Time) bool {
	return !asOf.IsZero() && now.Sub(asOf) > exemptionsStaleAfter
}

// checkNotRecordedError is an exempted check whose audit entry could not
// be stored: it is answered as an error, never as EXEMPTED.
type checkNotRecordedError struct {
	ids []string // the exemptions that would have applied
	err error
}

func (e *checkNotRecordedError) Error() string {
	return fmt.Sprintf("exempted by %s, but the check could not be recorded in the audit log: %v",
		strings.Join(e.ids, ", "), e.err)
}

func (e *checkNotRecordedError) Unwrap() error { return e.err }

// clientMessage is what the caller is told: that the flight is not
// cleared, and whether trying again may help. The cause stays in the log.
func (e *checkNotRecordedError) clientMessage() string {
	msg := fmt.Sprintf("NOT CLEARED: exemption %s would apply, but the check could not be recorded in the audit log",
		strings.Join(e.ids, ", "))
	if errors.Is(e.err, exemptions.ErrUnavailable) {
		msg += " (the exemption database is unreachable); try again"
	}
	return msg
}
