import Hummingbird
import TetherCore

/// `GET /runs`: one page of runs, newest first, and the cursor of the next.
struct RunListing: Negotiated {
    var query: RunListQuery
    var runs: [RunRecord]
    var next: String?

    func jsonResponse() throws -> Response {
        try .json(RunPage(runs: runs, next: next))
    }

    /// The screen with the run history, filtered and paged as the JSON listing is;
    /// `?stopped=N` after a bulk stop.
    func browserResponse(_ browser: BrowserRendering) async throws -> Response {
        var notice: String?
        if let stopped = browser.request.uri.queryParameters["stopped"].flatMap({ Int($0) }) {
            notice = stopped == 1 ? "Asked 1 run to stop." : "Asked \(stopped) runs to stop."
        }
        let page = try await browser.screen.historyPage(query, runs: runs, next: next, csrfToken: browser.csrfToken, notice: notice)
        return browser.renderer.page("runs", page)
    }
}

/// `{runs, next}`, with `next` always present (`null` on the last page).
struct RunPage: Encodable {
    var runs: [RunRecord]
    var next: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runs, forKey: .runs)
        try container.encode(next, forKey: .next)
    }
    enum CodingKeys: String, CodingKey { case runs, next }
}
