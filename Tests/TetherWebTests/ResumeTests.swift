import Foundation
import HummingbirdTesting
import Synchronization
import Testing
import TetherApp
import TetherCore
import TetherRuntime
import TetherTestSupport

/// `POST /runs/{id}/resume` against a loopback chat server that holds each answer until the
/// test releases it and counts every request: what a resumed run replays costs nothing.
@Suite struct ResumeTests {
    static let agents: [String: String] = [
        "multi.json": #"""
        {"name": "multi", "input": {"topic": "string"}, "steps": [
          {"llm": "Outline {{input.topic}}", "as": "outline"},
          {"store_set": "multi/outline", "value": "{{outline}}"},
          {"llm": "Draft from {{outline}}", "as": "draft"},
          {"store_set": "multi/draft", "value": "{{draft}}"},
          {"llm": "Polish {{draft}}", "as": "final"},
          {"store_set": "multi/final", "value": "{{final}}"},
          {"return": "{{final}}"}
        ]}
        """#,
        "chain.json": #"""
        {"name": "chain", "input": {"topic": "string"}, "steps": [
          {"llm": "Plan {{input.topic}}", "as": "plan"},
          {"call": "inner", "input": {"text": "{{plan}}"}, "as": "inner"},
          {"llm": "Wrap {{inner}}", "as": "wrap"},
          {"return": "{{wrap}}"}
        ]}
        """#,
        "outer.json": #"""
        {"name": "outer", "input": {"topic": "string"}, "steps": [
          {"llm": "Plan {{input.topic}}", "as": "plan"},
          {"call": "tail", "input": {"text": "{{plan}}"}, "as": "tail"},
          {"llm": "Wrap {{tail}}", "as": "wrap"},
          {"return": "{{wrap}}"}
        ]}
        """#,
        "tail.json": #"""
        {"name": "tail", "input": {"text": "string"}, "steps": [{"llm": "Tail {{input.text}}", "as": "t"}, {"return": "{{t}}"}]}
        """#,
        "inner.json": #"""
        {"name": "inner", "input": {"text": "string"}, "steps": [
          {"llm": "First {{input.text}}", "as": "a"},
          {"wait": 0.01},
          {"llm": "Second {{a}}", "as": "b"},
          {"store_set": "inner/b", "value": "{{b}}"},
          {"return": "{{b}}"}
        ]}
        """#,
    ]

    /// The chat server's answer: the prompt in brackets, so every result follows from the
    /// prompts alone.
    static func echo(_ index: Int, _ body: JSONValue) -> String {
        "[" + (body["messages"]?.arrayValue?.last?["content"]?.stringValue ?? "?") + "]"
    }

    static func prompts(_ server: HeldChatServer) -> [String] {
        server.state.requests.map { $0["messages"]?.arrayValue?.last?["content"]?.stringValue ?? "?" }
    }

    /// A server with the agents above, the `openai` provider on `chat`, and a data store
    /// that counts its writes.
    func withResumeServer(
        _ chat: HeldChatServer,
        runStore: any RunStore = MemoryRunStore(),
        dataStore: CountingDataStore = CountingDataStore(),
        swiftAgents: [AgentDescriptor] = [],
        settings: (inout AppConfiguration) -> Void = { _ in },
        extraAgents: [String: String] = [:],
        _ body: @escaping @Sendable (any TestClientProtocol, RunSupervisor) async throws -> Void
    ) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("resume-agents-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, text) in Self.agents.merging(extraAgents, uniquingKeysWith: { _, extra in extra }) {
            try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let configuration = testConfiguration(agentsDirectory: folder.path) { configuration in
            configuration.llm = .openai
            configuration.llmBaseURL = chat.baseURL
            configuration.llmModel = "test-model"
            settings(&configuration)
        }
        try await withServer(
            configuration: configuration,
            agents: swiftAgents,
            llm: nil,
            storage: .custom(runStore: runStore, dataStore: dataStore),
            body
        )
    }

    /// Answers the next `count` requests as they arrive.
    func answer(_ count: Int, on chat: HeldChatServer) async throws {
        for _ in 0..<count {
            let index = chat.state.requests.count
            try await withTimeout { await chat.waitForRequests(index + 1) }
            chat.release(index)
        }
    }

    func events(_ client: any TestClientProtocol, _ id: RunID) async throws -> [JSONValue] {
        try #require(try await client.execute(uri: "/runs/\(id)", method: .get).json()["events"]?.arrayValue)
    }

    @Test func aStoppedRunResumedMakesOnlyTheCallsAfterItsStopAndEndsAsAnUninterruptedOne() async throws {
        let chat = try await HeldChatServer.start(holdAnswers: true, answer: Self.echo)
        let store = CountingDataStore()
        try await withResumeServer(chat, dataStore: store) { client, supervisor in
            // The reference: one run, uninterrupted.
            let reference = try await client.startRun("multi", input: #"{"topic": "owls"}"#)
            try await answer(3, on: chat)
            let expected = try await withTimeout { try await supervisor.waitUntilFinished(reference) }
            #expect(expected.status == .succeeded && chat.state.requests.count == 3)

            // Stopped while its second call is in flight: that call finishes and is journaled.
            let first = try await client.startRun("multi", input: #"{"topic": "owls"}"#)
            try await answer(1, on: chat)
            try await withTimeout { await chat.waitForRequests(5) }
            let stop = try await client.execute(uri: "/runs/\(first)/stop", method: .post)
            #expect(stop.status == .accepted)
            chat.release(4)
            let stopped = try await withTimeout { try await supervisor.waitUntilFinished(first) }
            #expect(stopped.status == .stopped)
            let writesBefore = store.writes

            let resume = try await client.execute(uri: "/runs/\(first)/resume", method: .post)
            #expect(resume.status == .accepted)
            let body = try resume.json()
            #expect(body["resumedFrom"]?.stringValue == first.rawValue)
            #expect(body["status"] == "running" && body["links"]?["self"]?.stringValue?.hasPrefix("/runs/") == true)
            let second = try #require(body["runId"]?.stringValue.flatMap(RunID.init(validating:)))
            try await answer(1, on: chat)
            let resumed = try await withTimeout { try await supervisor.waitUntilFinished(second) }

            #expect(resumed.status == .succeeded)
            #expect(resumed.result == expected.result, "the same result as the uninterrupted run")
            #expect(resumed.resumedFrom == first)
            #expect(resumed.usage?.tree.llmCalls == 1, "replayed calls cost nothing and count nothing")
            #expect(chat.state.requests.count == 6, "the resumed run made one LLM request: the one after the stop")
            #expect(Self.prompts(chat).last == "Polish [Draft from [Outline owls]]")
            #expect(chat.state.abortedRequests == 0)
            // Its replayed write wrote nothing; the writes after the stop point, once each.
            #expect(store.writes.subtracting(writesBefore) == ["multi/draft": 1, "multi/final": 1])

            let log = try await events(client, second)
            let replayed = log.filter { $0["kind"] == "replayed" }
            #expect(replayed.compactMap { $0["data"]?["boundary"]?.stringValue } == ["llm", "store", "llm"])
            #expect(replayed.allSatisfy { $0["data"]?["from"]?["runId"]?.stringValue == first.rawValue })
            #expect(replayed.first?["message"]?.stringValue == "Replayed the LLM call (outline): 18 tokens not paid again")
            #expect(log.filter { $0["kind"] == "llm.started" }.count == 1)
            let record = try await client.execute(uri: "/runs/\(second)", method: .get).json()
            #expect(record["resumedFrom"]?.stringValue == first.rawValue && record["forkedAt"] == .null)
            // A run is resumed whole once: a second press would pay again for what followed.
            let twice = try await client.execute(uri: "/runs/\(first)/resume", method: .post)
            #expect(twice.status == .conflict && twice.errorCode == "not_resumable")
            #expect(try twice.json()["error"]?["message"]?.stringValue?.contains("as run \(second)") == true)

            // A run resumed in its turn replays everything its own log holds, replayed or live.
            let again = try await supervisor.resume(second, at: Int(try #require(log.last?["seq"]?.numberValue)))
            let forked = try await withTimeout { try await supervisor.waitUntilFinished(again.id) }
            #expect(forked.status == .succeeded && forked.result == expected.result && forked.forkedAt != nil)
            #expect(chat.state.requests.count == 6, "every boundary came from the journal")
        }
        await chat.shutdown()
    }

    @Test func aChainStoppedInsideItsChildResumesInsideTheChild() async throws {
        let chat = try await HeldChatServer.start(holdAnswers: true, answer: Self.echo)
        try await withResumeServer(chat) { client, supervisor in
            let reference = try await client.startRun("chain", input: #"{"topic": "bats"}"#)
            try await answer(4, on: chat)
            let expected = try await withTimeout { try await supervisor.waitUntilFinished(reference) }
            #expect(expected.status == .succeeded && chat.state.requests.count == 4)

            let first = try await client.startRun("chain", input: #"{"topic": "bats"}"#)
            try await answer(2, on: chat)
            try await withTimeout { await chat.waitForRequests(7) }
            #expect(Self.prompts(chat).last == "Second [First [Plan bats]]", "stopped during the child's second call, after its wait")
            #expect(try await client.execute(uri: "/runs/\(first)/stop", method: .post).status == .accepted)
            chat.release(6)
            #expect(try await withTimeout { try await supervisor.waitUntilFinished(first) }.status == .stopped)
            let oldChild = try #require(try await supervisor.subtree(of: first).dropFirst().first)

            let second = try await supervisor.resume(first).id
            try await answer(1, on: chat)
            let resumed = try await withTimeout { try await supervisor.waitUntilFinished(second) }
            #expect(resumed.status == .succeeded && resumed.result == expected.result)
            #expect(Self.prompts(chat).last == "Wrap [Second [First [Plan bats]]]")
            #expect(chat.state.requests.count == 8, "only the parent's last call: the child's calls and wait were replayed")

            let tree = try await supervisor.subtree(of: second)
            #expect(tree.count == 2)
            let child = try #require(tree.last)
            #expect(child.resumedFrom == oldChild.id && child.status == .succeeded)
            let log = try await events(client, second)
            let childReplays = log.filter { $0["kind"] == "replayed" && $0["runId"]?.stringValue == child.id.rawValue }
            #expect(childReplays.compactMap { $0["data"]?["boundary"]?.stringValue } == ["llm", "wait", "llm"])
            #expect(log.filter { $0["kind"] == "wait" }.isEmpty, "the wait that had ended was not waited again")
        }
        await chat.shutdown()
    }

    @Test func aRunFailedByTheProviderResumesAtTheFailedCall() async throws {
        // The provider is down for the run's second call.
        let chat = try await HeldChatServer.start(holdAnswers: false, answer: Self.echo) { index in
            index == 1 ? HeldChatServer.Fault(status: 500, body: #"{"error": {"message": "the provider is down"}}"#) : nil
        }
        let store = CountingDataStore()
        try await withResumeServer(chat, dataStore: store) { client, supervisor in
            let first = try await client.startRun("multi", input: #"{"topic": "eels"}"#)
            let failed = try await withTimeout { try await supervisor.waitUntilFinished(first) }
            #expect(failed.status == .failed && chat.state.requests.count == 2)
            let writesBefore = store.writes

            let second = try await supervisor.resume(first).id
            let resumed = try await withTimeout { try await supervisor.waitUntilFinished(second) }
            #expect(resumed.status == .succeeded)
            #expect(resumed.result == "[Polish [Draft from [Outline eels]]]")
            #expect(Array(Self.prompts(chat).suffix(2)) == ["Draft from [Outline eels]", "Polish [Draft from [Outline eels]]"])
            #expect(chat.state.requests.count == 4, "the first call was not paid again; the failed one was made again")
            #expect(store.writes.subtracting(writesBefore) == ["multi/draft": 1, "multi/final": 1])
        }
        await chat.shutdown()
    }

    @Test func aChildThatHadSucceededIsNotRunAgain() async throws {
        let chat = try await HeldChatServer.start(holdAnswers: true, answer: Self.echo)
        try await withResumeServer(chat) { client, supervisor in
            // Stopped during the child's last boundary, its call: the child returns (the stop
            // came after its last boundary), and its caller's next boundary stops it.
            let first = try await client.startRun("outer", input: #"{"topic": "rats"}"#)
            try await answer(1, on: chat)
            try await withTimeout { await chat.waitForRequests(2) }
            #expect(try await client.execute(uri: "/runs/\(first)/stop", method: .post).status == .accepted)
            chat.release(1)
            #expect(try await withTimeout { try await supervisor.waitUntilFinished(first) }.status == .stopped)
            #expect(try await supervisor.subtree(of: first).map(\.status) == [.stopped, .succeeded])
            let second = try await supervisor.resume(first).id
            try await answer(1, on: chat)
            let resumed = try await withTimeout { try await supervisor.waitUntilFinished(second) }
            #expect(resumed.status == .succeeded)
            #expect(try await supervisor.subtree(of: second).count == 1, "no child run: its result came from the journal")
            #expect(chat.state.requests.count == 3)
            #expect(resumed.result == "[Wrap [Tail [Plan rats]]]")
            let replayed = try await events(client, second).filter { $0["kind"] == "replayed" }
            #expect(replayed.compactMap { $0["data"]?["boundary"]?.stringValue } == ["llm", "agents.call"])
        }
        await chat.shutdown()
    }

    @Test func boundariesRunConcurrentlyReplayInWhateverOrderTheyBegin() async throws {
        let agent = AgentDescriptor.closure("pair") { _, tools in
            async let first = tools.llm.complete("Left")
            async let second = tools.llm.complete("Right")
            let both = try await first + " " + second
            return .string(try await tools.llm.complete("Join " + both))
        }
        let chat = try await HeldChatServer.start(holdAnswers: true, answer: Self.echo)
        try await withResumeServer(chat, swiftAgents: [agent]) { client, supervisor in
            for attempt in 1...4 {
                let base = chat.state.requests.count
                let first = try await client.startRun("pair")
                // The two concurrent calls arrive together; then the join.
                try await withTimeout { await chat.waitForRequests(base + 2) }
                chat.release(base)
                chat.release(base + 1)
                try await answer(1, on: chat)
                #expect(try await withTimeout { try await supervisor.waitUntilFinished(first) }.status == .succeeded)
                // Forked at the join: both concurrent calls replay, whichever begins first.
                let events = try await events(client, first)
                let join = Int(try #require(events.last { $0["kind"] == "llm.started" }?["seq"]?.numberValue))
                let fork = try await supervisor.resume(first, at: join).id
                try await answer(1, on: chat)
                let resumed = try await withTimeout { try await supervisor.waitUntilFinished(fork) }
                #expect(resumed.status == .succeeded, "attempt \(attempt): \(resumed.error ?? "")")
                #expect(resumed.result == "[Join [Left] [Right]]")
            }
            #expect(chat.state.requests.count == 16, "per attempt: two calls, the join, and the fork's join")
        }
        await chat.shutdown()
    }

    @Test func aStoreErrorTheAgentHandledIsThrownAgainOnReplay() async throws {
        let agent = AgentDescriptor.closure("careful") { _, tools in
            let note: String
            do {
                note = try await tools.store.get("broken/note") ?? "none"
            } catch {
                note = "unreadable"
            }
            let first = try await tools.llm.complete("Note " + note)
            return .string(try await tools.llm.complete("More " + first))
        }
        let chat = try await HeldChatServer.start(holdAnswers: true, answer: Self.echo)
        try await withResumeServer(chat, swiftAgents: [agent]) { client, supervisor in
            let first = try await client.startRun("careful")
            try await withTimeout { await chat.waitForRequests(1) }
            #expect(try await client.execute(uri: "/runs/\(first)/stop", method: .post).status == .accepted)
            chat.release(0)
            #expect(try await withTimeout { try await supervisor.waitUntilFinished(first) }.status == .stopped)
            let failedRead = try await events(client, first).first { $0["kind"] == "store" }
            #expect(failedRead?["data"]?["error"]?.stringValue?.contains("broken") == true)

            let second = try await supervisor.resume(first).id
            try await answer(1, on: chat)
            let resumed = try await withTimeout { try await supervisor.waitUntilFinished(second) }
            #expect(resumed.status == .succeeded && resumed.result == "[More [Note unreadable]]")
            #expect(chat.state.requests.count == 2)
            let replayed = try await events(client, second).filter { $0["kind"] == "replayed" }
            #expect(replayed.compactMap { $0["data"]?["boundary"]?.stringValue } == ["store", "llm"])
        }
        await chat.shutdown()
    }

    @Test func resumingInterruptedRunsLeavesAloneWhatWasBeingStoppedAndCrashLoops() async throws {
        let chat = try await HeldChatServer.start(holdAnswers: false, answer: Self.echo)
        let store = MemoryRunStore()
        try await withResumeServer(chat, runStore: store, settings: { $0.resumeInterrupted = true }) { _, supervisor in
            func interrupted(resumedFrom: RunID? = nil, stopRequested: Bool = false) async throws -> RunRecord {
                let id = RunID()
                var record = RunRecord(id: id, agent: "multi", input: ["topic": "owls"], status: .interrupted, rootRunID: id, createdAt: Date())
                record.finishedAt = Date()
                record.resumedFrom = resumedFrom
                if stopRequested { record.stopRequestedAt = Date() }
                try await store.insertRun(record)
                return record
            }
            let stopping = try await interrupted(stopRequested: true)
            #expect(await supervisor.resumeInterrupted([stopping]).isEmpty, "someone had asked it to stop")
            let a = try await interrupted()
            let b = try await interrupted(resumedFrom: a.id)
            let c = try await interrupted(resumedFrom: b.id)
            #expect(await supervisor.resumeInterrupted([c]).isEmpty, "three interrupted in a row")
            let d = try await interrupted()
            let e = try await interrupted(resumedFrom: d.id)
            let resumed = await supervisor.resumeInterrupted([e])
            #expect(resumed.map(\.resumedFrom) == [e.id], "two in a row: resumed")
            #expect(await supervisor.resumeInterrupted([e]).isEmpty, "each once")
            let done = try await withTimeout { try await supervisor.waitUntilFinished(try #require(resumed.first).id) }
            #expect(done.status == .succeeded)
        }
        await chat.shutdown()
    }

    @Test func aChangedPromptFailsTheReplayWithThePosition() async throws {
        let prompt = Mutex("Write about owls")
        let agent = AgentDescriptor.closure("changing") { _, tools in
            let first = try await tools.llm.complete(prompt.withLock { $0 })
            do {
                return .string(try await tools.llm.complete("Then " + first))
            } catch {
                // Catching the divergence does not let the run go on.
                return "caught"
            }
        }
        let chat = try await HeldChatServer.start(holdAnswers: true, answer: Self.echo)
        try await withResumeServer(chat, swiftAgents: [agent]) { client, supervisor in
            let first = try await client.startRun("changing")
            try await withTimeout { await chat.waitForRequests(1) }
            #expect(try await client.execute(uri: "/runs/\(first)/stop", method: .post).status == .accepted)
            chat.release(0)
            #expect(try await withTimeout { try await supervisor.waitUntilFinished(first) }.status == .stopped)

            prompt.withLock { $0 = "Write about bats" }
            let second = try await supervisor.resume(first).id
            let failed = try await withTimeout { try await supervisor.waitUntilFinished(second) }
            #expect(failed.status == .failed)
            let error = try #require(failed.error)
            #expect(error.contains("boundary 1 of agent changing (run \(first))"), "\(error)")
            #expect(error.contains(#"the journal holds an LLM call with the prompt "Write about owls""#))
            #expect(error.contains(#"the agent asked for an LLM call with the prompt "Write about bats""#))
            #expect(chat.state.requests.count == 1, "nothing went on with wrong data")

            // Put back, the diverged run resumes from the journal it never got past.
            prompt.withLock { $0 = "Write about owls" }
            let third = try await supervisor.resume(second).id
            try await answer(1, on: chat)
            let resumed = try await withTimeout { try await supervisor.waitUntilFinished(third) }
            #expect(resumed.status == .succeeded && resumed.result == "[Then [Write about owls]]")
            #expect(Self.prompts(chat) == ["Write about owls", "Then [Write about owls]"])
        }
        await chat.shutdown()
    }

    @Test func aForkReplaysOnlyWhatCameBeforeItsStep() async throws {
        let chat = try await HeldChatServer.start(holdAnswers: true, answer: Self.echo)
        let store = CountingDataStore()
        try await withResumeServer(chat, dataStore: store) { client, supervisor in
            let first = try await client.startRun("multi", input: #"{"topic": "moths"}"#)
            try await answer(3, on: chat)
            let done = try await withTimeout { try await supervisor.waitUntilFinished(first) }
            #expect(done.status == .succeeded)
            let log = try await events(client, first)
            let secondCall = Int(try #require(log.filter { $0["kind"] == "llm.started" }.dropFirst().first?["seq"]?.numberValue))
            let writesBefore = store.writes

            // A succeeded run cannot be resumed, but it can be forked.
            let refused = try await client.execute(uri: "/runs/\(first)/resume", method: .post)
            #expect(refused.status == .conflict && refused.errorCode == "not_resumable")
            #expect(try refused.json()["status"] == "succeeded")
            let fork = try await client.execute(uri: "/runs/\(first)/resume?at=\(secondCall)", method: .post)
            #expect(fork.status == .accepted)
            let forked = try #require(try fork.json()["runId"]?.stringValue.flatMap(RunID.init(validating:)))
            try await answer(2, on: chat)
            let record = try await withTimeout { try await supervisor.waitUntilFinished(forked) }
            #expect(record.status == .succeeded && record.result == done.result)
            #expect(Array(Self.prompts(chat).suffix(2)) == ["Draft from [Outline moths]", "Polish [Draft from [Outline moths]]"])
            #expect(chat.state.requests.count == 5)
            #expect(store.writes.subtracting(writesBefore) == ["multi/draft": 1, "multi/final": 1])
            let replayed = try await events(client, forked).filter { $0["kind"] == "replayed" }
            #expect(replayed.compactMap { $0["data"]?["boundary"]?.stringValue } == ["llm", "store"])
        }
        await chat.shutdown()
    }

    @Test func whatCannotBeResumedIsRefusedClearly() async throws {
        let chat = try await HeldChatServer.start(holdAnswers: true, answer: Self.echo)
        try await withResumeServer(chat) { client, supervisor in
            let unknown = try await client.execute(uri: "/runs/\(RunID())/resume", method: .post)
            #expect(unknown.status == .notFound && unknown.errorCode == "not_found")
            let garbage = try await client.execute(uri: "/runs/not-an-id/resume", method: .post)
            #expect(garbage.status == .badRequest)

            let running = try await client.startRun("chain", input: #"{"topic": "owls"}"#)
            try await answer(1, on: chat)
            try await withTimeout { await chat.waitForRequests(2) }
            let inFlight = try await client.execute(uri: "/runs/\(running)/resume", method: .post)
            #expect(inFlight.status == .conflict && inFlight.errorCode == "not_resumable")
            #expect(try inFlight.json()["status"] == "running")
            let child = try #require(try await supervisor.subtree(of: running).dropFirst().first)
            #expect(try await client.execute(uri: "/runs/\(running)/stop", method: .post).status == .accepted)
            chat.release(1)
            #expect(try await withTimeout { try await supervisor.waitUntilFinished(running) }.status == .stopped)

            let ofChild = try await client.execute(uri: "/runs/\(child.id)/resume", method: .post)
            #expect(ofChild.status == .conflict && ofChild.errorCode == "not_resumable")
            #expect(try ofChild.json()["error"]?["message"]?.stringValue?.contains("resume its root run \(running)") == true)
            for at in ["0", "-3", "x", "99999"] {
                let bad = try await client.execute(uri: "/runs/\(running)/resume?at=\(at)", method: .post)
                #expect(bad.status == .badRequest && bad.errorCode == "bad_request", "at=\(at)")
            }
            let runs = try await supervisor.listRuns(RunQuery(limit: 100))
            #expect(runs.count == 1, "nothing was started by a refused resume")
            #expect(chat.state.requests.count == 2)
        }
        await chat.shutdown()
    }

    @Test func theResumeButtonWorksWithoutJavaScript() async throws {
        let chat = try await HeldChatServer.start(holdAnswers: true, answer: Self.echo)
        try await withResumeServer(chat) { client, supervisor in
            let browser = try await BrowserSession.open(client)
            let first = try await client.startRun("multi", input: #"{"topic": "owls"}"#)
            try await answer(1, on: chat)
            try await withTimeout { await chat.waitForRequests(2) }
            let running = try await browser.page("/runs/\(first)")
            #expect(running.node("//form[@id='resume-form']")?.has("hidden") == true, "hidden while the run is in flight")
            #expect(try await client.execute(uri: "/runs/\(first)/stop", method: .post).status == .accepted)
            chat.release(1)
            #expect(try await withTimeout { try await supervisor.waitUntilFinished(first) }.status == .stopped)

            let page = try await browser.page("/runs/\(first)")
            let form = try #require(page.node("//form[@id='resume-form']"))
            #expect(!form.has("hidden") && form.attributes["method"] == "post" && form.attributes["action"] == "/runs/\(first)/resume")
            #expect(page.count("//form[@id='resume-form']//button[@id='resume-button']") == 1)
            #expect(page.count("//a[@id='run-again']") == 1)
            let forks = page.nodes("//form[@class='fork-form']")
            #expect(forks.count == 2, "one per LLM step")
            #expect(forks.allSatisfy { $0.attributes["action"]?.hasPrefix("/runs/\(first)/resume?at=") == true })

            let pressed = try await browser.post("/runs/\(first)/resume", [])
            #expect(pressed.status == .seeOther)
            let location = try #require(pressed.headers[.location])
            #expect(location.hasPrefix("/runs/") && location != "/runs/\(first)")
            let second = try #require(RunID(validating: String(location.dropFirst("/runs/".count))))
            try await answer(1, on: chat)
            #expect(try await withTimeout { try await supervisor.waitUntilFinished(second) }.status == .succeeded)

            let resumed = try await browser.page(location)
            #expect(resumed.node("//a[@id='resumed-from']")?.attributes["href"] == "/runs/\(first)")
            let old = try await browser.page("/runs/\(first)")
            #expect(old.node("//a[@id='resumed-as']")?.attributes["href"] == location)
            #expect(old.node("//form[@id='resume-form']")?.has("hidden") == true, "resumed once: no second Resume")
            let lines = resumed.nodes("//ol[@id='progress-log']/li[@data-kind='replayed']")
            #expect(lines.count == 1, "the replayed steps are one line")
            #expect(lines.first?.text.contains("Replayed 3 steps: 2 LLM calls, 36 tokens not paid again") == true, "\(lines.first?.text ?? "")")
            #expect(resumed.node("//form[@id='resume-form']")?.has("hidden") == true, "a succeeded run offers no Resume")
        }
        await chat.shutdown()
    }
}

/// A memory data store that counts the writes it takes, by `namespace/key`.
/// Namespace `broken` fails every operation.
final class CountingDataStore: DataStore {
    private let store = MemoryDataStore()
    private let counted = Mutex<[String: Int]>([:])

    var writes: [String: Int] { counted.withLock { $0 } }

    struct Broken: Error, CustomStringConvertible {
        var description: String { "the broken namespace fails" }
    }

    func value(for key: StoreKey) async throws -> String? {
        if key.namespace == "broken" { throw Broken() }
        return try await store.value(for: key)
    }
    func setValue(_ value: String, for key: StoreKey) async throws {
        counted.withLock { $0["\(key)", default: 0] += 1 }
        try await store.setValue(value, for: key)
    }
    func deleteValue(for key: StoreKey) async throws -> Bool { try await store.deleteValue(for: key) }
    func entries(in namespace: String, prefix: String) async throws -> [StoreEntry] { try await store.entries(in: namespace, prefix: prefix) }
    func namespaces() async throws -> [NamespaceSummary] { try await store.namespaces() }
}

extension Dictionary where Key == String, Value == Int {
    /// The counts that grew since `earlier`, by how much.
    func subtracting(_ earlier: [String: Int]) -> [String: Int] {
        var grown: [String: Int] = [:]
        for (key, count) in self where count > (earlier[key] ?? 0) { grown[key] = count - (earlier[key] ?? 0) }
        return grown
    }
}
