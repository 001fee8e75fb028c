import Synchronization
import TetherCore

/// A one-way gate: ``open()`` once, and every ``wait()``, past or future, returns.
/// Waiting is cancellable: a cancelled waiter returns without the latch being open.
package final class Latch: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [Int: OneShotWaiter] = [:]
        var nextID = 0
    }
    private let state = Mutex(State())

    package init() {}

    package var isOpen: Bool { state.withLock { $0.isOpen } }

    /// Opens the latch and wakes every waiter. Only the first call does anything.
    package func open() {
        let waiters = state.withLock { state -> [OneShotWaiter] in
            guard !state.isOpen else { return [] }
            state.isOpen = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.wake() }
    }

    /// Returns once the latch is open, or once the calling task is cancelled.
    package func wait() async {
        let waiter = OneShotWaiter()
        let id: Int? = state.withLock { state in
            guard !state.isOpen else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.waiters[id] = waiter
            return id
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await waiter.wait { nil }
        } onCancel: {
            waiter.wake()
        }
        _ = state.withLock { $0.waiters.removeValue(forKey: id) }
    }
}
