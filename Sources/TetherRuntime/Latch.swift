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

/// Runs operations one at a time, in the order they asked (a FIFO async lock). Used so that
/// writes of one run's record reach the store in order, each with the latest state.
package final class SerialQueue: Sendable {
    private struct State {
        var isBusy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    package init() {}

    package func run<T: Sendable>(_ operation: () async throws -> T) async rethrows -> T {
        await acquire()
        defer { release() }
        return try await operation()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state in
                if state.isBusy {
                    state.waiting.append(continuation)
                    return false
                }
                state.isBusy = true
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.isBusy = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
