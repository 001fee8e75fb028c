import Synchronization
import TetherCore

/// State that tests wait on: each change re-checks the waiters' predicates.
public final class Condition<Value: Sendable>: Sendable {
    private struct State {
        var value: Value
        var waiters = WaiterSet<@Sendable (Value) -> Bool>()
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
            return (result, state.waiters.take { $0(value) })
        }
        for waiter in woken { waiter.wake() }
        return result
    }

    /// Returns once `predicate` holds (at once if it already does), or when cancelled.
    public func wait(until predicate: @escaping @Sendable (Value) -> Bool) async {
        await WaiterSet<@Sendable (Value) -> Bool>.suspend { waiter in
            state.withLock { state in
                predicate(state.value) ? nil : state.waiters.add(waiter, waitingFor: predicate)
            }
        } unregister: { id in
            state.withLock { $0.waiters.remove(id) }
        }
    }
}
