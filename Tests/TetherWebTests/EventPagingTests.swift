import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import TetherApp
import TetherCore
import TetherRuntime
import TetherTestSupport

/// `GET /runs/{id}` pages its events (issue 14): `?after=&limit=`, the first 1,000 by
/// default, with `nextEvents` (and a `Link` header) to the next page.
@Suite struct EventPagingTests {
    static func chatty(_ lines: Int) -> AgentDescriptor {
        .closure("chatty") { _, tools in
            for index in 1...lines { try await tools.log("line \(index)") }
            return "done"
        }
    }

    /// The `seq` of each event of a `GET /runs/{id}` body.
    static func eventSeqs(of body: JSONValue) -> [Int] {
        body["events"]?.arrayValue?.compactMap { event -> Int? in
            if case .number(let seq)? = event["seq"] { return Int(seq) }
            return nil
        } ?? []
    }

    /// Follows `nextEvents` from `path` to the end; every page's events, in order.
    static func allPages(_ client: some TestClientProtocol, from path: String) async throws -> (pages: Int, seqs: [Int]) {
        var next: String? = path
        var seqs: [Int] = []
        var pages = 0
        while let path = next {
            let response = try await client.execute(uri: path, method: .get)
            #expect(response.status == .ok)
            let body = try response.json()
            seqs += Self.eventSeqs(of: body)
            next = body["nextEvents"]?.stringValue
            #expect(response.headers[HTTPField.Name("Link")!] == next.map { "<\($0)>; rel=\"next\"" })
            pages += 1
        }
        return (pages, seqs)
    }

    @Test func aLongLogIsPagedAndEveryPageFollowsOnWithoutGapOrRepeat() async throws {
        let lines = 100_000
        try await withServer(agents: [Self.chatty(lines)]) { client, supervisor in
            let run = try await supervisor.start(agent: "chatty", input: [:])
            let final = try await withTimeout(seconds: 300) { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .succeeded)
            let total = try await supervisor.reads.lastSeq(ofTree: run.id)
            #expect(total == lines + 2, "run.started, the lines, run.finished")

            let first = try await client.execute(uri: "/runs/\(run.id)", method: .get)
            let firstBody = try first.json()
            #expect(firstBody["events"]?.arrayValue?.count == 1_000, "the first 1,000 by default")
            #expect(firstBody["nextEvents"] == .string("/runs/\(run.id)?after=1000&limit=1000"))

            let paged = try await Self.allPages(client, from: "/runs/\(run.id)?limit=10000")
            #expect(paged.pages == 11)
            #expect(paged.seqs == Array(1...total))
        }
    }

    @Test func aChildsPagesHoldOnlyItsSubtreesEvents() async throws {
        let child = Self.chatty(30)
        let parent = AgentDescriptor.closure("parent") { _, tools in
            for index in 1...20 { try await tools.log("parent \(index)") }
            _ = try await tools.agents.call("chatty", input: [:])
            return "done"
        }
        try await withServer(agents: [child, parent]) { client, supervisor in
            let run = try await supervisor.start(agent: "parent", input: [:])
            _ = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            let childID = try #require(try await supervisor.runs(inTree: run.id).first { $0.agent == "chatty" }?.id)
            let expected = try await supervisor.allEvents(ofTree: run.id).filter { $0.runID == childID }.map(\.seq)
            let paged = try await Self.allPages(client, from: "/runs/\(childID)?limit=7")
            #expect(paged.seqs == expected)
            #expect(paged.pages == (expected.count + 6) / 7)
        }
    }

    @Test(arguments: ["after=-1", "after=x", "limit=0", "limit=10001", "limit=1.5"])
    func aBadPageIsA400(query: String) async throws {
        try await withServer(agents: [Self.chatty(3)]) { client, supervisor in
            let run = try await supervisor.start(agent: "chatty", input: [:])
            let response = try await client.execute(uri: "/runs/\(run.id)?\(query)", method: .get)
            #expect(response.status == .badRequest, "\(query)")
            #expect(response.errorCode == "bad_request")
        }
    }

    @Test func pagesPastTheEndAreEmpty() async throws {
        try await withServer(agents: [Self.chatty(3)]) { client, supervisor in
            let run = try await supervisor.start(agent: "chatty", input: [:])
            _ = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            let body = try await client.execute(uri: "/runs/\(run.id)?after=99", method: .get).json()
            #expect(body["events"] == [])
            #expect(body["nextEvents"] == .null)
        }
    }
}

