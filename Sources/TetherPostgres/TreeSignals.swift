import Synchronization
import TetherCore

/// Word that trees have new events or records, from the notification listener to the
/// readers following those trees in the store.
final class TreeSignals: Sendable {
    private struct Waiter {
        var after: Int
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var nextID: UInt64 = 0
        var waiters: [RunID: [UInt64: Waiter]] = [:]
        /// The highest `seq` heard of per tree, so a reader arriving just after the word does
        /// not wait for the next one. Bounded: cleared when it grows past ``maxRemembered``.
        var latest: [RunID: Int] = [:]
    }

    static let maxRemembered = 10_000
    private let state = Mutex(State())

    /// Wakes the readers of `root` waiting for events after a `seq` below `seq` (all of them
    /// when `seq` is `nil`: a record changed).
    func signal(root: RunID, seq: Int?) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if let seq {
                if state.latest.count >= Self.maxRemembered { state.latest.removeAll(keepingCapacity: true) }
                state.latest[root] = max(seq, state.latest[root] ?? 0)
            }
            guard var waiting = state.waiters[root] else { return [] }
            let ready = waiting.filter { seq == nil || seq! > $0.value.after }
            for id in ready.keys { waiting.removeValue(forKey: id) }
            state.waiters[root] = waiting.isEmpty ? nil : waiting
            return ready.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Wakes every reader: the listener reconnected, and what was signalled meanwhile is lost.
    func wakeAll() {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            let all = state.waiters.values.flatMap { $0.values.map(\.continuation) }
            state.waiters.removeAll()
            return all
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns on word of events of `root` after `seq`, of a change of one of its records, or
    /// after `period`, or when the task is cancelled.
    func wait(root: RunID, after seq: Int, atMost period: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal(root: root, after: seq) }
            group.addTask { try? await Task.sleep(for: period) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal(root: RunID, after seq: Int) async {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if Task.isCancelled || (state.latest[root] ?? 0) > seq { return true }
                    state.waiters[root, default: [:]][id] = Waiter(after: seq, continuation: continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                let waiter = state.waiters[root]?.removeValue(forKey: id)
                if state.waiters[root]?.isEmpty == true { state.waiters[root] = nil }
                return waiter
            }
            waiter?.continuation.resume()
        }
    }
}
