import Foundation
import Hummingbird
import TetherCore

/// `GET /`: the Runs screen (DESIGN §5). It is a page for every client, as it always was;
/// the run routes' pages come from their results' browser renderings (``Negotiated``).
struct PagesController {
    let agents: AgentRegistry
    let reads: any RunReadModel
    let screen: RunsScreen

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/", use: home)
    }

    /// `GET /`, `?agent=NAME` to pick an agent, `&from=RUN` to start from that run's input.
    @Sendable func home(request: Request, context: AppRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        var agent: String?
        if let name = parameters["agent"].map(String.init), !name.isEmpty {
            guard agents[name] != nil else { throw APIError(.notFound, "no agent is named '\(name)'") }
            agent = name
        }
        var prefill: JSONValue?
        if let from = parameters["from"].flatMap({ RunID(validating: String($0)) }) {
            prefill = try await reads.record(from)?.input
        }
        let page = try await screen.page(agent: agent, prefill: prefill, csrfToken: context.csrfToken)
        return screen.renderer.page("runs", page)
    }
}
