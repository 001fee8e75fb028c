import Foundation
import GRDB
import Logging
import TetherCore

/// The ``RunStore`` of the embedded default: runs and their trees' event logs in SQLite.
///
/// A batch of events is written in one transaction: the event log hands over everything
/// appended while the previous write was in progress, so a busy tree costs one commit per
/// batch rather than per event.
public final class SQLiteRunStore: RunStore {
    let database: SQLiteDatabase
    let logger: Logger

    public init(database: SQLiteDatabase, logger: Logger = Logger(label: "tether.sqlite")) {
        self.database = database
        self.logger = logger
    }

    static let columns = """
        id, agent, input, status, parent_run_id, root_run_id, depth, created_at, started_at,
        stop_requested_at, finished_at, forced, result, error, instance, resumed_from, forked_at, usage,
        budget, stop_reason
        """

    public func insertRun(_ record: RunRecord) async throws {
        try await database.write { db in
            try db.execute(
                sql: "INSERT INTO runs (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: Self.arguments(record)
            )
        }
    }

    /// Inserts many runs in one transaction (imports, seeding large histories).
    public func insertRuns(_ records: [RunRecord]) async throws {
        try await database.pool.write { db in
            let statement = try db.cachedStatement(
                sql: "INSERT INTO runs (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            )
            for record in records { try statement.execute(arguments: Self.arguments(record)) }
        }
    }

    public func deleteTrees(finishedBefore date: Date) async throws -> Int {
        try await database.pool.write { db in
            let roots = try String.fetchAll(
                db,
                sql: """
                    SELECT id FROM runs AS root
                    WHERE root.parent_run_id IS NULL AND root.finished_at IS NOT NULL AND root.finished_at < ?
                    AND NOT EXISTS (
                        SELECT 1 FROM runs AS member
                        WHERE member.root_run_id = root.id AND member.status IN ('running', 'stopping'))
                    """,
                arguments: [date.timeIntervalSinceReferenceDate]
            )
            for root in roots {
                try db.execute(sql: "DELETE FROM events WHERE root_run_id = ?", arguments: [root])
                // Children first: they refer to their parents.
                try db.execute(sql: "DELETE FROM runs WHERE root_run_id = ? AND id != ?", arguments: [root, root])
                try db.execute(sql: "DELETE FROM runs WHERE id = ?", arguments: [root])
            }
            return roots.count
        }
    }

    public func updateRun(_ record: RunRecord) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    UPDATE runs SET status = ?, started_at = ?, stop_requested_at = ?, finished_at = ?,
                    forced = ?, result = ?, error = ?, usage = ?, stop_reason = ? WHERE id = ?
                    """,
                arguments: [
                    record.status.rawValue, record.startedAt?.timeIntervalSinceReferenceDate,
                    record.stopRequestedAt?.timeIntervalSinceReferenceDate, record.finishedAt?.timeIntervalSinceReferenceDate,
                    record.forced, record.result?.compactJSON, record.error, record.usage.map(StoredJSON.text),
                    record.stopReason.map(StoredJSON.text), record.id.rawValue,
                ]
            )
            if db.changesCount == 0 { throw SQLiteStoreError.unknownRun(record.id) }
        }
    }

    public func run(_ id: RunID) async throws -> RunRecord? {
        try await database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM runs WHERE id = ?", arguments: [id.rawValue])
                .map(Self.record)
        }
    }

    public func runs(inTree root: RunID) async throws -> [RunRecord] {
        try await records(
            sql: "SELECT \(Self.columns) FROM runs WHERE root_run_id = ? ORDER BY depth, created_at, id",
            arguments: [root.rawValue]
        )
        .sortedParentsFirst()
    }

    public func listRuns(_ query: RunQuery) async throws -> [RunRecord] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if !query.includeChildren { conditions.append("parent_run_id IS NULL") }
        if let status = query.status {
            conditions.append("status = ?")
            _ = arguments.append(contentsOf: [status.rawValue])
        }
        if let agent = query.agent {
            conditions.append("agent = ?")
            _ = arguments.append(contentsOf: [agent])
        }
        if let before = query.before {
            conditions.append("(created_at < ? OR (created_at = ? AND id < ?))")
            let time = before.createdAt.timeIntervalSinceReferenceDate
            _ = arguments.append(contentsOf: [time, time, before.id.rawValue])
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        _ = arguments.append(contentsOf: [query.limit])
        let sql = "SELECT \(Self.columns) FROM runs \(filter) ORDER BY created_at DESC, id DESC LIMIT ?"
        return try await records(sql: sql, arguments: arguments)
    }

    public func resumption(of id: RunID) async throws -> RunRecord? {
        try await records(
            sql: """
                SELECT \(Self.columns) FROM runs
                WHERE resumed_from = ? AND forked_at IS NULL AND parent_run_id IS NULL LIMIT 1
                """,
            arguments: [id.rawValue]
        )
        .first
    }

    public func unfinishedRuns() async throws -> [RunRecord] {
        try await records(
            sql: "SELECT \(Self.columns) FROM runs WHERE status IN ('running', 'stopping') ORDER BY depth DESC, created_at",
            arguments: []
        )
    }

    public func appendEvents(_ events: [ProgressEvent], tree root: RunID) async throws {
        let rows = try events.map { event in
            [
                root.rawValue, event.seq, event.runID.rawValue, event.kind.rawValue,
                event.at.timeIntervalSinceReferenceDate, event.message, try Self.json(event.data),
            ] as StatementArguments
        }
        try await database.write { db in
            let statement = try db.cachedStatement(
                sql: "INSERT INTO events (root_run_id, seq, run_id, kind, at, message, data) VALUES (?, ?, ?, ?, ?, ?, ?)"
            )
            for arguments in rows { try statement.execute(arguments: arguments) }
        }
    }

    public func events(inTree root: RunID, after seq: Int, limit: Int) async throws -> [ProgressEvent] {
        try await database.pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT seq, run_id, kind, at, message, data FROM events WHERE root_run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                arguments: [root.rawValue, seq, min(limit, Int(Int32.max))]
            ).map(Self.event)
        }
    }

    public func lastSeq(inTree root: RunID) async throws -> Int {
        try await database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT max(seq) FROM events WHERE root_run_id = ?", arguments: [root.rawValue]) ?? 0
        }
    }

    public func finishedEvent(of id: RunID, inTree root: RunID) async throws -> ProgressEvent? {
        try await database.pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT seq, run_id, kind, at, message, data FROM events
                    WHERE run_id = ? AND kind = ? AND root_run_id = ? ORDER BY seq DESC LIMIT 1
                    """,
                arguments: [id.rawValue, EventKind.runFinished.rawValue, root.rawValue]
            ).map(Self.event)
        }
    }
}
