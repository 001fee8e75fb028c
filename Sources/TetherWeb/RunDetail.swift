import Hummingbird
import TetherCore

/// `GET /runs/{id}`: a run with the runs below it and the events of its subtree.
struct RunDetail: Negotiated, Encodable {
    var record: RunRecord
    var runs: [RunRecord]
    var events: [ProgressEvent]

    /// The record's keys, then `runs` and `events`.
    func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runs, forKey: .runs)
        try container.encode(events, forKey: .events)
    }
    enum CodingKeys: String, CodingKey { case runs, events }

    func jsonResponse() throws -> Response {
        try .json(self)
    }

    /// The Runs screen focused on the run; `?notice=finished` after a late Stop.
    func browserResponse(_ browser: BrowserRendering) async throws -> Response {
        var notice: String?
        if browser.request.uri.queryParameters["notice"] == "finished" {
            notice = "Stop arrived after the run had already finished (\(ChipView(record.status).label.lowercased()))."
        }
        let tree = RunsScreen.FocusTree(subtree: [record] + runs, events: events)
        let page = try await browser.screen.page(focus: record, focusTree: tree, csrfToken: browser.csrfToken, notice: notice)
        return browser.renderer.page("runs", page)
    }
}
