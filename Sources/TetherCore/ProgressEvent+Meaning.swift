/// What events stand for, decided once here and used by every reader: the event stream's
/// `status` and `done` frames, the screen's step in flight and sub-run nesting, the terminal
/// printer. The keys of `data` that carry a meaning are named once, in ``Key``.
extension ProgressEvent {
    /// The status changes the event stands for: `run.started` makes its run `running`,
    /// `stop.requested` makes every run it lists (`data.runIds`) `stopping`, `run.finished`
    /// gives its run's final status (`data.status`). Other kinds change no status.
    public var statusChanges: [StatusChange] {
        switch kind {
        case .runStarted:
            return [StatusChange(runID: runID, status: .running)]
        case .stopRequested:
            let listed = data[Key.runIDs]?.arrayValue?.compactMap(\.stringValue).map(RunID.init(stored:))
            return (listed ?? [runID]).map { StatusChange(runID: $0, status: .stopping) }
        case .runFinished:
            return outcome.map { [StatusChange(runID: runID, status: $0.status)] } ?? []
        default:
            return []
        }
    }

    /// The child run an `agent.called` event created.
    public var calledChild: RunID? {
        guard kind == .agentCalled else { return nil }
        return data[Key.runID]?.stringValue.map(RunID.init(stored:))
    }

    /// How a run ended, from its `run.finished` event.
    public var outcome: RunOutcome? {
        guard kind == .runFinished, let status = data[Key.status]?.stringValue.flatMap(RunStatus.init(rawValue:)) else {
            return nil
        }
        return RunOutcome(
            runID: runID,
            status: status,
            result: data[Key.result],
            error: data[Key.error]?.stringValue,
            usage: data[Key.usage],
            stopReason: data[Key.stopReason]
        )
    }

    /// The keys of `data` that carry a meaning.
    public enum Key {
        public static let runIDs = "runIds"
        public static let runID = "runId"
        public static let status = "status"
        public static let result = "result"
        public static let error = "error"
        public static let reason = "reason"
        public static let boundary = "boundary"
        public static let forced = "forced"
        /// On `run.finished`: the run's usage (``RunUsage``).
        public static let usage = "usage"
        /// On `run.finished` of a run whose stop was requested: why (``StopReason``'s JSON).
        public static let stopReason = "stopReason"
        /// On the event that ends a boundary (`llm.finished`, `llm.failed`, `wait.ended`): the
        /// `seq` of the event that began it.
        public static let startedSeq = "startedSeq"
    }
}

extension EventKind {
    /// What an event of this kind does to its run's step in flight: `llm.started` and `wait`
    /// open one; a log line, a sub-agent call or a stop request leaves it open; anything else
    /// (the answer, a store operation, the run's end) closes it.
    public var stepEffect: StepEffect {
        switch self {
        case .llmStarted, .wait: .opens
        case .log, .agentCalled, .stopRequested: .keeps
        case .runStarted, .llmFinished, .llmFailed, .store, .agentReturned, .waitEnded, .replayed, .runFinished: .closes
        }
    }
}

/// A run's status as of an event.
public struct StatusChange: Sendable, Hashable {
    public var runID: RunID
    public var status: RunStatus

    public init(runID: RunID, status: RunStatus) {
        self.runID = runID
        self.status = status
    }
}

/// What an event does to its run's step in flight (see ``EventKind/stepEffect``).
public enum StepEffect: String, Sendable, Hashable, CaseIterable {
    case opens
    case keeps
    case closes
}

/// How a run ended, as its `run.finished` event says: what the `done` frame carries.
public struct RunOutcome: Sendable, Hashable {
    public var runID: RunID
    public var status: RunStatus
    public var result: JSONValue?
    public var error: String?
    /// The run's usage (``RunUsage``'s JSON), when its `run.finished` carries it.
    public var usage: JSONValue?
    /// Why its stop was requested (``StopReason``'s JSON), when it was.
    public var stopReason: JSONValue?

    public init(
        runID: RunID,
        status: RunStatus,
        result: JSONValue? = nil,
        error: String? = nil,
        usage: JSONValue? = nil,
        stopReason: JSONValue? = nil
    ) {
        self.runID = runID
        self.status = status
        self.result = result
        self.error = error
        self.usage = usage
        self.stopReason = stopReason
    }
}

extension Sequence where Element == ProgressEvent {
    /// The `seq` of each step still open after these events, by run: an `llm.started` with no
    /// answer yet, or a `wait` with nothing after it.
    public func openSteps() -> [RunID: Int] {
        var open: [RunID: Int] = [:]
        for event in self {
            switch event.kind.stepEffect {
            case .opens: open[event.runID] = event.seq
            case .keeps: break
            case .closes: open[event.runID] = nil
            }
        }
        return open
    }
}
