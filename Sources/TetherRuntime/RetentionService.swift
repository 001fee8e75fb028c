import Foundation
import Logging
import ServiceLifecycle
import TetherCore

/// Prunes finished run trees older than the retention period (`TETHER_RETENTION_DAYS`), in
/// the background: once at start, then every `interval`. A tree with any run in flight is
/// never pruned; the agents' data store is never touched.
public struct RetentionService: Service {
    let store: any RunStore
    let retention: Duration
    let interval: Duration
    let logger: Logger

    public init(store: any RunStore, retention: Duration, interval: Duration = .seconds(3600), logger: Logger) {
        self.store = store
        self.retention = retention
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await pruneOnce()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Deletes what is past the retention period now; returns how many trees went.
    @discardableResult
    public func pruneOnce(now: Date = Date()) async -> Int {
        let seconds = Double(retention.components.seconds) + Double(retention.components.attoseconds) / 1e18
        do {
            let pruned = try await store.deleteTrees(finishedBefore: now.addingTimeInterval(-seconds))
            if pruned > 0 { logger.info("pruned finished runs past the retention period", metadata: ["trees": "\(pruned)"]) }
            return pruned
        } catch {
            logger.error("pruning old runs failed; will try again", metadata: ["error": "\(error)"])
            return 0
        }
    }
}
