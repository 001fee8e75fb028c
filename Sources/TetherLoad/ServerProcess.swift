import Foundation
import Synchronization

/// `tether serve` in a child process, on a free port, with a data folder and an agents
/// folder of its own; its peak memory and threads are sampled from `/proc` while it runs.
final class ServerProcess: Sendable {
    let process: Process
    let port: Int
    let folder: URL
    private let peaks = Mutex((rssKiB: 0, threads: 0))

    /// The agents the load uses: one LLM call (then a `wait` of 0 s, a boundary where a stop
    /// requested during the call takes effect), a long `wait` (for stops of runs waiting at a
    /// boundary), and one that logs a line per line of its input (fan-out). The prompt
    /// carries `#N`, the run's number, for the stub.
    static let agents = [
        "load-call":
            #"{"name": "load-call", "description": "One LLM call.", "input": {"n": "number"}, "steps": [{"llm": "Answer #{{input.n}}", "as": "answer"}, {"wait": 0}, {"return": "{{answer}}"}]}"#,
        "load-chatty":
            #"{"name": "load-chatty", "description": "Logs each line.", "input": {"lines": "text"}, "steps": [{"each": "input.lines", "as": "line", "do": [{"log": "{{line}}"}]}, {"return": "done"}]}"#,
        "load-wait":
            #"{"name": "load-wait", "description": "Waits an hour.", "input": {"n": "number"}, "steps": [{"wait": 3600}, {"return": "woke"}]}"#,
        "load-paced":
            #"{"name": "load-paced", "description": "Logs each line, 20 ms apart.", "input": {"lines": "text"}, "steps": [{"each": "input.lines", "as": "line", "do": [{"log": "{{line}}"}, {"wait": 0.02}]}, {"return": "done"}]}"#,
    ]

    init(binary: String, environment extra: [String: String]) async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tether-load-\(UUID().uuidString)")
        let agents = folder.appendingPathComponent("agents")
        try FileManager.default.createDirectory(at: agents, withIntermediateDirectories: true)
        for (name, definition) in Self.agents {
            try definition.write(to: agents.appendingPathComponent("\(name).json"), atomically: true, encoding: .utf8)
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--port", "0"]
        var environment = ProcessInfo.processInfo.environment
        environment["TETHER_DATA_DIR"] = folder.appendingPathComponent("data").path
        environment["TETHER_AGENTS_DIR"] = agents.path
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let announced = AsyncStream<Int>.makeStream()
        // A thread of its own doing blocking reads, not `readabilityHandler`: with several
        // servers, dispatch's handlers crashed in libdispatch (`_dispatch_event_loop_drain`).
        let reading = output.fileHandleForReading
        Thread {
            while true {
                let data = reading.availableData
                if data.isEmpty { break }
                let text = String(decoding: data, as: UTF8.self)
                if let range = text.range(of: #"serving on http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                    let port = text[range].split(separator: ":").last.flatMap { Int($0) }
                    if let port { announced.continuation.yield(port) }
                }
                if text.contains("Error") { FileHandle.standardError.write(Data(text.utf8)) }
            }
            announced.continuation.finish()
        }.start()
        try process.run()
        var port: Int?
        for await announcedPort in announced.stream {
            port = announcedPort
            break
        }
        guard let port else { throw LoadError("tether serve did not announce its port") }
        self.port = port
    }

    /// Samples `/proc/PID/status` every 50 ms until the calling task is cancelled.
    func sample() async {
        while !Task.isCancelled {
            if let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8) {
                func value(_ key: String) -> Int {
                    status.split(separator: "\n").first { $0.hasPrefix(key) }
                        .flatMap { Int($0.dropFirst(key.count).trimmingCharacters(in: .whitespaces).split(separator: " ")[0]) } ?? 0
                }
                let (rss, threads) = (value("VmHWM:"), value("Threads:"))
                peaks.withLock { $0 = (max($0.rssKiB, rss), max($0.threads, threads)) }
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The resident memory now, in KiB.
    var currentRSSKiB: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces).split(separator: " ")[0]) ?? 0
    }

    var peakRSSKiB: Int { peaks.withLock { $0.rssKiB } }
    var peakThreads: Int { peaks.withLock { $0.threads } }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: folder)
    }
}

struct LoadError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
