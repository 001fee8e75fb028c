import Synchronization
import TetherCore

/// How one run's agent work is going, apart from its record: whether it is running, what it
/// ended with, how it is to end if it does not end by itself (a force stop, or shutdown past
/// the grace period), and the LLM calls it has in flight, which only that can cut.
final class RunWork: Sendable {
    /// How a run ends when it is not left to end by itself.
    enum AbruptEnding: Sendable {
        /// A force stop: `stopped`, `forced`.
        case forced
        /// Shutdown past the grace period, or a second signal: `interrupted`.
        case interrupted
    }

    private struct State {
        var outcome: Result<JSONValue, any Error>?
        var isRunning = false
        var isCompleted = false
        var isSlotReleased = false
        var abrupt: AbruptEnding?
        var dropsEvents = false
        var calls: [Int: @Sendable () -> Void] = [:]
        var nextCallID = 0

        /// Whether the slot is due now: the record completed and the work unwound, for the
        /// first time.
        mutating func takeSlotIfDone() -> Bool {
            guard isCompleted, !isRunning, !isSlotReleased else { return false }
            isSlotReleased = true
            return true
        }
    }
    private let state = Mutex(State())
    /// Opened once the agent's `run` returned or threw.
    let ended = Latch()
    /// Opened to end the run abruptly (force, shutdown): its work is cancelled.
    let cut = Latch()

    /// Marks the work started (before its task exists, so a quick end is never missed).
    func begin() {
        state.withLock { $0.isRunning = true }
    }

    /// Records what the agent's `run` ended with. Returns whether the run's admission slot
    /// can now be released (its record was already completed).
    func end(with outcome: Result<JSONValue, any Error>) -> Bool {
        let release = state.withLock { state in
            state.outcome = outcome
            state.isRunning = false
            return state.takeSlotIfDone()
        }
        ended.open()
        return release
    }

    var outcome: Result<JSONValue, any Error>? { state.withLock { $0.outcome } }

    /// The final record is written. Returns whether the admission slot can now be released
    /// (the work has unwound, or never ran).
    func complete() -> Bool {
        state.withLock { state in
            state.isCompleted = true
            return state.takeSlotIfDone()
        }
    }

    /// Ends the run abruptly with `ending` (the first reason given wins) and cuts its work:
    /// every LLM call in flight is cancelled, and from now on its events are dropped until
    /// ``acceptEvents()`` (the cancelled work's unwinding is not the run's progress).
    func cutShort(_ ending: AbruptEnding) {
        let cancels = state.withLock { state -> [@Sendable () -> Void] in
            if state.abrupt == nil { state.abrupt = ending }
            state.dropsEvents = true
            return Array(state.calls.values)
        }
        cut.open()
        for cancel in cancels { cancel() }
    }

    /// How the run is to end abruptly, once ``cutShort(_:)`` was called.
    var abruptEnding: AbruptEnding? { state.withLock { $0.abrupt } }

    /// Whether events are dropped (see ``cutShort(_:)``).
    var dropsEvents: Bool { state.withLock { $0.dropsEvents } }

    /// Lets events through again: the cut-short run's cleanup may log.
    func acceptEvents() {
        state.withLock { $0.dropsEvents = false }
    }

    /// Registers an LLM call in flight, which only ``cutShort(_:)`` cancels; returns its id
    /// for ``unregisterCall(_:)``. A call made after the cut is cancelled at once.
    func registerCall(cancel: @escaping @Sendable () -> Void) -> Int {
        let (id, isCut) = state.withLock { state in
            defer { state.nextCallID += 1 }
            state.calls[state.nextCallID] = cancel
            return (state.nextCallID, state.abrupt != nil)
        }
        if isCut { cancel() }
        return id
    }

    func unregisterCall(_ id: Int) {
        _ = state.withLock { $0.calls.removeValue(forKey: id) }
    }
}
