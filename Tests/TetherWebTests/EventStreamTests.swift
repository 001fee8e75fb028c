import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TetherCore
import TetherRuntime
import TetherTestSupport

@Suite struct EventStreamTests {
    /// Runs `parent` (which calls `one-call`) to its end and returns its id.
    func finishedParent(_ client: any TestClientProtocol, _ supervisor: RunSupervisor) async throws -> RunID {
        let id = try await client.startRun("parent")
        _ = try await withTimeout { try await supervisor.waitUntilFinished(id) }
        return id
    }

    @Test func framesAreStatusThenEveryProgressEventThenDone() async throws {
        try await withServer(agents: TestAgents.all, llm: SimulatedLLM(latency: .zero)) { client, supervisor in
            let id = try await finishedParent(client, supervisor)
            let response = try await client.execute(uri: "/runs/\(id)/events", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream")
            #expect(response.headers[.cacheControl] == "no-cache")
            let frames = SSEFrame.parse(response.text)
            let total = try await supervisor.allEvents(ofTree: id).count
            // One status frame per run of the subtree (parent and child) first.
            #expect(frames.prefix(2).map(\.event) == ["status", "status"])
            #expect(Set(frames.prefix(2).compactMap { $0.json?["status"] }) == ["succeeded"])
            #expect(frames.progressSeqs == Array(1...total))
            #expect(frames.last?.event == "done")
            let record = try #require(try await supervisor.record(id))
            #expect(frames.last?.json?["status"] == "succeeded" && frames.last?.json?["result"] == record.result)
            #expect(record.result?.stringValue?.isEmpty == false)
            // Only progress frames carry an id.
            #expect(frames.filter { $0.id != nil }.allSatisfy { $0.event == "progress" })
            #expect(frames.ofEvent("progress").allSatisfy { $0.json?["seq"] == .number(Double($0.id!)!) })
        }
    }

    @Test func resumingByLastEventIDOrAfterGivesExactlyTheMissedEvents() async throws {
        try await withServer(agents: TestAgents.all, llm: SimulatedLLM(latency: .zero)) { client, supervisor in
            let id = try await finishedParent(client, supervisor)
            let total = try await supervisor.allEvents(ofTree: id).count
            let byHeader = try await client.execute(
                uri: "/runs/\(id)/events",
                method: .get,
                headers: [HTTPField.Name("Last-Event-ID")!: "4"]
            )
            #expect(SSEFrame.parse(byHeader.text).progressSeqs == Array(5...total))
            let byQuery = try await client.execute(uri: "/runs/\(id)/events?after=6", method: .get)
            #expect(SSEFrame.parse(byQuery.text).progressSeqs == Array(7...total))
            let both = try await client.execute(
                uri: "/runs/\(id)/events?after=1",
                method: .get,
                headers: [HTTPField.Name("Last-Event-ID")!: "\(total - 1)"]
            )
            #expect(SSEFrame.parse(both.text).progressSeqs == [total], "the header wins")
            let atEnd = try await client.execute(uri: "/runs/\(id)/events?after=\(total)", method: .get)
            let frames = SSEFrame.parse(atEnd.text)
            #expect(frames.progressSeqs.isEmpty && frames.last?.event == "done")
        }
    }

    @Test func aBadOrFutureLastEventIDIsRefused() async throws {
        try await withServer(agents: TestAgents.all, llm: SimulatedLLM(latency: .zero)) { client, supervisor in
            let id = try await finishedParent(client, supervisor)
            for value in ["abc", "-1", "1.5", "9999"] {
                let response = try await client.execute(
                    uri: "/runs/\(id)/events",
                    method: .get,
                    headers: [HTTPField.Name("Last-Event-ID")!: value]
                )
                #expect(response.status == .badRequest && response.errorCode == "bad_request", "\(value)")
            }
        }
    }

    @Test func aChildsStreamCoversOnlyItsSubtree() async throws {
        try await withServer(agents: TestAgents.all, llm: SimulatedLLM(latency: .zero)) { client, supervisor in
            let id = try await finishedParent(client, supervisor)
            let child = try #require(try await supervisor.subtree(of: id).dropFirst().first)
            let frames = SSEFrame.parse(try await client.execute(uri: "/runs/\(child.id)/events", method: .get).text)
            #expect(frames.ofEvent("status").count == 1)
            #expect(!frames.ofEvent("progress").isEmpty)
            #expect(frames.ofEvent("progress").allSatisfy { $0.json?["runId"] == .string(child.id.rawValue) })
            #expect(frames.last?.json?["runId"] == .string(child.id.rawValue))
        }
    }

    @Test func aStreamOpenedDuringARunEndsWithItsDone() async throws {
        let llm = GatedLLM()
        try await withServer(agents: TestAgents.all, llm: llm) { client, supervisor in
            let id = try await client.startRun("parent")
            try await withTimeout { await llm.waitForCalls(1) }
            // The stream opens while the child's call is held; everything after it is live.
            async let streamed = client.execute(uri: "/runs/\(id)/events", method: .get)
            // The stop is logged; a stream that was open sees it as live status frames, one
            // that connects later as its opening status — both must end stopped.
            try await client.execute(uri: "/runs/\(id)/stop", method: .post) { #expect($0.status == .accepted) }
            llm.openAll()
            let frames = SSEFrame.parse(try await streamed.text)
            let statuses = frames.ofEvent("status").compactMap { $0.json?["status"]?.stringValue }
            #expect(statuses.suffix(2).allSatisfy { $0 == "stopped" })
            #expect(frames.last?.event == "done" && frames.last?.json?["status"] == "stopped")
            let total = try await supervisor.allEvents(ofTree: id).count
            #expect(frames.progressSeqs == Array(1...total))
        }
    }
}

@Suite struct EventStreamFailureTests {
    @Test func aStreamEndsWithDoneEvenWhenTheLogCouldNotTakeTheLastEvent() async throws {
        let llm = GatedLLM()
        let store = FailingRunStore()
        try await withServer(agents: TestAgents.all, llm: llm, storage: .custom(runStore: store, dataStore: MemoryDataStore())) {
            client,
            supervisor in
            let id = try await client.startRun("one-call")
            try await withTimeout { await llm.waitForCalls(1) }
            store.failEventWrites()
            llm.openAll()
            let final = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            #expect(final.status == .failed)
            let response = try await withTimeout(seconds: 30, "the stream's end") {
                try await client.execute(uri: "/runs/\(id)/events", method: .get)
            }
            let frames = SSEFrame.parse(response.text)
            #expect(frames.last?.event == "done")
            #expect(frames.last?.json?["status"] == "failed")
        }
    }
}
