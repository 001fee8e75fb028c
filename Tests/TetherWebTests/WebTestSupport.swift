import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TetherApp
import TetherCore
import TetherRuntime
import TetherTestSupport
import TetherWeb
import Testing

/// Settings for a test server: no agents folder unless given, everything else default.
func testConfiguration(agentsDirectory: String = "/nonexistent-agents", _ change: (inout AppConfiguration) -> Void = { _ in }) -> AppConfiguration {
    var configuration = AppConfiguration()
    configuration.agentsDirectory = agentsDirectory
    configuration.port = 0
    configuration.stopGrace = .seconds(5)
    change(&configuration)
    return configuration
}

/// Builds a server with memory stores and runs `body` against it through HummingbirdTesting.
func withServer<T: Sendable>(
    _ mode: TestingSetup = .router,
    configuration: AppConfiguration = testConfiguration(),
    agents: [AgentDescriptor] = [],
    llm: (any LLMClient)? = GatedLLM(),
    keepAlive: Duration = .seconds(15),
    _ body: @escaping @Sendable (any TestClientProtocol, RunSupervisor) async throws -> T
) async throws -> T {
    let server = try await buildServer(
        configuration,
        dependencies: ServerDependencies(swiftAgents: agents, llm: llm, keepAliveInterval: keepAlive))
    let supervisor = server.supervisor
    return try await server.application().test(mode) { client in try await body(client, supervisor) }
}

extension TestClientProtocol {
    /// `POST /runs` with a JSON body; returns the response.
    func postJSON(_ uri: String, _ json: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var fields = headers
        fields[.contentType] = "application/json"
        return try await execute(uri: uri, method: .post, headers: fields, body: ByteBuffer(string: json))
    }

    /// Starts a run through the API and returns its id.
    func startRun(_ agent: String, input: String = "{}") async throws -> RunID {
        let response = try await postJSON("/runs", #"{"agent": "\#(agent)", "input": \#(input)}"#)
        #expect(response.status == .accepted)
        let body = try response.json()
        return try #require(body["runId"]?.stringValue.flatMap(RunID.init(validating:)))
    }
}

extension TestResponse {
    func json() throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))
    }

    var text: String { String(decoding: body.readableBytesView, as: UTF8.self) }

    /// The error code of an error body.
    var errorCode: String? { (try? json())?["error"]?["code"]?.stringValue }
}

/// One Server-Sent Events frame.
struct SSEFrame: Equatable, Sendable {
    var id: String?
    var event: String?
    var data: String?
    var comment: String?

    var json: JSONValue? {
        data.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
    }

    /// Parses a whole stream's text.
    static func parse(_ text: String) -> [SSEFrame] {
        text.components(separatedBy: "\n\n").compactMap { block in
            guard !block.isEmpty else { return nil }
            var frame = SSEFrame()
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(": ") {
                    frame.comment = String(line.dropFirst(2))
                } else if line.hasPrefix("id: ") {
                    frame.id = String(line.dropFirst(4))
                } else if line.hasPrefix("event: ") {
                    frame.event = String(line.dropFirst(7))
                } else if line.hasPrefix("data: ") {
                    frame.data = String(line.dropFirst(6))
                }
            }
            return frame
        }
    }
}

extension Array where Element == SSEFrame {
    var progressSeqs: [Int] { filter { $0.event == "progress" }.compactMap { $0.id.flatMap(Int.init) } }
    func ofEvent(_ name: String) -> [SSEFrame] { filter { $0.event == name } }
}

/// Agents the web tests use.
enum TestAgents {
    /// Returns at once.
    static let quick = AgentDescriptor(name: "quick", description: "Returns its input.", input: [InputField(name: "topic", type: .string)]) {
        ClosureAgent { input, tools in
            try await tools.log("working on \(input["topic"]?.text ?? "")")
            return .string("done: \(input["topic"]?.text ?? "")")
        }
    }

    /// One LLM call, then a store write.
    static let oneCall = AgentDescriptor.closure("one-call") { _, tools in
        let answer = try await tools.llm.complete("the only call")
        try await tools.store.set("one-call/answer", to: answer)
        return .string(answer)
    }

    /// Calls `one-call` as a child.
    static let parent = AgentDescriptor.closure("parent") { _, tools in
        let answer = try await tools.agents.call("one-call", input: [:])
        try await tools.log("child answered")
        return answer
    }

    static let all = [quick, oneCall, parent]
}
