import Foundation
import Synchronization
import Testing
import TetherCore

/// A backend that counts what reached it, to prove the entry check runs first.
final class CountingBackend: ToolBackend {
    let runID = RunID()
    let token: CancelToken
    let gate: BoundaryGate
    let reached = Mutex<[String]>([])

    init(token: CancelToken = CancelToken(), closed: Bool = false) {
        self.token = token
        gate = BoundaryGate(token: token)
        if closed { gate.close() }
    }

    /// The tools of this backend's run.
    var tools: Tools { Tools(gate: gate, backend: self) }
    private func reach(_ name: String) { reached.withLock { $0.append(name) } }

    func complete(_ request: LLMRequest) async throws -> LLMResponse {
        reach("llm")
        return LLMResponse(text: "ok", model: "m")
    }
    func storeValue(for key: StoreKey) async throws -> String? {
        reach("get")
        return nil
    }
    func storeSet(_ value: String, for key: StoreKey) async throws { reach("set") }
    func storeDelete(_ key: StoreKey) async throws -> Bool {
        reach("delete")
        return false
    }
    func storeList(namespace: String, prefix: String) async throws -> [StoreEntry] {
        reach("list")
        return []
    }
    func callAgent(named name: String, input: JSONValue) async throws -> JSONValue {
        reach("call")
        return .null
    }
    func wait(for duration: Duration) async throws { reach("wait") }
    func log(_ message: String, data: [String: JSONValue]) async throws { reach("log") }
}

@Suite struct ToolsTests {
    /// Every boundary, as a closure over the tools.
    static let boundaries: [(Boundary, @Sendable (Tools) async throws -> Void)] = [
        (.llm, { _ = try await $0.llm.complete("hi") }),
        (.store, { _ = try await $0.store.get("a/b") }),
        (.store, { try await $0.store.set("a/b", to: "v") }),
        (.store, { _ = try await $0.store.delete("a/b") }),
        (.store, { _ = try await $0.store.list("a/") }),
        (.agentsCall, { _ = try await $0.agents.call("x", input: [:]) }),
        (.wait, { try await $0.wait(for: .seconds(1)) }),
    ]

    @Test func everyToolRunsWhileNoStopWasRequested() async throws {
        let backend = CountingBackend()
        let tools = backend.tools
        for (_, use) in Self.boundaries { try await use(tools) }
        #expect(backend.reached.withLock { $0 } == ["llm", "get", "set", "delete", "list", "call", "wait"])
    }

    @Test func everyToolThrowsOnEntryOnceTheRunsTokenIsStopped() async {
        let backend = CountingBackend()
        backend.token.requestStop()
        let tools = backend.tools
        for (boundary, use) in Self.boundaries {
            await #expect(throws: AgentStopped(boundary: boundary)) { try await use(tools) }
        }
        #expect(backend.reached.withLock { $0 }.isEmpty, "nothing observable happened")
        #expect(backend.gate.firstStop == .llm)
    }

    @Test func theTaskLocalTokenStopsToolsToo() async {
        let backend = CountingBackend()
        let tools = backend.tools
        let outer = CancelToken()
        outer.requestStop()
        await CancelToken.$current.withValue(outer) {
            await #expect(throws: AgentStopped(boundary: .llm)) { _ = try await tools.llm.complete("x") }
        }
        #expect(backend.reached.withLock { $0 }.isEmpty)
    }

    @Test func theRunsOwnTokenStopsToolsUnderAnotherBoundToken() async {
        let backend = CountingBackend()
        backend.token.requestStop()
        let tools = backend.tools
        await CancelToken.$current.withValue(CancelToken()) {
            await #expect(throws: AgentStopped(boundary: .store)) { _ = try await tools.store.get("a/b") }
            await #expect(throws: AgentStopped(boundary: .wait)) { try await backend.gate.sleep(for: .seconds(600)) }
        }
        #expect(backend.reached.withLock { $0 }.isEmpty)
    }

    @Test func closedToolsThrowToolsClosed() async {
        let tools = CountingBackend(closed: true).tools
        await #expect(throws: ToolsClosed(boundary: .store)) { try await tools.store.set("k", to: "v") }
    }

    @Test func logIsNotABoundary() async throws {
        let backend = CountingBackend()
        backend.token.requestStop()
        try await backend.tools.log("tidying up")
        #expect(backend.reached.withLock { $0 } == ["log"])
    }
}

@Suite struct StoreKeyTests {
    @Test(arguments: [
        ("brief/intro", "brief", "intro"),
        ("intro", "default", "intro"),
        ("a/b/c", "a", "b/c"),
        ("/x", "default", "x"),
        ("brief/", "brief", ""),
    ])
    func keysSplitOnTheFirstSlash(path: String, namespace: String, key: String) {
        #expect(StoreKey(parsing: path) == StoreKey(namespace: namespace, key: key))
    }
}

@Suite struct JSONValueTests {
    @Test func roundTripsThroughCodable() throws {
        let value: JSONValue = ["a": [1, 2.5, "x", true, nil], "b": ["c": "d"]]
        let data = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == value)
    }

    @Test func textIsWhatAPromptShows() {
        #expect(JSONValue.number(3).text == "3")
        #expect(JSONValue.number(2.5).text == "2.5")
        #expect(JSONValue.array(["a", "b"]).text == "a\nb")
        #expect(JSONValue.string("<b>\"x\"</b>").text == "<b>\"x\"</b>")
        #expect(JSONValue.object(["k": "v\n"]).compactJSON == #"{"k":"v\n"}"#)
    }
}

/// A stop's handlers run in no set order; whatever one of them wakes (a `wait`) must find
/// the gate stopped, or the woken `wait` would return as if its time had passed (found by
/// the cluster benchmark: one stopped wait in a few hundred ended `succeeded`).
@Suite struct GateOrderTests {
    @Test func everyStopHandlerSeesTheGateStopped() {
        let token = CancelToken()
        let gate = BoundaryGate(token: token)
        let seen = Mutex<[Bool]>([])
        for _ in 0..<50 {
            _ = token.onStop { seen.withLock { $0.append(gate.isStopRequested) } }
        }
        token.requestStop()
        #expect(seen.withLock { $0 }.count == 50)
        #expect(seen.withLock { $0 }.allSatisfy { $0 }, "a handler ran before the gate knew of the stop")
    }

    @Test func aWaitWokenByAStopThrows() async {
        for _ in 0..<200 {
            let token = CancelToken()
            let gate = BoundaryGate(token: token)
            let sleeping = Task { try await gate.sleep(for: .seconds(3600)) }
            token.requestStop()
            await #expect(throws: AgentStopped.self) { try await sleeping.value }
        }
    }
}

@Suite struct EventDraftTests {
    /// Text columns cannot hold U+0000 (SQLite reads up to it, PostgreSQL refuses it): a log
    /// line's NUL becomes U+FFFD before any store sees it, and its data keeps it (JSON).
    @Test func aNulInAMessageBecomesTheReplacementCharacterAndDataKeepsIt() {
        let draft = EventDraft(runID: RunID(), kind: .log, message: "before\u{0}after", data: ["raw": "a\u{0}b"])
        #expect(draft.message == "before\u{FFFD}after")
        #expect(draft.data["raw"] == "a\u{0}b")
        #expect(EventDraft(runID: RunID(), kind: .log, message: "plain é").message == "plain é")
    }
}
