import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import TetherCore
import TetherTestSupport

/// `tether serve` as a user starts it, as its own process (issue 12): a second server on a
/// data folder in use refuses to start, and start-up failures are one line and exit 1.
@Suite(.serialized) struct StartupTests {
    static func folder(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID())").path
    }

    @Test func aDatabaseOutOfReachStopsStartUpAtOnceWithTheReasonAndNoPassword() async throws {
        let closed = try RefusingPort()
        let (status, output) = try await TetherProcess.runToEnd(
            [
                "serve", "--port", "0", "--data-dir", Self.folder("startup-data"),
                "--database-url", "postgres://tether:hunter2@127.0.0.1:\(closed.port)/tether?sslmode=disable",
            ],
            in: packageRoot
        )
        #expect(status == 1)
        #expect(output.contains("TETHER_DATABASE_URL cannot be used") && output.contains("refused"), "\(output)")
        #expect(!output.contains("hunter2"), "the password is never printed")
        #expect(!output.contains("Fatal error"))
        #expect(!output.contains("Tether is serving"))
    }

    @Test func aSecondServerOnAFolderInUseRefusesToStartAndLeavesTheFirstAlone() async throws {
        let data = Self.folder("startup-data")
        let agents = Self.folder("startup-agents")
        try FileManager.default.createDirectory(atPath: agents, withIntermediateDirectories: true)
        try #"{"name": "slow", "steps": [{"llm": "one"}, {"llm": "two"}, {"return": "done"}]}"#
            .write(toFile: agents + "/slow.json", atomically: true, encoding: .utf8)
        let first = try await TetherProcess.start(dataDirectory: data, agentsDirectory: agents, latencyMS: 1500)
        try await withHTTPClient { http in
            let id = try await first.startRun("slow", http: http)

            let second = try await TetherProcess.runToEnd(
                ["serve", "--port", "0", "--data-dir", data, "--agents-dir", agents],
                in: packageRoot
            )
            #expect(second.status == 1)
            #expect(second.output.contains("the data folder \(data) is in use by another Tether"), "\(second.output)")
            #expect(!second.output.contains("Fatal error"))

            // The first server's run was not marked interrupted; it goes on to its end, which
            // its event stream's `done` frame tells.
            let stream = try await http.execute(HTTPClientRequest(url: first.baseURL + "/runs/\(id)/events"), timeout: .seconds(60))
            let frames = SSEFrame.parse(String(buffer: try await stream.body.collect(upTo: 16 << 20)))
            let record = try #require(frames.ofEvent("done").first?.json)
            #expect(record["status"] == "succeeded", "\(record)")
        }
        #expect(try await first.terminate() == 0)
    }

    @Test func startedFromAnotherFolderWithTheOpenAIProviderItSaysWhatIsMissing() async throws {
        let elsewhere = URL(fileURLWithPath: Self.folder("startup-elsewhere"))
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let result = try await TetherProcess.runToEnd(
            ["serve", "--port", "0"],
            in: elsewhere,
            environment: ["TETHER_LLM": "openai", "TETHER_LLM_BASE_URL": "http://127.0.0.1:9/v1", "TETHER_LLM_MODEL": "any"]
        )
        #expect(result.status == 1)
        #expect(result.output.contains("the templates folder Templates lacks"), "\(result.output)")
        #expect(!result.output.contains("Fatal error") && !result.output.contains("precondition"))
    }

    @Test func aPricesFileItCannotUseStopsStartUpNamingTheSetting() async throws {
        let data = Self.folder("startup-prices")
        let prices = data + "-prices.json"
        try #"{"gpt": {"prompt": "cheap"}}"#.write(toFile: prices, atomically: true, encoding: .utf8)
        for (file, expected) in [(prices, "model gpt needs"), (data + "-missing.json", "cannot be read")] {
            let result = try await TetherProcess.runToEnd(["serve", "--port", "0", "--data-dir", data, "--prices", file], in: packageRoot)
            #expect(result.status == 1)
            #expect(result.output.contains("TETHER_PRICES (--prices)") && result.output.contains(expected), "\(result.output)")
        }
    }

    @Test func aDefaultCostBudgetWithoutPricesStopsStartUpNamingBothSettings() async throws {
        let data = Self.folder("startup-budget-cost")
        let result = try await TetherProcess.runToEnd(["serve", "--port", "0", "--data-dir", data, "--budget-cost", "2"], in: packageRoot)
        #expect(result.status == 1)
        #expect(result.output.contains("TETHER_BUDGET_COST (--budget-cost)") && result.output.contains("TETHER_PRICES"), "\(result.output)")
    }

    @Test func aDatabaseItCannotOpenIsOneLineAndExitOne() async throws {
        let data = Self.folder("startup-notadb")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try "not a database".write(toFile: data + "/tether.sqlite", atomically: true, encoding: .utf8)
        let result = try await TetherProcess.runToEnd(
            ["serve", "--port", "0", "--data-dir", data],
            in: packageRoot,
            environment: ["TETHER_LLM": "openai", "TETHER_LLM_BASE_URL": "http://127.0.0.1:9/v1", "TETHER_LLM_MODEL": "any"]
        )
        #expect(result.status == 1)
        #expect(result.output.contains("tether.sqlite"), "\(result.output)")
        #expect(!result.output.contains("Fatal error") && !result.output.contains("precondition"))
    }

    /// Starts the `spinner` test agent (it spins ignoring every stop) and returns its id once
    /// it is spinning.
    static func startSpinner(on server: TetherProcess, http: HTTPClient) async throws -> String {
        let id = try await server.startRun("spinner", http: http)
        let stream = try await http.execute(HTTPClientRequest(url: server.baseURL + "/runs/\(id)/events"), timeout: .seconds(60))
        _ = try await withTimeout {
            var reader = SSEReader(stream)
            return try await reader.read { $0.json?["kind"] == "log" }.count
        }
        return id
    }

    /// The run's record, read by a new server on the same folder once the old one is gone.
    static func recordAfterRestart(_ id: String, dataDirectory: String, http: HTTPClient) async throws -> JSONValue {
        let server = try await TetherProcess.startTestServer(dataDirectory: dataDirectory)
        let response = try await http.execute(HTTPClientRequest(url: server.baseURL + "/runs/\(id)"), timeout: .seconds(30))
        let record = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: try await response.body.collect(upTo: 1 << 20)))
        #expect(try await server.terminate() == 0)
        return record
    }

    @Test func sigtermEndsTheProcessEvenWhenAnAgentIgnoresEveryStop() async throws {
        let data = Self.folder("startup-spin")
        let server = try await TetherProcess.startTestServer(
            dataDirectory: data,
            environment: ["TETHER_STOP_GRACE_SECONDS": "1", "TETHER_CLEANUP_TIMEOUT_SECONDS": "1"]
        )
        try await withHTTPClient { http in
            let id = try await Self.startSpinner(on: server, http: http)
            // Grace (1 s) + cleanup timeout (1 s) + at most 5 s; the fail-safe is generous.
            #expect(try await server.terminate() == 0)
            #expect(server.log.contains("the agent's code did not unwind"))
            let record = try await Self.recordAfterRestart(id, dataDirectory: data, http: http)
            #expect(record["status"] == "interrupted")
            #expect(record["error"]?.stringValue?.contains("shut down before the run stopped") == true, "\(record)")
        }
    }

    @Test func aSecondSigtermExitsAtOnceMarkingRunsInterrupted() async throws {
        let data = Self.folder("startup-twice")
        let server = try await TetherProcess.startTestServer(
            dataDirectory: data,
            environment: ["TETHER_STOP_GRACE_SECONDS": "600"]
        )
        try await withHTTPClient { http in
            let id = try await Self.startSpinner(on: server, http: http)
            server.send(SIGTERM)
            try await withTimeout { await server.waitForLog("runs in flight are asked to stop") }
            server.send(SIGTERM)
            #expect(try await server.exitStatus() == 143, "well before the 600 s grace period")
            let record = try await Self.recordAfterRestart(id, dataDirectory: data, http: http)
            #expect(record["status"] == "interrupted")
            #expect(record["error"]?.stringValue?.contains("shut down before the run stopped") == true, "\(record)")
        }
    }
}
