// tether-load: a load test of a real `tether serve` (see BENCHMARKS.md).
//
//   swift build -c release && .build/release/tether-load --runs 10000 --subscribers 100
//
// It starts a loopback OpenAI-compatible stub that answers every call after a set delay,
// starts `tether serve` on it, starts N one-call runs at once (and a few runs that sit in a
// `wait`), attaches M event-stream subscribers, stops a share of the runs while their call is
// in flight and every waiting run, and reports what it measured. With --delta-runs it
// measures how long a streamed chunk takes from the LLM to a run's subscriber instead.
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import TetherCore

@main
struct TetherLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tether-load",
        abstract: "Loads a real tether serve with concurrent runs, subscribers and stops, and reports the figures."
    )

    @Option(help: "The tether binary to start.") var tether = ".build/release/tether"
    @Option(help: "One-call runs started at once.") var runs = 1_000
    @Option(help: "Runs that sit in a wait, then are stopped.") var waiting = 100
    @Option(help: "Event-stream subscribers attached to the one-call runs.") var subscribers = 100
    @Option(help: "Share of the one-call runs stopped while their LLM call is in flight.") var stopShare = 0.1
    @Option(help: "Seconds the stub LLM takes to answer each call.") var llmDelaySeconds = 5.0
    @Option(help: "Events the fan-out run logs (after the main load).") var fanOutEvents = 4_000
    @Option(help: "Subscribers of the fan-out run (0: no fan-out phase).") var fanOutSubscribers = 100
    @Option(
        help: "A postgres:// URL of an empty database: measure three instances on it (cross-instance stop, live tail) instead."
    )
    var databaseURL: String?
    @Option(help: "Runs stopped across instances (with --database-url).") var clusterStops = 200
    @Option(help: "Events the tailed run logs, 20 ms apart (with --database-url).") var tailEvents = 500
    @Option(help: "Measure the delay of streamed chunks to subscribers instead, over this many runs at once.")
    var deltaRuns = 0
    @Option(help: "Chunks each streamed answer comes in, over the LLM delay (with --delta-runs).") var streamChunks = 50

    func run() async throws {
        if deltaRuns > 0 {
            print(try await DeltaDelayBench(options: self).run())
            return
        }
        if let databaseURL {
            print(try await ClusterBench(binary: tether, databaseURL: databaseURL, stops: clusterStops, tailEvents: tailEvents).run())
            return
        }
        let stub = StubLLM(delay: .milliseconds(Int(llmDelaySeconds * 1000)))
        let limits = [
            "TETHER_MAX_RUNS": String(min(100_000, runs + waiting + 100)),
            "TETHER_MAX_SUBSCRIBERS": String(max(10_000, subscribers)), "TETHER_MAX_SUBSCRIBERS_PER_RUN": String(max(1_000, subscribers)),
        ]
        print(try await withServer(on: stub, environment: limits, sampled: true) { try await $0.run() })
    }

    /// Serves `stub`, starts `tether serve` calling it (with `environment` besides), and
    /// runs `body` with a ``Load`` on them; stops both afterwards, whatever happens.
    func withServer(
        on stub: StubLLM,
        environment: [String: String],
        sampled: Bool,
        _ body: @escaping (Load) async throws -> String
    ) async throws -> String {
        let stubPort = AsyncStream<Int>.makeStream()
        return try await withThrowingTaskGroup(of: Void.self) { background in
            background.addTask { try await stub.serve { stubPort.continuation.yield($0) } }
            var port = 0
            for await announced in stubPort.stream {
                port = announced
                break
            }
            let server = try await ServerProcess(
                binary: tether,
                environment: [
                    "TETHER_LLM": "openai", "TETHER_LLM_BASE_URL": "http://127.0.0.1:\(port)/v1", "TETHER_LLM_MODEL": "stub",
                    "TETHER_LLM_TIMEOUT_SECONDS": "600",
                ].merging(environment) { $1 }
            )
            if sampled { background.addTask { await server.sample() } }
            var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(60), read: .seconds(900)))
            configuration.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: 4_000)
            let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            let report: String
            do {
                report = try await body(Load(http: http, base: "http://127.0.0.1:\(server.port)", stub: stub, server: server, options: self))
            } catch {
                try? await http.shutdown()
                server.stop()
                throw error
            }
            try await http.shutdown()
            server.stop()
            background.cancelAll()
            return report
        }
    }
}

/// One load run and its measurements.
struct Load {
    let http: HTTPClient
    let base: String
    let stub: StubLLM
    let server: ServerProcess
    let options: TetherLoad
    let clock = ContinuousClock()

