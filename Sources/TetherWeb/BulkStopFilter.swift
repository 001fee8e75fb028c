import Hummingbird
import TetherCore

/// `?agent=&status=` of a bulk stop: `status` may only name an in-flight status.
struct BulkStopFilter: Sendable {
    var agent: String?
    var status: RunStatus?

    init(_ request: Request) throws {
        let parameters = request.uri.queryParameters
        if let agent = parameters["agent"], !agent.isEmpty { self.agent = String(agent) }
        if let text = parameters["status"], !text.isEmpty {
            guard let status = RunStatus(rawValue: String(text)), status.isInFlight else {
                throw APIError(.badRequest, "a bulk stop's status must be running or stopping, not '\(text)'")
            }
            self.status = status
        }
    }

    /// The filter as a query string, for links back.
    func query(extra: [String: String] = [:]) -> String {
        var pairs: [(String, String)] = []
        if let agent { pairs.append(("agent", agent)) }
        if let status { pairs.append(("status", status.rawValue)) }
        pairs += extra.sorted { $0.key < $1.key }
        return QueryString.encode(pairs)
    }

    static func escape(_ text: String) -> String {
        QueryString.escape(text)
    }
}
