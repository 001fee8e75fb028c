import AsyncHTTPClient
import Foundation
import HummingbirdTesting
import Testing
import TetherCore
import TetherOpenAI
import TetherRuntime
import TetherTestSupport

@testable import TetherWeb

/// A provider that streams its answer in chunks, each one when the test lets it.
final class ChunkedLLM: LLMClient {
    let provider = "chunked"
    let defaultModel = "chunked-model"
    let chunks: [String]
    /// How many chunks the call may report so far.
    private let allowed = Condition(0)

    init(chunks: [String]) {
        self.chunks = chunks
    }

    func complete(_ request: LLMRequest) async throws -> LLMResponse {
        LLMResponse(text: chunks.joined(), model: defaultModel)
    }

    func complete(_ request: LLMRequest, observer: any LLMCallObserver) async throws -> LLMResponse {
        for (index, chunk) in chunks.enumerated() {
            await allowed.wait { $0 > index }
            observer.received(chunk)
        }
        return LLMResponse(text: chunks.joined(), model: defaultModel)
    }

    /// Lets the call report its first `count` chunks.
    func allow(_ count: Int) {
        allowed.update { $0 = max($0, count) }
    }
}

/// A call's text put together from the `delta` frames a reader sees.
final class TextSoFar {
    private(set) var text = ""

    /// Adds what `frame` brings, if it is a delta continuing the text; returns the text.
    func take(_ frame: SSEFrame) -> String {
        if frame.event == "delta", let data = frame.json, data["offset"]?.numberValue == Double(text.utf16.count) {
            text += data["text"]?.stringValue ?? ""
        }
        return text
    }
}

/// The call in flight, live (issue 17, part 3): `delta` frames carry what a call has
/// streamed, and the run's page shows it under the step.
@Suite struct AnswerInFlightTests {
    static let chunks = ["Tide ", "pools ", "hold ", "héllo — 🌍 ", "and ", "crabs."]

    @Test func deltaFramesCarryTheStreamedTextInOrderAndANewSubscriberGetsItAllSoFar() async throws {
        let llm = ChunkedLLM(chunks: Self.chunks)
        try await withLiveServer(agents: TestAgents.all, llm: llm) { server, supervisor in
            let id = try await server.startRun("one-call")
            try await withTimeout(seconds: 120, "the streamed call") {
                var first = SSEReader(try await server.get("/runs/\(id)/events"))
                llm.allow(4)
                let soFar = Self.chunks.prefix(4).joined()
                var seen = ""
                let early = try await first.read { frame in
                    guard frame.event == "delta", let data = frame.json else { return false }
                    #expect(data["runId"] == .string(id.rawValue) && data["offset"]?.numberValue == Double(seen.utf16.count))
                    seen += data["text"]?.stringValue ?? ""
                    return seen == soFar
                }
                #expect(!early.contains { $0.json?["kind"] == "llm.finished" }, "the deltas came before the answer ended")
                let started = try #require(early.first { $0.json?["kind"] == "llm.started" }?.json?["seq"])
                #expect(early.ofEvent("delta").allSatisfy { $0.json?["seq"] == started && $0.id == nil })

                // A subscriber that comes now gets the text so far in one frame, from offset 0.
                var second = SSEReader(try await server.get("/runs/\(id)/events"))
                let caughtUp = try await second.read { $0.event == "delta" }
                #expect(caughtUp.contains { $0.json?["kind"] == "llm.started" && $0.json?["seq"] == started }, "the call's row comes first")
                #expect(caughtUp.last?.json?["offset"] == 0 && caughtUp.last?.json?["text"] == .string(soFar))
                #expect(caughtUp.last?.json?["chunks"] == 4)

                // The page shows it under the step, with the call's clock.
                var request = HTTPClientRequest(url: server.url("/runs/\(id)"))
                request.headers.add(name: "Accept", value: "text/html")
                let html = try await server.http.execute(request, timeout: .seconds(60)).body.collect(upTo: 1 << 22)
                let page = try checkedPage(String(buffer: html))
                let block = try #require(page.node("//li[@data-kind='llm.started']/div[@class='answer-in-flight']"))
                #expect(page.node("//li[@data-kind='llm.started']//pre[@class='partial-answer']")?.text == soFar)
                #expect(block.text.hasPrefix("LLM call in flight for ") && block.text.contains(", 4 tokens so far"), "\(block.text)")
                let pattern = try #require(page.node("//div[@id='answer-template']/comment()")?.text)
                #expect(pattern.contains(#"<pre class="partial-answer"></pre>"#) && pattern.contains("LLM call in flight for "))
                #expect(page.node("//div[@id='answer-template']/*") == nil, "nothing a text-mode browser would show")

                llm.allow(Self.chunks.count)
                let rest = try await first.read { $0.event == "done" }
                for frame in rest.ofEvent("delta") {
                    let data = try #require(frame.json)
                    if data["offset"]?.numberValue == Double(seen.utf16.count) { seen += data["text"]?.stringValue ?? "" }
                }
                let finished = try #require(rest.first { $0.json?["kind"] == "llm.finished" }?.json)
                #expect(finished["data"]?["text"] == .string(Self.chunks.joined()))
                #expect(Self.chunks.joined().hasPrefix(seen) && seen.count >= soFar.count)
                let stored = try await supervisor.allEvents(ofTree: id)
                #expect(!stored.contains { $0.kind.rawValue == "delta" }, "deltas are never stored")
            }
        }
    }

