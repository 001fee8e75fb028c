import Foundation

/// The pure state machine behind a run's status (DESIGN §2).
///
/// It performs no I/O: each input returns what the caller must do, in the manner of
/// Hummingbird's connection state machines, and refuses any change to a terminal run.
public struct RunLifecycle: Sendable, Hashable {
    /// The current status.
    public private(set) var status: RunStatus
    /// When a stop was first requested for the run or an ancestor; kept once set.
    public private(set) var stopRequestedAt: Date?
    /// Whether a force stop ended the run.
    public private(set) var forced: Bool

    /// How a run's `run` method ended.
    public enum Ending: Sendable, Hashable {
        /// It returned normally, and none of its boundaries threw ``AgentStopped``.
        case returned
        /// It returned normally after one of its boundaries threw ``AgentStopped`` (the agent
        /// caught it): the run saw the stop, so it stopped.
        case returnedAfterStop
        /// It threw ``AgentStopped``.
        case threwStop
        /// It threw any other error.
        case threwError
        /// Its progress log could not be written: whatever else happened, the run failed (its
        /// log is incomplete), even if a stop was requested.
        case failedToLog
    }

    /// What ``requestStop(at:)`` tells the caller to do.
    public enum StopAction: Sendable, Hashable {
        /// The run went from `running` to `stopping`: persist it and announce it.
        case markStopping
        /// A stop had already been requested: nothing to do (stops are idempotent).
        case alreadyStopping
        /// The run has ended with this status: a stop is refused.
        case alreadyFinished(RunStatus)
    }

    /// What ``finish(_:at:)``, ``force()`` and ``interrupt()`` tell the caller to do.
    public enum FinishAction: Sendable, Hashable {
        /// The run ended with this status: persist it and announce it.
        case markFinished(RunStatus)
        /// The run had already ended (for instance a force stop got there first): ignore.
        case ignore
    }

    public init(status: RunStatus = .running, stopRequestedAt: Date? = nil, forced: Bool = false) {
        self.status = status
        self.stopRequestedAt = stopRequestedAt
        self.forced = forced
    }

    /// A stop was requested for the run or one of its ancestors.
    public mutating func requestStop(at date: Date) -> StopAction {
        switch status {
        case .running:
            status = .stopping
            stopRequestedAt = date
            return .markStopping
        case .stopping:
            return .alreadyStopping
        case .succeeded, .failed, .stopped, .interrupted:
            return .alreadyFinished(status)
        }
    }

    /// The run's code ended. After a stop request any error ends the run `stopped`; so does a
    /// return after a boundary threw ``AgentStopped`` (caught by the agent). A normal return
    /// with no boundary having thrown ends it `succeeded` (the stop came after its last
    /// boundary), with `stopRequestedAt` kept.
    /// An ``AgentStopped`` without a recorded request (a token stopped from elsewhere) is a
    /// stop as well: the run did not fail.
    public mutating func finish(_ ending: Ending) -> FinishAction {
        guard !status.isTerminal else { return .ignore }
        switch (status, ending) {
        case (_, .returned): status = .succeeded
        case (_, .threwStop), (_, .returnedAfterStop), (.stopping, .threwError): status = .stopped
        case (_, .threwError), (_, .failedToLog): status = .failed
        }
        return .markFinished(status)
    }

    /// A force stop ended the run before its code did.
    public mutating func force() -> FinishAction {
        guard !status.isTerminal else { return .ignore }
        status = .stopped
        forced = true
        return .markFinished(.stopped)
    }

    /// The process is ending (or ended) before the run could.
    public mutating func interrupt() -> FinishAction {
        guard !status.isTerminal else { return .ignore }
        status = .interrupted
        return .markFinished(.interrupted)
    }
}
