import Synchronization
import TetherCore

/// State that tests wait on: each change re-checks the waiters' predicates.
public final class Condition<Value: Sendable>: Sendable {
    private struct State {
        var value: Value
        var waiters: [Int: (predicate: @Sendable (Value) -> Bool, waiter: OneShotWaiter)] = [:]
        var nextID = 0
    }
    private let state: Mutex<State>

    public init(_ value: Value) {
        state = Mutex(State(value: value))
    }

    public var value: Value { state.withLock { $0.value } }

    /// Changes the value and wakes the waiters whose predicate now holds.
    @discardableResult
    public func update<T>(_ change: (inout Value) -> T) -> T {
        let (result, woken) = state.withLock { state in
            let result = change(&state.value)
            let value = state.value
            let ready = state.waiters.filter { $0.value.predicate(value) }
            for id in ready.keys { state.waiters[id] = nil }
            return (result, ready.values.map(\.waiter))
        }
        for waiter in woken { waiter.wake() }
        return result
    }

    /// Returns once `predicate` holds (at once if it already does), or when cancelled.
    public func wait(until predicate: @escaping @Sendable (Value) -> Bool) async {
        let waiter = OneShotWaiter()
        let id: Int? = state.withLock { state in
            guard !predicate(state.value) else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.waiters[id] = (predicate, waiter)
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
