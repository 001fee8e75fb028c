import Synchronization

/// A structural boundary: the places where a run checks for a stop (DESIGN §1).
///
/// The raw values are the names used in `run.finished` events (`data.boundary`).
public enum Boundary: String, Sendable, Codable, CaseIterable {
    case llm
    case store
    case agentsCall = "agents.call"
    case wait
}

/// The boundary rule of one run, in one place (DESIGN §1). With ``CancelToken`` it is the
/// whole cancellation model:
///
/// - **The tokens.** A boundary asks the run's own token, which the runtime also binds to
///   the run's task tree (``CancelToken/current``), so code far from the tools can ask it
///   too. A different token that agent code bound around a section counts as well: either
///   stops the boundary. The check is one atomic load (the gate's flags, which the run's
///   token sets when it stops) and one task-local read.
/// - **The entry check.** ``enter(_:)`` runs first in every tool but `log`: after the run's
///   `run` method ended it throws ``ToolsClosed``; once a stop was requested it throws
///   ``AgentStopped`` and the tool does nothing observable. Work already past its entry (an
///   LLM call in flight) is never interrupted: nothing here cancels a task.
/// - **The first boundary that threw** is kept for `run.finished` (``firstStop``), whether
///   it threw on entry or later (a `wait` woken by the stop, an `agents.call` whose child
///   stopped with its caller).
/// - **The `wait` sleep** (``sleep(for:)``) wakes as soon as a stop is requested.
public final class BoundaryGate: Sendable {
    /// The run's own token.
    public let token: CancelToken
    /// ``closedFlag`` and ``stoppedFlag``, so that the entry check loads one atomic.
    private let flags = Atomic<UInt8>(0)
    private let firstStopped = Mutex<Boundary?>(nil)

    private static let closedFlag: UInt8 = 1
    /// Set by a handler on ``token``, which runs inside `requestStop()`, so it is set before
    /// the stop request returns (and inside whatever lock the caller holds).
    private static let stoppedFlag: UInt8 = 2

    public init(token: CancelToken) {
        self.token = token
        _ = token.onStop { [weak self] in
            self?.flags.bitwiseOr(Self.stoppedFlag, ordering: .releasing)
        }
    }

    /// Whether a stop was requested for the run, or for a token the task bound. The token's
    /// own flag is read too: a stop's handlers run in no set order, so one that wakes a task
    /// (a `wait`) may run before the handler that sets this gate's flag.
    public var isStopRequested: Bool {
        flags.load(ordering: .acquiring) & Self.stoppedFlag != 0 || token.isStopRequested || isBoundTokenStopped
    }

    /// Whether agent code bound a token of its own around the current section, and it stopped.
    private var isBoundTokenStopped: Bool {
        guard let bound = CancelToken.current, bound !== token else { return false }
        return bound.isStopRequested
    }

    /// The entry check every boundary shares.
    /// - Throws: ``ToolsClosed`` once ``close()`` was called, ``AgentStopped`` once a stop
    ///   was requested.
    public func enter(_ boundary: Boundary) throws {
        let flags = flags.load(ordering: .acquiring)
        if flags != 0 {
            if flags & Self.closedFlag != 0 { throw ToolsClosed(boundary: boundary) }
            throw stopped(at: boundary)
        }
        if isBoundTokenStopped { throw stopped(at: boundary) }
    }

    /// Records that `boundary` saw the stop, and returns the error it throws.
    public func stopped(at boundary: Boundary) -> AgentStopped {
        firstStopped.withLock { first in
            if first == nil { first = boundary }
        }
        return AgentStopped(boundary: boundary)
    }

    /// The first boundary of the run that threw ``AgentStopped``, if any did.
    public var firstStop: Boundary? { firstStopped.withLock { $0 } }

    /// Ends the run's observable work: every later boundary throws ``ToolsClosed``.
    public func close() {
        flags.bitwiseOr(Self.closedFlag, ordering: .releasing)
    }

    /// Sleeps for `duration`, waking at once when a stop is requested, and then throws
    /// ``AgentStopped`` at the `wait` boundary. The sleep runs in a child task that the stop
    /// ends; the caller's task is never cancelled.
    /// - Throws: `CancellationError` if the caller's task was cancelled (a force stop).
    public func sleep(for duration: Duration) async throws {
        var tokens = [token]
        if let bound = CancelToken.current, bound !== token { tokens.append(bound) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: duration) }
            for token in tokens { group.addTask { await token.stopRequested() } }
            await group.next()
            group.cancelAll()
        }
        try Task.checkCancellation()
        if isStopRequested { throw stopped(at: .wait) }
    }
}
