import TetherCore

/// Why the supervisor refused a request. Each case maps to one HTTP error code.
public enum SupervisorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No agent has this name (`unknown_agent`, 422).
    case unknownAgent(String)
    /// The input does not fit the agent's fields (`bad_request`, 400).
    case invalidInput(String)
    /// `TETHER_MAX_RUNS` root runs are in flight (`too_many_runs`, 429).
    case tooManyRuns(limit: Int)
    /// The process is shutting down (`shutting_down`, 503).
    case shuttingDown
    /// No run has this id (`not_found`, 404).
    case notFound(RunID)
    /// The run has already ended with this status (`run_finished`, 409).
    case runFinished(RunID, RunStatus)
    /// The run cannot be resumed in its state (`not_resumable`, 409): it is in flight, not a
    /// root run, or succeeded (a fork, `?at=`, may redo a succeeded run).
    case notResumable(RunID, RunStatus, reason: String)
    /// The run store failed.
    case storage(String)
    /// The run's stored record cannot be read back (`unreadable_record`, 422).
    case unreadable(UnreadableRecord)

    public var description: String {
        switch self {
        case .unknownAgent(let name): "no agent is named '\(name)'"
        case .invalidInput(let reason): "invalid input: \(reason)"
        case .tooManyRuns(let limit): "\(limit) runs are already in flight (TETHER_MAX_RUNS); try again when one ends"
        case .shuttingDown: "the server is shutting down and starts no new runs"
        case .notFound(let id): "no run has the id \(id)"
        case .runFinished(let id, let status): "run \(id) has already finished: \(status.rawValue)"
        case .notResumable(_, _, let reason): reason
        case .storage(let reason): "the run store failed: \(reason)"
        case .unreadable(let error): error.description
        }
    }
}
