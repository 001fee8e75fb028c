import Logging
import PostgresNIO

/// The schema, as numbered migrations applied in order and recorded in
/// `tether_migrations`. Never edit a migration that has shipped: add one.
///
/// Times are `double precision` seconds since 2001-01-01 (`Date`'s own storage), as in
/// SQLite, so that they come back to the bit: listing pages by `(created_at, id)` depends on it.
/// Ids and keys compare byte by byte (`COLLATE "C"`), as in SQLite, whatever the locale.
/// Stored values are `bytea`: `text` cannot hold U+0000, which a value may.
enum PostgresSchema {
    static let migrations: [(name: String, sql: [String])] = [
        (
            "v1: runs, events, store entries",
            [
                """
                CREATE TABLE runs (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    agent TEXT NOT NULL,
                    input TEXT NOT NULL,
                    status TEXT NOT NULL,
                    parent_run_id TEXT COLLATE "C" REFERENCES runs(id),
                    root_run_id TEXT COLLATE "C" NOT NULL,
                    depth INTEGER NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    started_at DOUBLE PRECISION,
                    stop_requested_at DOUBLE PRECISION,
                    finished_at DOUBLE PRECISION,
                    forced BOOLEAN NOT NULL DEFAULT false,
                    result TEXT,
                    error TEXT,
                    instance TEXT
                )
                """,
                "CREATE INDEX runs_by_parent ON runs(parent_run_id)",
                "CREATE INDEX runs_by_root ON runs(root_run_id)",
                "CREATE INDEX runs_by_recency ON runs(created_at DESC, id DESC)",
                "CREATE INDEX runs_in_flight ON runs(instance) WHERE status IN ('running', 'stopping')",
                """
                CREATE TABLE events (
                    root_run_id TEXT NOT NULL,
                    seq BIGINT NOT NULL,
                    run_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    at DOUBLE PRECISION NOT NULL,
                    message TEXT NOT NULL,
                    data TEXT NOT NULL,
                    PRIMARY KEY (root_run_id, seq)
                )
                """,
                "CREATE INDEX events_by_run ON events(run_id, kind)",
                """
                CREATE TABLE store_entries (
                    namespace TEXT COLLATE "C" NOT NULL,
                    key TEXT COLLATE "C" NOT NULL,
                    value BYTEA NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (namespace, key)
                )
                """,
            ]
        ),
        (
            "v2: stop requests, instances",
            [
                """
                CREATE TABLE stop_requests (
                    run_id TEXT COLLATE "C" PRIMARY KEY,
                    instance TEXT NOT NULL,
                    force BOOLEAN NOT NULL,
                    requested_at DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE INDEX stop_requests_by_instance ON stop_requests(instance)",
                """
                CREATE TABLE instances (
                    id TEXT PRIMARY KEY,
                    lease_until TIMESTAMPTZ NOT NULL,
                    started_at TIMESTAMPTZ NOT NULL
                )
                """,
            ]
        ),
        (
            "v3: the run a resumed run continues",
            [
                "ALTER TABLE runs ADD COLUMN resumed_from TEXT COLLATE \"C\"",
                "ALTER TABLE runs ADD COLUMN forked_at INTEGER",
                "CREATE INDEX runs_by_resumed_from ON runs(resumed_from) WHERE resumed_from IS NOT NULL",
                """
                CREATE UNIQUE INDEX runs_resumed_once ON runs(resumed_from)
                WHERE resumed_from IS NOT NULL AND forked_at IS NULL AND parent_run_id IS NULL
                """,
            ]
        ),
        ("v4: each run's LLM usage", ["ALTER TABLE runs ADD COLUMN usage TEXT"]),
        (
            "v5: each root run's budget, and why a run's stop was requested",
            ["ALTER TABLE runs ADD COLUMN budget TEXT", "ALTER TABLE runs ADD COLUMN stop_reason TEXT"]
        ),
    ]

    /// Applies the migrations not yet applied, each in its transaction, under an advisory
    /// lock held for the transaction, so instances starting together apply each once.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        for (index, migration) in migrations.enumerated() {
            let version = index + 1
            try await client.withTransaction(logger: logger) { connection in
                try await connection.run("SELECT pg_advisory_xact_lock(7365400)", logger: logger)
                try await connection.run(
                    "CREATE TABLE IF NOT EXISTS tether_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)",
                    logger: logger
                )
                let applied = try await connection.query("SELECT 1 FROM tether_migrations WHERE version = \(version)", logger: logger)
                var seen = false
                for try await _ in applied { seen = true }
                guard !seen else { return }
                for statement in migration.sql {
                    try await connection.run(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.run(
                    "INSERT INTO tether_migrations (version, name) VALUES (\(version), \(migration.name))",
                    logger: logger
                )
            }
        }
    }
}
