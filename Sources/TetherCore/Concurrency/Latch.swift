import Synchronization

/// A one-way gate: ``open()`` once, and every ``wait()``, past or future, returns.
/// Waiting is cancellable: a cancelled waiter returns without the latch being open.
package final class Latch: Sendable {
    private struct State {
        var isOpen = false
        var waiters = WaiterSet<Void>()
    }
    private let state = Mutex(State())

    package init() {}

    package var isOpen: Bool { state.withLock { $0.isOpen } }

    /// Opens the latch and wakes every waiter. Only the first call does anything.
    package func open() {
        let woken = state.withLock { state -> [OneShotWaiter] in
            guard !state.isOpen else { return [] }
            state.isOpen = true
            return state.waiters.takeAll()
        }
        for waiter in woken { waiter.wake() }
    }

    /// Returns once the latch is open, or once the calling task is cancelled.
    package func wait() async {
        await WaiterSet<Void>.suspend { waiter in
            state.withLock { state in
                state.isOpen ? nil : state.waiters.add(waiter, waitingFor: ())
            }
        } unregister: { id in
            state.withLock { $0.waiters.remove(id) }
        }
    }
}
