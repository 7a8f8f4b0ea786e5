package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// pgMigrations are applied in order, each in its own transaction under an
// advisory lock (several noflyd may start at once); never change one that
// has shipped, add a new one.
var pgMigrations = []string{
	// 1: records, the zones they name, the audit log, the chain head, and
	// triggers that refuse edits and deletes.
	`CREATE TABLE exemptions (
		seq            bigint PRIMARY KEY,
		id             text NOT NULL UNIQUE,
		unit           text NOT NULL,
		valid_from_ns  bigint NOT NULL, -- Unix nanoseconds
		valid_until_ns bigint NOT NULL,
		record         text NOT NULL,   -- JSON of the record as issued, byte for byte
		superseded_by  text,
		revoked_at_ns  bigint,
		revocation     text,            -- JSON of the revocation
		version        bigint NOT NULL  -- record set version of the last change
	);
	CREATE INDEX exemptions_unit ON exemptions (unit, seq);
	CREATE INDEX exemptions_version ON exemptions (version);
	CREATE TABLE exemption_zones (
		zone_id      text NOT NULL,
		exemption_id text NOT NULL REFERENCES exemptions (id),
		PRIMARY KEY (zone_id, exemption_id)
	);
	CREATE TABLE audit (
		seq    bigint PRIMARY KEY,
		action text NOT NULL,
		actor  text NOT NULL,
		ids    text NOT NULL, -- ',EX-000001,EX-000002,'
		entry  text NOT NULL, -- canonical JSON, as hashed
		hash   text NOT NULL
	);
	CREATE TABLE chain_head (
		one             boolean PRIMARY KEY DEFAULT true CHECK (one),
		records_version bigint NOT NULL,
		next_record     bigint NOT NULL,
		audit_seq       bigint NOT NULL,
		audit_hash      text NOT NULL
	);
	INSERT INTO chain_head VALUES (true, 0, 1, 0, '');

	CREATE FUNCTION nofly_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
	END $$;
	CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
		FOR EACH ROW EXECUTE FUNCTION nofly_refuse('the audit log is append-only');
	CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
		FOR EACH STATEMENT EXECUTE FUNCTION nofly_refuse('the audit log is append-only');
	CREATE TRIGGER exemptions_no_delete BEFORE DELETE ON exemptions
		FOR EACH ROW EXECUTE FUNCTION nofly_refuse('exemptions are never deleted');
	CREATE TRIGGER exemptions_no_truncate BEFORE TRUNCATE ON exemptions
		FOR EACH STATEMENT EXECUTE FUNCTION nofly_refuse('exemptions are never deleted');
	CREATE TRIGGER exemption_zones_no_change BEFORE UPDATE OR DELETE ON exemption_zones
		FOR EACH ROW EXECUTE FUNCTION nofly_refuse('exemptions are never edited or deleted');
	CREATE TRIGGER exemption_zones_no_truncate BEFORE TRUNCATE ON exemption_zones
		FOR EACH STATEMENT EXECUTE FUNCTION nofly_refuse('exemptions are never deleted');
	CREATE TRIGGER chain_head_no_delete BEFORE DELETE ON chain_head
		FOR EACH ROW EXECUTE FUNCTION nofly_refuse('the chain head is never deleted');
	CREATE TRIGGER chain_head_no_truncate BEFORE TRUNCATE ON chain_head
		FOR EACH STATEMENT EXECUTE FUNCTION nofly_refuse('the chain head is never deleted');

	-- A record changes only by being marked superseded or revoked, once.
	CREATE FUNCTION nofly_exemptions_no_edit() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF OLD.id IS DISTINCT FROM NEW.id OR OLD.seq IS DISTINCT FROM NEW.seq OR OLD.unit IS DISTINCT FROM NEW.unit
			OR OLD.valid_from_ns IS DISTINCT FROM NEW.valid_from_ns OR OLD.valid_until_ns IS DISTINCT FROM NEW.valid_until_ns
			OR OLD.record IS DISTINCT FROM NEW.record
			OR (OLD.superseded_by IS NOT NULL AND OLD.superseded_by IS DISTINCT FROM NEW.superseded_by)
			OR (OLD.revocation IS NOT NULL AND (OLD.revocation IS DISTINCT FROM NEW.revocation
				OR OLD.revoked_at_ns IS DISTINCT FROM NEW.revoked_at_ns))
		THEN
			RAISE EXCEPTION 'exemptions are never edited: supersede or revoke' USING ERRCODE = 'integrity_constraint_violation';
		END IF;
		RETURN NEW;
	END $$;
	CREATE TRIGGER exemptions_no_edit BEFORE UPDATE ON exemptions
		FOR EACH ROW EXECUTE FUNCTION nofly_exemptions_no_edit();`,
	// 2: the requests answered (idempotent writes), and guards on the rows
	// the list queries read besides the records: a zone row must name a
	// zone its record names; a record's unit column is its holder's unit.
	`CREATE TABLE requests (
		request_id   text PRIMARY KEY,
		digest       text NOT NULL,
		action       text NOT NULL,
		exemption_id text NOT NULL REFERENCES exemptions (id),
		audit_seq    bigint NOT NULL REFERENCES audit (seq)
	);
	CREATE TRIGGER requests_no_change BEFORE UPDATE OR DELETE ON requests
		FOR EACH ROW EXECUTE FUNCTION nofly_refuse('requests answered are never changed or deleted');
	CREATE TRIGGER requests_no_truncate BEFORE TRUNCATE ON requests
		FOR EACH STATEMENT EXECUTE FUNCTION nofly_refuse('requests answered are never deleted');

	CREATE FUNCTION nofly_exemption_zones_named() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF NOT EXISTS (SELECT 1 FROM exemptions e
			WHERE e.id = NEW.exemption_id AND (e.record::jsonb -> 'zone_ids') ? NEW.zone_id) THEN
			RAISE EXCEPTION 'a zone row must name a zone of its record' USING ERRCODE = 'integrity_constraint_violation';
		END IF;
		RETURN NEW;
	END $$;
	CREATE TRIGGER exemption_zones_named BEFORE INSERT ON exemption_zones
		FOR EACH ROW EXECUTE FUNCTION nofly_exemption_zones_named();
	CREATE FUNCTION nofly_exemptions_columns() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF NEW.unit IS DISTINCT FROM NEW.record::jsonb #>> '{holder,unit}' OR NEW.id IS DISTINCT FROM NEW.record::jsonb ->> 'id' THEN
			RAISE EXCEPTION 'a record''s columns must agree with the record' USING ERRCODE = 'integrity_constraint_violation';
		END IF;
		RETURN NEW;
	END $$;
	CREATE TRIGGER exemptions_columns BEFORE INSERT ON exemptions
		FOR EACH ROW EXECUTE FUNCTION nofly_exemptions_columns();`,
	// 3: signed flight authorisations, the exemptions each relied on, and
	// the triggers that keep them append-only (a record changes once, when
	// revoked) and its other rows as the record says.
	`CREATE TABLE authorisations (
		seq            bigint PRIMARY KEY,
		id             text NOT NULL UNIQUE,
		unit           text NOT NULL,
		valid_until_ns bigint NOT NULL, -- Unix nanoseconds
		record         text NOT NULL,   -- JSON of the record as issued
		token          bytea NOT NULL,  -- the signed bytes as issued
		revoked_at_ns  bigint,
		revocation     text             -- JSON of the revocation
	);
	CREATE INDEX authorisations_unit ON authorisations (unit, seq);
	CREATE INDEX authorisations_valid ON authorisations (valid_until_ns);
	CREATE TABLE authorisation_exemptions (
		exemption_id     text NOT NULL,
		authorisation_id text NOT NULL REFERENCES authorisations (id),
		PRIMARY KEY (exemption_id, authorisation_id)
	);
	CREATE TRIGGER authorisations_no_delete BEFORE DELETE ON authorisations
		FOR EACH ROW EXECUTE FUNCTION nofly_refuse('authorisations are never deleted');
	CREATE TRIGGER authorisations_no_truncate BEFORE TRUNCATE ON authorisations
		FOR EACH STATEMENT EXECUTE FUNCTION nofly_refuse('authorisations are never deleted');
	CREATE TRIGGER authorisation_exemptions_no_change BEFORE UPDATE OR DELETE ON authorisation_exemptions
		FOR EACH ROW EXECUTE FUNCTION nofly_refuse('authorisations are never edited or deleted');
	CREATE TRIGGER authorisation_exemptions_no_truncate BEFORE TRUNCATE ON authorisation_exemptions
		FOR EACH STATEMENT EXECUTE FUNCTION nofly_refuse('authorisations are never deleted');
	CREATE FUNCTION nofly_authorisations_no_edit() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF OLD.id IS DISTINCT FROM NEW.id OR OLD.seq IS DISTINCT FROM NEW.seq OR OLD.unit IS DISTINCT FROM NEW.unit
			OR OLD.valid_until_ns IS DISTINCT FROM NEW.valid_until_ns OR OLD.record IS DISTINCT FROM NEW.record
			OR OLD.token IS DISTINCT FROM NEW.token OR OLD.revocation IS NOT NULL
		THEN
			RAISE EXCEPTION 'authorisations are never edited: revoke' USING ERRCODE = 'integrity_constraint_violation';
		END IF;
		RETURN NEW;
	END $$;
	CREATE TRIGGER authorisations_no_edit BEFORE UPDATE ON authorisations
		FOR EACH ROW EXECUTE FUNCTION nofly_authorisations_no_edit();
	CREATE FUNCTION nofly_authorisations_columns() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF NEW.unit IS DISTINCT FROM NEW.record::jsonb ->> 'Unit' OR NEW.id IS DISTINCT FROM NEW.record::jsonb ->> 'ID' THEN
			RAISE EXCEPTION 'an authorisation''s columns must agree with the record' USING ERRCODE = 'integrity_constraint_violation';
		END IF;
		RETURN NEW;
	END $$;
	CREATE TRIGGER authorisations_columns BEFORE INSERT ON authorisations
		FOR EACH ROW EXECUTE FUNCTION nofly_authorisations_columns();
	CREATE FUNCTION nofly_authorisation_exemptions_named() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF NOT EXISTS (SELECT 1 FROM authorisations a
			WHERE a.id = NEW.authorisation_id AND (a.record::jsonb -> 'ExemptionIDs') ? NEW.exemption_id) THEN
			RAISE EXCEPTION 'an exemption row must name an exemption its authorisation relied on' USING ERRCODE = 'integrity_constraint_violation';
		END IF;
		RETURN NEW;
	END $$;
	CREATE TRIGGER authorisation_exemptions_named BEFORE INSERT ON authorisation_exemptions
		FOR EACH ROW EXECUTE FUNCTION nofly_authorisation_exemptions_named();`,
	// 4: the drone registry: records kept, never deleted (a drone is
	// retired); every change is also in the audit log.
	`CREATE TABLE drones (
		serial text PRIMARY KEY,
		unit   text NOT NULL,
		record text NOT NULL -- JSON of the record
	);
	CREATE INDEX drones_unit ON drones (unit, serial);
	CREATE FUNCTION nofly_drones_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		RAISE EXCEPTION 'drones are never deleted: retire them' USING ERRCODE = 'integrity_constraint_violation';
	END $$;
	CREATE TRIGGER drones_no_delete BEFORE DELETE ON drones
		FOR EACH ROW EXECUTE FUNCTION nofly_drones_no_delete();
	CREATE FUNCTION nofly_drones_guard() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF TG_OP = 'UPDATE' AND (OLD.record::jsonb ->> 'status' = 'retired' OR NEW.serial IS DISTINCT FROM OLD.serial) THEN
			RAISE EXCEPTION 'a retired drone''s record is kept as it was' USING ERRCODE = 'integrity_constraint_violation';
		END IF;
		IF NEW.serial IS DISTINCT FROM NEW.record::jsonb ->> 'serial' OR NEW.unit IS DISTINCT FROM NEW.record::jsonb ->> 'unit' THEN
			RAISE EXCEPTION 'a drone''s columns must agree with the record' USING ERRCODE = 'integrity_constraint_violation';
		END IF;
		RETURN NEW;
	END $$;
	CREATE TRIGGER drones_guard BEFORE INSERT OR UPDATE ON drones
		FOR EACH ROW EXECUTE FUNCTION nofly_drones_guard();`,
	// 5: counters of refused checks, per day (UTC), unit, purpose, kind
	// and whether an authorisation was asked for: no pilot, drone or
	// position. count only grows; sealed is how much of it the audit log
	// holds (ActionRefusals entries).
	`CREATE TABLE refusals (
		day           text NOT NULL,    -- 2026-03-04, UTC
		unit          text NOT NULL,
		purpose       text NOT NULL,
		kind          text NOT NULL,    -- airspace, fleet
		authorisation boolean NOT NULL, -- a request for an authorisation
		count         bigint NOT NULL CHECK (count > 0),
		sealed        bigint NOT NULL DEFAULT 0 CHECK (sealed >= 0 AND sealed <= count),
		PRIMARY KEY (day, unit, purpose, kind, authorisation)
	);
	CREATE INDEX refusals_unsealed ON refusals (day) WHERE count > sealed;
	CREATE FUNCTION nofly_refusals_grow() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF TG_OP = 'DELETE' THEN
			RAISE EXCEPTION 'refusal counts are never deleted' USING ERRCODE = 'integrity_constraint_violation';
		END IF;
		IF (NEW.day, NEW.unit, NEW.purpose, NEW.kind, NEW.authorisation) IS DISTINCT FROM (OLD.day, OLD.unit, OLD.purpose, OLD.kind, OLD.authorisation)
			OR NEW.count < OLD.count OR NEW.sealed < OLD.sealed THEN
			RAISE EXCEPTION 'refusal counts only grow' USING ERRCODE = 'integrity_constraint_violation';
		END IF;
		RETURN NEW;
	END $$;
	CREATE TRIGGER refusals_grow BEFORE UPDATE OR DELETE ON refusals
		FOR EACH ROW EXECUTE FUNCTION nofly_refusals_grow();`,
}

// migrationLock is the pg_advisory_xact_lock key that serialises schema
// migrations between noflyd starting at the same time ("nofly" in ASCII).
const migrationLock = 0x6e6f666c79

func (s *Store) migrate(ctx context.Context) error {
	// A schema already up to date needs no DDL, so that replicas may run
	// as a role that can only read and write the rows (docs/postgresql.md).
	var (
		applied int
		exists  bool
	)
	if err := s.pool.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return err
	}
	if exists {
		if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&applied); err != nil {
			return err
		}
	}
	if applied > len(pgMigrations) {
		return fmt.Errorf("database schema version %d is newer than this program's %d", applied, len(pgMigrations))
	}
	if applied == len(pgMigrations) {
		return nil
	}
	for i, m := range pgMigrations {
		v := i + 1
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM schema_migrations WHERE version = $1", v).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.Exec(ctx, m); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", v)
			return err
		})
		if err != nil {
			return fmt.Errorf("schema migration %d: %w", v, err)
		}
	}
	var newest int
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&newest); err != nil {
		return err
	}
	if newest > len(pgMigrations) {
		return fmt.Errorf("database schema version %d is newer than this program's %d", newest, len(pgMigrations))
	}
	return nil
}
