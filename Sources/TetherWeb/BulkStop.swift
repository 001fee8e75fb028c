import Hummingbird
import TetherCore

/// What `POST /runs/stop` did: the runs asked to stop.
struct BulkStop: Negotiated {
    var filter: BulkStopFilter
    var runIds: [RunID]

    /// `202 {runIds, count}`.
    func jsonResponse() throws -> Response {
        try .json(BulkStopAnswer(runIds: runIds, count: runIds.count), status: .accepted)
    }

    /// `303` to the filtered history, which says how many were asked.
    func browserResponse(_ browser: BrowserRendering) async throws -> Response {
        .redirect(to: "/runs?" + filter.query(extra: ["stopped": String(runIds.count)]), type: .normal)
    }
}

struct BulkStopAnswer: Encodable {
    var runIds: [RunID]
    var count: Int
}

/// `GET /runs/stop` for a browser: the runs a bulk stop would reach, before the form that does it.
struct BulkStopPreview: Negotiated {
    var filter: BulkStopFilter
    var runs: [RunRecord]

    /// The confirmation is a page only; API clients stop with one `POST`.
    static var refusalForAPIClients: APIError? {
        APIError(.notFound, "a bulk stop is POST /runs/stop?agent=…&status=…")
    }

    func jsonResponse() throws -> Response {
        throw Self.refusalForAPIClients!
    }

    func browserResponse(_ browser: BrowserRendering) async throws -> Response {
        let subject = filter.agent.map { "of agent \($0)" } ?? "of every agent"
        let summary =
            runs.isEmpty
            ? "No run \(subject) is in flight."
            : "Stop \(runs.count) run\(runs.count == 1 ? "" : "s") \(subject)? Each halts at its next boundary; LLM calls in flight finish first."
        let renderer = browser.renderer
        let page = ConfirmStopPage(
            title: "Stop runs — Tether",
            assetVersion: renderer.assetVersion,
            csrfToken: browser.csrfToken,
            action: "/runs/stop?" + filter.query(),
            summary: summary,
            runs: runs.map { RunsScreen.row($0) },
            hasRuns: !runs.isEmpty,
            backURL: filter.agent.map { "/runs?agent=\(BulkStopFilter.escape($0))" } ?? "/runs"
        )
        return renderer.page("confirm-stop", page)
    }
}
