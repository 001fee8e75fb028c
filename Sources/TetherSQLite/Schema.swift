import GRDB

/// The schema, as GRDB migrations. Never edit a migration that has shipped: add one.
///
/// Times are stored as `REAL` seconds since 2001-01-01 (`Date`'s own storage), so that they
/// come back to the bit: listing pages by `(created_at, id)` depends on it.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: runs, events, store entries") { db in
            try db.execute(
                sql: """
                    CREATE TABLE runs (
                        id TEXT PRIMARY KEY NOT NULL,
                        agent TEXT NOT NULL,
                        input TEXT NOT NULL,
                        status TEXT NOT NULL,
                        parent_run_id TEXT REFERENCES runs(id),
                        root_run_id TEXT NOT NULL,
                        depth INTEGER NOT NULL,
                        created_at REAL NOT NULL,
                        started_at REAL,
                        stop_requested_at REAL,
                        finished_at REAL,
                        forced INTEGER NOT NULL DEFAULT 0,
                        result TEXT,
                        error TEXT
                    );
                    CREATE INDEX runs_by_parent ON runs(parent_run_id);
                    CREATE INDEX runs_by_root ON runs(root_run_id);
                    CREATE INDEX runs_by_recency ON runs(created_at DESC, id DESC);
                    CREATE INDEX runs_by_status ON runs(status);
                    CREATE TABLE events (
                        root_run_id TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        run_id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        at REAL NOT NULL,
                        message TEXT NOT NULL,
                        data TEXT NOT NULL,
                        PRIMARY KEY (root_run_id, seq)
                    ) WITHOUT ROWID;
                    CREATE INDEX events_by_run ON events(run_id, kind);
                    CREATE TABLE store_entries (
                        namespace TEXT NOT NULL,
                        key TEXT NOT NULL,
                        value TEXT NOT NULL,
                        updated_at REAL NOT NULL,
                        PRIMARY KEY (namespace, key)
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v2: the instance executing each run") { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN instance TEXT")
        }
        migrator.registerMigration("v3: the run a resumed run continues") { db in
            try db.execute(
                sql: """
                    ALTER TABLE runs ADD COLUMN resumed_from TEXT;
                    ALTER TABLE runs ADD COLUMN forked_at INTEGER;
                    CREATE INDEX runs_by_resumed_from ON runs(resumed_from) WHERE resumed_from IS NOT NULL;
                    CREATE UNIQUE INDEX runs_resumed_once ON runs(resumed_from)
                        WHERE resumed_from IS NOT NULL AND forked_at IS NULL AND parent_run_id IS NULL;
                    """
            )
        }
        migrator.registerMigration("v4: each run's LLM usage") { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN usage TEXT")
        }
        migrator.registerMigration("v5: each root run's budget, and why a run's stop was requested") { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN budget TEXT")
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN stop_reason TEXT")
        }
        return migrator
    }
}
