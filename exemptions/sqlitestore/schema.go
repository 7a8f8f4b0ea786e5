package sqlitestore

// migrations are applied in order; never change one that has shipped, add
// a new one.
var migrations = []string{
	// 1: records, the zones they name, the audit log, the record set version.
	`CREATE TABLE exemptions (
		seq            INTEGER PRIMARY KEY,
		id             TEXT NOT NULL UNIQUE,
		unit           TEXT NOT NULL,
		valid_from_ns  INTEGER NOT NULL, -- Unix nanoseconds
		valid_until_ns INTEGER NOT NULL,
		record         TEXT NOT NULL,    -- JSON of the record as issued
		superseded_by  TEXT,
		revoked_at_ns  INTEGER,
		revocation     TEXT              -- JSON of the revocation
	);
	CREATE INDEX exemptions_unit ON exemptions (unit, seq);
	CREATE TABLE exemption_zones (
		zone_id      TEXT NOT NULL,
		exemption_id TEXT NOT NULL REFERENCES exemptions (id),
		PRIMARY KEY (zone_id, exemption_id)
	) WITHOUT ROWID;
	CREATE TABLE audit (
		seq    INTEGER PRIMARY KEY,
		action TEXT NOT NULL,
		actor  TEXT NOT NULL,
		ids    TEXT NOT NULL,  -- ",EX-000001,EX-000002,"
		entry  TEXT NOT NULL,  -- canonical JSON, as hashed
		hash   TEXT NOT NULL
	);
	CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
	INSERT INTO meta VALUES ('records_version', 0);
	CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
		BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
	CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
		BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
	CREATE TRIGGER exemptions_no_delete BEFORE DELETE ON exemptions
		BEGIN SELECT RAISE(ABORT, 'exemptions are never deleted'); END;
	CREATE TRIGGER exemption_zones_no_delete BEFORE DELETE ON exemption_zones
		BEGIN SELECT RAISE(ABORT, 'exemptions are never deleted'); END;
	CREATE TRIGGER exemptions_no_edit BEFORE UPDATE ON exemptions
		WHEN OLD.id IS NOT NEW.id OR OLD.seq IS NOT NEW.seq OR OLD.unit IS NOT NEW.unit
			OR OLD.valid_from_ns IS NOT NEW.valid_from_ns OR OLD.valid_until_ns IS NOT NEW.valid_until_ns
			OR OLD.record IS NOT NEW.record
			OR (OLD.superseded_by IS NOT NULL AND OLD.superseded_by IS NOT NEW.superseded_by)
			OR (OLD.revocation IS NOT NULL AND (OLD.revocation IS NOT NEW.revocation OR OLD.revoked_at_ns IS NOT NEW.revoked_at_ns))
		BEGIN SELECT RAISE(ABORT, 'exemptions are never edited: supersede or revoke'); END;`,
	// 2: the record set version at which each record last changed, so that
	// caches read only what changed.
	`ALTER TABLE exemptions ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX exemptions_version ON exemptions (version);`,
	// 3: the requests answered (idempotent writes), and guards on the rows
	// the list queries read besides the records: a zone row must name a
	// zone its record names, and is never changed; a record's unit column
	// is its holder's unit.
	`CREATE TABLE requests (
		request_id   TEXT PRIMARY KEY,
		digest       TEXT NOT NULL,
		action       TEXT NOT NULL,
		exemption_id TEXT NOT NULL REFERENCES exemptions (id),
		audit_seq    INTEGER NOT NULL REFERENCES audit (seq)
	) WITHOUT ROWID;
	CREATE TRIGGER requests_no_update BEFORE UPDATE ON requests
		BEGIN SELECT RAISE(ABORT, 'requests answered are never changed'); END;
	CREATE TRIGGER requests_no_delete BEFORE DELETE ON requests
		BEGIN SELECT RAISE(ABORT, 'requests answered are never deleted'); END;
	CREATE TRIGGER exemption_zones_no_update BEFORE UPDATE ON exemption_zones
		BEGIN SELECT RAISE(ABORT, 'exemptions are never edited: supersede or revoke'); END;
	CREATE TRIGGER exemption_zones_named BEFORE INSERT ON exemption_zones
		WHEN NOT EXISTS (SELECT 1 FROM exemptions e, json_each(e.record, '$.zone_ids') z
			WHERE e.id = NEW.exemption_id AND z.value = NEW.zone_id)
		BEGIN SELECT RAISE(ABORT, 'a zone row must name a zone of its record'); END;
	CREATE TRIGGER exemptions_unit BEFORE INSERT ON exemptions
		WHEN NEW.unit IS NOT json_extract(NEW.record, '$.holder.unit') OR NEW.id IS NOT json_extract(NEW.record, '$.id')
		BEGIN SELECT RAISE(ABORT, 'a record''s columns must agree with the record'); END;`,
	// 4: signed flight authorisations, the exemptions each relied on, and
	// the triggers that keep them append-only (a record changes once, when
	// revoked) and its other rows as the record says.
	`CREATE TABLE authorisations (
		seq            INTEGER PRIMARY KEY,
		id             TEXT NOT NULL UNIQUE,
		unit           TEXT NOT NULL,
		valid_until_ns INTEGER NOT NULL, -- Unix nanoseconds
		record         TEXT NOT NULL,    -- JSON of the record as issued
		token          BLOB NOT NULL,    -- the signed bytes as issued
		revoked_at_ns  INTEGER,
		revocation     TEXT              -- JSON of the revocation
	);
	CREATE INDEX authorisations_unit ON authorisations (unit, seq);
	CREATE INDEX authorisations_valid ON authorisations (valid_until_ns);
	CREATE TABLE authorisation_exemptions (
		exemption_id     TEXT NOT NULL,
		authorisation_id TEXT NOT NULL REFERENCES authorisations (id),
		PRIMARY KEY (exemption_id, authorisation_id)
	) WITHOUT ROWID;
	CREATE TRIGGER authorisations_no_delete BEFORE DELETE ON authorisations
		BEGIN SELECT RAISE(ABORT, 'authorisations are never deleted'); END;
	CREATE TRIGGER authorisation_exemptions_no_delete BEFORE DELETE ON authorisation_exemptions
		BEGIN SELECT RAISE(ABORT, 'authorisations are never deleted'); END;
	CREATE TRIGGER authorisation_exemptions_no_update BEFORE UPDATE ON authorisation_exemptions
		BEGIN SELECT RAISE(ABORT, 'authorisations are never edited: revoke'); END;
	CREATE TRIGGER authorisations_no_edit BEFORE UPDATE ON authorisations
		WHEN OLD.id IS NOT NEW.id OR OLD.seq IS NOT NEW.seq OR OLD.unit IS NOT NEW.unit
			OR OLD.valid_until_ns IS NOT NEW.valid_until_ns OR OLD.record IS NOT NEW.record OR OLD.token IS NOT NEW.token
			OR OLD.revocation IS NOT NULL
		BEGIN SELECT RAISE(ABORT, 'authorisations are never edited: revoke'); END;
	CREATE TRIGGER authorisations_columns BEFORE INSERT ON authorisations
		WHEN NEW.unit IS NOT json_extract(NEW.record, '$.Unit') OR NEW.id IS NOT json_extract(NEW.record, '$.ID')
		BEGIN SELECT RAISE(ABORT, 'an authorisation''s columns must agree with the record'); END;
	CREATE TRIGGER authorisation_exemptions_named BEFORE INSERT ON authorisation_exemptions
		WHEN NOT EXISTS (SELECT 1 FROM authorisations a, json_each(a.record, '$.ExemptionIDs') x
			WHERE a.id = NEW.authorisation_id AND x.value = NEW.exemption_id)
		BEGIN SELECT RAISE(ABORT, 'an exemption row must name an exemption its authorisation relied on'); END;`,
	// 5: the drone registry: records kept, never deleted (a drone is
	// retired); every change is also in the audit log.
	`CREATE TABLE drones (
		serial TEXT PRIMARY KEY,
		unit   TEXT NOT NULL,
		record TEXT NOT NULL -- JSON of the record
	) WITHOUT ROWID;
	CREATE INDEX drones_unit ON drones (unit, serial);
	CREATE TRIGGER drones_no_delete BEFORE DELETE ON drones
		BEGIN SELECT RAISE(ABORT, 'drones are never deleted: retire them'); END;
	CREATE TRIGGER drones_columns BEFORE INSERT ON drones
		WHEN NEW.serial IS NOT json_extract(NEW.record, '$.serial') OR NEW.unit IS NOT json_extract(NEW.record, '$.unit')
		BEGIN SELECT RAISE(ABORT, 'a drone''s columns must agree with the record'); END;
	CREATE TRIGGER drones_retired BEFORE UPDATE ON drones
		WHEN json_extract(OLD.record, '$.status') = 'retired' OR NEW.serial IS NOT OLD.serial
			OR NEW.unit IS NOT json_extract(NEW.record, '$.unit') OR NEW.serial IS NOT json_extract(NEW.record, '$.serial')
		BEGIN SELECT RAISE(ABORT, 'a retired drone''s record is kept as it was'); END;`,
	// 6: counters of refused checks, per day (UTC), unit, purpose, kind
	// and whether an authorisation was asked for: no pilot, drone or
	// position. count only grows; sealed is how much of it the audit log
	// holds (ActionRefusals entries), and grows to count when the day is
	// sealed.
	`CREATE TABLE refusals (
		day           TEXT NOT NULL,    -- 2026-03-04, UTC
		unit          TEXT NOT NULL,
		purpose       TEXT NOT NULL,
		kind          TEXT NOT NULL,    -- airspace, fleet
		authorisation INTEGER NOT NULL, -- 1: a request for an authorisation
		count         INTEGER NOT NULL CHECK (count > 0),
		sealed        INTEGER NOT NULL DEFAULT 0 CHECK (sealed >= 0 AND sealed <= count),
		PRIMARY KEY (day, unit, purpose, kind, authorisation)
	) WITHOUT ROWID;
	CREATE INDEX refusals_unsealed ON refusals (day) WHERE count > sealed;
	CREATE TRIGGER refusals_no_delete BEFORE DELETE ON refusals
		BEGIN SELECT RAISE(ABORT, 'refusal counts are never deleted'); END;
	CREATE TRIGGER refusals_grow BEFORE UPDATE ON refusals
		WHEN NEW.day IS NOT OLD.day OR NEW.unit IS NOT OLD.unit OR NEW.purpose IS NOT OLD.purpose OR NEW.kind IS NOT OLD.kind
			OR NEW.authorisation IS NOT OLD.authorisation OR NEW.count < OLD.count OR NEW.sealed < OLD.sealed
		BEGIN SELECT RAISE(ABORT, 'refusal counts only grow'); END;`,
}
