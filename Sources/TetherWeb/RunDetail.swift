import HTTPTypes
import Hummingbird
import TetherCore

/// `GET /runs/{id}`: a run with the runs below it and a page of the events of its subtree.
struct RunDetail: Negotiated, Encodable {
    var record: RunRecord
    var runs: [RunRecord]
    var events: [ProgressEvent]
    /// The next page of events (`/runs/{id}?after=SEQ&limit=N`), or `nil` after the last.
    var nextEvents: String?

    /// The record's keys, then `runs`, `events` and `nextEvents`.
    func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runs, forKey: .runs)
        try container.encode(events, forKey: .events)
        try container.encode(nextEvents, forKey: .nextEvents)
    }
    enum CodingKeys: String, CodingKey { case runs, events, nextEvents }

    /// JSON, with the next page also as a `Link: <…>; rel="next"` header.
    func jsonResponse() throws -> Response {
        var headers: HTTPFields = [:]
        if let nextEvents { headers[.link] = "<\(nextEvents)>; rel=\"next\"" }
        return try .json(self, headers: headers)
    }

    /// The Runs screen focused on the run; `?notice=finished` after a late Stop.
    func browserResponse(_ browser: BrowserRendering) async throws -> Response {
        var notice: String?
        if browser.request.uri.queryParameters["notice"] == "finished" {
            notice = "Stop arrived after the run had already finished (\(ChipView(record.status).label.lowercased()))."
        }
        let tree = RunsScreen.FocusTree(subtree: [record] + runs, events: events, nextEvents: nextEvents)
        let page = try await browser.screen.page(focus: record, focusTree: tree, csrfToken: browser.csrfToken, notice: notice)
        return browser.renderer.page("runs", page)
    }
}

extension HTTPField.Name {
    static let link = Self("Link")!
}
