import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TetherCore
import TetherRuntime
import TetherSQLite
import TetherTestSupport

/// History at any size: listing pages, filters, bulk stop, stop-and-wait, the data-store view.
@Suite struct HistoryTests {
    enum Backend: String, CaseIterable { case memory, sqlite }

    /// A store seeded with `count` finished root runs (three per creation time, so that the
    /// id breaks ties), inserted directly rather than through the API.
    func seeded(_ backend: Backend, count: Int, base: Date) async throws -> (any RunStore, any DataStore, [RunID]) {
        var runs: [RunRecord] = []
        for index in 0..<count {
            let id = RunID()
            let status: RunStatus = index % 5 == 0 ? .failed : .succeeded
            runs.append(
                RunRecord(
                    id: id,
                    agent: index % 3 == 0 ? "quick" : "one-call",
                    input: [:],
                    status: status,
                    rootRunID: id,
                    createdAt: base.addingTimeInterval(Double(index / 3)),
                    finishedAt: base
                )
            )
        }
        switch backend {
        case .memory:
            let store = MemoryRunStore()
            for run in runs { try await store.insertRun(run) }
            return (store, MemoryDataStore(), runs.map { $0.id })
        case .sqlite:
            let database = try SQLiteDatabase.open(directory: FileManager.default.temporaryDirectory.appendingPathComponent("hist-\(UUID())").path)
            let store = SQLiteRunStore(database: database)
            try await store.insertRuns(runs)
            return (store, SQLiteDataStore(database: database), runs.map { $0.id })
        }
    }

    @Test(arguments: Backend.allCases)
    func pagingThroughTenThousandRunsWhileNewOnesArriveMissesAndRepeatsNothing(backend: Backend) async throws {
        let base = Date().addingTimeInterval(-100_000)
        let (runStore, dataStore, ids) = try await seeded(backend, count: 10_000, base: base)
        try await withServer(agents: TestAgents.all, storage: .custom(runStore: runStore, dataStore: dataStore)) { client, _ in
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let uri = "/runs?limit=500" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await client.execute(uri: uri, method: .get).json()
                seen += page["runs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
                cursor = page["next"]?.stringValue
                pages += 1
                // A new run arrives between pages: it sorts before the cursor.
                let fresh = RunRecord(id: RunID(), agent: "quick", input: [:], rootRunID: RunID(), createdAt: Date())
                var root = fresh
                root.rootRunID = fresh.id
                try await runStore.insertRun(root)
            } while cursor != nil && pages < 100
            #expect(pages == 20, "20 full pages; the last one says there is no next")
            #expect(seen.count == 10_000 && Set(seen).count == 10_000, "no run repeated")
            #expect(Set(seen) == Set(ids.map(\.rawValue)), "no run missed, none of the late ones mixed in")
            #expect(seen.first == ids.last?.rawValue, "newest first")
        }
    }

