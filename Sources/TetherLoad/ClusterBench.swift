import AsyncHTTPClient
import Foundation
import NIOCore
import TetherCore

/// Three `tether serve` instances on one PostgreSQL database (issue 15), measured from
/// outside: a stop sent to B of a run waiting on A, until A's stream shows it `stopping` and
/// then `stopped`; and the lag of a live tail on C of a run logging on A (an event's `at`,
/// stamped on A, to its frame read on C; one machine, one clock).
struct ClusterBench {
    let binary: String
    let databaseURL: String
    let stops: Int
    let tailEvents: Int
    let clock = ContinuousClock()

    func run() async throws -> String {
        var instances: [ServerProcess] = []
        for id in ["a", "b", "c"] {
            instances.append(
                try await ServerProcess(
                    binary: binary,
                    environment: [
                        "TETHER_DATABASE_URL": databaseURL, "TETHER_INSTANCE_ID": id, "TETHER_MAX_RUNS": String(stops + 100),
                    ]
                )
            )
        }
        // Streams and stops at once on one instance: more than the default 8 connections.
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 100)
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        do {
            let (a, b, c) = (base(instances[0]), base(instances[1]), base(instances[2]))
            let (toStopping, toStopped) = try await crossInstanceStops(executor: a, stopper: b, http: http)
            // The same stops sent to the executing instance itself, for comparison.
            let (localStopping, localStopped) = try await crossInstanceStops(executor: a, stopper: a, http: http)
            let lags = try await tail(executor: a, follower: c, http: http)
            try await http.shutdown()
            for instance in instances { instance.stop() }
            return """
                tether-load --database-url: three instances on one PostgreSQL database
                cross-instance stop, POST on B → `stopping` on A's stream: \(Stats(toStopping))
                cross-instance stop, POST on B → `stopped` (done) on A:     \(Stats(toStopped))
                the same stop sent to A itself → `stopping`:                \(Stats(localStopping))
                the same stop sent to A itself → `stopped` (done):          \(Stats(localStopped))
                live tail on C of a run on A, event logged → frame read:   \(Stats(lags))
                """
        } catch {
            try? await http.shutdown()
            for instance in instances { instance.stop() }
            throw error
        }
    }

    func base(_ server: ServerProcess) -> String { "http://127.0.0.1:\(server.port)" }

    /// Each run waits on A; with A's stream of it open, B is asked to stop it. Ten at a time.
    func crossInstanceStops(executor: String, stopper: String, http: HTTPClient) async throws -> ([Double], [Double]) {
        var toStopping: [Double] = []
        var toStopped: [Double] = []
        try await withThrowingTaskGroup(of: (Double, Double).self) { group in
            for index in 0..<stops {
                if index >= 10, let (stopping, stopped) = try await group.next() {
                    toStopping.append(stopping)
                    toStopped.append(stopped)
                }
                group.addTask {
                    let started = try await post(http, executor + "/runs", #"{"agent": "load-wait", "input": {"n": \#(index)}}"#)
                    guard let id = started["runId"]?.stringValue else { throw LoadError("POST /runs gave no runId") }
                    let stream = try await http.execute(HTTPClientRequest(url: executor + "/runs/\(id)/events"), timeout: .seconds(120))
                    var frames = FrameReader(stream)
                    // In its wait once the stream has shown the `wait` event.
                    while let frame = try await frames.next(), !(frame.contains("event: progress") && frame.contains(#""kind":"wait""#)) {}
                    let requested = clock.now
                    _ = try await post(http, stopper + "/runs/\(id)/stop", "")
                    var stopping: Double?
                    while let frame = try await frames.next() {
                        if stopping == nil, frame.contains("event: status"), frame.contains(#""status":"stopping""#) {
                            stopping = Load.seconds(clock.now - requested)
                        }
                        if frame.contains("event: done") {
                            guard frame.contains(#""status":"stopped""#) else { throw LoadError("a run ended otherwise: \(frame)") }
                            return (stopping ?? .nan, Load.seconds(clock.now - requested))
                        }
                    }
                    throw LoadError("the stream of \(id) ended without done")
                }
            }
            for try await (stopping, stopped) in group {
                toStopping.append(stopping)
                toStopped.append(stopped)
            }
        }
        return (toStopping, toStopped)
    }

    /// One run on A logging `tailEvents` lines 20 ms apart, followed from C.
    func tail(executor: String, follower: String, http: HTTPClient) async throws -> [Double] {
        let lines = (1...tailEvents).map { "line \($0)" }.joined(separator: "\\n")
        let started = try await post(http, executor + "/runs", #"{"agent": "load-paced", "input": {"lines": "\#(lines)"}}"#)
        guard let id = started["runId"]?.stringValue else { throw LoadError("POST /runs gave no runId") }
        let stream = try await http.execute(HTTPClientRequest(url: follower + "/runs/\(id)/events"), timeout: .seconds(900))
        var frames = FrameReader(stream)
        var lags: [Double] = []
        var replaying = true
        while let frame = try await frames.next() {
            let read = Date()
            if frame.contains("event: done") { break }
            guard frame.contains("event: progress"), let data = frame.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }) else {
                continue
            }
            let event = try JSONValue.parse(String(data.dropFirst(6)))
            guard let at = event["at"]?.stringValue, let stamped = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(at) else {
                continue
            }
            // The first frames replay what was logged before the stream opened.
            if replaying, read.timeIntervalSince(stamped) > 0.5 { continue }
            replaying = false
            if event["kind"] == "log", event["message"]?.stringValue?.hasPrefix("line ") == true { lags.append(read.timeIntervalSince(stamped)) }
        }
        return lags
    }

    func post(_ http: HTTPClient, _ url: String, _ json: String) async throws -> JSONValue {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await http.execute(request, timeout: .seconds(60))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard (200..<300).contains(response.status.code) else { throw LoadError("POST \(url) answered \(response.status.code): \(body)") }
        return try JSONValue.parse(body)
    }
}

/// The frames of an event stream, one at a time (their text).
struct FrameReader {
    var iterator: HTTPClientResponse.Body.AsyncIterator
    var buffer = ""

    init(_ response: HTTPClientResponse) {
        iterator = response.body.makeAsyncIterator()
    }

    mutating func next() async throws -> String? {
        while true {
            if let end = buffer.range(of: "\n\n") {
                let frame = String(buffer[..<end.lowerBound])
                buffer.removeSubrange(..<end.upperBound)
                return frame
            }
            guard let chunk = try await iterator.next() else { return nil }
            buffer += String(buffer: chunk)
        }
    }
}