extension EventPagingTests {
    @Test func theRunPageShowsOnePageOfALongLogWithALinkToTheNext() async throws {
        try await withServer(agents: [Self.chatty(2_500)]) { client, supervisor in
            let run = try await supervisor.start(agent: "chatty", input: [:])
            _ = try await withTimeout(seconds: 120) { try await supervisor.waitUntilFinished(run.id) }
            let browser = try await BrowserSession.open(client)
            let first = try await browser.page("/runs/\(run.id)")
            #expect(first.count("//ol[@id='progress-log']/li") == 1_000)
            let later = try #require(first.node("//a[@id='later-events']")?.attributes["href"])
            #expect(later == "/runs/\(run.id)?after=1000&limit=1000")
            let second = try await browser.page(later)
            #expect(second.node("//ol[@id='progress-log']/li[1]")?.attributes["data-seq"] == "1001")
            #expect(second.count("//ol[@id='progress-log']/li") == 1_000)
            let third = try await browser.page(try #require(second.node("//a[@id='later-events']")?.attributes["href"]))
            #expect(third.count("//ol[@id='progress-log']/li") == 502)
            #expect(third.node("//a[@id='later-events']") == nil, "the last page links nowhere")
        }
    }
}

/// The bounded window (issue 14): a live tree keeps at most twice
/// ``TetherRuntime/EventLog/defaultWindowSize`` events in memory however long its log, and
/// readers behind the window get the older ones from the store, with no gap or repeat.
extension EventPagingTests {
    @Test func aLiveTreeOfAHundredThousandEventsHoldsABoundedWindowAndStreamsAndPagesInFull() async throws {
        let lines = 100_000
        let released = Condition(false)
        let endless = AgentDescriptor.closure("endless") { _, tools in
            for index in 1...lines { try await tools.log("line \(index)") }
            await released.wait { $0 }
            return "done"
        }
        try await withLiveServer(agents: [endless]) { server, supervisor in
            let id = try await server.startRun("endless")
            // Attached from the start, reading along while the lines are logged.
            let early = Task { try await Self.progressSeqs(server, "/runs/\(id)/events") }
            _ = try await withTimeout(seconds: 300) {
                try await supervisor.waitForEvent(inTree: id, where: { $0.seq == lines + 1 })
            }
            let log = try #require(supervisor.eventHub.log(of: id), "the tree is still live")
            #expect(log.lastSeq == lines + 1)
            #expect(log.windowCount <= 2 * EventLog.defaultWindowSize, "memory held: \(log.windowCount) events")

            // Paged while live: the early pages left the window long ago.
            var seqs: [Int] = []
            var next: String? = "/runs/\(id)?limit=10000"
            while let path = next {
                let body = try await server.getJSON(path)
                seqs += Self.eventSeqs(of: body)
                next = body["nextEvents"]?.stringValue
            }
            #expect(seqs == Array(1...(lines + 1)), "every page follows on, none missing")

            // Attached late, from the very start: replayed from the store, then the window.
            let late = Task { try await Self.progressSeqs(server, "/runs/\(id)/events?after=0") }
            released.update { $0 = true }
            let final = try await withTimeout(seconds: 120) { try await supervisor.waitUntilFinished(id) }
            #expect(final.status == .succeeded)
            let total = lines + 2
            for (name, reader) in [("early", early), ("late", late)] {
                let streamed = try await withTimeout(seconds: 300) { try await reader.value }
                #expect(streamed.count == total, "\(name) subscriber")
                #expect(streamed == Array(1...total), "\(name) subscriber: in order, no gap, no repeat")
            }
        }
    }

    /// The `seq` of every `progress` frame of the stream at `path`, read until `done`.
    static func progressSeqs(_ server: LiveServer, _ path: String) async throws -> [Int] {
        var reader = SSEReader(try await server.get(path, timeout: .seconds(600)))
        var seqs: [Int] = []
        while let frame = try await reader.next(), frame.event != "done" {
            if frame.event == "progress", let seq = frame.id.flatMap({ Int($0) }) { seqs.append(seq) }
        }
        return seqs
    }
}
