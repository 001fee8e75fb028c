import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TetherApp
import TetherCore
import TetherRuntime
import TetherTestSupport

/// The Runs screen in each state, every page checked with libxml2, asserted through the
/// stable hooks of DESIGN §5.
@Suite struct ScreenTests {
    static let stoppingLabel = "Stopping… (after current LLM call completes)"

    /// Run and Stop stand side by side, each a button in its own POST form.
    func expectButtons(
        _ page: HTMLPage,
        stopAction: String,
        stopDisabled: Bool,
        stopLabel: String = "Stop",
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(page.count("//form[@method='post' and @action='/runs']//button[@id='run-button']") == 1, sourceLocation: sourceLocation)
        let stop = page.node("//form[@method='post' and @action='\(stopAction)']//button[@id='stop-button']")
        #expect(stop != nil, "the stop button posts to \(stopAction)", sourceLocation: sourceLocation)
        #expect(stop?.has("disabled") == stopDisabled, sourceLocation: sourceLocation)
        #expect(stop?.text == stopLabel, sourceLocation: sourceLocation)
    }

    func chip(of page: HTMLPage) -> HTMLPage.Node? {
        page.node("//*[@id='run-status']/span[@class='chip']")
    }

    @Test func theEmptyScreenOffersRunWithStopDisabled() async throws {
        try await withServer(agents: TestAgents.all) { client, _ in
            let browser = try await BrowserSession.open(client)
            let page = try await browser.page("/")
            expectButtons(page, stopAction: "/", stopDisabled: true)
            #expect(page.count("//*[@id='progress-log']") == 0)
            #expect(page.node("//*[@role='main']") != nil)
            #expect(page.nodes("//ul[@class='agents']//span[@class='agent-name']").map(\.text) == ["one-call", "parent", "quick"])
            #expect(page.node("//p[@class='empty']")?.text.contains("No runs yet") == true)
            #expect(page.count("//script") == 1 && page.node("//script")?.attributes["src"]?.hasPrefix("/app.js") == true)
        }
    }

