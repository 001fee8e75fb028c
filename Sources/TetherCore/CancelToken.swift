import Synchronization

/// A run's cooperative stop signal, bound to the run's task with `@TaskLocal`.
///
/// Code anywhere below a run asks ``CancelToken/current`` whether to stop, with no parameter
/// threaded through. Like Go's `CancelFunc`, ``requestStop()`` does not wait, and only the
/// first call counts. A token made with ``makeChild()`` stops when its parent stops, so a
/// stop reaches every run below the one stopped; stopping a child leaves its parent alone.
///
/// Stopping never cancels a task: boundaries check the token on entry and throw
/// ``AgentStopped``, so work already in flight (an LLM call) finishes normally. How the
/// boundaries use it is ``BoundaryGate``'s (`Boundary.swift`); these two files are the
/// whole cancellation model.
public final class CancelToken: Sendable {
    /// The token of the run the current task works for, if any.
    @TaskLocal public static var current: CancelToken?

    private struct State {
        var handlers: [Int: @Sendable () -> Void] = [:]
        var nextHandlerID = 0
        var parentLink: (parent: CancelToken, handlerID: Int)?
    }

    /// Read on every boundary, so it is an atomic rather than a lock.
    private let stopFlag = Atomic<Bool>(false)
    private let state = Mutex(State())

    /// A token with no parent.
    public init() {}

    /// Whether a stop was requested for this token or an ancestor.
    public var isStopRequested: Bool {
        stopFlag.load(ordering: .acquiring)
    }

    /// Requests a stop. Returns whether this call was the first (later calls do nothing).
    /// Handlers registered with ``onStop(_:)`` run synchronously on the caller's thread,
    /// after the flag is set, so they must be short and must not call back into this token
    /// while expecting to run again.
    @discardableResult
    public func requestStop() -> Bool {
        let handlers: [@Sendable () -> Void]? = state.withLock { state in
            guard !stopFlag.load(ordering: .relaxed) else { return nil }
            stopFlag.store(true, ordering: .releasing)
            let handlers = Array(state.handlers.values)
            state.handlers = [:]
            return handlers
        }
        guard let handlers else { return false }
        for handler in handlers { handler() }
        return true
    }

    /// Throws ``AgentStopped`` if a stop was requested, like `Task.checkCancellation()`.
    /// - Parameter boundary: the boundary doing the check, reported in the error.
    public func checkStop(at boundary: Boundary) throws(AgentStopped) {
        if isStopRequested { throw AgentStopped(boundary: boundary) }
    }

    /// Registers `handler` to run once when a stop is requested. If one already was, the
    /// handler runs now and `nil` is returned; otherwise the registration, for
    /// ``removeHandler(_:)``.
    public func onStop(_ handler: @escaping @Sendable () -> Void) -> StopHandlerRegistration? {
        let id: Int? = state.withLock { state in
            guard !stopFlag.load(ordering: .relaxed) else { return nil }
            let id = state.nextHandlerID
            state.nextHandlerID += 1
            state.handlers[id] = handler
            return id
        }
        guard let id else {
            handler()
            return nil
        }
        return StopHandlerRegistration(id: id)
    }

    /// Forgets a handler that has not run yet.
    public func removeHandler(_ registration: StopHandlerRegistration) {
        _ = state.withLock { $0.handlers.removeValue(forKey: registration.id) }
    }

    /// A token that stops when this one stops (or on its own). Already stopped if this one
    /// is. Call ``detachFromParent()`` when the child's run ends, so the parent does not
    /// keep a handler for every child it ever had.
    public func makeChild() -> CancelToken {
        let child = CancelToken()
        if let registration = onStop({ [weak child] in child?.requestStop() }) {
            child.state.withLock { $0.parentLink = (self, registration.id) }
        }
        return child
    }

    /// Unlinks a child token from its parent (see ``makeChild()``).
    public func detachFromParent() {
        guard
            let link = state.withLock({ state in
                defer { state.parentLink = nil }
                return state.parentLink
            })
        else { return }
        link.parent.removeHandler(StopHandlerRegistration(id: link.handlerID))
    }

    /// Suspends until a stop is requested, or until the calling task is cancelled.
    public func stopRequested() async {
        let waiter = OneShotWaiter()
        await withTaskCancellationHandler {
            await waiter.wait {
                if let registration = onStop({ waiter.wake() }) {
                    return { self.removeHandler(registration) }
                }
                return nil
            }
        } onCancel: {
            waiter.wake()
        }
    }
}

/// A handler registered with ``CancelToken/onStop(_:)``.
public struct StopHandlerRegistration: Sendable, Hashable {
    let id: Int
}

/// Runs `operation` with `onStop` registered on the current run's token, like
/// `withGracefulShutdownHandler`. If the run is already stopping, `onStop` runs at once.
/// Outside a run (no ``CancelToken/current``) the handler never runs.
public func withStopHandler<T>(
    operation: () async throws -> T,
    onStop: @escaping @Sendable () -> Void
) async rethrows -> T {
    guard let token = CancelToken.current else { return try await operation() }
    let registration = token.onStop(onStop)
    defer { if let registration { token.removeHandler(registration) } }
    return try await operation()
}
