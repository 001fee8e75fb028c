import Foundation
import PostgresNIO
import TetherCore

/// A `runs` row as PostgreSQL sends it, in ``PostgresRunStore/columns`` order.
typealias StoredRun = (
    String, String, String, String, String?, String, Int, Double, Double?, Double?, Double?, Bool, String?, String?, String?, String?, Int?, String?,
    String?, String?
)

/// A row of `events`: seq, run_id, kind, at, message, data.
typealias StoredEvent = (Int, String, String, Double, String, String)

extension PostgresRunStore {
    /// The records the query selects, skipping (with a log line) any that cannot be read, so
    /// that a list or a tree does not fail whole.
    func records(_ query: PostgresQuery) async throws -> [RunRecord] {
        var records: [RunRecord] = []
        for try await row in try await client.query(query, logger: logger).decode(StoredRun.self) {
            do {
                records.append(try Self.record(row))
            } catch {
                logger.warning("skipped a run record that cannot be read", metadata: ["error": "\(error)"])
            }
        }
        return records
    }

    func events(_ query: PostgresQuery) async throws -> [ProgressEvent] {
        var events: [ProgressEvent] = []
        for try await (seq, run, kindText, at, message, dataText) in try await client.query(query, logger: logger).decode(StoredEvent.self) {
            guard let kind = EventKind(rawValue: kindText) else { throw PostgresStoreError.corrupt("unknown event kind '\(kindText)'") }
            guard case .object(let data) = try StoredJSON.value(dataText) else {
                throw PostgresStoreError.corrupt("event data is not an object")
            }
            events.append(
                ProgressEvent(
                    seq: seq,
                    runID: RunID(stored: run),
                    at: Date(timeIntervalSinceReferenceDate: at),
                    kind: kind,
                    message: message,
                    data: data
                )
            )
        }
        return events
    }
}

extension PostgresRunStore {
    /// - Throws: ``UnreadableRecord``.
    static func record(_ row: StoredRun) throws(UnreadableRecord) -> RunRecord {
        let (
            id, agent, input, statusText, parent, root, depth, created, started, stopRequested, finished, forced, result, error, instance,
            resumedFrom, forkedAt, usage, budget, stopReason
        ) =
            row
        do {
            guard let status = RunStatus(rawValue: statusText) else { throw PostgresStoreError.corrupt("unknown status '\(statusText)'") }
            return RunRecord(
                id: RunID(stored: id),
                agent: agent,
                input: try StoredJSON.value(input),
                status: status,
                parentRunID: parent.map(RunID.init(stored:)),
                rootRunID: RunID(stored: root),
                depth: depth,
                createdAt: Date(timeIntervalSinceReferenceDate: created),
                startedAt: started.map(Date.init(timeIntervalSinceReferenceDate:)),
                stopRequestedAt: stopRequested.map(Date.init(timeIntervalSinceReferenceDate:)),
                finishedAt: finished.map(Date.init(timeIntervalSinceReferenceDate:)),
                forced: forced,
                result: try result.map(StoredJSON.value),
                error: error,
                instance: instance,
                resumedFrom: resumedFrom.map(RunID.init(stored:)),
                forkedAt: forkedAt,
                usage: StoredJSON.usage(usage),
                budget: StoredJSON.budget(budget),
                stopReason: StoredJSON.stopReason(stopReason)
            )
        } catch {
            throw UnreadableRecord(id: id, reason: String(describing: error))
        }
    }
}
