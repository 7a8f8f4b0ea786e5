// Package exemptions holds the police's own exemption records
// (ontheffingen) and the decision on a check: Decide, the one place that
// says whether a flight is CLEAR, DENIED or EXEMPTED.
//
// Decide takes what geo found (the hits), the flight (who, why, where), the
// exemptions in force (a Snapshot) and the instant, and returns a Result: the
// verdict, each blocking conflict with the exemption that covers it or why
// none does, the advisories, the caveats and the applied exemptions. Whether
// an exemption covers a conflict is one table of rules (Rules, in rules.go):
// each rule's check decides and its explanation says why a record fails it,
// so that the two cannot disagree; docs/exemptions.md lists the same table.
// The gRPC server converts a Result to its response and decides nothing;
// whatever else must judge a flight (an offline bundle, an authorisation, a
// live track) calls Decide too.
//
// The model, the rules and Decide are pure: no I/O and no clock; every
// instant is an input. Errors carry what a caller needs as values: a
// *ValidationError lists each Problem at its field, an *IDError names the
// record.
//
// Records are never edited or deleted: a change is a new record that
// supersedes the old one, and a revocation is recorded on the record. The
// Store keeps records and the append-only audit log durably (SQLite
// embedded, or PostgreSQL shared by several servers: implemented in
// exemptions/sqlitestore and exemptions/pgstore, so that this package links
// no database driver), and the Cache holds the Snapshot that checks read.
package exemptions
