import Foundation
import Logging
import PostgresNIO
import TetherCore

/// The ``RunStore`` on PostgreSQL: the same tables and answers as SQLite's, shared by every
/// instance on the database.
public final class PostgresRunStore: RunStore {
    let database: PostgresDatabase
    let logger: Logger
    var client: PostgresClient { database.client }

    public init(database: PostgresDatabase, logger: Logger = Logger(label: "tether.postgres")) {
        self.database = database
        self.logger = logger
    }

    static let columns = """
        id, agent, input, status, parent_run_id, root_run_id, depth, created_at, started_at,
        stop_requested_at, finished_at, forced, result, error, instance, resumed_from, forked_at, usage,
        budget, stop_reason
        """

    /// The channel of Tether's notifications (`LISTEN tether`): `tree ROOT SEQ` once a tree's
    /// events up to `SEQ` are committed, `tree ROOT` once one of its records changed, and
    /// `stop INSTANCE RUN FORCE` once a stop of a run that instance executes is recorded.
    public static let channel = "tether"

    public func insertRun(_ record: RunRecord) async throws {
        try database.checkWritable()
        try await client.run(
            """
            INSERT INTO runs (\(unescaped: Self.columns)) VALUES (
                \(record.id.rawValue), \(record.agent), \(record.input.compactJSON), \(record.status.rawValue),
                \(record.parentRunID?.rawValue), \(record.rootRunID.rawValue), \(record.depth),
                \(record.createdAt.timeIntervalSinceReferenceDate), \(record.startedAt?.timeIntervalSinceReferenceDate),
                \(record.stopRequestedAt?.timeIntervalSinceReferenceDate), \(record.finishedAt?.timeIntervalSinceReferenceDate),
                \(record.forced), \(record.result?.compactJSON), \(record.error), \(record.instance),
                \(record.resumedFrom?.rawValue), \(record.forkedAt), \(record.usage.map(StoredJSON.text)),
                \(record.budget.map(StoredJSON.text)), \(record.stopReason.map(StoredJSON.text)))
            """,
            logger: logger
        )
    }

    /// Only a run in flight changes: a final record is final (another instance may have
    /// written it, for an instance whose lease expired). Writing the same final record again
    /// (a retry of a write whose answer was lost) succeeds.
    public func updateRun(_ record: RunRecord) async throws {
        try database.checkWritable()
        let rows = try await client.query(
            """
            WITH updated AS (UPDATE runs SET status = \(record.status.rawValue), started_at = \(record.startedAt?.timeIntervalSinceReferenceDate),
            stop_requested_at = \(record.stopRequestedAt?.timeIntervalSinceReferenceDate),
            finished_at = \(record.finishedAt?.timeIntervalSinceReferenceDate), forced = \(record.forced),
            result = \(record.result?.compactJSON), error = \(record.error), usage = \(record.usage.map(StoredJSON.text)),
            stop_reason = \(record.stopReason.map(StoredJSON.text))
            WHERE id = \(record.id.rawValue) AND (status IN ('running', 'stopping')
                OR (status = \(record.status.rawValue) AND finished_at IS NOT DISTINCT FROM \(record.finishedAt?.timeIntervalSinceReferenceDate)))
            RETURNING root_run_id)
            SELECT pg_notify(\(Self.channel), 'tree ' || root_run_id) FROM updated
            """,
            logger: logger
        )
        var updated = false
        for try await _ in rows { updated = true }
        if !updated { throw PostgresStoreError.unknownRun(record.id.rawValue) }
    }

    public func run(_ id: RunID) async throws -> RunRecord? {
        let rows = try await client.query("SELECT \(unescaped: Self.columns) FROM runs WHERE id = \(id.rawValue)", logger: logger)
        for try await row in rows.decode(StoredRun.self) {
            return try Self.record(row)
        }
        return nil
    }

    public func runs(inTree root: RunID) async throws -> [RunRecord] {
        try await records(
            "SELECT \(unescaped: Self.columns) FROM runs WHERE root_run_id = \(root.rawValue) ORDER BY depth, created_at, id"
        )
        .sortedParentsFirst()
    }

