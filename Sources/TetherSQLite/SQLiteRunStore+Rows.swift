import Foundation
import GRDB
import TetherCore

/// How runs and events map to rows and columns.
extension SQLiteRunStore {

    static func arguments(_ record: RunRecord) -> StatementArguments {
        [
            record.id.rawValue, record.agent, record.input.compactJSON, record.status.rawValue,
            record.parentRunID?.rawValue, record.rootRunID.rawValue, record.depth,
            record.createdAt.timeIntervalSinceReferenceDate, record.startedAt?.timeIntervalSinceReferenceDate,
            record.stopRequestedAt?.timeIntervalSinceReferenceDate, record.finishedAt?.timeIntervalSinceReferenceDate,
            record.forced, record.result?.compactJSON, record.error, record.instance,
            record.resumedFrom?.rawValue, record.forkedAt, record.usage.map(StoredJSON.text),
            record.budget.map(StoredJSON.text), record.stopReason.map(StoredJSON.text),
        ]
    }

    /// The records the query selects, skipping (with a log line) any that cannot be read, so
    /// that a list or a tree does not fail whole.
    ///
    /// Rows are decoded inside the read: rows are not `Sendable`, and a read whose result is
    /// not resolves to GRDB's blocking `read`, which blocks a thread of the cooperative pool
    /// (under load every one of them, and the process stops).
    func records(sql: String, arguments: StatementArguments) async throws -> [RunRecord] {
        try await database.pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                Result { () throws(UnreadableRecord) in try Self.record(row) }
            }
        }
        .compactMap { decoded in
            switch decoded {
            case .success(let record): return record
            case .failure(let error):
                logger.warning("skipped a run record that cannot be read", metadata: ["error": "\(error)"])
                return nil
            }
        }
    }

    /// - Throws: ``UnreadableRecord``.
    static func record(_ row: Row) throws(UnreadableRecord) -> RunRecord {
        let id = (row["id"] as String?) ?? "?"
        do {
            return try decodeRecord(row)
        } catch {
            throw UnreadableRecord(id: id, reason: String(describing: error))
        }
    }

    private static func decodeRecord(_ row: Row) throws -> RunRecord {
        let statusText: String = row["status"]
        guard let status = RunStatus(rawValue: statusText) else { throw SQLiteStoreError.corrupt("unknown status '\(statusText)'") }
        let parent: String? = row["parent_run_id"]
        let result: String? = row["result"]
        return RunRecord(
            id: RunID(stored: row["id"]),
            agent: row["agent"],
            input: try value(row["input"]),
            status: status,
            parentRunID: parent.map(RunID.init(stored:)),
            rootRunID: RunID(stored: row["root_run_id"]),
            depth: row["depth"],
            createdAt: date(row["created_at"])!,
            startedAt: date(row["started_at"]),
            stopRequestedAt: date(row["stop_requested_at"]),
            finishedAt: date(row["finished_at"]),
            forced: row["forced"],
            result: try result.map(value),
            error: row["error"],
            instance: row["instance"],
            resumedFrom: (row["resumed_from"] as String?).map(RunID.init(stored:)),
            forkedAt: row["forked_at"],
            usage: StoredJSON.usage(row["usage"]),
            budget: StoredJSON.budget(row["budget"]),
            stopReason: StoredJSON.stopReason(row["stop_reason"])
        )
    }

    static func event(_ row: Row) throws -> ProgressEvent {
        let kindText: String = row["kind"]
        guard let kind = EventKind(rawValue: kindText) else { throw SQLiteStoreError.corrupt("unknown event kind '\(kindText)'") }
        guard case .object(let data) = try value(row["data"]) else { throw SQLiteStoreError.corrupt("event data is not an object") }
        return ProgressEvent(
            seq: row["seq"],
            runID: RunID(stored: row["run_id"]),
            at: date(row["at"])!,
            kind: kind,
            message: row["message"],
            data: data
        )
    }

    static func date(_ seconds: Double?) -> Date? {
        seconds.map(Date.init(timeIntervalSinceReferenceDate:))
    }

    /// Stored JSON, read with Tether's own parser (several times faster than `JSONDecoder`,
    /// which matters for readers catching up on a long log), as deep as Foundation allows.
    static func value(_ text: String) throws -> JSONValue {
        try JSONValue.parse(text, limits: storedLimits)
    }

    private static let storedLimits = JSONLimits(depth: 512)

    static func json(_ data: [String: JSONValue]) throws -> String {
        JSONValue.object(data).compactJSON
    }
}

/// Errors of the SQLite stores.
public enum SQLiteStoreError: Error, Sendable, CustomStringConvertible {
    case unknownRun(RunID)
    case corrupt(String)

    public var description: String {
        switch self {
        case .unknownRun(let id): "no stored run has the id \(id)"
        case .corrupt(let reason): "the database holds a value Tether cannot read: \(reason)"
        }
    }
}
