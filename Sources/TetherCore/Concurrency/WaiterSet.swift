/// The callers suspended on one piece of state, each with what it waits for.
///
/// It holds no lock of its own: it lives inside the state it guards (in a `Mutex`), so that
/// checking the state and registering a waiter are one step. The owner takes the waiters
/// to wake under its lock and wakes them after releasing it; ``suspend(register:unregister:)`` does
/// the register / wait / remove sequence that every waiting primitive shares.
package struct WaiterSet<Awaited: Sendable>: Sendable {
    private var waiters: [Int: (condition: Awaited, waiter: OneShotWaiter)] = [:]
    private var nextID = 0

    package init() {}

    /// Registers `waiter` with what it waits for; returns its id for ``remove(_:)``.
    package mutating func add(_ waiter: OneShotWaiter, waitingFor condition: Awaited) -> Int {
        let id = nextID
        nextID += 1
        waiters[id] = (condition, waiter)
        return id
    }

    /// Forgets a waiter (after it woke, or was cancelled).
    package mutating func remove(_ id: Int) {
        waiters[id] = nil
    }

    /// Removes and returns the waiters whose condition `isMet`; wake them outside the lock.
    package mutating func take(where isMet: (Awaited) -> Bool) -> [OneShotWaiter] {
        let ready = waiters.filter { isMet($0.value.condition) }
        for id in ready.keys { waiters[id] = nil }
        return ready.values.map(\.waiter)
    }

    /// Removes and returns every waiter.
    package mutating func takeAll() -> [OneShotWaiter] {
        take { _ in true }
    }

    /// Suspends the caller until woken or cancelled. `register` runs under the owner's lock:
    /// it returns `nil` when there is nothing to wait for, or the id from ``add(_:waitingFor:)``;
    /// `unregister` removes that id afterwards.
    package static func suspend(
        register: (OneShotWaiter) -> Int?,
        unregister: (Int) -> Void
    ) async {
        let waiter = OneShotWaiter()
        guard let id = register(waiter) else { return }
        await waiter.waitCancellably()
        unregister(id)
    }
}
