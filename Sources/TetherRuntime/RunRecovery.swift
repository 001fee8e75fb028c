import Foundation
import Logging
import TetherCore

/// What is done about runs whose process is gone while they were `running` or `stopping`:
/// each is marked `interrupted` with a final `run.finished` event saying why, so their logs
/// stay readable and end where the process died.
///
/// At start-up, an instance marks its own leftovers (all of them on SQLite, which one
/// process holds); on a shared database, the others mark those of an instance whose lease
/// expired (see ``Cause/leaseExpired(instance:)``).
public struct RunRecovery: Sendable {
    /// Why runs were left in flight.
    public enum Cause: Sendable, Hashable {
        /// The previous process of this instance ended with them.
        case restart
        /// Their instance stopped renewing its lease: it died or lost the database.
        case leaseExpired(instance: String)

        var reason: String {
            switch self {
            case .restart: "restart"
            case .leaseExpired: "lease"
            }
        }

        var error: String {
            switch self {
            case .restart: "interrupted: the process ended before the run could finish"
            case .leaseExpired(let instance): "interrupted: its instance \(instance) stopped renewing its lease"
            }
        }

        var message: String {
            switch self {
            case .restart: "Run interrupted: the process ended before it could finish"
            case .leaseExpired(let instance): "Run interrupted: its instance \(instance) stopped renewing its lease"
            }
        }
    }

    let store: any RunStore
    let logger: Logger
    /// Only this instance's runs (`nil`: every run in flight).
    let instance: String?

    public init(store: any RunStore, logger: Logger, instance: String? = nil) {
        self.store = store
        self.logger = logger
        self.instance = instance
    }

    /// The final record of a leftover run and its `run.finished` event at `seq`, or `nil` if
    /// the run is not in flight.
    public static func interruption(of record: RunRecord, at date: Date, cause: Cause) -> (record: RunRecord, event: (Int) -> ProgressEvent)? {
        var record = record
        var lifecycle = record.lifecycle
        guard case .markFinished = lifecycle.interrupt() else { return nil }
        record.status = lifecycle.status
        record.finishedAt = date
        record.error = cause.error
        let id = record.id
        let event = { (seq: Int) in
            ProgressEvent(
                seq: seq,
                runID: id,
                at: date,
                kind: .runFinished,
                message: cause.message,
                data: [
                    ProgressEvent.Key.status: .string(RunStatus.interrupted.rawValue), ProgressEvent.Key.reason: .string(cause.reason),
                    ProgressEvent.Key.error: .string(cause.error),
                ]
            )
        }
        return (record, event)
    }

    /// Marks the leftovers; returns how many runs were marked.
    @discardableResult
    public func markInterrupted() async throws -> Int {
        try await markedInterrupted().count
    }

    /// Marks the leftovers; returns their final records (to resume them,
    /// ``RunSupervisor/resumeInterrupted(_:)``).
    public func markedInterrupted() async throws -> [RunRecord] {
        var marked: [RunRecord] = []
        let leftovers = try await store.unfinishedRuns().filter { instance == nil || $0.instance == instance }
        let now = Date()
        for record in leftovers {
            guard let (final, event) = Self.interruption(of: record, at: now, cause: .restart) else { continue }
            // The event first, as a run's own ending does: a shared store closes a tree's log
            // once its root's final record is written.
            do {
                let seq = try await store.lastSeq(inTree: record.rootRunID) + 1
                try await store.appendEvents([event(seq)], tree: record.rootRunID)
            } catch {
                // The log may be closed already (its root ended, the process dying between
                // the root's final write and a child's): the record is what matters now.
                logger.warning("could not log the end of a run left in flight", metadata: ["run": "\(record.id)", "error": "\(error)"])
            }
            try await store.updateRun(final)
            marked.append(final)
        }
        if !leftovers.isEmpty {
            logger.warning(
                "marked runs left in flight by the previous process interrupted",
                metadata: ["runs": "\(leftovers.count)"]
            )
        }
        return marked
    }
}
