import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import TetherApp
import TetherCore
import TetherRuntime
import TetherTestSupport
import TetherWeb

/// The package's folder, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

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
    storage: Storage = .memory,
    _ body: @escaping @Sendable (any TestClientProtocol, RunSupervisor) async throws -> T
) async throws -> T {
    let app = try await buildApplication(
        configuration,
        dependencies: testDependencies(agents: agents, llm: llm, keepAlive: keepAlive, storage: storage)
    )
    let supervisor = app.supervisor
    return try await app.test(mode) { client in try await body(client, supervisor) }
}

/// The dependencies of a test server: the package's templates and assets, no logging.
func testDependencies(
    agents: [AgentDescriptor],
    llm: (any LLMClient)?,
    keepAlive: Duration = .seconds(15),
    storage: Storage = .memory,
    onListening: (@Sendable (Int) async -> Void)? = nil
) -> ServerDependencies {
    ServerDependencies(
        storage: storage,
        swiftAgents: agents,
        llm: llm,
        keepAliveInterval: keepAlive,
        templatesDirectory: packageRoot.appendingPathComponent("Templates").path,
        publicDirectory: packageRoot.appendingPathComponent("Public").path,
        logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
        onListening: onListening
    )
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

/// A browser's session with the server: its CSRF cookie, and HTML requests.
struct BrowserSession {
    let client: any TestClientProtocol
    let cookie: String
    let token: String

    /// Loads `/` to get the CSRF cookie, as a browser does.
    static func open(_ client: any TestClientProtocol) async throws -> BrowserSession {
        let response = try await client.execute(uri: "/", method: .get, headers: [.accept: "text/html"])
        let setCookie = try #require(response.headers[.setCookie])
        let pair = String(setCookie.split(separator: ";")[0])
        return BrowserSession(client: client, cookie: pair, token: String(pair.dropFirst("tether_csrf=".count)))
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .get, headers: [.accept: "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", .cookie: cookie])
    }

    /// Loads a page and checks it with libxml2.
    func page(_ uri: String, status: HTTPResponse.Status = .ok, sourceLocation: SourceLocation = #_sourceLocation) async throws -> HTMLPage {
        let response = try await get(uri)
        #expect(response.status == status, sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "text/html; charset=utf-8", sourceLocation: sourceLocation)
        return try checkedPage(response.text, sourceLocation: sourceLocation)
    }

    /// Posts a form, with the CSRF token unless `token` is `nil`.
    func post(_ uri: String, _ fields: [(String, String)], token: String?? = .none, origin: String? = nil) async throws -> TestResponse {
        var all = fields
        switch token {
        case .none: all.append(("csrf", self.token))
        case .some(.some(let value)): all.append(("csrf", value))
        case .some(.none): break
        }
        let body = all.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        var headers: HTTPFields = [
            .contentType: "application/x-www-form-urlencoded", .accept: "text/html,*/*;q=0.8", .cookie: cookie,
        ]
        if let origin { headers[.origin] = origin }
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
