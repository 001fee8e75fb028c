import Hummingbird
import TetherCore
import TetherRuntime

/// `GET /agents` → `[{name, description, input}]`, where `input` lists the fields in the
/// order a form shows them (`[{name, type}]`), or is `null` for an agent that takes any
/// JSON object.
struct AgentsController {
    let agents: AgentRegistry

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("agents", use: list)
    }

    struct AgentSummary: Encodable {
        var name: String
        var description: String
        var input: [InputField]?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(description, forKey: .description)
            try container.encode(input, forKey: .input)
        }
        enum CodingKeys: String, CodingKey { case name, description, input }
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> Response {
        try .json(agents.all.map { AgentSummary(name: $0.name, description: $0.description, input: $0.input) })
    }
}
