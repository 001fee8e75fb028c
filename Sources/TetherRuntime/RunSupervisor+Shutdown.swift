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
            try? await root.requestStop(reason: .shutdown)
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
        let leftovers = live.roots
        for root in leftovers {
            for run in live.subtree(of: root) { run.work.cutShort(.interrupted) }
            logger.warning("run interrupted by shutdown", metadata: ["run": "\(root.id)"])
        }
        // Each ends within the cleanup timeout, whatever its code does.
        for root in leftovers { await root.finished.wait() }
    }

    /// Marks every run still in flight `interrupted` at once, without waiting for its code or
    /// its cleanup: for a process told to stop a second time, which exits right after.
    public func interruptNow() async {
        beginShutdown()
        for run in live.all.sorted(by: { $0.depth > $1.depth }) {
            run.work.cutShort(.interrupted)
            await run.endAbruptly(.interrupted)
        }
    }
}
