import Synchronization

/// One suspended caller, woken at most once by whoever gets there first (a stop handler,
/// a cancellation handler), even if the wake comes before the caller suspends.
package final class OneShotWaiter: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Void, Never>?
        var isWoken = false
    }
    private let state = Mutex(State())

    package init() {}

    /// Suspends until ``wake()``. `arm` runs once the continuation is in place and may
    /// return a clean-up closure, run after waking (to unregister a handler).
    package func wait(arm: () -> (@Sendable () -> Void)? = { nil }) async {
        var cleanup: (@Sendable () -> Void)?
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let woken = state.withLock { state in
                if state.isWoken { return true }
                state.continuation = continuation
                return false
            }
            if woken {
                continuation.resume()
            } else {
                cleanup = arm()
            }
        }
        cleanup?()
    }

    /// Suspends until ``wake()`` or until the calling task is cancelled.
    package func waitCancellably() async {
        await withTaskCancellationHandler {
            await wait()
        } onCancel: {
            wake()
        }
    }

    /// Wakes the waiter now, or makes its coming ``wait(arm:)`` return at once.
    package func wake() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.isWoken = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume()
    }
}
