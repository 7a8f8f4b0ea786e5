package pgstore

// Migrations are the schema migrations, for tests that build an old schema.
var Migrations = pgMigrations
