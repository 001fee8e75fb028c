import TetherCore

/// `?status=&agent=&limit=&cursor=` of `GET /runs`, checked.
struct RunListQuery: Sendable {
    var status: RunStatus?
    var agent: String?
    var limit = 50
    var before: RunPosition?

    static let maxLimit = 500

    /// - Parameter parameter: the query parameter of that name, if given.
    init(_ parameter: (String) -> String?) throws {
        if let text = parameter("status") {
            guard let status = RunStatus(rawValue: String(text)) else {
                let all = RunStatus.allCases.map(\.rawValue).joined(separator: ", ")
                throw APIError(.badRequest, "status must be one of \(all), not '\(text)'")
            }
            self.status = status
        }
        if let text = parameter("agent"), !text.isEmpty { agent = String(text) }
        if let text = parameter("limit") {
            guard let limit = Int(text), (1...Self.maxLimit).contains(limit) else {
                throw APIError(.badRequest, "limit must be a whole number from 1 to \(Self.maxLimit), not '\(text)'")
            }
            self.limit = limit
        }
        if let text = parameter("cursor"), !text.isEmpty {
            guard let position = RunCursor.decode(String(text)) else {
                throw APIError(.badRequest, "cursor '\(text)' is not one this server gave out")
            }
            before = position
        }
    }

    /// The query as a link's query string, at `cursor`.
    func link(cursor: String?) -> String {
        var pairs: [(String, String)] = []
        if let status { pairs.append(("status", status.rawValue)) }
        if let agent { pairs.append(("agent", agent)) }
        if limit != 50 { pairs.append(("limit", String(limit))) }
        if let cursor { pairs.append(("cursor", cursor)) }
        return QueryString.encode(pairs)
    }

    func runQuery(limit: Int) -> RunQuery {
        // Child runs appear under their root, as their own rows only when filtered for.
        RunQuery(status: status, agent: agent, limit: limit, before: before, includeChildren: agent != nil || status != nil)
    }
}
