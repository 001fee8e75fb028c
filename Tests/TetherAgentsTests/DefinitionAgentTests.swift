import Foundation
import Testing
import TetherAgents
import TetherCore
import TetherRuntime
import TetherTestSupport

/// Loads definitions from text and runs them on a supervisor.
func withDefinitions<T: Sendable>(
    _ files: [String: String],
    llm: any LLMClient,
    dataStore: any DataStore = MemoryDataStore(),
    _ body: @Sendable (RunSupervisor) async throws -> T
) async throws -> T {
    let result = DefinitionLoader.load(files: files.map { ($0.key, $0.value) })
    try #require(result.rejected.isEmpty, "\(result.rejected)")
    return try await withSupervisor(agents: result.descriptors, llm: llm, dataStore: dataStore, body)
}

/// Answers with the prompt itself, so tests see exactly what was sent.
struct EchoLLM: LLMClient {
    let provider = "echo"
    let defaultModel = "echo"
    func complete(_ request: LLMRequest) async throws -> LLMResponse {
        let system = request.messages.first { $0.role == .system }.map { "[\($0.content)] " } ?? ""
        return LLMResponse(text: system + (request.messages.last?.content ?? ""), model: "echo")
    }
}

@Suite struct DefinitionAgentTests {
    @Test func everyStepKindRuns() async throws {
        let dataStore = MemoryDataStore()
        let files = [
            "all.json": #"""
            {"name": "all", "input": {"topic": "string", "count": "number", "loud": "boolean"},
             "steps": [
               {"llm": "About {{input.topic}} ({{input.count}}, {{input.loud}})", "system": "Be {{input.topic}}", "as": "answer"},
               {"store_set": "notes/first", "value": "{{answer}}"},
               {"store_set": "notes/second", "value": "two"},
               {"store_set": "plain", "value": "default namespace"},
               {"store_get": "notes/first", "as": "read"},
               {"store_get": "notes/missing", "as": "missing"},
               {"store_list": "notes/", "as": "entries"},
               {"store_delete": "notes/second", "as": "deleted"},
               {"store_delete": "notes/second", "as": "deletedAgain"},
               {"call": "child", "input": {"text": "{{read}}", "n": 2}, "as": "childResult"},
               {"log": "read={{read}} missing=[{{missing}}] deleted={{deleted}}/{{deletedAgain}}"},
               {"wait": 0},
               {"return": "{{entries}}"},
               {"log": "never reached"}
             ]}
            """#,
            "child.json": #"{"name": "child", "input": {"text": "text", "n": "number"}, "steps": [{"return": "{{input.text}} x{{input.n}}"}]}"#,
        ]
        try await withDefinitions(files, llm: EchoLLM(), dataStore: dataStore) { supervisor in
            let run = try await supervisor.start(agent: "all", input: ["topic": "owls", "count": 3])
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .succeeded, "\(final.error ?? "")")
            #expect(final.result == [["key": "first", "value": "[Be owls] About owls (3, false)"], ["key": "second", "value": "two"]])
            #expect(try await dataStore.value(for: StoreKey(parsing: "plain")) == "default namespace")
            #expect(try await dataStore.value(for: StoreKey(parsing: "notes/second")) == nil)
            let events = try await supervisor.allEvents(ofTree: run.id)
            let logs = events.filter { $0.kind == .log && $0.runID == run.id }.map(\.message)
            #expect(logs == ["read=[Be owls] About owls (3, false) missing=[] deleted=true/false"])
            let child = try #require(events.first { $0.kind == .agentReturned })
            #expect(child.data["status"] == "succeeded")
            let childRecord = try #require(try await supervisor.record(RunID(stored: child.data["runId"]!.stringValue!)))
            #expect(childRecord.result == "[Be owls] About owls (3, false) x2")
            #expect(childRecord.input == ["text": "[Be owls] About owls (3, false)", "n": 2])
            #expect(events.contains { $0.kind == .wait })
            #expect(events.first { $0.kind == .llmStarted }?.message == "answer: calling the echo model echo…")
        }
    }

    @Test func substitutionIsVerbatimWithNoHTMLEscaping() async throws {
        let files = [
            "raw.json": #"{"name": "raw", "input": {"text": "text"}, "steps": [{"llm": "Say: {{input.text}}", "as": "a"}, {"return": "{{a}}"}]}"#
        ]
        let tricky = "<script>alert(\"x\")</script> & 'quotes' {{not a var}}"
        try await withDefinitions(files, llm: EchoLLM()) { supervisor in
            let run = try await supervisor.start(agent: "raw", input: ["text": .string(tricky)])
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.result == .string("Say: " + tricky))
        }
    }

    @Test func eachGoesOverTheLinesOfATextAndTheItemsOfAList() async throws {
        let files = [
            "lines.json": #"""
            {"name": "lines", "input": {"items": "text"}, "steps": [
              {"each": "input.items", "as": "item", "do": [{"store_set": "lines/{{item}}", "value": "seen"}]},
              {"store_list": "lines/", "as": "seen"},
              {"each": "seen", "as": "entry", "do": [{"log": "entry {{entry.key}}={{entry.value}}"}]},
              {"return": "done"}
            ]}
            """#
        ]
        let dataStore = MemoryDataStore()
        try await withDefinitions(files, llm: EchoLLM(), dataStore: dataStore) { supervisor in
            let run = try await supervisor.start(agent: "lines", input: ["items": "1. alpha\n\n- beta\n  * gamma  \n3) delta"])
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .succeeded)
            let keys = try await dataStore.entries(in: "lines", prefix: "").map(\.key)
            #expect(keys == ["alpha", "beta", "delta", "gamma"], "list markers and blank lines dropped")
            let events = try await supervisor.allEvents(ofTree: run.id)
            let logs = events.filter { $0.kind == .log }.map(\.message)
            #expect(logs.contains("item 2 of 4: beta"))
            #expect(logs.contains("entry gamma=seen"))
            #expect(logs.filter { $0.hasSuffix("=seen") }.count == 4)
            #expect(logs.contains("entry 1 of 4: {\"key\":\"alpha\",\"value\":\"seen\"}"))
        }
    }

    @Test func eachOverSomethingElseFailsTheRunClearly() async throws {
        let files = ["bad.json": #"{"name": "bad", "input": {"n": "number"}, "steps": [{"each": "input.n", "as": "x", "do": [{"log": "{{x}}"}]}]}"#]
        try await withDefinitions(files, llm: EchoLLM()) { supervisor in
            let run = try await supervisor.start(agent: "bad", input: ["n": 4])
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .failed)
            #expect(final.error == "steps[0]: 'input.n' is a number, not a list or text")
        }
    }

    @Test func aStopDuringEachHaltsAtTheNextBoundary() async throws {
        let files = [
            "loop.json": #"""
            {"name": "loop", "input": {"items": "text"}, "steps": [
              {"each": "input.items", "as": "item", "do": [
                {"llm": "Write about {{item}}", "as": "text"},
                {"store_set": "loop/{{item}}", "value": "{{text}}"}
              ]}
            ]}
            """#
        ]
        let llm = GatedLLM()
        let dataStore = MemoryDataStore()
        try await withDefinitions(files, llm: llm, dataStore: dataStore) { supervisor in
            let run = try await supervisor.start(agent: "loop", input: ["items": "a\nb\nc\nd"])
            llm.open(0)
            try await withTimeout { await llm.waitForCalls(2) }
            try await supervisor.stop(run.id)
            llm.open(1)
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .stopped)
            #expect(llm.state.calls == ["Write about a", "Write about b"])
            #expect(try await dataStore.entries(in: "loop", prefix: "").map(\.key) == ["a"])
            let events = try await supervisor.allEvents(ofTree: run.id)
            #expect(events.last?.data["boundary"] == "store")
            #expect(events.filter { $0.kind == .llmFinished }.count == 2, "the call in flight finished")
        }
    }

    @Test func waitWakesAtOnceOnStop() async throws {
        let files = ["pause.json": #"{"name": "pause", "steps": [{"wait": 86400}, {"log": "after"}]}"#]
        try await withDefinitions(files, llm: EchoLLM()) { supervisor in
            let run = try await supervisor.start(agent: "pause", input: [:])
            _ = try await withTimeout { try await supervisor.waitForEvent(inTree: run.id) { $0.kind == .wait } }
            try await supervisor.stop(run.id)
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            let events = try await supervisor.allEvents(ofTree: run.id)
            #expect(final.status == .stopped)
            #expect(events.last?.data["boundary"] == "wait")
            #expect(!events.contains { $0.kind == .log })
        }
    }

    @Test func theQuickExampleRunsToSucceeded() async throws {
        let agents = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Agents").standardized
        let loaded = DefinitionLoader.load(directory: agents.path)
        try await withSupervisor(agents: loaded.descriptors, llm: SimulatedLLM(latency: .zero)) { supervisor in
            let run = try await supervisor.start(agent: "headline", input: ["summary": "A city council votes to allow beehives on rooftops."])
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .succeeded)
            #expect(final.result?.stringValue?.split(separator: "\n").count == 3)
            let chained = try await supervisor.start(agent: "brief", input: ["topic": "tide pools"])
            let tree = try await withTimeout { try await supervisor.waitUntilFinished(chained.id) }
            #expect(tree.status == .succeeded)
            let runs = try await supervisor.runs(inTree: chained.id)
            #expect(runs.map(\.agent) == ["brief", "summarize"])
        }
    }

    @Test func inputIsCheckedBeforeARunStarts() async throws {
        let files = ["typed.json": #"{"name": "typed", "input": {"topic": "string", "n": "number"}, "steps": [{"return": "{{input.topic}}"}]}"#]
        try await withDefinitions(files, llm: EchoLLM()) { supervisor in
            await #expect(throws: SupervisorError.invalidInput("input.topic is required")) {
                try await supervisor.start(agent: "typed", input: ["n": 1])
            }
            await #expect(throws: SupervisorError.invalidInput("input.n must be a number, not text")) {
                try await supervisor.start(agent: "typed", input: ["topic": "x", "n": "3"])
            }
            let coerced = try await supervisor.start(agent: "typed", input: ["topic": "x", "n": "3"], coercingStrings: true)
            #expect(coerced.input == ["topic": "x", "n": 3])
            #expect(supervisor.rootsInFlight <= 1, "the refused ones never started")
        }
    }
}
