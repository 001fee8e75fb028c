import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Testing
import TetherApp
import TetherCore
import TetherRuntime
import TetherTestSupport
import TetherWeb

/// A Tether application serving on a real loopback socket, run exactly as `tether serve`
/// runs it (``TetherApplication/run()``: the supervisor drains before the server closes).
/// HummingbirdTesting's `.live` mode runs Hummingbird's own order instead, so tests that
/// need a socket use this.
struct LiveServer: Sendable {
    let port: Int
    let group: ServiceGroup
    let http: HTTPClient

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// `POST path` with a JSON body.
    func post(_ path: String, json: String = "") async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url(path))
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        return try await http.execute(request, timeout: .seconds(60))
    }

    func get(_ path: String, timeout: TimeAmount = .seconds(60)) async throws -> HTTPClientResponse {
        try await http.execute(HTTPClientRequest(url: url(path)), timeout: timeout)
    }

    /// The JSON body of `GET path`, which must answer `200`.
    func getJSON(_ path: String) async throws -> JSONValue {
        let response = try await get(path)
        #expect(response.status == .ok, "GET \(path)")
        return try JSONDecoder().decode(JSONValue.self, from: Data(buffer: await response.body.collect(upTo: 64 << 20)))
    }

    /// Starts a run through the API and returns its id.
    func startRun(_ agent: String, input: String = "{}") async throws -> RunID {
        let response = try await post("/runs", json: #"{"agent": "\#(agent)", "input": \#(input)}"#)
        #expect(response.status == .accepted)
        let body = try await JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body.collect(upTo: 1 << 20)))
        return try #require(body["runId"]?.stringValue.flatMap(RunID.init(validating:)))
    }

    /// Begins the graceful shutdown a SIGTERM would.
    func shutDown() async {
        await group.triggerGracefulShutdown()
    }
}

/// Serves a test application on a free loopback port while `body` uses it, then shuts it
/// down gracefully and waits until it has stopped.
func withLiveServer<T: Sendable>(
    configuration: AppConfiguration = testConfiguration(),
    agents: [AgentDescriptor] = [],
    llm: (any LLMClient)? = GatedLLM(),
    keepAlive: Duration = .seconds(15),
    _ body: @escaping @Sendable (LiveServer, RunSupervisor) async throws -> T
) async throws -> T {
    let bound = Condition<Int?>(nil)
    let app = try await buildApplication(
        configuration,
        dependencies: testDependencies(
            agents: agents,
            llm: llm,
            keepAlive: keepAlive,
            onListening: { port in bound.update { $0 = port } }
        )
    )
    let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }))
    // A server with a short idle timeout closes a kept-alive connection just as the client
    // may pick it for its next request, which then fails with a reset: such tests open a
    // connection per request.
    var client = HTTPClient.Configuration()
    if configuration.idleTimeout < .seconds(10) { client.maximumUsesPerConnection = 1 }
    return try await withHTTPClient(configuration: client) { http in
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await withTimeout { await bound.wait { $0 != nil } }
            let server = LiveServer(port: bound.value!, group: group, http: http)
            do {
                let result = try await body(server, app.supervisor)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                tasks.cancelAll()
                throw error
            }
        }
    }
}
