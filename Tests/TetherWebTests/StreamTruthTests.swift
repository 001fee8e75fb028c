import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import Testing
import TetherCore
import TetherRuntime
import TetherTestSupport

@testable import TetherWeb

/// The event stream tells the truth whatever the interleaving (issue 12): a status frame never
/// walks a run back, and `done` is sent only once the run is terminal.
@Suite struct StreamTruthTests {
    /// Collects what a response body writes.
    struct CollectingWriter: ResponseBodyWriter {
        let text: Condition<String>
        mutating func write(_ buffer: ByteBuffer) async throws {
            text.update { $0 += String(buffer: buffer) }
        }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }

    /// The supervisor's read model, with a step of the test's run once, on the stream's
    /// first read of the subtree (after it took its snapshot of the log).
    struct HookedReads: RunReadModel {
        let base: any RunReadModel
        let hook: Box<@Sendable () async throws -> Void>

        func record(_ id: RunID) async throws -> RunRecord? { try await base.record(id) }
        func runs(inTree root: RunID) async throws -> [RunRecord] { try await base.runs(inTree: root) }
        func subtree(of id: RunID) async throws -> [RunRecord] {
            if let step = hook.take() { try await step() }
            return try await base.subtree(of: id)
        }
        func listRuns(_ query: RunQuery) async throws -> [RunRecord] { try await base.listRuns(query) }
        func inFlightCount(agent: String) async throws -> Int { try await base.inFlightCount(agent: agent) }
        func eventBatches(ofTree root: RunID, after seq: Int) -> EventBatchFeed { base.eventBatches(ofTree: root, after: seq) }
        func loggedEvents(ofTree root: RunID, after seq: Int, limit: Int) async throws -> [ProgressEvent] {
            try await base.loggedEvents(ofTree: root, after: seq, limit: limit)
        }
        func lastSeq(ofTree root: RunID) async throws -> Int { try await base.lastSeq(ofTree: root) }
        func finishedEvent(of id: RunID, inTree root: RunID) async throws -> ProgressEvent? {
            try await base.finishedEvent(of: id, inTree: root)
        }
        func waitUntilFinished(_ id: RunID) async throws -> RunRecord { try await base.waitUntilFinished(id) }
        func resumption(of id: RunID) async throws -> RunRecord? { try await base.resumption(of: id) }
    }

    /// A value taken once.
    final class Box<Value: Sendable>: Sendable {
        private let value: Mutex<Value?>
        init(_ value: Value?) { self.value = Mutex(value) }
        func take() -> Value? {
            value.withLock { value in
                defer { value = nil }
                return value
            }
        }
    }

    static let limits = SubscriberLimits(perRun: 100, total: 100)

    static func statuses(_ text: String) -> [String] {
        SSEFrame.parse(text).ofEvent("status").compactMap { $0.json?["status"]?.stringValue }
    }

    @Test func aStreamOpenedDuringAForceNeverWalksTheRunBack() async throws {
        let llm = GatedLLM()
        try await withSupervisor(agents: [TestAgents.oneCall], llm: llm) { supervisor in
            let run = try await supervisor.start(agent: "one-call", input: [:])
            try await withTimeout { await llm.waitForCalls(1) }
            // Between the stream's snapshot of the log and its read of the runs: a stop, then
            // a force. The opening frame says `stopped`; the replay holds `stop.requested`.
            let hook = Box<@Sendable () async throws -> Void> {
                try await supervisor.stop(run.id)
                try await supervisor.stop(run.id, force: true)
            }
            let reads = HookedReads(base: supervisor.reads, hook: hook)
            let text = Condition("")
            let response = try EventStream(reads: reads, keepAliveInterval: .seconds(15), limits: Self.limits)
                .response(for: run.id, record: run, after: 0)
            try await withTimeout { try await response.body.write(CollectingWriter(text: text)) }
            #expect(Self.statuses(text.value) == ["stopped"], "one frame, never stopping after stopped: \(text.value)")
            let done = SSEFrame.parse(text.value).ofEvent("done").first?.json
            #expect(done?["status"] == "stopped")
        }
    }

    @Test func whenTheLogCannotBeWrittenDoneWaitsForTheRunToFail() async throws {
        let llm = GatedLLM()
        let store = FailingRunStore()
        try await withSupervisor(agents: [TestAgents.oneCall], llm: llm, runStore: store) { supervisor in
            let run = try await supervisor.start(agent: "one-call", input: [:])
            try await withTimeout { await llm.waitForCalls(1) }
            let text = Condition("")
            let response = try EventStream(reads: supervisor.reads, keepAliveInterval: .milliseconds(50), limits: Self.limits)
                .response(for: run.id, record: run, after: 0)
            let streaming = Task { try await response.body.write(CollectingWriter(text: text)) }
            try await withTimeout { await text.wait { $0.contains("llm.started") } }

            // The disk fills while the LLM call is in flight; the stop cannot be logged.
            store.failEventWrites()
            try await supervisor.stop(run.id)
            let mark = text.value.count
            try await withTimeout { await text.wait { $0.count > mark && $0.dropFirst(mark).contains(": keep-alive") } }
            #expect(!text.value.contains("event: done"), "no done while the run is still in flight")

            llm.openAll()
            try await withTimeout { try await streaming.value }
            let done = try #require(SSEFrame.parse(text.value).ofEvent("done").first?.json)
            #expect(done["status"] == "failed")
            #expect(done["error"]?.stringValue?.contains("progress log could not be written") == true)
            let final = try await supervisor.waitUntilFinished(run.id)
            #expect(final.status == .failed)
        }
    }
}