    @Test func anAgentsPageShowsItsTypedFields() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("screen-agents-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try
            #"{"name": "typed", "description": "All four field types.", "input": {"topic": "string", "notes": "text", "count": "number", "loud": "boolean"}, "steps": [{"return": "{{input.topic}}"}]}"#
            .write(to: folder.appendingPathComponent("typed.json"), atomically: true, encoding: .utf8)
        try await withServer(configuration: testConfiguration(agentsDirectory: folder.path)) { client, _ in
            let browser = try await BrowserSession.open(client)
            let page = try await browser.page("/?agent=typed")
            #expect(page.node("//h1")?.text == "typed")
            #expect(page.node("//input[@name='input[topic]' and @type='text']") != nil)
            #expect(page.node("//textarea[@name='input[notes]']") != nil)
            #expect(page.node("//input[@name='input[count]' and @type='number']") != nil)
            #expect(page.node("//input[@name='input[loud]' and @type='checkbox']") != nil)
            #expect(
                page.count("//form[@id='run-form']//input[starts-with(@name, 'input[')] | //form[@id='run-form']//textarea") == 4,
                "every field is inside the run form, so clients without the form attribute send it"
            )
            #expect(page.count("//*[@form]") == 0)
            #expect(page.node("//form[@id='run-form']//input[@name='agent']")?.attributes["value"] == "typed")
            _ = try await browser.page("/?agent=nobody", status: .notFound)
        }
    }

    @Test func theStopButtonFollowsTheRunFromRunningToStopped() async throws {
        let llm = GatedLLM()
        try await withServer(configuration: testConfiguration { $0.stopGrace = .seconds(3600) }, agents: TestAgents.all, llm: llm) {
            client,
            supervisor in
            let browser = try await BrowserSession.open(client)
            let post = try await browser.post("/runs", [("agent", "one-call")])
            #expect(post.status == .seeOther)
            let location = try #require(post.headers[.location])
            let id = RunID(stored: String(location.dropFirst("/runs/".count)))
            try await withTimeout { await llm.waitForCalls(1) }

            // Running: Stop enabled, blue chip, the page refreshes itself without JavaScript.
            let running = try await browser.page(location)
            expectButtons(running, stopAction: "/runs/\(id)/stop", stopDisabled: false)
            #expect(chip(of: running)?.attributes["data-status"] == "running")
            #expect(chip(of: running)?.text == "Running")
            #expect(running.count("/html/head/noscript/meta[@http-equiv='refresh']") == 1)
            #expect(running.node("//*[@id='current-step']")?.has("hidden") == false)
            #expect(running.node("//*[@id='progress-log']/li[contains(@class, 'in-flight')]")?.attributes["data-kind"] == "llm.started")

            // Stopping: disabled, with the words of DESIGN §5; no force before the grace period.
            let stop = try await browser.post("/runs/\(id)/stop", [])
            #expect(stop.status == .seeOther && stop.headers[.location] == "/runs/\(id)")
            let stopping = try await browser.page(location)
            expectButtons(stopping, stopAction: "/runs/\(id)/stop", stopDisabled: true, stopLabel: Self.stoppingLabel)
            #expect(chip(of: stopping)?.attributes["data-status"] == "stopping")
            #expect(stopping.node("//form[@id='force-form']")?.has("hidden") == true)

            // Stopped: gray chip with its label, Stop disabled, no refresh, the whole log.
            llm.openAll()
            _ = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            let stopped = try await browser.page(location)
            expectButtons(stopped, stopAction: "/runs/\(id)/stop", stopDisabled: true)
            #expect(chip(of: stopped)?.attributes["data-status"] == "stopped")
            #expect(chip(of: stopped)?.text == "Stopped")
            #expect(stopped.count("//noscript") == 0)
            let total = try await supervisor.allEvents(ofTree: id).count
            #expect(stopped.nodes("//*[@id='progress-log']/*[@data-seq]").map { $0.attributes["data-seq"] } == (1...total).map { String($0) })
            #expect(stopped.node("//a[@id='run-again']")?.attributes["href"] == "/?agent=one-call&from=\(id)")

            // A Stop posted after the end lands back on the page with a notice.
            let late = try await browser.post("/runs/\(id)/stop", [])
            #expect(late.status == .seeOther && late.headers[.location] == "/runs/\(id)?notice=finished")
            let noticed = try await browser.page("/runs/\(id)?notice=finished")
            #expect(noticed.node("//*[@id='notice']")?.text.contains("already finished") == true)
        }
    }

    @Test func forceStopIsOfferedOnceTheGracePeriodHasPassed() async throws {
        let llm = GatedLLM()
        try await withServer(configuration: testConfiguration { $0.stopGrace = .zero }, agents: TestAgents.all, llm: llm) { client, supervisor in
            let browser = try await BrowserSession.open(client)
            let id = try await client.startRun("one-call")
            try await withTimeout { await llm.waitForCalls(1) }
            _ = try await supervisor.stop(id)
            let page = try await browser.page("/runs/\(id)")
            let force = try #require(page.node("//form[@id='force-form' and @method='post' and @action='/runs/\(id)/stop?force=true']"))
            #expect(!force.has("hidden"))
            #expect(page.node("//button[@id='force-button']")?.text == "Force stop")
            let forced = try await browser.post("/runs/\(id)/stop?force=true", [])
            #expect(forced.status == .seeOther)
            #expect(try await supervisor.record(id)?.forced == true)
        }
    }

    @Test func succeededAndFailedRunsShowTheirResultOrError() async throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "the widget broke" } }
        let broken = AgentDescriptor.closure("broken") { _, _ in throw Broken() }
        try await withServer(agents: TestAgents.all + [broken], llm: SimulatedLLM(latency: .zero)) { client, supervisor in
            let browser = try await BrowserSession.open(client)
            let good = try await client.startRun("quick", input: #"{"topic": "owls"}"#)
            let bad = try await client.startRun("broken")
            _ = try await withTimeout { try await supervisor.waitUntilFinished(good) }
            _ = try await withTimeout { try await supervisor.waitUntilFinished(bad) }

            let succeeded = try await browser.page("/runs/\(good)")
            #expect(chip(of: succeeded)?.attributes["data-status"] == "succeeded")
            #expect(succeeded.node("//*[@id='run-result-text']")?.text == "done: owls")
            #expect(succeeded.node("//*[@id='run-error']")?.has("hidden") == true)

            let failed = try await browser.page("/runs/\(bad)")
            #expect(chip(of: failed)?.attributes["data-status"] == "failed" && chip(of: failed)?.text == "Failed")
            #expect(failed.node("//*[@id='run-error-text']")?.text == "the widget broke")
            expectButtons(failed, stopAction: "/runs/\(bad)/stop", stopDisabled: true)

            // Recent runs list both, each linking to its page, with its chip.
            let home = try await browser.page("/")
            let links = home.nodes("//ul[@class='recent']//a").compactMap { $0.attributes["href"] }
            #expect(links == ["/runs/\(bad)", "/runs/\(good)"])
            #expect(home.count("//ul[@class='recent']//span[@class='chip' and @data-status]") == 2)
            // Run again opens the form with the same input to edit.
            let again = try await browser.page("/?agent=quick&from=\(good)")
            #expect(again.node("//input[@name='input[topic]']")?.attributes["value"] == "owls")
        }
    }

    @Test func subRunsAreNestedUnderTheirParent() async throws {
        try await withServer(agents: TestAgents.all, llm: SimulatedLLM(latency: .zero)) { client, supervisor in
            let browser = try await BrowserSession.open(client)
            let id = try await client.startRun("parent")
            _ = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            let child = try #require(try await supervisor.subtree(of: id).last)
            let page = try await browser.page("/runs/\(id)")
            let childRows = page.nodes("//*[@id='progress-log']/li[@data-run-id='\(child.id)']")
            #expect(!childRows.isEmpty && childRows.allSatisfy { $0.attributes["class"]?.contains("depth-1") == true })
            #expect(page.nodes("//*[@id='progress-log']/li[@data-run-id='\(id)']").allSatisfy { $0.attributes["class"]?.contains("depth-0") == true })
            #expect(page.node("//*[@data-chip-for='\(child.id)']/span[@class='chip']")?.attributes["data-status"] == "succeeded")
            let childPage = try await browser.page("/runs/\(child.id)")
            #expect(childPage.node("//a[text()='parent run']")?.attributes["href"] == "/runs/\(id)")
        }
    }

    @Test func browserErrorsAreHTMLPagesWithAWayBack() async throws {
        try await withServer(agents: TestAgents.all) { client, _ in
            let browser = try await BrowserSession.open(client)
            for (uri, status) in [("/runs/\(RunID())", HTTPResponse.Status.notFound), ("/runs/not-an-id", .badRequest), ("/nowhere", .notFound)] {
                let page = try await browser.page(uri, status: status)
                #expect(page.node("//a[@class='button']")?.attributes["href"] == "/", "\(uri)")
                #expect(page.node("//h1") != nil)
            }
            let unknown = try await browser.post("/runs", [("agent", "nobody")])
            #expect(unknown.status == .unprocessableContent)
            let page = try checkedPage(unknown.text)
            #expect(page.node("//p[@class='error-message']")?.text == "no agent is named 'nobody'")
        }
    }

    @Test func badFormInputRerendersTheFormWithTheMessageAndTheValues() async throws {
        try await withServer(agents: TestAgents.all) { client, _ in
            let browser = try await BrowserSession.open(client)
            let response = try await browser.post("/runs", [("agent", "quick"), ("input[topic]", "   ")])
            #expect(response.status == .badRequest)
            let page = try checkedPage(response.text)
            #expect(page.node("//*[@id='form-error']")?.text == "input.topic is required")
            #expect(try await client.execute(uri: "/runs", method: .get).json()["runs"] == [])
        }
    }

    @Test func crossSiteProtection() async throws {
        let llm = GatedLLM()
        try await withServer(agents: TestAgents.all, llm: llm) { client, supervisor in
            let browser = try await BrowserSession.open(client)
            // A form post without the token, or with a wrong one: refused, nothing created.
            let wrong = (browser.token.first == "0" ? "1" : "0") + String(browser.token.dropFirst())
            for token in [String?.none, wrong] {
                let refused = try await browser.post("/runs", [("agent", "quick"), ("input[topic]", "x")], token: .some(token))
                #expect(refused.status == .forbidden)
                #expect(try checkedPage(refused.text).node("//p[@class='error-status']")?.text.contains("csrf_rejected") == true)
            }
            // A foreign Origin: refused even with the token, for forms and JSON alike.
            let foreign = try await browser.post("/runs", [("agent", "quick"), ("input[topic]", "x")], origin: "http://evil.example")
            #expect(foreign.status == .forbidden)
            let foreignJSON = try await client.postJSON(
                "/runs",
                #"{"agent": "quick", "input": {"topic": "x"}}"#,
                headers: [.origin: "http://evil.example"]
            )
            #expect(foreignJSON.status == .forbidden && foreignJSON.errorCode == "csrf_rejected")
            // text/plain (a cross-site form can send it) needs the token too.
            let plain = try await client.execute(
                uri: "/runs",
                method: .post,
                headers: [.contentType: "text/plain"],
                body: ByteBuffer(string: #"{"agent":"quick"}"#)
            )
            #expect(plain.status == .forbidden)
            #expect(try await client.execute(uri: "/runs", method: .get).json()["runs"] == [], "nothing was created")

            // With the token: 303 to the run. JSON without an Origin needs no token.
            let accepted = try await browser.post("/runs", [("agent", "one-call")])
            #expect(accepted.status == .seeOther)
            let id = RunID(stored: String(try #require(accepted.headers[.location]).dropFirst(6)))
            let stopWithoutToken = try await browser.post("/runs/\(id)/stop", [], token: .some(nil))
            #expect(stopWithoutToken.status == .forbidden)
            #expect(try await supervisor.record(id)?.status == .running, "the refused stop changed nothing")
            // The script's stop: no body, the token in X-CSRF-Token, same Origin.
            let scripted = try await client.execute(
                uri: "/runs/\(id)/stop",
                method: .post,
                headers: [.cookie: browser.cookie, HTTPField.Name("X-CSRF-Token")!: browser.token, .accept: "application/json"]
            )
            #expect(scripted.status == .accepted)
            llm.openAll()
            _ = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            let json = try await client.postJSON("/runs", #"{"agent": "quick", "input": {"topic": "x"}}"#)
            #expect(json.status == .accepted)
        }
    }

    @Test func pagesCarryTheSecurityHeadersAndAssetsAreCached() async throws {
        try await withServer(agents: TestAgents.all) { client, _ in
            let browser = try await BrowserSession.open(client)
            let page = try await browser.get("/")
            let policy = try #require(page.headers[.contentSecurityPolicy])
            #expect(policy.contains("script-src 'self'") && policy.contains("style-src 'self'") && !policy.contains("unsafe-inline"))
            #expect(page.headers[HTTPField.Name("Referrer-Policy")!] == "same-origin")
            #expect(page.headers[.vary] == "Accept")
            for asset in ["/app.css", "/app.js"] {
                let response = try await client.execute(uri: asset, method: .get)
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl]?.contains("max-age=86400") == true)
            }
            #expect(!page.text.contains("<style") && !page.text.contains(" style=") && !page.text.contains("onclick"))
        }
    }

    @Test func userTextAndLLMOutputAreEscaped() async throws {
        let hostile = #"<script>alert("x")</script> "quoted" 'single' "><img src=x onerror=alert(1)> & done"#
        let echo = AgentDescriptor(name: "echo", description: "Echoes <b>bold</b> claims.", input: [InputField(name: "topic", type: .string)]) {
            ClosureAgent { input, tools in
                let answer = try await tools.llm.complete(input["topic"]?.text ?? "")
                try await tools.log("logged: " + answer)
                return .string(answer)
            }
        }
        struct Parrot: LLMClient {
            let provider = "parrot"
            let defaultModel = "parrot"
            func complete(_ request: LLMRequest) async throws -> LLMResponse {
                LLMResponse(text: request.messages.last?.content ?? "", model: "parrot")
            }
        }
        try await withServer(agents: [echo], llm: Parrot()) { client, supervisor in
            let browser = try await BrowserSession.open(client)
            let post = try await browser.post("/runs", [("agent", "echo"), ("input[topic]", hostile)])
            let id = RunID(stored: String(try #require(post.headers[.location]).dropFirst(6)))
            _ = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            let page = try await browser.page("/runs/\(id)")
            #expect(page.count("//script") == 1, "only the app's own script")
            #expect(page.count("//img") == 0)
            #expect(page.count("//*[@onerror]") == 0)
            #expect(page.node("//*[@id='run-result-text']")?.text == hostile)
            #expect(page.node("//dl[@class='input']/dd")?.text == hostile)
            #expect(page.node("//input[@name='input[topic]']")?.attributes["value"] == hostile)
            #expect(page.nodes("//*[@id='progress-log']//span[@class='message']").contains { $0.text == "logged: " + hostile })
            #expect(page.nodes("//*[@id='progress-log']//pre[@class='detail']").contains { $0.text == hostile })
            #expect(page.node("//span[@class='agent-description']")?.text == "Echoes <b>bold</b> claims.")
            #expect(page.count("//b") == 0)
        }
    }
}
