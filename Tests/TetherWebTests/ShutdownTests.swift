import AsyncHTTPClient
import Foundation
import Testing
import TetherCore
import TetherTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM as `tether serve` handles it, over real sockets (DESIGN §8): the supervisor
/// drains while the server still answers, then the server closes.
@Suite struct ShutdownTests {
    @Test func theRunsDrainWhileTheServerStillAnswersThenItCloses() async throws {
        let llm = GatedLLM()
        let configuration = testConfiguration { $0.stopGrace = .seconds(120) }
        let port = try await withLiveServer(configuration: configuration, agents: TestAgents.all, llm: llm) { server, _ in
            let id = try await server.startRun("one-call")
            try await withTimeout { await llm.waitForCalls(1) }
            let stream = try await server.get("/runs/\(id)/events")
            return try await withTimeout(seconds: 60, "the drain") {
                var reader = SSEReader(stream)
                let opening = try await reader.read { $0.event == "status" }
                #expect(opening.last?.json?["status"] == "running")

                await server.shutDown()
                let stopping = try await reader.read { $0.event == "status" && $0.json?["status"] == "stopping" }
                let request = stopping.last { $0.json?["kind"] == "stop.requested" }
                #expect(request?.json?["data"]?["reason"] == "shutdown", "the drain asks runs to stop first")

                // The server still answers while runs drain; new runs are refused.
                let refused = try await server.post("/runs", json: #"{"agent": "quick", "input": {"topic": "late"}}"#)
                #expect(refused.status == .serviceUnavailable)
                let body = try await JSONDecoder().decode(
                    JSONValue.self,
                    from: Data(buffer: refused.body.collect(upTo: 1 << 20))
                )
                #expect(body["error"]?["code"] == "shutting_down")
                #expect(try await server.get("/healthz").status == .ok)

                // The call in flight finishes; the run stops at its next boundary, and the
                // subscriber gets its final frames.
                llm.openAll()
                let rest = try await reader.read { $0.event == "done" }
                #expect(rest.ofEvent("status").last?.json?["status"] == "stopped")
                #expect(rest.last?.json?["status"] == "stopped")
                #expect(rest.contains { $0.json?["kind"] == "llm.finished" }, "the call in flight finished")
                #expect(try await reader.next() == nil, "the stream ends after done")
                return server.port
            }
        }
        #expect(llm.state.cancelledAtReturn == [false], "the call in flight was not cancelled")
        // withLiveServer returned once the application stopped: nothing listens any more.
        #expect(!Self.accepts(port: port), "the server closed its socket")
    }

    /// Whether something accepts a TCP connection on 127.0.0.1:`port` (a refused connect
    /// answers at once; AsyncHTTPClient would retry until its connect timeout).
    static func accepts(port: Int) -> Bool {
        guard let fd = LoopbackSocket.connect(port: port) else { return false }
        close(fd)
        return true
    }
}