    func run() async throws -> String {
        let baselineRSS = server.currentRSSKiB
        let health = HealthProbe(http: http, url: base + "/healthz")
        let probing = Task { await health.run() }

        let waitIDs = try await startRuns(agent: "load-wait", numbers: (0..<options.waiting).map { 1_000_000 + $0 }).ids
        let started = try await startRuns(agent: "load-call", numbers: Array(0..<options.runs))
        let subscribing = Task { try await subscribe(to: started.ids, count: options.subscribers) }

        // Every call in flight at the stub at once (or answered already, if the delay is
        // short), or as many as arrive within the delay and a minute: runs whose call never
        // reaches the stub fail, and are counted below.
        let arrivalDeadline = clock.now + .seconds(options.llmDelaySeconds + 60)
        while stub.counts.withLock({ $0.inFlight + $0.answered }) < options.runs, clock.now < arrivalDeadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let loadedRSS = server.currentRSSKiB
        let stopCount = Int(Double(options.runs) * options.stopShare)
        // The runs started last: their calls are surely still in flight.
        async let inFlightStops = stop(Array(started.ids.suffix(stopCount)), numbers: Array((options.runs - stopCount)..<options.runs))
        async let waitStops = stop(waitIDs, numbers: nil)
        let (answerToStopped, waitToStopped) = try await (inFlightStops, waitStops)

        try await waitUntilNoneInFlight()
        let delivered = try await subscribing.value
        probing.cancel()
        let healthLatencies = await probing.value
        let succeeded = try await count(agent: "load-call", status: "succeeded")
        let stopped = try await count(agent: "load-call", status: "stopped")
        let failed = try await count(agent: "load-call", status: "failed")
        let firstError = try await get("/runs?agent=load-call&status=failed&limit=1")["runs"]?.arrayValue?.first?["error"]?.stringValue
        let perRun = Double(loadedRSS - baselineRSS) / Double(options.runs + options.waiting)
        let fanOut = try await fanOut()
        return """
            tether-load: \(options.runs) one-call runs, \(options.waiting) waiting runs, \(options.subscribers) subscribers, LLM delay \(options.llmDelaySeconds) s
            runs in flight (LLM calls held at once at the stub):  \(stub.counts.withLock { $0.peakInFlight }) of \(options.runs)
            outcome of the one-call runs:                         \(succeeded) succeeded, \(stopped) stopped, \(failed) failed\(firstError.map { " (first error: \($0))" } ?? "")
            run starts:                                           \(String(format: "%.0f", started.perSecond)) /s (\(options.runs) POST /runs in \(String(format: "%.2f", started.seconds)) s)
            events delivered to subscribers:                      \(delivered.events) in \(String(format: "%.2f", delivered.seconds)) s (\(String(format: "%.0f", Double(delivered.events) / max(delivered.seconds, 0.001))) /s)
            stop of a run in a wait, request → stopped:           \(Stats(waitToStopped))
            stop during a call, answer → stopped:                 \(Stats(answerToStopped))
            /healthz during the load:                             \(Stats(healthLatencies)) (\(healthLatencies.count) probes)
            server memory:                                        \(baselineRSS / 1024) MiB idle, \(loadedRSS / 1024) MiB loaded (\(String(format: "%.1f", perRun)) KiB per run), peak \(server.peakRSSKiB / 1024) MiB
            server threads (peak):                                \(server.peakThreads)
            fan-out, one run logging \(options.fanOutEvents) events to \(options.fanOutSubscribers) subscribers: \(fanOut)
            """
    }