    @Test func filtersCombineAndChildRunsAppearWhenFilteredFor() async throws {
        try await withServer(agents: TestAgents.all, llm: SimulatedLLM(latency: .zero)) { client, supervisor in
            var parents: [RunID] = []
            for _ in 0..<2 {
                let id = try await client.startRun("parent")
                _ = try await withTimeout { try await supervisor.waitUntilFinished(id) }
                parents.append(id)
            }
            let quick = try await client.startRun("quick", input: #"{"topic": "x"}"#)
            _ = try await withTimeout { try await supervisor.waitUntilFinished(quick) }
            let all = try await client.execute(uri: "/runs", method: .get).json()["runs"]?.arrayValue ?? []
            #expect(all.count == 3, "roots only: child runs are listed under their root")
            let children = try await client.execute(uri: "/runs?agent=one-call", method: .get).json()["runs"]?.arrayValue ?? []
            #expect(children.count == 2 && children.allSatisfy { $0["parentRunId"] != .null })
            let both = try await client.execute(uri: "/runs?agent=parent&status=succeeded&limit=1", method: .get).json()
            #expect(both["runs"]?.arrayValue?.map { $0["id"] } == [.string(parents[1].rawValue)])
            let next = try #require(both["next"]?.stringValue)
            let second = try await client.execute(uri: "/runs?agent=parent&status=succeeded&limit=1&cursor=\(next)", method: .get).json()
            #expect(second["runs"]?.arrayValue?.map { $0["id"] } == [.string(parents[0].rawValue)])
            #expect(try await client.execute(uri: "/runs?agent=parent&status=failed", method: .get).json()["runs"] == [])
        }
    }

    @Test func bulkStopStopsEveryMatchingRunAndNothingElse() async throws {
        let llm = GatedLLM()
        try await withServer(agents: TestAgents.all, llm: llm) { client, supervisor in
            var targets: [RunID] = []
            for _ in 0..<50 { targets.append(try await client.startRun("one-call")) }
            let bystander = try await client.startRun("quick", input: #"{"topic": "spared"}"#)
            try await withTimeout { await llm.waitForCalls(50) }
            let response = try await client.execute(uri: "/runs/stop?agent=one-call&status=running", method: .post)
            #expect(response.status == .accepted)
            let body = try response.json()
            #expect(body["count"] == 50)
            #expect(Set(body["runIds"]?.arrayValue?.compactMap(\.stringValue) ?? []) == Set(targets.map(\.rawValue)))
            llm.openAll()
            for id in targets {
                #expect(try await withTimeout { try await supervisor.waitUntilFinished(id) }.status == .stopped)
            }
            #expect(try await withTimeout { try await supervisor.waitUntilFinished(bystander) }.status == .succeeded)
            #expect(llm.state.calls.count == 50, "no run made a second call")
            let bad = try await client.execute(uri: "/runs/stop?status=succeeded", method: .post)
            #expect(bad.status == .badRequest)
        }
    }

    @Test func theScreensBulkStopAsksForConfirmationFirst() async throws {
        let llm = GatedLLM()
        try await withServer(agents: TestAgents.all, llm: llm) { client, supervisor in
            let browser = try await BrowserSession.open(client)
            let first = try await client.startRun("one-call")
            let second = try await client.startRun("one-call")
            try await withTimeout { await llm.waitForCalls(2) }
            let composer = try await browser.page("/?agent=one-call")
            #expect(composer.node("//p[@class='stop-all']/a")?.attributes["href"] == "/runs/stop?agent=one-call")
            let confirm = try await browser.page("/runs/stop?agent=one-call")
            #expect(confirm.count("//ul[@class='recent']/li") == 2)
            #expect(confirm.node("//form[@method='post' and @action='/runs/stop?agent=one-call']//button[@id='confirm-stop-button']") != nil)
            #expect(try await supervisor.record(first)?.status == .running, "showing the confirmation stops nothing")
            let posted = try await browser.post("/runs/stop?agent=one-call", [])
            #expect(posted.status == .seeOther && posted.headers[.location] == "/runs?agent=one-call&stopped=2")
            let history = try await browser.page("/runs?agent=one-call&stopped=2")
            #expect(history.node("//*[@id='notice']")?.text == "Asked 2 runs to stop.")
            llm.openAll()
            for id in [first, second] {
                #expect(try await withTimeout { try await supervisor.waitUntilFinished(id) }.status == .stopped)
            }
        }
    }

    @Test func stopAndWaitAnswersOnceTheRunEndsOrWhenTheWaitRunsOut() async throws {
        let llm = GatedLLM()
        try await withServer(agents: TestAgents.all, llm: llm) { client, supervisor in
            let id = try await client.startRun("one-call")
            try await withTimeout { await llm.waitForCalls(1) }
            // The wait runs out while the call is still held: 202 with the status then.
            let early = try await client.execute(uri: "/runs/\(id)/stop?wait=0.2", method: .post)
            let earlyBody = try early.json()
            #expect(early.status == .accepted && earlyBody["status"] == "stopping")
            llm.open(0)
            _ = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            // The run ends within the wait: 200 with the final status. The gate opens only
            // once this request's stop is logged, so the request is waiting by then.
            let second = try await client.startRun("one-call")
            try await withTimeout { await llm.waitForCalls(2) }
            async let late = client.execute(uri: "/runs/\(second)/stop?wait=60", method: .post)
            _ = try await withTimeout { try await supervisor.waitForEvent(inTree: second) { $0.kind == .stopRequested } }
            llm.open(1)
            let answer = try await late
            let answerBody = try answer.json()
            #expect(answer.status == .ok && answerBody["status"] == "stopped")
            for value in ["-1", "301", "soon"] {
                #expect(try await client.execute(uri: "/runs/\(id)/stop?wait=\(value)", method: .post).status == .badRequest)
            }
            _ = supervisor
        }
    }

    @Test func theHistoryPageFiltersAndPagesWithPlainLinks() async throws {
        let base = Date().addingTimeInterval(-1000)
        let (runStore, dataStore, ids) = try await seeded(.memory, count: 120, base: base)
        try await withServer(agents: TestAgents.all, storage: .custom(runStore: runStore, dataStore: dataStore)) { client, _ in
            let browser = try await BrowserSession.open(client)
            let first = try await browser.page("/runs?agent=one-call&limit=25")
            #expect(first.count("//ul[@id='history-list']/li") == 25)
            #expect(first.node("//select[@name='agent']/option[@selected]")?.attributes["value"] == "one-call")
            let older = try #require(first.node("//a[@id='older-runs']")?.attributes["href"])
            #expect(older.hasPrefix("/runs?agent=one-call&limit=25&cursor="))
            let second = try await browser.page(older)
            let firstIDs = first.nodes("//ul[@id='history-list']/li/a").compactMap { $0.attributes["title"] }
            let secondIDs = second.nodes("//ul[@id='history-list']/li/a").compactMap { $0.attributes["title"] }
            #expect(Set(firstIDs).isDisjoint(with: secondIDs) && secondIDs.count == 25)
            let failed = try await browser.page("/runs?status=failed")
            #expect(failed.node("//a[contains(@class, 'selected')]")?.text == "Failed")
            #expect(failed.nodes("//ul[@id='history-list']//span[@class='chip']").allSatisfy { $0.attributes["data-status"] == "failed" })
            #expect(failed.count("//ul[@id='history-list']/li") == ids.indices.filter { $0 % 5 == 0 }.count)
            _ = try await browser.page("/runs?status=weird", status: .badRequest)
        }
    }

    @Test func theDataStoreViewListsNamespacesKeysAndWholeValues() async throws {
        let dataStore = MemoryDataStore()
        let long = String(repeating: "long value ", count: 50) + "<script>alert(1)</script>"
        try await dataStore.setValue(long, for: StoreKey(parsing: "brief/intro"))
        try await dataStore.setValue("<b>short</b> & \"quoted\"", for: StoreKey(parsing: "brief/a b/c"))
        try await dataStore.setValue("x", for: StoreKey(parsing: "plain"))
        try await withServer(agents: TestAgents.all, storage: .custom(runStore: MemoryRunStore(), dataStore: dataStore)) { client, _ in
            let json = try await client.execute(uri: "/store", method: .get).json()
            #expect(json.arrayValue?.compactMap { $0["namespace"]?.stringValue } == ["brief", "default"])
            #expect(json.arrayValue?.first?["keys"] == 2)
            let keys = try await client.execute(uri: "/store/brief", method: .get).json()
            #expect(keys["entries"]?.arrayValue?.compactMap { $0["key"]?.stringValue } == ["a b/c", "intro"])
            #expect(keys["entries"]?.arrayValue?.last?["bytes"] == .number(Double(long.utf8.count)))
            let whole = try await client.execute(uri: "/store/brief?key=intro", method: .get).json()
            #expect(whole["value"] == .string(long))
            #expect(try await client.execute(uri: "/store/nothing", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/store/brief?key=missing", method: .get).status == .notFound)

            let browser = try await BrowserSession.open(client)
            let overview = try await browser.page("/store")
            #expect(overview.nodes("//table//a").map(\.text) == ["brief", "default"])
            let namespace = try await browser.page("/store/brief")
            #expect(namespace.count("//script") == 0, "values add no element (the store pages load no script)")
            #expect(namespace.count("//b") == 0)
            let previews = namespace.nodes("//span[@class='preview']").map(\.text)
            #expect(previews.contains("<b>short</b> & \"quoted\""))
            #expect(previews.contains { $0.hasSuffix("…") && $0.count == 160 }, "long values are truncated")
            let link = try #require(namespace.nodes("//td/a").first { $0.text == "whole value" }?.attributes["href"])
            #expect(link == "/store/brief?key=intro")
            let value = try await browser.page(link)
            #expect(value.node("//pre[@id='store-value']")?.text == long)
            #expect(value.count("//script") == 0)
            let spaced = try await browser.page("/store/brief?key=a%20b%2Fc")
            #expect(spaced.node("//pre[@id='store-value']")?.text == "<b>short</b> & \"quoted\"")
        }
    }
}
