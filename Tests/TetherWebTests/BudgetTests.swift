import Foundation
import HummingbirdTesting
import Testing
import TetherApp
import TetherCore
import TetherRuntime
import TetherTestSupport

/// Budgets stop a run tree by themselves (issue 17, part 2), against a loopback chat server
/// that holds each answer until the test releases it, counts every request, and reports 11
/// prompt and 7 completion tokens a call. Each test checks that the call in flight when the
/// limit was reached was answered in full, and that no request came after it.
@Suite struct BudgetTests {
    static let resume = ResumeTests()

    /// Five calls in a row; its definition allows two.
    static let agents: [String: String] = [
        "capped.json": #"""
        {"name": "capped", "input": {"topic": "string"}, "budget": {"llm_calls": 2}, "steps": [
          {"llm": "One {{input.topic}}", "as": "a"},
          {"llm": "Two {{a}}", "as": "b"},
          {"llm": "Three {{b}}", "as": "c"},
          {"llm": "Four {{c}}", "as": "d"},
          {"llm": "Five {{d}}", "as": "e"},
          {"return": "{{e}}"}
        ]}
        """#,
        "sleeper.json": #"""
        {"name": "sleeper", "steps": [{"wait": 600}, {"llm": "After the wait", "as": "b"}, {"return": "{{b}}"}]}
        """#,
    ]

    func withBudgetServer(
        settings: @escaping (inout AppConfiguration) -> Void = { _ in },
        prices: String? = nil,
        _ body: @escaping @Sendable (any TestClientProtocol, RunSupervisor, HeldChatServer) async throws -> Void
    ) async throws {
        let chat = try await HeldChatServer.start(holdAnswers: true, answer: ResumeTests.echo)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("budget-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pricesFile = folder.appendingPathComponent("prices.json")
        if let prices { try prices.write(to: pricesFile, atomically: true, encoding: .utf8) }
        try await Self.resume.withResumeServer(
            chat,
            settings: { configuration in
                if prices != nil { configuration.pricesFile = pricesFile.path }
                settings(&configuration)
            },
            extraAgents: Self.agents
        ) { client, supervisor in
            try await body(client, supervisor, chat)
        }
        await chat.shutdown()
    }

    /// Releases requests one at a time, by index, as they arrive, until the run ends;
    /// returns its record.
    func answerUntilFinished(_ id: RunID, supervisor: RunSupervisor, chat: HeldChatServer) async throws -> RunRecord {
        let first = chat.state.requests.count
        let releaser = Task {
            var index = first
            while !Task.isCancelled {
                await chat.waitForRequests(index + 1)
                chat.release(index)
                index += 1
            }
        }
        defer { releaser.cancel() }
        return try await withTimeout { try await supervisor.waitUntilFinished(id) }
    }

    func events(_ client: any TestClientProtocol, _ id: RunID) async throws -> [JSONValue] {
        try await Self.resume.events(client, id)
    }

    /// The `stop.requested` of a budget, and every `llm.finished` answered in full.
    func checkBudgetStop(
        _ events: [JSONValue],
        limit: String,
        calls: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let stops = events.filter { $0["kind"] == "stop.requested" }
        #expect(stops.count == 1, sourceLocation: sourceLocation)
        let stop = try #require(stops.first, sourceLocation: sourceLocation)
        #expect(stop["data"]?["reason"] == "budget" && stop["data"]?["limit"] == .string(limit), "\(stop)", sourceLocation: sourceLocation)
        let finished = events.filter { $0["kind"] == "llm.finished" }
        #expect(finished.count == calls, sourceLocation: sourceLocation)
        // The call in flight finished first, with the whole answer: the echo of its prompt.
        let lastStarted = try #require(events.last { $0["kind"] == "llm.started" }, sourceLocation: sourceLocation)
        let lastFinished = try #require(finished.last, sourceLocation: sourceLocation)
        #expect(
            lastFinished["data"]?["text"] == .string("[" + (lastStarted["data"]?["prompt"]?.stringValue ?? "") + "]"),
            sourceLocation: sourceLocation
        )
        let seq = { (event: JSONValue) in Int(event["seq"]?.numberValue ?? 0) }
        if limit != "seconds" {
            #expect(seq(lastFinished) < seq(stop), "the stop follows the answer that reached the limit", sourceLocation: sourceLocation)
        }
        #expect(!events.contains { $0["kind"] == "llm.started" && seq($0) > seq(stop) }, sourceLocation: sourceLocation)
    }

    @Test func amountsReadAsPeopleWriteThem() {
        #expect(RunBudget.Limit.cost.format(0.1 + 0.2) == "0.3", "no float noise")
        #expect(RunBudget.Limit.cost.format(2) == "2.0" && RunBudget.Limit.cost.format(0.0125) == "0.0125")
        #expect(RunBudget.Limit.seconds.format(2.5) == "2.5 s" && RunBudget.Limit.seconds.format(600) == "600 s")
        #expect(RunBudget.Limit.tokens.format(200_000) == "200,000")
    }

    @Test func aDefinitionsCallLimitStopsTheRunAfterTheCallThatReachedIt() async throws {
        try await withBudgetServer { client, supervisor, chat in
            let id = try await client.startRun("capped", input: #"{"topic": "owls"}"#)
            let record = try await answerUntilFinished(id, supervisor: supervisor, chat: chat)
            #expect(record.status == .stopped && chat.state.requests.count == 2)
            #expect(record.budget == RunBudget(llmCalls: 2) && record.usage?.tree.llmCalls == 2)
            #expect(record.stopReason == .budget(RunBudget.Reached(limit: .llmCalls, budget: 2, used: 2)))
            try checkBudgetStop(try await events(client, id), limit: "llm_calls", calls: 2)

            let json = try await client.execute(uri: "/runs/\(id)", method: .get).json()
            #expect(json["budget"] == ["llm_calls": 2] && json["stopReason"]?["message"] == "LLM call budget of 2 reached")
            let frames = SSEFrame.parse(try await client.execute(uri: "/runs/\(id)/events", method: .get).text)
            #expect(frames.last?.event == "done" && frames.last?.json?["stopReason"]?["limit"] == "llm_calls")

            let page = try await BrowserSession.open(client).page("/runs/\(id)")
            let reason = try #require(page.node("//p[@id='stop-reason']"))
            #expect(reason.text == "Stopped: LLM call budget of 2 reached" && reason.attributes["hidden"] == nil)
            #expect(page.node("//p[@id='run-limits']")?.text == "Limits: 2 LLM calls")
        }
    }

    @Test func aRequestsTokenLimitOverridesTheDefinitionAndCanLiftItsLimits() async throws {
        try await withBudgetServer { client, supervisor, chat in
            // 18 tokens a call: 36 after two, 54 after three, which reaches 40.
            let response = try await client.postJSON(
                "/runs",
                #"{"agent": "capped", "input": {"topic": "owls"}, "budget": {"llm_calls": null, "tokens": 40}}"#
            )
            #expect(response.status == .accepted)
            let id = try #require(try response.json()["runId"]?.stringValue.flatMap(RunID.init(validating:)))
            let record = try await answerUntilFinished(id, supervisor: supervisor, chat: chat)
            #expect(record.status == .stopped && chat.state.requests.count == 3)
            #expect(record.budget == RunBudget(tokens: 40) && record.usage?.tree.totalTokens == 54)
            #expect(record.stopReason == .budget(RunBudget.Reached(limit: .tokens, budget: 40, used: 54)))
            try checkBudgetStop(try await events(client, id), limit: "tokens", calls: 3)
            let finished = try #require(try await events(client, id).last { $0["kind"] == "run.finished" })
            #expect(finished["message"]?.stringValue?.contains("(token budget of 40 reached)") == true)
        }
    }

    @Test func aBudgetCoversTheWholeTreeChildrenIncluded() async throws {
        try await withBudgetServer { client, supervisor, chat in
            // chain: its own call, then inner's first: the second call of the tree.
            let response = try await client.postJSON("/runs", #"{"agent": "chain", "input": {"topic": "owls"}, "budget": {"llm_calls": 2}}"#)
            let id = try #require(try response.json()["runId"]?.stringValue.flatMap(RunID.init(validating:)))
            let record = try await answerUntilFinished(id, supervisor: supervisor, chat: chat)
            #expect(record.status == .stopped && chat.state.requests.count == 2)
            let tree = try await supervisor.subtree(of: id)
            #expect(tree.count == 2 && tree.allSatisfy { $0.status == .stopped })
            #expect(tree.last?.stopReason == record.stopReason && tree.last?.budget == nil)
            #expect(record.usage?.tree.llmCalls == 2 && record.usage?.run.llmCalls == 1)
            try checkBudgetStop(try await events(client, id), limit: "llm_calls", calls: 2)
        }
    }

    @Test func aWallTimeLimitFiresAtItsDeadlineWhileACallIsInFlightAndLetsItFinish() async throws {
        try await withBudgetServer { client, supervisor, chat in
            let response = try await client.postJSON("/runs", #"{"agent": "capped", "input": {"topic": "owls"}, "budget": {"seconds": 0.3}}"#)
            let id = try #require(try response.json()["runId"]?.stringValue.flatMap(RunID.init(validating:)))
            try await withTimeout { await chat.waitForRequests(1) }
            // The deadline passes while the first call is held.
            let stop = try await withTimeout {
                try await supervisor.waitForEvent(inTree: id) { $0.kind == .stopRequested }
            }
            #expect(stop?.data["limit"] == "seconds" && stop?.data["reason"] == "budget")
            #expect(try await supervisor.record(id)?.status == .stopping)
            chat.release(0)
            let record = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            #expect(record.status == .stopped && chat.state.requests.count == 1)
            try checkBudgetStop(try await events(client, id), limit: "seconds", calls: 1)
        }
    }

    @Test func aWaitWakesAtTheWallTimeDeadline() async throws {
        try await withBudgetServer(settings: { $0.budget = RunBudget(seconds: 1) }) { client, supervisor, chat in
            // The server-wide default applies: sleeper's definition sets no budget.
            let id = try await client.startRun("sleeper")
            let record = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            #expect(record.status == .stopped && chat.state.requests.isEmpty && record.budget == RunBudget(seconds: 1))
            let events = try await events(client, id)
            #expect(events.contains { $0["kind"] == "wait" } && !events.contains { $0["kind"] == "wait.ended" })
            #expect(events.last { $0["kind"] == "run.finished" }?["data"]?["boundary"] == "wait")
        }
    }

    @Test func aCostLimitStopsOncePricedCallsReachIt() async throws {
        try await withBudgetServer(prices: #"{"test-model": {"prompt": 1000, "completion": 2000}}"#) { client, supervisor, chat in
            // 0.025 a call: 0.05 after two.
            let response = try await client.postJSON(
                "/runs",
                #"{"agent": "capped", "input": {"topic": "owls"}, "budget": {"llm_calls": null, "cost": 0.05}}"#
            )
            let id = try #require(try response.json()["runId"]?.stringValue.flatMap(RunID.init(validating:)))
            let record = try await answerUntilFinished(id, supervisor: supervisor, chat: chat)
            #expect(record.status == .stopped && chat.state.requests.count == 2)
            if case .budget(let reached) = record.stopReason {
                #expect(reached.limit == .cost && abs(reached.used - 0.05) < 1e-9)
            } else {
                Issue.record("stopped for \(String(describing: record.stopReason))")
            }
            try checkBudgetStop(try await events(client, id), limit: "cost", calls: 2)
        }
    }

    @Test func limitsTetherCannotApplyAreRefusedAndNothingStarts() async throws {
        try await withBudgetServer { client, supervisor, chat in
            for (budget, words) in [
                (#"{"cost": 1}"#, "needs prices"), (#"{"tokens": 0}"#, "above 0"), (#"{"llm_calls": 2.5}"#, "whole number"),
                (#"{"minutes": 3}"#, "unknown budget limit"), (#"[40]"#, "object"), (#"{"seconds": "soon"}"#, "above 0"),
            ] {
                let response = try await client.postJSON("/runs", #"{"agent": "capped", "input": {"topic": "owls"}, "budget": \#(budget)}"#)
                #expect(response.status == .badRequest, "\(budget)")
                let message = try response.json()["error"]?["message"]?.stringValue ?? ""
                #expect(message.contains(words), "\(budget): \(message)")
            }
            #expect(try await supervisor.listRuns(RunQuery(limit: 10)).isEmpty && chat.state.requests.isEmpty)
        }
    }

    @Test func theFormsLimitsStartARunWithThemAndComeBackWithAnError() async throws {
        try await withBudgetServer { client, supervisor, chat in
            let browser = try await BrowserSession.open(client)
            let form = try await browser.page("/?agent=capped")
            let fields = form.nodes("//fieldset[@id='limits']//input")
            #expect(fields.map { $0.attributes["name"] ?? "" } == ["budget[llm_calls]", "budget[tokens]", "budget[seconds]", "budget[cost]"])
            #expect(fields.map { $0.attributes["placeholder"] ?? "" } == ["2", "no limit", "no limit", "no limit"])

            let refused = try await browser.post("/runs", [("agent", "capped"), ("input[topic]", "owls"), ("budget[tokens]", "-5")])
            #expect(refused.status == .badRequest)
            let again = try checkedPage(refused.text)
            #expect(again.node("//p[@id='form-error']")?.text.contains("tokens must be") == true)
            #expect(again.node("//input[@id='limit-tokens']")?.attributes["value"] == "-5")
            #expect(again.node("//input[@name='input[topic]']")?.attributes["value"] == "owls")

            let posted = try await browser.post(
                "/runs",
                [("agent", "capped"), ("input[topic]", "owls"), ("budget[llm_calls]", ""), ("budget[tokens]", "10")]
            )
            #expect(posted.status == .seeOther)
            let location = try #require(posted.headers[.location])
            let id = try #require(RunID(validating: String(location.dropFirst("/runs/".count))))
            let record = try await answerUntilFinished(id, supervisor: supervisor, chat: chat)
            // An empty field keeps the definition's limit; the first call's 18 tokens reach 10.
            #expect(record.budget == RunBudget(llmCalls: 2, tokens: 10) && chat.state.requests.count == 1)
            #expect(record.stopReason == .budget(RunBudget.Reached(limit: .tokens, budget: 10, used: 18)))
            let page = try await browser.page("/runs/\(id)")
            #expect(page.node("//p[@id='stop-reason']")?.text == "Stopped: token budget of 10 reached")
        }
    }

    @Test func aResumedRunHasItsSourcesBudgetAfresh() async throws {
        try await withBudgetServer { client, supervisor, chat in
            let id = try await client.startRun("capped", input: #"{"topic": "owls"}"#)
            let stopped = try await answerUntilFinished(id, supervisor: supervisor, chat: chat)
            #expect(stopped.status == .stopped && chat.state.requests.count == 2)
            let resumed = try await client.execute(uri: "/runs/\(id)/resume", method: .post).json()
            let next = try #require(resumed["runId"]?.stringValue.flatMap(RunID.init(validating:)))
            // Two replayed calls cost nothing; two more are live, then the same limit stops it.
            try await withTimeout { await chat.waitForRequests(3) }
            chat.release(2)
            try await withTimeout { await chat.waitForRequests(4) }
            chat.release(3)
            let record = try await withTimeout { try await supervisor.waitUntilFinished(next) }
            #expect(record.status == .stopped && record.budget == stopped.budget && chat.state.requests.count == 4)
            #expect(record.usage?.tree.llmCalls == 2)
        }
    }

    @Test func budgetsReadFromSettingsAndDefinitionsAreChecked() throws {
        let configuration = try AppConfiguration(
            flags: [.budgetTokens: "200000", .budgetSeconds: "600"],
            environment: ["TETHER_BUDGET_LLM_CALLS": "40"]
        )
        #expect(configuration.budget == RunBudget(llmCalls: 40, tokens: 200_000, seconds: 600))
        #expect(throws: ConfigurationError.self) { try AppConfiguration(flags: [:], environment: ["TETHER_BUDGET_TOKENS": "lots"]) }
        #expect(throws: ConfigurationError.self) { try AppConfiguration(flags: [.budgetLLMCalls: "1.5"], environment: [:]) }
        #expect(RunBudget(llmCalls: 40, tokens: 200_000, seconds: 600, cost: 2).summary == "40 LLM calls · 200,000 tokens · 600 s · cost 2.0")
        let override = try RunBudget.parse(["llmCalls": 3, "tokens": .null])
        #expect(override.applied(to: RunBudget(tokens: 10, seconds: 5)) == RunBudget(llmCalls: 3, seconds: 5))
    }
}
