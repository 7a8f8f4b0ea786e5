// Package storecore holds what the exemption stores (sqlitestore, pgstore)
// share and nothing else needs: how a record is numbered and stored, how
// an audit entry is sealed into the chain, page tokens, and the verifier
// that judges a database against its audit log. It links no database
// driver; the stores feed it rows.
package storecore
