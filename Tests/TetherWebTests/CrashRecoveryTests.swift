import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import Testing
import TetherCore
import TetherTestSupport

@Suite(.serialized) struct CrashRecoveryTests {
    static let agents: [String: String] = [
        "note.json":
            #"{"name": "note", "input": {"text": "string"}, "steps": [{"store_set": "notes/kept", "value": "{{input.text}}"}, {"return": "saved"}]}"#,
        "reader.json": #"{"name": "reader", "steps": [{"store_get": "notes/kept", "as": "kept"}, {"return": "{{kept}}"}]}"#,
        "slow.json":
            #"{"name": "slow", "input": {"items": "text"}, "steps": [{"each": "input.items", "as": "item", "do": [{"llm": "Write about {{item}}", "as": "text"}, {"store_set": "slow/{{item}}", "value": "{{text}}"}]}]}"#,
    ]

    func post(_ http: HTTPClient, _ url: String, _ json: String) async throws -> JSONValue {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await http.execute(request, timeout: .seconds(30))
        return try JSONDecoder().decode(JSONValue.self, from: Data(try await response.body.collect(upTo: 1 << 20).readableBytesView))
    }

    func get(_ http: HTTPClient, _ url: String, headers: [(String, String)] = []) async throws -> String {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await http.execute(request, timeout: .seconds(60))
        return String(buffer: try await response.body.collect(upTo: 16 << 20))
    }

    @Test func killedMidRunAndRestartedNothingSeenIsLost() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("crash-data-\(UUID())").path
        let agentsFolder = FileManager.default.temporaryDirectory.appendingPathComponent("crash-agents-\(UUID())")
        try FileManager.default.createDirectory(at: agentsFolder, withIntermediateDirectories: true)
        for (name, text) in Self.agents { try text.write(to: agentsFolder.appendingPathComponent(name), atomically: true, encoding: .utf8) }

