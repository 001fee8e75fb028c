import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import Testing
import TetherCore
import TetherTestSupport

/// `tether serve` running as its own process, for tests that kill it.
final class TetherProcess: Sendable {
    let process: Process
    let port: Int
    private let output: Condition<String>

    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(process: Process, port: Int, output: Condition<String>) {
        self.process = process
        self.port = port
        self.output = output
    }

    /// A debug build of the package's (`tether`, `tether-test-server`), which
    /// `swift build --build-tests` makes.
    static func binary(_ name: String = "tether") throws -> URL {
        let binary = packageRoot.appendingPathComponent(".build/debug/\(name)")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build first: swift build --build-tests")
        return binary
    }

    /// Starts `tether serve` on a free port and returns once it announces it is serving.
    static func start(
        dataDirectory: String,
        agentsDirectory: String,
        latencyMS: Int = 40,
        extra: [String] = []
    ) async throws -> TetherProcess {
        try await launch(
            "tether",
            arguments: [
                "serve", "--port", "0", "--data-dir", dataDirectory, "--agents-dir", agentsDirectory, "--simulated-latency-ms",
                String(latencyMS),
            ] + extra
        )
    }

    /// Starts `tether-test-server` (with its Swift test agents) on a free port, its settings
    /// in `TETHER_…` variables.
    static func startTestServer(dataDirectory: String, environment: [String: String] = [:]) async throws -> TetherProcess {
        try await launch(
            "tether-test-server",
            arguments: [],
            environment: ["TETHER_PORT": "0", "TETHER_DATA_DIR": dataDirectory, "TETHER_AGENTS_DIR": "/nonexistent"]
                .merging(environment) { _, new in new }
        )
    }

    private static func launch(
        _ name: String,
        arguments: [String],
        environment: [String: String] = [:]
    ) async throws -> TetherProcess {
        let process = Process()
        process.executableURL = try binary(name)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.currentDirectoryURL = packageRoot
        let output = Condition("")
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        try process.run()
        // The child has its own copy: closing ours lets the reader see the end.
        try? pipe.fileHandleForWriting.close()
        // A thread of its own doing blocking reads, not `readabilityHandler`: with several
        // processes at once, dispatch's read sources crashed the test process in libdispatch
        // (`_dispatch_event_loop_drain`).
        let reading = pipe.fileHandleForReading
        Thread {
            while true {
                let data = reading.availableData
                if data.isEmpty { break }
                output.update { $0 += String(decoding: data, as: UTF8.self) }
            }
        }.start()
        let marker = "Tether is serving on http://127.0.0.1:"
        try await withTimeout(seconds: 60, "tether to start") { await output.wait { $0.contains(marker) } }
        let text = output.value
        let start = text.range(of: marker)!.upperBound
        let port = Int(text[start...].prefix { $0.isNumber })!
        return TetherProcess(process: process, port: port, output: output)
    }

    /// `kill -9`: no shutdown code runs.
    func kill9() async throws {
        kill(process.processIdentifier, SIGKILL)
        try await waitForExit()
    }

    /// SIGTERM: a graceful shutdown. Returns the exit status.
    func terminate() async throws -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        try await waitForExit()
        return process.terminationStatus
    }

    /// Sends `signal` without waiting.
    func send(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to end; returns its exit status.
    func exitStatus() async throws -> Int32 {
        try await waitForExit()
        return process.terminationStatus
    }

    private func waitForExit() async throws {
        let process = self.process
        try await withTimeout(seconds: 60, "tether to exit") {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    process.waitUntilExit()
                    continuation.resume()
                }
            }
        }
    }

    var log: String { output.value }

    /// Starts a run of `agent` through the API; returns its id.
    func startRun(_ agent: String, http: HTTPClient) async throws -> String {
        var request = HTTPClientRequest(url: baseURL + "/runs")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"agent": "\#(agent)"}"#))
        let started = try await http.execute(request, timeout: .seconds(30))
        let body = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: try await started.body.collect(upTo: 1 << 20)))
        return try #require(body["runId"]?.stringValue)
    }

    /// Returns once the process has printed `text`.
    func waitForLog(_ text: String) async {
        await output.wait { $0.contains(text) }
    }

    /// Runs `tether` with `arguments` to its end (within 60 s) and returns its exit status and
    /// everything it printed.
    static func runToEnd(
        _ arguments: [String],
        in directory: URL,
        environment: [String: String] = [:]
    ) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        try process.run()
        let output = try await withTimeout(seconds: 60, "tether to end") {
            await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
                DispatchQueue.global().async {
                    let data = pipe.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: String(decoding: data, as: UTF8.self))
                }
            }
        }
        return (process.terminationStatus, output)
    }
}