    @Test func aStopDuringTheStreamLetsItFinishAndTheRunEndsStopped() async throws {
        let llm = ChunkedLLM(chunks: Self.chunks)
        try await withLiveServer(agents: TestAgents.all, llm: llm) { server, supervisor in
            let id = try await server.startRun("one-call")
            try await withTimeout(seconds: 120, "the stopped stream") {
                var reader = SSEReader(try await server.get("/runs/\(id)/events"))
                llm.allow(2)
                _ = try await reader.read { $0.event == "delta" }
                #expect(try await server.post("/runs/\(id)/stop").status == .accepted)
                _ = try await reader.read { $0.event == "status" && $0.json?["status"] == "stopping" }
                // Still stopping, the call streams on to its end.
                llm.allow(Self.chunks.count)
                let rest = try await reader.read { $0.event == "done" }
                #expect(rest.last?.json?["status"] == "stopped")
            }
            let events = try await supervisor.allEvents(ofTree: id)
            let finished = try #require(events.first { $0.kind == .llmFinished })
            #expect(finished.data["text"] == .string(Self.chunks.joined()), "the stop did not cut the stream")
            #expect(events.last?.data["boundary"] == "store")
        }
    }

    /// The real `openai` provider, against a loopback server that streams when the test lets
    /// it: the text reaches subscribers chunk by chunk, also while stopping, and the stop
    /// waits for the stream's end.
    @Test func anOpenAIStreamReachesSubscribersAsItComesAndAStopLetsItFinish() async throws {
        let answer = "Light traps draw moths at night, and the catch is counted at dawn."
        let chat = try await HeldChatServer.start(holdAnswers: false, answer: { _, _ in answer }, streaming: .init(holdsChunks: true))
        let events = try await withHTTPClient { http in
            let llm = OpenAIClient(configuration: OpenAIConfiguration(baseURL: chat.baseURL, model: "test-model"), httpClient: http)
            return try await withLiveServer(agents: TestAgents.all, llm: llm) { server, supervisor in
                let id = try await Self.streamAndStop(server: server, chat: chat, chunks: HeldChatServer.Streaming.words(answer))
                return try await supervisor.allEvents(ofTree: id)
            }
        }
        let finished = try #require(events.first { $0.kind == .llmFinished })
        #expect(finished.data["text"] == .string(answer), "llm.finished is the assembled stream, uncut by the stop")
        #expect(finished.data["usage"]?["totalTokens"] == 18, "the usage of the stream's last chunk")
        #expect(chat.state.requests.count == 1 && chat.state.completedResponses == 1 && chat.state.abortedRequests == 0)
        #expect(chat.state.chunksSent[0] == HeldChatServer.Streaming.words(answer).count)
        await chat.shutdown()
    }

    /// "A stop never cuts a stream; a force does": the forced run's connection to the LLM
    /// is closed mid-stream, and no delta of the call follows.
    @Test func aForceStopCutsTheStream() async throws {
        let chat = try await HeldChatServer.start(holdAnswers: false, answer: { _, _ in "One two three four." }, streaming: .init(holdsChunks: true))
        try await withHTTPClient { http in
            let llm = OpenAIClient(configuration: OpenAIConfiguration(baseURL: chat.baseURL, model: "test-model"), httpClient: http)
            try await withLiveServer(agents: TestAgents.all, llm: llm) { server, supervisor in
                let id = try await server.startRun("one-call")
                try await withTimeout(seconds: 120, "the forced stream") {
                    var reader = SSEReader(try await server.get("/runs/\(id)/events"))
                    chat.releaseChunks(of: 0, upTo: 1)
                    _ = try await reader.read { $0.event == "delta" }
                    #expect(try await server.post("/runs/\(id)/stop?force=true").status == .accepted)
                    let rest = try await reader.read { $0.event == "done" }
                    #expect(rest.last?.json?["status"] == "stopped")
                    #expect(rest.ofEvent("delta").isEmpty, "no delta after the force")
                    await chat.waitUntil { $0.abortedRequests == 1 }
                }
                let record = try #require(try await supervisor.record(id))
                #expect(record.status == .stopped && record.forced == true)
            }
        }
        #expect(chat.state.completedResponses == 0 && chat.state.chunksSent[0] == 1)
        chat.releaseAll()
        await chat.shutdown()
    }

