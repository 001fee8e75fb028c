import Hummingbird
import TetherCore

/// What `POST /runs` did: started a run, or refused the form's input.
enum RunStart: Negotiated {
    case started(RunRecord)
    /// Input the agent refused, or limits that cannot apply: a form comes back with the
    /// message and the values kept.
    case refused(agent: String, input: JSONValue, limits: [String: String], reason: String)

    func jsonResponse() throws -> Response {
        switch self {
        case .started(let record):
            let links = RunLinks(id: record.id)
            return try .json(
                StartedRun(runId: record.id, status: record.status, resumedFrom: record.resumedFrom, links: links),
                status: .accepted,
                headers: [.location: links.selfLink]
            )
        case .refused(_, _, _, let reason):
            throw APIError(.badRequest, reason)
        }
    }

    /// `303` to the run, or the form again with the message, status `400`.
    func browserResponse(_ browser: BrowserRendering) async throws -> Response {
        switch self {
        case .started(let record):
            return .redirect(to: "/runs/\(record.id)", type: .normal)
        case .refused(let agent, let input, let limits, let reason):
            let page = try await browser.screen.page(
                agent: agent,
                prefill: input,
                prefillLimits: limits,
                csrfToken: browser.csrfToken,
                formError: reason
            )
            return browser.renderer.page("runs", page, status: .badRequest)
        }
    }
}

/// `202 {runId, status, links}`.
struct StartedRun: Encodable {
    var runId: RunID
    var status: RunStatus
    /// The run a resumed run continues; absent for a new run.
    var resumedFrom: RunID?
    var links: RunLinks
}

struct RunLinks: Encodable {
    var selfLink: String
    var events: String
    var stop: String

    init(id: RunID) {
        selfLink = "/runs/\(id)"
        events = "/runs/\(id)/events"
        stop = "/runs/\(id)/stop"
    }

    enum CodingKeys: String, CodingKey {
        case selfLink = "self"
        case events, stop
    }
}