    /// One run logging `fanOutEvents` lines with `fanOutSubscribers` streams attached as it
    /// starts: progress frames delivered per second in all, and how many were lost.
    func fanOut() async throws -> String {
        guard options.fanOutSubscribers > 0, options.fanOutEvents > 0 else { return "not run" }
        let lines = (1...options.fanOutEvents).map { "line \($0)" }.joined(separator: "\\n")
        let body = try await post("/runs", json: #"{"agent": "load-chatty", "input": {"lines": "\#(lines)"}}"#, expect: 202)
        guard let id = body["runId"]?.stringValue else { throw LoadError("POST /runs gave no runId") }
        let delivered = try await subscribe(to: Array(repeating: id, count: options.fanOutSubscribers), count: options.fanOutSubscribers)
        // The run's events, paged, times the subscribers: what each should have received.
        var logged = 0
        var page: String? = "/runs/\(id)?limit=10000"
        while let path = page {
            let body = try await get(path)
            logged += body["events"]?.arrayValue?.count ?? 0
            page = body["nextEvents"]?.stringValue
        }
        let expected = logged * options.fanOutSubscribers
        return String(
            format: "%.0f events/s delivered in all (%d frames in %.2f s; %d expected)",
            Double(delivered.events) / max(delivered.seconds, 0.001),
            delivered.events,
            delivered.seconds,
            expected
        )
    }

    /// Starts one run of `agent` per number, as fast as the server takes them: at most
    /// ``startConcurrency`` requests at once, each on a connection of its own (a connection
    /// is an open file, and this process also holds the stub's end of every LLM call).
    func startRuns(agent: String, numbers: [Int]) async throws -> (ids: [String], seconds: Double, perSecond: Double) {
        let start = clock.now
        let ids = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var ids = Array(repeating: "", count: numbers.count)
            for (index, number) in numbers.enumerated() {
                if index >= Self.startConcurrency, let (done, id) = try await group.next() { ids[done] = id }
                group.addTask {
                    let body = try await post("/runs", json: #"{"agent": "\#(agent)", "input": {"n": \#(number)}}"#, expect: 202)
                    guard let id = body["runId"]?.stringValue else { throw LoadError("POST /runs gave no runId") }
                    return (index, id)
                }
            }
            for try await (index, id) in group { ids[index] = id }
            return ids
        }
        let seconds = Self.seconds(clock.now - start)
        return (ids, seconds, Double(numbers.count) / seconds)
    }

    /// Stops each run and waits for it to be `stopped` (`?wait=`); for runs stopped during
    /// their call (`numbers` given), the time from the stub's answer to the stopped answer,
    /// else from the request.
    func stop(_ ids: [String], numbers: [Int]?) async throws -> [Double] {
        try await withThrowingTaskGroup(of: Double?.self) { group in
            for (index, id) in ids.enumerated() {
                group.addTask {
                    let requested = clock.now
                    let body = try await post("/runs/\(id)/stop?wait=300", json: "", expect: nil)
                    let done = clock.now
                    guard body["status"] == "stopped" else { return nil }
                    guard let numbers else { return Self.seconds(done - requested) }
                    guard let answered = stub.counts.withLock({ $0.answeredAt[numbers[index]] }) else { return nil }
                    return Self.seconds(done - answered)
                }
            }
            var latencies: [Double] = []
            for try await latency in group { if let latency { latencies.append(latency) } }
            return latencies
        }
    }

    /// Streams the events of the runs, `count` streams spread over them, until
    /// each sends `done`; the progress frames received in all, and over how long.
    func subscribe(to ids: [String], count: Int) async throws -> (events: Int, seconds: Double) {
        guard !ids.isEmpty, count > 0 else { return (0, 0) }
        let start = clock.now
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<count {
                let id = ids[index * ids.count / count]
                group.addTask {
                    let response = try await http.execute(HTTPClientRequest(url: base + "/runs/\(id)/events"), timeout: .seconds(900))
                    var frames = 0
                    var text = ""
                    for try await chunk in response.body {
                        text += String(buffer: chunk)
                        while let end = text.range(of: "\n\n") {
                            let frame = text[..<end.lowerBound]
                            if frame.hasPrefix("event: progress") || frame.contains("\nevent: progress") { frames += 1 }
                            if frame.contains("event: done") { return frames }
                            text.removeSubrange(..<end.upperBound)
                        }
                    }
                    return frames
                }
            }
            var total = 0
            for try await frames in group { total += frames }
            return total
        }
        return (total, Self.seconds(clock.now - start))
    }

    func waitUntilNoneInFlight() async throws {
        for status in ["running", "stopping"] {
            while try await get("/runs?agent=load-call&status=\(status)&limit=1")["runs"]?.arrayValue?.isEmpty == false {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    func count(agent: String, status: String) async throws -> Int {
        var total = 0
        var cursor: String?
        repeat {
            let page = try await get("/runs?agent=\(agent)&status=\(status)&limit=500" + (cursor.map { "&cursor=\($0)" } ?? ""))
            total += page["runs"]?.arrayValue?.count ?? 0
            cursor = page["next"]?.stringValue
        } while cursor != nil
        return total
    }

    func post(_ path: String, json: String, expect status: UInt?) async throws -> JSONValue {
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await http.execute(request, timeout: .seconds(900))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        if let status, response.status.code != status {
            throw LoadError("POST \(path) answered \(response.status.code): \(body)")
        }
        return try JSONValue.parse(body)
    }

    func get(_ path: String) async throws -> JSONValue {
        let response = try await http.execute(HTTPClientRequest(url: base + path), timeout: .seconds(60))
        return try JSONValue.parse(String(buffer: try await response.body.collect(upTo: 16 << 20)))
    }

    static let startConcurrency = 512

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// `GET /healthz` once every 10 ms, one at a time, until cancelled; the latencies in seconds.
struct HealthProbe {
    let http: HTTPClient
    let url: String

    func run() async -> [Double] {
        var latencies: [Double] = []
        let clock = ContinuousClock()
        while !Task.isCancelled {
            let start = clock.now
            if let response = try? await http.execute(HTTPClientRequest(url: url), timeout: .seconds(60)),
                (try? await response.body.collect(upTo: 4096)) != nil, response.status == .ok
            {
                latencies.append(Load.seconds(clock.now - start))
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return latencies
    }
}

/// p50 and p99 of latencies, in milliseconds.
struct Stats: CustomStringConvertible {
    let sorted: [Double]
    init(_ values: [Double]) { sorted = values.sorted() }

    func percentile(_ p: Double) -> Double {
        sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)] * 1000
    }

    var description: String {
        sorted.isEmpty ? "none measured" : String(format: "p50 %.1f ms, p99 %.1f ms (n = %d)", percentile(0.5), percentile(0.99), sorted.count)
    }
}
