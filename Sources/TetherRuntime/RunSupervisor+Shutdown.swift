import Foundation
import TetherCore

extension RunSupervisor {
    /// Called by ``run()`` once no new run can start: asks every run in flight to stop,
    /// waits up to the grace period, then marks what remains `interrupted` (reason
    /// `shutdown`) and cancels its work. Every tree's log gets its final event and closes,
    /// so event streams end with their final frames.
    func drain() async {
        let roots = live.refuseNewRuns()
        guard !roots.isEmpty else { return }
        logger.info("draining runs", metadata: ["runs": "\(roots.count)"])
        for root in roots {
            try? await requestStop(root, reason: .shutdown)
        }
        let grace = environment.configuration.stopGrace
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for root in roots { await root.finished.wait() }
            }
            group.addTask { try? await Task.sleep(for: grace) }
            await group.next()
            group.cancelAll()
        }
        for root in live.roots {
            await interrupt(root)
        }
    }

    /// Marks `root`'s tree `interrupted` (reason `shutdown`) and cancels its work.
    func interrupt(_ root: RunExecution) async {
        for run in live.subtree(of: root).reversed() {
            await run.endInterrupted()
        }
        root.forceSignal.open()
        logger.warning("run interrupted by shutdown", metadata: ["run": "\(root.id)"])
    }
}
