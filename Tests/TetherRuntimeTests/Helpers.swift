import AsyncHTTPClient
import Synchronization
import Testing
import TetherCore
import TetherOpenAI
import TetherRuntime
import TetherTestSupport

/// Runs `body` with an `openai` provider pointed at `server`, through an `HTTPClient` the
/// test owns and shuts down.
func withOpenAI<T: Sendable>(
    _ server: HeldChatServer,
    timeout: Duration = .seconds(60),
    maxConnections: Int = OpenAIConfiguration.defaultMaxConnections,
    _ body: (OpenAIClient) async throws -> T
) async throws -> T {
    try await withHTTPClient { http in
        try await body(
            OpenAIClient(
                configuration: OpenAIConfiguration(baseURL: server.baseURL, model: "test-model", timeout: timeout),
                httpClient: http,
                maxConnections: maxConnections
            )
        )
    }
}

/// A value set once the system under test exists (agents are declared before it is).
final class Box<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)
    init() {}
    func set(_ newValue: Value) { value.withLock { $0 = newValue } }
    var get: Value? { value.withLock { $0 } }
}

extension Array where Element == ProgressEvent {
    func first(_ kind: EventKind, of run: RunID? = nil) -> ProgressEvent? {
        first { $0.kind == kind && (run == nil || $0.runID == run) }
    }

    func all(_ kind: EventKind, of run: RunID? = nil) -> [ProgressEvent] {
        filter { $0.kind == kind && (run == nil || $0.runID == run) }
    }

    /// The `data.runId` of the first `agent.called` event: the child's id.
    var firstChildID: RunID? {
        first(.agentCalled)?.data["runId"]?.stringValue.map(RunID.init(stored:))
    }
}

extension RunSupervisor {
    /// The id of the first child that `parent` calls, once `agent.called` is logged.
    func firstChild(of root: RunID) async throws -> RunID {
        let event = try await waitForEvent(inTree: root) { $0.kind == .agentCalled }
        return try #require(event?.data["runId"]?.stringValue.map(RunID.init(stored:)))
    }
}
