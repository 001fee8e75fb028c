// tether-test-server: `tether serve` with agents written in Swift that no definition file can
// express, for the process tests (Tests/TetherWebTests/StartupTests.swift). Settings come
// from the `TETHER_…` environment variables only.
import Foundation
import Logging
import Synchronization
import TetherApp
import TetherCore
import TetherTestSupport
import TetherWeb

/// Logs, then spins on a core forever, ignoring stops and cancellation alike.
let spinner = AgentDescriptor.closure("spinner") { _, tools in
    try await tools.log("spinning")
    let turns = Atomic<Int>(0)
    while true { turns.add(1, ordering: .relaxed) }
}

/// Calls the LLM, then catches the stop its store write throws and returns anyway.
let catcher = AgentDescriptor.closure("catcher") { _, tools in
    let answer = try await tools.llm.complete("Write one line about owls.")
    do {
        try await tools.store.set("catcher/answer", to: answer)
    } catch is AgentStopped {
        return "caught the stop"
    }
    return .string(answer)
}

/// Returns and logs numbers JSON has no notation for.
let infinity = AgentDescriptor.closure("infinity") { _, tools in
    try await tools.log("dividing by zero", data: ["ratio": .number(1 / 0.0)])
    return ["total": .number(-1 / 0.0)]
}

/// An LLM call and a long wait at once; the stop ends the wait, and Swift cancels the rest.
let pair = AgentDescriptor.closure("pair") { _, tools in
    async let answer = tools.llm.complete("Write two sentences about tide pools.")
    try await tools.wait(for: .seconds(3600))
    return .string(try await answer)
}

/// Holds an LLM call; its cleanup logs, so a person sees whether cleanup ran before the end.
final class Tidy: Agent {
    let tools = Mutex<Tools?>(nil)

    func run(input: JSONValue, tools: Tools) async throws -> JSONValue {
        self.tools.withLock { $0 = tools }
        return .string(try await tools.llm.complete("Write a long essay about owls."))
    }

    func cleanup() async {
        try? await tools.withLock { $0 }?.log("cleanup: released what the run held")
    }
}
let tidy = AgentDescriptor(name: "tidy", description: "Holds an LLM call; cleans up.") { Tidy() }

/// Does nothing a stop can see (no boundary) until the file its input names exists, then
/// calls the LLM: a stop taken in meanwhile is honoured at that first boundary.
let gated = AgentDescriptor.closure("gated") { input, tools in
    let gate = input["gate"]?.stringValue ?? "/nonexistent"
    try await tools.log("waiting for \(gate)")
    while !FileManager.default.fileExists(atPath: gate) { try await Task.sleep(for: .milliseconds(10)) }
    return .string(try await tools.llm.complete("Write one line about gates."))
}

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .info
    return handler
}
do {
    let configuration = try AppConfiguration(flags: [:])
    let app = try await buildApplication(
        configuration,
        dependencies: ServerDependencies(swiftAgents: [spinner, catcher, infinity, pair, tidy, gated], logger: Logger(label: "tether"))
    )
    try await app.serve()
} catch {
    FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
    exit(1)
}
