import NIOCore
import Synchronization

/// Lets at most `limit` calls be in flight at once; the others wait their turn, first come
/// first served, for as long as it takes.
///
/// AsyncHTTPClient would queue the calls past its connection limit too, but silently, and it
/// fails a call that waited longer than its connect timeout. Waiting here instead, with the
/// client's pool as large as the gate, a call never waits inside the client, and the run can
/// say that its call is waiting for a connection.
final class CallGate: Sendable {
    let limit: Int
    private let state: Mutex<State>

    private struct State {
        var inFlight = 0
        var nextWaiter: UInt64 = 0
        var waiters = CircularBuffer<(id: UInt64, continuation: CheckedContinuation<Void, any Error>)>()
    }

    init(limit: Int) {
        precondition(limit > 0, "a call gate lets at least one call through")
        self.limit = limit
        self.state = Mutex(State())
    }

    /// Runs `call` once a place is free; `onWait` is called first when none is.
    func withPlace<T>(onWait: () -> Void, _ call: () async throws -> T) async throws -> T {
        try await enter(onWait: onWait)
        defer { leave() }
        return try await call()
    }

    /// Calls in flight now (for tests).
    var inFlight: Int { state.withLock { $0.inFlight } }

    private func enter(onWait: () -> Void) async throws {
        let admitted = state.withLock { state in
            guard state.inFlight < limit else { return false }
            state.inFlight += 1
            return true
        }
        if admitted { return }
        onWait()
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        // Cancelled only when a run is forced: the waiter leaves the queue and throws.
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let answer: Result<Void, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.inFlight < limit {
                        state.inFlight += 1
                        return .success(())
                    }
                    state.waiters.append((id, continuation))
                    return nil
                }
                if let answer { continuation.resume(with: answer) }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            cancelled?.resume(throwing: CancellationError())
        }
    }

    /// Hands the place to the first waiter, if any, or frees it.
    private func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            if let waiter = state.waiters.popFirst() { return waiter.continuation }
            state.inFlight -= 1
            return nil
        }
        next?.resume()
    }
}
