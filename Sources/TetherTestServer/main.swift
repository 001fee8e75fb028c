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

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .info
    return handler
}
do {
    let configuration = try AppConfiguration(flags: [:])
    let app = try await buildApplication(
        configuration,
        dependencies: ServerDependencies(swiftAgents: [spinner], logger: Logger(label: "tether"))
    )
    try await app.serve()
} catch {
    FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
    exit(1)
}
