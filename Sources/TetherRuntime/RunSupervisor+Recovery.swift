import Foundation
import TetherCore

extension RunSupervisor {
    /// Marks the runs a previous process left `running` or `stopping` as `interrupted`, each
    /// with a final `run.finished` event saying so, so their logs stay readable and end where
    /// the process died. Call it once at start-up, before any run starts.
    /// - Returns: how many runs were marked.
    @discardableResult
    public func recoverInterruptedRuns() async throws -> Int {
        let leftovers = try await runStore.unfinishedRuns()
        let now = Date()
        for var record in leftovers {
            var lifecycle = record.lifecycle
            guard case .markFinished = lifecycle.interrupt() else { continue }
            record.status = lifecycle.status
            record.finishedAt = now
            record.error = "interrupted: the process ended before the run could finish"
            try await runStore.updateRun(record)
            let seq = try await runStore.lastSeq(inTree: record.rootRunID) + 1
            let event = ProgressEvent(
                seq: seq, runID: record.id, at: now, kind: .runFinished,
                message: "Run interrupted: the process ended before it could finish",
                data: ["status": .string(RunStatus.interrupted.rawValue), "reason": "restart", "error": .string(record.error!)])
            try await runStore.appendEvents([event], tree: record.rootRunID)
        }
        if !leftovers.isEmpty {
            logger.warning("marked runs left in flight by the previous process interrupted", metadata: ["runs": "\(leftovers.count)"])
        }
        return leftovers.count
    }
}
