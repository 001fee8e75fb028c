import Hummingbird
import TetherCore
import TetherRuntime

/// What `POST /runs/{id}/stop` did.
enum StopOutcome: Negotiated {
    /// The stop was requested (or forced); `waited` when the client asked to wait for the end.
    case requested(RunRecord, waited: Bool)
    /// The run had already finished: `409` for API clients, a notice on the page for browsers.
    case alreadyFinished(RunID, SupervisorError)

    /// `202 {runId, status, forced}`, or `200` when a wait saw the run end.
    func jsonResponse() throws -> Response {
        switch self {
        case .requested(let record, let waited):
            return try .json(
                StopAnswer(runId: record.id, status: record.status, forced: record.forced),
                status: record.status.isTerminal && waited ? .ok : .accepted
            )
        case .alreadyFinished(_, let error):
            throw error
        }
    }

    /// `303` back to the run's page.
    func browserResponse(_ browser: BrowserRendering) async throws -> Response {
        switch self {
        case .requested(let record, _): .redirect(to: "/runs/\(record.id)", type: .normal)
        case .alreadyFinished(let id, _): .redirect(to: "/runs/\(id)?notice=finished", type: .normal)
        }
    }
}

struct StopAnswer: Encodable {
    var runId: RunID
    var status: RunStatus
    var forced: Bool
}