    /// Starts `one-call`, lets its stream send two chunks, stops the run, lets two more come
    /// while it is stopping, then the rest; the run must end `stopped`.
    static func streamAndStop(server: LiveServer, chat: HeldChatServer, chunks: [String]) async throws -> RunID {
        let id = try await server.startRun("one-call")
        try await withTimeout(seconds: 120, "the streamed call") {
            var reader = SSEReader(try await server.get("/runs/\(id)/events"))
            let seen = TextSoFar()
            chat.releaseChunks(of: 0, upTo: 2)
            let early = try await reader.read { seen.take($0) == chunks.prefix(2).joined() }
            let finishedEarly = early.contains { $0.json?["kind"] == "llm.finished" }
            #expect(!finishedEarly, "the deltas came before the answer ended")
            #expect(chat.state.completedResponses == 0)
            #expect(try await server.post("/runs/\(id)/stop").status == .accepted)
            let stopping = try await reader.read { frame in
                _ = seen.take(frame)
                return frame.event == "status" && frame.json?["status"] == "stopping"
            }
            let finishedBeforeStopping = stopping.contains { $0.json?["kind"] == "llm.finished" }
            #expect(!finishedBeforeStopping)
            chat.releaseChunks(of: 0, upTo: 4)
            _ = try await reader.read { seen.take($0) == chunks.prefix(4).joined() }
            chat.releaseAll()
            let rest = try await reader.read { $0.event == "done" }
            #expect(rest.last?.json?["status"] == "stopped")
            let finishedAt = try #require(rest.firstIndex { $0.json?["kind"] == "llm.finished" })
            #expect(Array(rest[finishedAt...]).ofEvent("delta").isEmpty, "no delta follows the call's end")
        }
        return id
    }

    @Test func aDeltaCursorSendsEachPieceOnceAndCountsOffsetsAsJavaScriptDoes() throws {
        let run = RunID()
        var cursor = DeltaCursor(after: 7)
        let start = Date()
        var answer = AnswerInFlight(runID: run, seq: 7, startedAt: start, text: "🌍 a", chunks: 2)
        let first = String(buffer: cursor.frames(for: [answer], now: start.addingTimeInterval(2)))
        #expect(first.hasPrefix("event: delta\ndata: ") && first.hasSuffix("\n\n"))
        let one = try #require(SSEFrame.parse(first).first?.json)
        #expect(one["offset"] == 0 && one["text"] == "🌍 a" && one["seq"] == 7 && one["seconds"] == 2)
        #expect(cursor.frames(for: [answer]).readableBytes == 0, "nothing new, nothing sent")
        answer.text += "é!"
        answer.chunks = 3
        let two = try #require(SSEFrame.parse(String(buffer: cursor.frames(for: [answer]))).first?.json)
        // "🌍 a" is 4 UTF-16 code units: JavaScript's length.
        #expect(two["offset"] == 4 && two["text"] == "é!" && two["chunks"] == 3)
        #expect(cursor.frames(for: []).readableBytes == 0)
        let again = try #require(SSEFrame.parse(String(buffer: cursor.frames(for: [answer]))).first?.json)
        #expect(again["offset"] == 0, "a call that ended is forgotten")
    }

    @Test func aDeltaCursorSendsNothingOfACallBeforeItsStartOrAfterItsEnd() throws {
        let run = RunID()
        var cursor = DeltaCursor(after: 3)
        let answer = AnswerInFlight(runID: run, seq: 5, startedAt: Date(), text: "Hello", chunks: 1)
        #expect(cursor.frames(for: [answer]).readableBytes == 0, "the client has no row for the call yet")
        let started = ProgressEvent(seq: 5, runID: run, at: Date(), kind: .llmStarted, message: "Calling…")
        cursor.sent(started)
        let first = try #require(SSEFrame.parse(String(buffer: cursor.frames(for: [answer]))).first?.json)
        #expect(first["offset"] == 0 && first["text"] == "Hello", "once it has, from the start")
        var later = answer
        later.text += " world"
        let finished = ProgressEvent(
            seq: 6,
            runID: run,
            at: Date(),
            kind: .llmFinished,
            message: "answered",
            data: [ProgressEvent.Key.startedSeq: 5]
        )
        cursor.sent(finished)
        #expect(cursor.frames(for: [later]).readableBytes == 0, "an older snapshot of an ended call sends nothing")
    }
}
