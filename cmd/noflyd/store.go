package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/pgstore"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
)

// openStore opens the exemption store --db names: a postgres:// or
// postgresql:// URL is a PostgreSQL database (shared by several noflyd),
// anything else the path of an SQLite file. It also returns the name to
// log, without the password.
func openStore(ctx context.Context, db string) (exemptions.Store, string, error) {
	if pgstore.IsURL(db) {
		name := pgstore.RedactURL(db)
		s, err := pgstore.Open(ctx, db)
		if err != nil {
			// pgstore.Open redacts the URL in its own errors.
			return nil, name, fmt.Errorf("exemption database: %w", err)
		}
		return s, name, nil
	}
	if err := notAnSQLitePath(db); err != nil {
		return nil, "(refused --db)", err
	}
	s, err := sqlitestore.Open(ctx, db)
	if err != nil {
		return nil, db, fmt.Errorf("exemption database: %w", err)
	}
	return s, db, nil
}

// notAnSQLitePath refuses a --db meant for a database server that is not
// a postgres:// URL: another scheme ("postgress://", "pg://") or a libpq
// keyword string ("host=db password=…"). Taken as an SQLite path, it would
// give this replica a database of its own, silently apart from the one the
// others share (an exemption revoked there would still apply here), and
// put its password in the log. The message does not repeat it.
func notAnSQLitePath(db string) error {
	if strings.Contains(db, "://") {
		return errors.New("--db: a URL other than postgres:// or postgresql://; give a postgres:// URL, or the path of an SQLite file")
	}
	for _, f := range strings.Fields(db) {
		k, _, ok := strings.Cut(f, "=")
		switch {
		case !ok:
		case k == "host", k == "hostaddr", k == "port", k == "dbname", k == "user", k == "password", k == "sslmode":
			return errors.New("--db: a PostgreSQL keyword string (host=… dbname=…); give it as a postgres:// URL (docs/postgresql.md)")
		}
	}
	return nil
}
