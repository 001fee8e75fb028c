import AsyncHTTPClient
import Foundation
import NIOCore
import TetherCore

/// How long a streamed chunk takes from the LLM server to a run's SSE subscriber: `runs`
/// one-call runs at once against a stub that streams `chunks` chunks over `delay`, each run
/// with one subscriber. Every chunk carries the instant the stub wrote it (``StubLLM/stamp(_:)``);
/// the subscriber notes when the `delta` frame holding it arrived. Chunks written before the
/// subscriber was connected are left out (they come in its catch-up frame).
struct DeltaDelayBench {
    let options: TetherLoad
    var binary: String { options.tether }
    var runs: Int { options.deltaRuns }
    var chunks: Int { options.streamChunks }
    var delay: Duration { .milliseconds(Int(options.llmDelaySeconds * 1000)) }

    func run() async throws -> String {
        let stub = StubLLM(delay: delay, streamChunks: chunks)
        let limits = [
            "TETHER_MAX_RUNS": String(runs + 100), "TETHER_MAX_SUBSCRIBERS": String(max(10_000, runs)),
            "TETHER_MAX_SUBSCRIBERS_PER_RUN": "100",
        ]
        return try await options.withServer(on: stub, environment: limits, sampled: false) { load in
            let (measured, newest) = try await withThrowingTaskGroup(of: Delays.self) { group in
                for number in 0..<runs {
                    group.addTask { try await delays(of: number, load: load, stub: stub) }
                }
                var all = Delays()
                for try await delays in group {
                    all.chunks += delays.chunks
                    all.newest += delays.newest
                }
                return (all.chunks, all.newest)
            }
            let max = String(format: "%.1f", (measured.max() ?? .nan) * 1000)
            return """
                tether-load: \(runs) streamed one-call runs at once, \(chunks) chunks each over \(delay), one subscriber each
                chunk written by the LLM server → its text on an SSE subscriber: \(Stats(measured)) (of \(runs * chunks) chunks; max \(max) ms)
                the newest chunk of each delta frame (no wait for the next frame):  \(Stats(newest))
                """
        }
    }

    /// Delays in seconds: of every chunk, and of the newest chunk in each frame.
    struct Delays: Sendable {
        var chunks: [Double] = []
        var newest: [Double] = []
    }

    /// Starts run `number`, follows its events until `done`, and returns each chunk's delay.
    private func delays(of number: Int, load: Load, stub: StubLLM) async throws -> Delays {
        let body = try await load.post("/runs", json: #"{"agent": "load-call", "input": {"n": \#(number)}}"#, expect: 202)
        guard let id = body["runId"]?.stringValue else { throw LoadError("POST /runs gave no runId") }
        let response = try await load.http.execute(HTTPClientRequest(url: load.base + "/runs/\(id)/events"), timeout: .seconds(900))
        let connected = ContinuousClock.now
        var delays = Delays()
        var text = ""
        for try await buffer in response.body {
            let arrived = ContinuousClock.now
            text += String(buffer: buffer)
            while let end = text.range(of: "\n\n") {
                let frame = text[..<end.lowerBound]
                defer { text.removeSubrange(..<end.upperBound) }
                if frame.hasPrefix("event: done") || frame.contains("\nevent: done") { return delays }
                guard frame.hasPrefix("event: delta"), let line = frame.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }) else {
                    continue
                }
                let delta = try JSONValue.parse(String(line.dropFirst(6)))
                guard let chunkText = delta["text"]?.stringValue else { continue }
                let written = stub.instants(in: Substring(chunkText)).filter { $0 >= connected }
                delays.chunks += written.map { Load.seconds(arrived - $0) }
                if let last = written.max() { delays.newest.append(Load.seconds(arrived - last)) }
            }
        }
        return delays
    }
}
