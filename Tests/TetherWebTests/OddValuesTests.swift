import Foundation
import GRDB
import HummingbirdTesting
import Testing
import TetherApp
import TetherCore
import TetherRuntime
import TetherSQLite
import TetherTestSupport

/// Values JSON cannot hold, and rows the store cannot read, never break the server
/// (issue 12): a number that is not finite is written as `null`; an unreadable row is
/// skipped in lists and reported on its own page.
@Suite struct OddValuesTests {
    /// Logs and returns numbers JSON has no notation for.
    static let infinite = AgentDescriptor.closure("infinite") { _, tools in
        try await tools.log("dividing by zero", data: ["ratio": .number(1 / 0.0), "nan": .number(.nan)])
        return ["total": .number(-1 / 0.0), "fine": 2]
    }

    static func sqlite() throws -> (SQLiteDatabase, Storage) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tether-\(UUID())").path
        let database = try SQLiteDatabase.open(directory: folder)
        return (database, .custom(runStore: SQLiteRunStore(database: database), dataStore: SQLiteDataStore(database: database)))
    }

    /// Logs, stores and returns text holding U+0000.
    static let nul = AgentDescriptor.closure("nul") { input, tools in
        let text = input["text"]?.stringValue ?? ""
        try await tools.log("got \(text)")
        try await tools.store.set("odd/nul", to: text)
        return .string(try await tools.store.get("odd/nul") ?? "missing")
    }

    @Test func textHoldingANulIsKeptAndPagesShowTheReplacementCharacter() async throws {
        let (_, storage) = try Self.sqlite()
        try await withServer(agents: [Self.nul], storage: storage) { client, supervisor in
            let id = try await client.startRun("nul", input: #"{"text": "a\u0000b"}"#)
            let final = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            #expect(final.status == .succeeded, "\(final.error ?? "")")
            #expect(final.result == "a\u{0}b", "stored and read back whole")
            let detail = try await client.execute(uri: "/runs/\(id)", method: .get)
            let log = try #require(try detail.json()["events"]?.arrayValue?.first { $0["kind"] == "log" })
            #expect(log["message"] == "got a\u{FFFD}b")
            let browser = try await BrowserSession.open(client)
            let page = try await browser.page("/runs/\(id)")
            #expect(page.node("/html/body")?.text.contains("a\u{FFFD}b") == true, "the input and the log line show U+FFFD")
        }
    }

    @Test func aNumberThatIsNotFiniteIsWrittenAsNullEverywhere() async throws {
        let (_, storage) = try Self.sqlite()
        try await withServer(agents: [Self.infinite], storage: storage) { client, supervisor in
            let id = try await client.startRun("infinite")
            let final = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            #expect(final.status == .succeeded, "nothing failed: \(final.error ?? "")")
            #expect(final.result == ["total": nil, "fine": 2])

            let list = try await client.execute(uri: "/runs", method: .get)
            #expect(list.status == .ok)
            #expect(try list.json()["runs"]?.arrayValue?.first?["result"] == ["total": nil, "fine": 2])

            let detail = try await client.execute(uri: "/runs/\(id)", method: .get)
            #expect(detail.status == .ok)
            let log = try #require(try detail.json()["events"]?.arrayValue?.first { $0["kind"] == "log" })
            #expect(log["data"] == ["ratio": nil, "nan": nil])

            let stream = try await client.execute(uri: "/runs/\(id)/events", method: .get)
            let done = SSEFrame.parse(stream.text).ofEvent("done").first?.json
            #expect(done?["status"] == "succeeded" && done?["result"] == ["total": nil, "fine": 2])

            let browser = try await BrowserSession.open(client)
            _ = try await browser.page("/runs/\(id)")
        }
    }

    @Test func aRowTheStoreCannotReadIsSkippedInListsAndNamedOnItsPage() async throws {
        let (database, storage) = try Self.sqlite()
        let broken = RunID()
        try await withServer(agents: TestAgents.all, storage: storage) { client, supervisor in
            let good = try await client.startRun("quick", input: #"{"topic": "owls"}"#)
            _ = try await withTimeout { try await supervisor.waitUntilFinished(good) }
            try await database.pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO runs (id, agent, input, status, parent_run_id, root_run_id, depth, created_at, forced)
                        VALUES (?, 'quick', 'not json', 'succeeded', NULL, ?, 0, ?, 0)
                        """,
                    arguments: [broken.rawValue, broken.rawValue, Date().timeIntervalSinceReferenceDate]
                )
            }
            let list = try await client.execute(uri: "/runs", method: .get)
            #expect(list.status == .ok)
            #expect(try list.json()["runs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [good.rawValue])

            let detail = try await client.execute(uri: "/runs/\(broken)", method: .get)
            #expect(detail.status == .unprocessableContent)
            #expect(detail.errorCode == "unreadable_record")

            let browser = try await BrowserSession.open(client)
            let screen = try await browser.page("/runs")
            #expect(screen.count("//*[@data-chip-for='\(good)']") >= 1)
            let page = try await browser.page("/runs/\(broken)", status: .unprocessableContent)
            #expect(page.node("//body")?.text.contains("cannot be read") == true)

            let stop = try await client.execute(uri: "/runs/\(broken)/stop", method: .post)
            #expect(stop.status == .unprocessableContent)
        }
    }
}