    public func listRuns(_ query: RunQuery) async throws -> [RunRecord] {
        var conditions: [String] = []
        var binds = PostgresBindings()
        func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        if !query.includeChildren { conditions.append("parent_run_id IS NULL") }
        if let status = query.status { conditions.append("status = \(bind(status.rawValue))") }
        if let agent = query.agent { conditions.append("agent = \(bind(agent))") }
        if let before = query.before {
            let time = bind(before.createdAt.timeIntervalSinceReferenceDate)
            conditions.append("(created_at < \(time) OR (created_at = \(time) AND id < \(bind(before.id.rawValue))))")
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let limit = bind(query.limit)
        return try await records(
            PostgresQuery(
                unsafeSQL: "SELECT \(Self.columns) FROM runs \(filter) ORDER BY created_at DESC, id DESC LIMIT \(limit)",
                binds: binds
            )
        )
    }

    public func resumption(of id: RunID) async throws -> RunRecord? {
        try await records(
            """
            SELECT \(unescaped: Self.columns) FROM runs
            WHERE resumed_from = \(id.rawValue) AND forked_at IS NULL AND parent_run_id IS NULL LIMIT 1
            """
        )
        .first
    }

    public func unfinishedRuns() async throws -> [RunRecord] {
        try await records(
            "SELECT \(unescaped: Self.columns) FROM runs WHERE status IN ('running', 'stopping') ORDER BY depth DESC, created_at"
        )
    }

    public func deleteTrees(finishedBefore date: Date) async throws -> Int {
        try database.checkWritable()
        return try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT id FROM runs AS root
                WHERE root.parent_run_id IS NULL AND root.finished_at IS NOT NULL
                AND root.finished_at < \(date.timeIntervalSinceReferenceDate)
                AND NOT EXISTS (
                    SELECT 1 FROM runs AS member
                    WHERE member.root_run_id = root.id AND member.status IN ('running', 'stopping'))
                ORDER BY id FOR UPDATE SKIP LOCKED
                """,
                logger: logger
            )
            var roots: [String] = []
            for try await id in rows.decode(String.self) { roots.append(id) }
            for root in roots {
                try await connection.run("DELETE FROM events WHERE root_run_id = \(root)", logger: logger)
                // Children first: they refer to their parents.
                try await connection.run("DELETE FROM runs WHERE root_run_id = \(root) AND id <> \(root)", logger: logger)
                try await connection.run("DELETE FROM runs WHERE id = \(root)", logger: logger)
            }
            return roots.count
        }
    }

    public func appendEvents(_ events: [ProgressEvent], tree root: RunID) async throws {
        guard !events.isEmpty else { return }
        try database.checkWritable()
        var appended = false
        for try await _ in try await client.query(Self.appending(events, tree: root), logger: logger) { appended = true }
        if !appended { throw PostgresStoreError.treeEnded(root.rawValue) }
    }

    /// Inserts a batch of one tree's events in one statement (the columns as arrays,
    /// unnested into rows), and notifies the tree's new last `seq` on commit; it answers no
    /// row, and inserts nothing, once the tree's root has ended (a root not yet stored is
    /// not ended: a stop may log before the run's insert has committed). A tree's log is closed by
    /// its root's final record (its `run.finished` is written before it), so an instance that
    /// lost its lease cannot add to a log another instance ended for it.
    static func appending(_ events: [ProgressEvent], tree root: RunID) -> PostgresQuery {
        var seqs: [Int] = []
        var runs: [String] = []
        var kinds: [String] = []
        var times: [Double] = []
        var messages: [String] = []
        var data: [String] = []
        for event in events {
            seqs.append(event.seq)
            runs.append(event.runID.rawValue)
            kinds.append(event.kind.rawValue)
            times.append(event.at.timeIntervalSinceReferenceDate)
            messages.append(event.message)
            data.append(JSONValue.object(event.data).compactJSON)
        }
        return """
            WITH inserted AS (
                INSERT INTO events (root_run_id, seq, run_id, kind, at, message, data)
                SELECT \(root.rawValue), * FROM unnest(\(seqs)::bigint[], \(runs)::text[], \(kinds)::text[],
                    \(times)::double precision[], \(messages)::text[], \(data)::text[])
                WHERE NOT EXISTS (SELECT 1 FROM runs WHERE id = \(root.rawValue) AND status NOT IN ('running', 'stopping'))
                RETURNING seq)
            SELECT pg_notify(\(channel), 'tree ' || \(root.rawValue) || ' ' || max(seq)) FROM inserted HAVING count(*) > 0
            """
    }

    public func events(inTree root: RunID, after seq: Int, limit: Int) async throws -> [ProgressEvent] {
        try await events(
            """
            SELECT seq, run_id, kind, at, message, data FROM events
            WHERE root_run_id = \(root.rawValue) AND seq > \(seq) ORDER BY seq LIMIT \(min(limit, Int(Int32.max)))
            """
        )
    }

    public func lastSeq(inTree root: RunID) async throws -> Int {
        let rows = try await client.query("SELECT max(seq) FROM events WHERE root_run_id = \(root.rawValue)", logger: logger)
        for try await last in rows.decode(Int?.self) { return last ?? 0 }
        return 0
    }

    public func finishedEvent(of id: RunID, inTree root: RunID) async throws -> ProgressEvent? {
        try await events(
            """
            SELECT seq, run_id, kind, at, message, data FROM events
            WHERE run_id = \(id.rawValue) AND kind = \(EventKind.runFinished.rawValue) AND root_run_id = \(root.rawValue)
            ORDER BY seq DESC LIMIT 1
            """
        ).first
    }
}