        try await withHTTPClient { http in
            // First life: a finished run that stored a value, then a long run, killed mid-way
            // (60 steps of 250 ms: it cannot end before the kill, however busy the machine).
            let first = try await TetherProcess.start(dataDirectory: data, agentsDirectory: agentsFolder.path, latencyMS: 250)
            let note = try await post(http, first.baseURL + "/runs", #"{"agent": "note", "input": {"text": "kept across the crash"}}"#)
            let noteID = try #require(note["runId"]?.stringValue)
            let noteStream = SSEFrame.parse(try await get(http, first.baseURL + "/runs/\(noteID)/events"))
            #expect(noteStream.last?.json?["status"] == "succeeded")

            let items = (1...60).map { "item \($0)" }.joined(separator: "\\n")
            let slow = try await post(http, first.baseURL + "/runs", #"{"agent": "slow", "input": {"items": "\#(items)"}}"#)
            let slowID = try #require(slow["runId"]?.stringValue)
            let response = try await http.execute(HTTPClientRequest(url: first.baseURL + "/runs/\(slowID)/events"), timeout: .seconds(60))
            let seen = try await withTimeout(seconds: 60, "ten events") {
                var reader = SSEReader(response)
                return try await reader.read { $0.event == "progress" && Int($0.id ?? "") == 10 }.ofEvent("progress")
            }
            try await first.kill9()

            // Second life, same folder.
            let second = try await TetherProcess.start(dataDirectory: data, agentsDirectory: agentsFolder.path)
            let record = try JSONDecoder().decode(JSONValue.self, from: Data(try await get(http, second.baseURL + "/runs/\(slowID)").utf8))
            #expect(record["status"] == "interrupted")
            let events = try #require(record["events"]?.arrayValue)
            let seqs = events.compactMap { $0["seq"] }.map { Int($0.text)! }
            #expect(seqs == Array(1...seqs.count), "gap-free")
            #expect(seqs.count > 10, "every event the client saw is there, and the log ends where the process died")
            #expect(events.last?["kind"] == "run.finished" && events.last?["data"]?["status"] == "interrupted")
            for frame in seen {
                let seq = Int(frame.id!)!
                #expect(events[seq - 1]["message"] == frame.json?["message"], "event \(seq) is what the client saw")
            }
            let noteRecord = try JSONDecoder().decode(JSONValue.self, from: Data(try await get(http, second.baseURL + "/runs/\(noteID)").utf8))
            #expect(noteRecord["status"] == "succeeded")
            #expect(noteRecord["events"]?.arrayValue?.compactMap { $0["kind"]?.stringValue } == ["run.started", "store", "run.finished"])

            // A value stored before the kill is readable by a new run.
            let reader = try await post(http, second.baseURL + "/runs", #"{"agent": "reader"}"#)
            let readerStream = SSEFrame.parse(try await get(http, second.baseURL + "/runs/\(try #require(reader["runId"]?.stringValue))/events"))
            #expect(readerStream.last?.json?["result"] == "kept across the crash")

            // A client resuming with its last id gets exactly what it had not seen.
            let resumed = SSEFrame.parse(try await get(http, second.baseURL + "/runs/\(slowID)/events", headers: [("Last-Event-ID", "10")]))
            #expect(resumed.progressSeqs == Array(11...seqs.count))
            #expect(resumed.last?.event == "done" && resumed.last?.json?["status"] == "interrupted")

            #expect(try await second.terminate() == 0, "a graceful shutdown exits 0")
            #expect(second.log.contains("marked runs left in flight by the previous process interrupted"))
        }
    }

    @Test func killedMidRunAndRestartedWithAutoResumeTheRunGoesOnWithoutPayingTwice() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("resume-data-\(UUID())").path
        let agentsFolder = FileManager.default.temporaryDirectory.appendingPathComponent("resume-agents-\(UUID())")
        try FileManager.default.createDirectory(at: agentsFolder, withIntermediateDirectories: true)
        for (name, text) in Self.agents { try text.write(to: agentsFolder.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        let llm = try await HeldChatServer.start(holdAnswers: true) { _, body in
            "Text for " + (body["messages"]?.arrayValue?.last?["content"]?.stringValue ?? "?")
        }
        let openAI = ["--llm", "openai", "--llm-base-url", llm.baseURL, "--llm-model", "test-model", "--resume-interrupted", "true"]
        try await withHTTPClient { http in
            let first = try await TetherProcess.start(dataDirectory: data, agentsDirectory: agentsFolder.path, extra: openAI)
            let items = (1...4).map { "item \($0)" }.joined(separator: "\\n")
            let slow = try await post(http, first.baseURL + "/runs", #"{"agent": "slow", "input": {"items": "\#(items)"}}"#)
            let slowID = try #require(slow["runId"]?.stringValue)
            // Two calls answered and stored, the third in flight when the process is killed.
            let response = try await http.execute(HTTPClientRequest(url: first.baseURL + "/runs/\(slowID)/events"), timeout: .seconds(60))
            try await withTimeout(seconds: 60, "two calls answered, the third logged") {
                for index in 0..<2 {
                    await llm.waitForRequests(index + 1)
                    llm.release(index)
                }
                var reader = SSEReader(response)
                _ = try await reader.read {
                    $0.event == "progress" && $0.json?["kind"] == "llm.started" && $0.json?["data"]?["prompt"] == "Write about item 3"
                }
            }
            try await first.kill9()

            let second = try await TetherProcess.start(dataDirectory: data, agentsDirectory: agentsFolder.path, extra: openAI)
            llm.releaseAll()
            let old = try JSONValue.parse(try await get(http, second.baseURL + "/runs/\(slowID)"))
            #expect(old["status"] == "interrupted")
            let listing = try JSONValue.parse(try await get(http, second.baseURL + "/runs?agent=slow"))
            let resumed = try #require(listing["runs"]?.arrayValue?.first { $0["resumedFrom"]?.stringValue == slowID })
            let resumedID = try #require(resumed["id"]?.stringValue)
            let stream = SSEFrame.parse(try await get(http, second.baseURL + "/runs/\(resumedID)/events"))
            #expect(stream.last?.event == "done" && stream.last?.json?["status"] == "succeeded")
            let kinds = stream.ofEvent("progress").compactMap { $0.json?["kind"]?.stringValue }
            #expect(kinds.filter { $0 == "replayed" }.count == 4, "two calls and their two writes, from the journal")
            #expect(kinds.filter { $0 == "llm.started" }.count == 2, "items 3 and 4 live")
            #expect(llm.state.requests.count == 5, "the call cut by the kill is made again; none before it")
            let stored = try JSONValue.parse(try await get(http, second.baseURL + "/store/slow"))
            #expect(stored.compactJSON.contains("Text for Write about item 4"), "\(stored.compactJSON)")
            #expect(second.log.contains("resumed an interrupted run"))
            #expect(try await second.terminate() == 0)
        }
        await llm.shutdown()
    }
}
