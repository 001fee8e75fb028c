import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TetherCore
import TetherRuntime
import TetherTestSupport
import TetherWeb

@Suite struct APIRoutesTests {
    @Test func healthzAnswersOK() async throws {
        try await withServer { client, _ in
            let response = try await client.execute(uri: "/healthz", method: .get)
            #expect(response.status == .ok)
            let body = try response.json()
            #expect(body["status"] == "ok")
            #expect(body["database"] == ["kind": "memory", "ok": true])
            #expect(body["instance"]?.stringValue?.isEmpty == false, "the instance is named")
        }
    }

    @Test func agentsListsNamesDescriptionsAndOrderedFields() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("agents-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try
            #"{"name": "ordered", "description": "Fields in file order.", "input": {"zeta": "string", "alpha": "number", "mid": "boolean"}, "steps": [{"return": "x"}]}"#
            .write(to: folder.appendingPathComponent("ordered.json"), atomically: true, encoding: .utf8)
        try await withServer(configuration: testConfiguration(agentsDirectory: folder.path), agents: [TestAgents.oneCall]) { client, _ in
            let response = try await client.execute(uri: "/agents", method: .get)
            #expect(response.status == .ok)
            let agents = try #require(try response.json().arrayValue)
            #expect(agents.map { $0["name"] } == ["one-call", "ordered"])
            #expect(agents[1]["description"] == "Fields in file order.")
            #expect(
                agents[1]["input"] == [
                    ["name": "zeta", "type": "string"], ["name": "alpha", "type": "number"], ["name": "mid", "type": "boolean"],
                ]
            )
            #expect(agents[0]["input"] == .null)
        }
    }

    @Test func startingARunAnswers202WithLinks() async throws {
        try await withServer(agents: TestAgents.all) { client, supervisor in
            let response = try await client.postJSON("/runs", #"{"agent": "quick", "input": {"topic": "owls"}}"#)
            #expect(response.status == .accepted)
            #expect(response.headers[.vary] == "Accept")
            let body = try response.json()
            let id = try #require(body["runId"]?.stringValue)
            #expect(body["status"] == "running")
            #expect(body["links"] == ["self": .string("/runs/\(id)"), "events": .string("/runs/\(id)/events"), "stop": .string("/runs/\(id)/stop")])
            #expect(response.headers[.location] == "/runs/\(id)")
            let final = try await withTimeout { try await supervisor.waitUntilFinished(RunID(stored: id)) }
            #expect(final.status == .succeeded && final.result == "done: owls")
        }
    }

    static let badStarts: [(String, String, HTTPResponse.Status, String)] = [
        ("malformed JSON", #"{"agent": "quick","#, .badRequest, "bad_request"),
        ("not an object", #"["quick"]"#, .badRequest, "bad_request"),
        ("agent missing", #"{"input": {}}"#, .badRequest, "bad_request"),
        ("agent not text", #"{"agent": 7}"#, .badRequest, "bad_request"),
        ("input not an object", #"{"agent": "quick", "input": "owls"}"#, .badRequest, "bad_request"),
        ("field of the wrong type", #"{"agent": "quick", "input": {"topic": 3}}"#, .badRequest, "bad_request"),
        ("field missing", #"{"agent": "quick", "input": {}}"#, .badRequest, "bad_request"),
        ("unknown field", #"{"agent": "quick", "input": {"topic": "a", "x": 1}}"#, .badRequest, "bad_request"),
        ("unknown agent", #"{"agent": "nobody"}"#, .unprocessableContent, "unknown_agent"),
        (
            "oversized", #"{"agent": "quick", "input": {"topic": ""# + String(repeating: "a", count: 1 << 20) + #""}}"#, .contentTooLarge,
            "payload_too_large"
        ),
        (
            // At the top level an unknown member is ignored: only the depth limit refuses this.
            "nested too deep",
            #"{"agent": "quick", "input": {"topic": "a"}, "x": "# + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "}",
            .badRequest, "bad_request"
        ),
        (
            "too many members",
            #"{"agent": "quick", "input": {"topic": "a"}, "x": ["# + Array(repeating: "0", count: 10_001).joined(separator: ",") + "]}",
            .badRequest, "bad_request"
        ),
    ]

    @Test(arguments: Self.badStarts)
    func badInputGetsAClearErrorAndCreatesNothing(_ label: String, body: String, status: HTTPResponse.Status, code: String) async throws {
        try await withServer(agents: TestAgents.all) { client, _ in
            let response = try await client.postJSON("/runs", body)
            #expect(response.status == status, "\(label)")
            #expect(response.errorCode == code, "\(label)")
            #expect((try response.json())["error"]?["message"]?.stringValue?.isEmpty == false)
            let list = try await client.execute(uri: "/runs", method: .get)
            #expect(try list.json()["runs"] == [], "\(label): no run was created")
        }
    }

    @Test func aJSONBodyPastItsDepthOrSizeIsToldWhichLimit() async throws {
        let deep = #"{"agent": "quick", "input": "# + String(repeating: "[", count: 65) + String(repeating: "]", count: 65) + "}"
        let wide = "[" + Array(repeating: "0", count: 10_001).joined(separator: ",") + "]"
        let justUnder =
            #"{"agent": "quick", "input": {"topic": "a", "padding": ["# + Array(repeating: "0", count: 9_990).joined(separator: ",") + "]}}"
        try await withServer(agents: TestAgents.all) { client, _ in
            let deepAnswer = try await client.postJSON("/runs", deep)
            #expect(deepAnswer.status == .badRequest)
            #expect(try deepAnswer.json()["error"]?["message"]?.stringValue?.contains("nested deeper than 64 levels") == true)
            let wideAnswer = try await client.postJSON("/runs", wide)
            #expect(wideAnswer.status == .badRequest)
            #expect(try wideAnswer.json()["error"]?["message"]?.stringValue?.contains("more than 10000 members and items") == true)
            // Under the limit the body is read, and refused only for what it says.
            let underAnswer = try await client.postJSON("/runs", justUnder)
            #expect(underAnswer.status == .badRequest)
            #expect(try underAnswer.json()["error"]?["message"]?.stringValue?.contains("padding is not a field") == true)
        }
    }

    @Test(arguments: ["csrf[x]=1", "csrf[]=1&agent=quick", "agent[x]=1&csrf[y][z]=2"])
    func aFormFieldOfTheWrongShapeIsA400(body: String) async throws {
        try await withServer(agents: TestAgents.all) { client, _ in
            let response = try await client.execute(
                uri: "/runs",
                method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: body)
            )
            #expect(response.status == .badRequest, "\(body)")
            #expect(response.errorCode == "bad_request", "\(body)")
        }
    }

    @Test func aFormTypeBodyIsNotTakenAsJSON() async throws {
        try await withServer(agents: TestAgents.all) { client, _ in
            // text/plain is what a cross-site form can send: without a CSRF token it is refused.
            let response = try await client.execute(
                uri: "/runs",
                method: .post,
                headers: [.contentType: "text/plain"],
                body: ByteBuffer(string: #"{"agent": "quick", "input": {"topic": "a"}}"#)
            )
            #expect(response.status == .forbidden && response.errorCode == "csrf_rejected")
            let xml = try await client.execute(
                uri: "/runs",
                method: .post,
                headers: [.contentType: "application/xml"],
                body: ByteBuffer(string: "<run/>")
            )
            #expect(xml.status == .badRequest && xml.errorCode == "bad_request")
            #expect(try await client.execute(uri: "/runs", method: .get).json()["runs"] == [])
        }
    }

    @Test func tooManyRunsAnswers429() async throws {
        let llm = GatedLLM()
        try await withServer(configuration: testConfiguration { $0.maxRuns = 1 }, agents: TestAgents.all, llm: llm) { client, supervisor in
            let first = try await client.startRun("one-call")
            let response = try await client.postJSON("/runs", #"{"agent": "one-call"}"#)
            #expect(response.status == .tooManyRequests && response.errorCode == "too_many_runs")
            llm.openAll()
            _ = try await withTimeout { try await supervisor.waitUntilFinished(first) }
        }
    }

    @Test func showGivesTheRecordItsSubRunsAndTheEventsOfItsSubtree() async throws {
        try await withServer(agents: TestAgents.all, llm: SimulatedLLM(latency: .zero)) { client, supervisor in
            let id = try await client.startRun("parent")
            _ = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            let body = try await client.execute(uri: "/runs/\(id)", method: .get).json()
            #expect(body["id"] == .string(id.rawValue) && body["status"] == "succeeded")
            for key in [
                "agent", "input", "parentRunId", "rootRunId", "createdAt", "startedAt", "stopRequestedAt", "finishedAt", "forced", "result", "error",
            ] {
                #expect(body[key] != nil, "the record has \(key)")
            }
            let runs = try #require(body["runs"]?.arrayValue)
            #expect(runs.count == 1 && runs[0]["agent"] == "one-call" && runs[0]["parentRunId"] == .string(id.rawValue))
            let events = try #require(body["events"]?.arrayValue)
            #expect(events.compactMap { $0["seq"] } == (1...events.count).map { JSONValue.number(Double($0)) })
            #expect(events.first?["kind"] == "run.started" && events.last?["kind"] == "run.finished")
            let at = try #require(events.first?["at"]?.stringValue)
            #expect(at.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil, "RFC 3339 with milliseconds")

            let childID = try #require(runs[0]["id"]?.stringValue)
            let child = try await client.execute(uri: "/runs/\(childID)", method: .get).json()
            let childEvents = try #require(child["events"]?.arrayValue)
            #expect(!childEvents.isEmpty && childEvents.allSatisfy { $0["runId"] == .string(childID) })
        }
    }

    @Test func unknownAndMalformedRunIDsAreClearErrors() async throws {
        try await withServer { client, _ in
            for path in ["/runs/\(RunID())", "/runs/\(RunID())/events"] {
                let response = try await client.execute(uri: path, method: .get)
                #expect(response.status == .notFound && response.errorCode == "not_found")
            }
            for (path, method) in [("/runs/42", HTTPRequest.Method.get), ("/runs/x/events", .get), ("/runs/%3Cscript%3E/stop", .post)] {
                let response = try await client.execute(uri: path, method: method)
                #expect(response.status == .badRequest && response.errorCode == "bad_request", "\(path)")
            }
            let missing = try await client.execute(uri: "/nowhere", method: .get)
            #expect(missing.status == .notFound && missing.errorCode == "not_found")
        }
    }

    @Test func listingIsNewestFirstFilteredAndPaged() async throws {
        try await withServer(agents: TestAgents.all, llm: SimulatedLLM(latency: .zero)) { client, supervisor in
            var ids: [RunID] = []
            for index in 0..<7 {
                let id = try await client.startRun(index % 2 == 0 ? "quick" : "one-call", input: index % 2 == 0 ? #"{"topic": "t\#(index)"}"# : "{}")
                _ = try await withTimeout { try await supervisor.waitUntilFinished(id) }
                ids.append(id)
            }
            let all = try await client.execute(uri: "/runs", method: .get).json()
            #expect(all["runs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ids.reversed().map(\.rawValue))
            #expect(all["next"] == .null)

            var seen: [String] = []
            var cursor: String?
            repeat {
                let uri = "/runs?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await client.execute(uri: uri, method: .get).json()
                seen += page["runs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
                cursor = page["next"]?.stringValue
                // A run started between pages sorts before the cursor: it shifts nothing.
                if seen.count == 3 { _ = try await client.startRun("quick", input: #"{"topic": "late"}"#) }
            } while cursor != nil
            #expect(seen == ids.reversed().map(\.rawValue))

            let quick = try await client.execute(uri: "/runs?agent=quick&status=succeeded", method: .get).json()
            #expect(quick["runs"]?.arrayValue?.allSatisfy { $0["agent"] == "quick" && $0["status"] == "succeeded" } == true)
            #expect(quick["runs"]?.arrayValue?.count ?? 0 >= 4)
            let none = try await client.execute(uri: "/runs?status=failed", method: .get).json()
            #expect(none["runs"] == [])

            for query in ["status=nope", "limit=0", "limit=501", "limit=ten", "cursor=garbage"] {
                let response = try await client.execute(uri: "/runs?\(query)", method: .get)
                #expect(response.status == .badRequest && response.errorCode == "bad_request", "\(query)")
            }
        }
    }
}
