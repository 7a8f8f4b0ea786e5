package main

import (
	"context"
	"fmt"

	"github.com/nofly-project/nofly/exemptions"
)

// openStore opens the exemption store --db names: a postgres:// or
// postgresql:// URL is a PostgreSQL database (shared by several noflyd),
// anything else the path of an SQLite file. It also returns the name to
// log, without the password.
func openStore(ctx context.Context, db string) (exemptions.Store, string, error) {
	if exemptions.IsPostgresURL(db) {
		name := exemptions.RedactURL(db)
		s, err := exemptions.OpenPostgres(ctx, db)
		if err != nil {
			// OpenPostgres redacts the URL in its own errors.
			return nil, name, fmt.Errorf("exemption database: %w", err)
		}
		return s, name, nil
	}
	s, err := exemptions.OpenSQLite(ctx, db)
	if err != nil {
		return nil, db, fmt.Errorf("exemption database: %w", err)
	}
	return s, db, nil
}
