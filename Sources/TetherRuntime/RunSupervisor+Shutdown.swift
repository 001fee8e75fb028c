import Foundation
import TetherCore

extension RunSupervisor {
    /// Called by ``run()`` once no new run can start: asks every run in flight to stop,
    /// waits up to the grace period, then marks what remains `interrupted` (reason
    /// `shutdown`) and cancels its work. Every tree's log gets its final event and closes,
    /// so event streams end with their final frames.
    func drain() async {
        let roots = state.withLock { state in
            state.isShuttingDown = true
            return state.live.values.filter(\.isRoot)
        }
        guard !roots.isEmpty else { return }
        logger.info("draining runs", metadata: ["runs": "\(roots.count)"])
        for root in roots {
            try? await requestStop(root, reason: .shutdown)
        }
        let grace = configuration.stopGrace
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for root in roots { await root.finished.wait() }
            }
            group.addTask { try? await Task.sleep(for: grace) }
            await group.next()
            group.cancelAll()
        }
        let leftovers = state.withLock { $0.live.values.filter(\.isRoot) }
        for root in leftovers {
            await interrupt(root)
        }
    }

    /// Marks `root`'s tree `interrupted` (reason `shutdown`) and cancels its work.
    func interrupt(_ root: LiveRun) async {
        for run in subtree(of: root).reversed() {
            let action = run.transition({ $0.interrupt() }) { record, action in
                guard case .markFinished = action else { return }
                record.finishedAt = Date()
                record.error = "interrupted: the server shut down before the run stopped"
            }
            if case .markFinished = action { await complete(run, extra: ["reason": "shutdown"]) }
        }
        root.forceSignal.open()
        logger.warning("run interrupted by shutdown", metadata: ["run": "\(root.id)"])
    }
}
