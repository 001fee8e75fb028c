import AsyncHTTPClient
import Foundation
import HummingbirdTesting
import NIOCore
import Testing
import TetherCore
import TetherRuntime
import TetherTestSupport

/// Reads an event stream frame by frame over a real socket.
struct SSEReader {
    var iterator: HTTPClientResponse.Body.AsyncIterator
    var buffer = ""

    init(_ response: HTTPClientResponse) {
        iterator = response.body.makeAsyncIterator()
    }

    /// The next frame, or `nil` at the end of the stream.
    mutating func next() async throws -> SSEFrame? {
        while true {
            if let end = buffer.range(of: "\n\n") {
                let block = String(buffer[..<end.upperBound])
                buffer.removeSubrange(..<end.upperBound)
                return SSEFrame.parse(block).first
            }
            guard let chunk = try await iterator.next() else { return nil }
            buffer += String(buffer: chunk)
        }
    }

    /// Reads frames until one matches, returning every frame read.
    mutating func read(until predicate: (SSEFrame) -> Bool) async throws -> [SSEFrame] {
        var frames: [SSEFrame] = []
        while let frame = try await next() {
            frames.append(frame)
            if predicate(frame) { return frames }
        }
        Issue.record("the stream ended before the expected frame; read \(frames)")
        return frames
    }
}

@Suite struct LiveStreamTests {
    @Test func liveStatusFramesAndKeepAlivesArriveAsTheyHappen() async throws {
        let llm = GatedLLM()
        try await withLiveServer(agents: TestAgents.all, llm: llm, keepAlive: .milliseconds(100)) { server, supervisor in
            let id = try await server.startRun("parent")
            try await withTimeout { await llm.waitForCalls(1) }
            do {
                let response = try await server.get("/runs/\(id)/events")
                #expect(response.headers["Content-Type"].first == "text/event-stream")
                let all = try await withTimeout(seconds: 60, "the stream's frames") {
                    var reader = SSEReader(response)
                    let opening = try await reader.read { $0.comment == "keep-alive" }
                    let statuses = opening.ofEvent("status").compactMap { $0.json?["status"] }
                    #expect(Array(statuses.prefix(2)) == ["running", "running"], "parent and child, before any replay")

                    #expect(try await server.post("/runs/\(id)/stop").status == .accepted)
                    let stopping = try await reader.read { $0.event == "status" && $0.json?["status"] == "stopping" }
                    #expect(stopping.contains { $0.event == "progress" && $0.json?["kind"] == "stop.requested" })

                    llm.openAll()
                    let rest = try await reader.read { $0.event == "done" }
                    #expect(rest.last?.json?["status"] == "stopped")
                    return opening + stopping + rest
                }
                let total = try await supervisor.allEvents(ofTree: id).count
                #expect(all.progressSeqs == Array(1...total), "no event missing or repeated")
            }
        }
    }

    @Test func aSubscriberThatDisconnectsNeverStopsTheRun() async throws {
        let llm = GatedLLM()
        try await withLiveServer(agents: TestAgents.all, llm: llm) { server, supervisor in
            let id = try await server.startRun("one-call")
            try await withTimeout { await llm.waitForCalls(1) }
            do {
                let reading = Task {
                    let response = try await server.get("/runs/\(id)/events")
                    var reader = SSEReader(response)
                    return try await reader.next()
                }
                let first = try await reading.value
                #expect(first?.event == "status")
                // The response (and its connection) is dropped unread from here on.
            }
            llm.openAll()
            let final = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            #expect(final.status == .succeeded)
            #expect(final.stopRequestedAt == nil)
        }
    }
}
