import Foundation
import Logging
import TetherCore

/// What start-up does about the runs a previous process left `running` or `stopping`: it
/// marks them `interrupted`, each with a final `run.finished` event saying so, so their logs
/// stay readable and end where the process died. Run it once, before any run starts.
public struct RunRecovery: Sendable {
    let store: any RunStore
    let logger: Logger

    public init(store: any RunStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Marks the leftovers; returns how many runs were marked.
    @discardableResult
    public func markInterrupted() async throws -> Int {
        let leftovers = try await store.unfinishedRuns()
        let now = Date()
        for var record in leftovers {
            var lifecycle = record.lifecycle
            guard case .markFinished = lifecycle.interrupt() else { continue }
            record.status = lifecycle.status
            record.finishedAt = now
            record.error = "interrupted: the process ended before the run could finish"
            try await store.updateRun(record)
            let seq = try await store.lastSeq(inTree: record.rootRunID) + 1
            let event = ProgressEvent(
                seq: seq,
                runID: record.id,
                at: now,
                kind: .runFinished,
                message: "Run interrupted: the process ended before it could finish",
                data: [
                    ProgressEvent.Key.status: .string(RunStatus.interrupted.rawValue), ProgressEvent.Key.reason: "restart",
                    ProgressEvent.Key.error: .string(record.error!),
                ]
            )
            try await store.appendEvents([event], tree: record.rootRunID)
        }
        if !leftovers.isEmpty {
            logger.warning(
                "marked runs left in flight by the previous process interrupted",
                metadata: ["runs": "\(leftovers.count)"]
            )
        }
        return leftovers.count
    }
}
