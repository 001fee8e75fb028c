import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TetherCore
import TetherTestSupport

/// Several real `tether serve` processes on one PostgreSQL database behave as one Tether
/// (issue 15): a run started on one is watched on another and stopped through a third; a
/// stop whose notification is lost still arrives; a killed instance's runs are marked
/// `interrupted` by the others, and their subscribers get their final frames.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, "needs PostgreSQL: run through scripts/with-postgres"))
struct ClusterTests {
    static let agents: [String: String] = [
        "two-calls.json":
            #"{"name": "two-calls", "steps": [{"llm": "First question", "as": "first"}, {"store_set": "cluster/first", "value": "{{first}}"}, {"llm": "Second question", "as": "second"}, {"return": "{{second}}"}]}"#
    ]

    /// Instances on one fresh database, all calling `llm`.
    struct Instances {
        let database: String
        let processes: [TetherProcess]

        /// - Parameter poll: `TETHER_CLUSTER_POLL_SECONDS`; 600 leaves only the notifications
        ///   to carry stops and live tails within a test.
        static func start(_ ids: [String], llm: HeldChatServer, lease: Int = 10, poll: Int = 1, extra: [String] = []) async throws -> Instances {
            let database = try await TestPostgres.freshDatabase()
            let agents = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-agents-\(UUID())")
            try FileManager.default.createDirectory(at: agents, withIntermediateDirectories: true)
            for (name, text) in ClusterTests.agents {
                try text.write(to: agents.appendingPathComponent(name), atomically: true, encoding: .utf8)
            }
            var processes: [TetherProcess] = []
            for id in ids {
                let data = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-data-\(UUID())").path
                processes.append(
                    try await TetherProcess.start(
                        dataDirectory: data,
                        agentsDirectory: agents.path,
                        extra: [
                            "--database-url", database, "--instance-id", id, "--lease-seconds", String(lease),
                            "--cluster-poll-seconds", String(poll), "--llm", "openai",
                            "--llm-base-url", llm.baseURL, "--llm-model", "test-model",
                        ] + extra
                    )
                )
            }
            return Instances(database: database, processes: processes)
        }

        func stopAll() async {
            for process in processes { _ = try? await process.terminate() }
        }
    }

    /// Runs `body` with an HTTP client, then stops the instances and the LLM server however
    /// it ends; on failure the instances' logs are printed first.
    func running(_ cluster: Instances, _ llm: HeldChatServer, _ body: (HTTPClient) async throws -> Void) async throws {
        do {
            try await withHTTPClient { http in try await body(http) }
        } catch {
            for process in cluster.processes { print("log of \(process.baseURL):\n\(process.log)") }
            await cluster.stopAll()
            await llm.shutdown()
            throw error
        }
        await cluster.stopAll()
        await llm.shutdown()
    }

    func json(_ http: HTTPClient, _ method: HTTPMethod, _ url: String, _ body: String? = nil) async throws -> (Int, JSONValue) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), try JSONValue.parse(String(buffer: bytes)))
    }

    @Test func aRunStartedOnAIsWatchedOnCAndStoppedThroughB() async throws {
        let llm = try await HeldChatServer.start(holdAnswers: true)
        // No polling within the test: the stop and the tail ride on the notifications alone.
        let cluster = try await Instances.start(["a", "b", "c"], llm: llm, poll: 600)
        let (a, b, c) = (cluster.processes[0], cluster.processes[1], cluster.processes[2])
        try await running(cluster, llm) { http in
            let (status, started) = try await json(http, .POST, a.baseURL + "/runs", #"{"agent": "two-calls"}"#)
            #expect(status == 202)
            let id = try #require(started["runId"]?.stringValue)
            let (_, shown) = try await json(http, .GET, c.baseURL + "/runs/\(id)")
            #expect(shown["instance"] == "a", "the run records the instance executing it: \(shown)")
            try await withTimeout(seconds: 60, "the first LLM call") { await llm.waitForRequests(1) }

            let stream = try await http.execute(HTTPClientRequest(url: c.baseURL + "/runs/\(id)/events"), timeout: .seconds(120))
            try await withTimeout(seconds: 60, "the stream on C") {
                var reader = SSEReader(stream)
                let opening = try await reader.read { $0.event == "status" }
                #expect(opening.last?.json?["status"] == "running")

                let (stopStatus, stopping) = try await json(http, .POST, b.baseURL + "/runs/\(id)/stop")
                #expect(stopStatus == 202)
                #expect(stopping["status"] == "stopping")
                // A takes the stop in and logs it; C sees it from the database.
                let untilStop = try await reader.read { $0.event == "progress" && $0.json?["kind"] == "stop.requested" }
                #expect(!untilStop.contains { $0.json?["kind"] == "llm.finished" }, "the call is still in flight")
                #expect(llm.state.completedResponses == 0)

                llm.release(0)
                let rest = try await reader.read { $0.event == "done" }
                let kinds = rest.ofEvent("progress").compactMap { $0.json?["kind"]?.stringValue }
                #expect(kinds.first == "llm.finished", "the call in flight finished: \(kinds)")
                #expect(kinds.last == "run.finished")
                #expect(!kinds.contains("store"), "the next boundary threw")
                #expect(rest.last?.json?["status"] == "stopped")
            }
            #expect(llm.state.requests.count == 1, "no second call")
            #expect(llm.state.completedResponses == 1 && llm.state.abortedRequests == 0)
            for instance in [a, b, c] {
                let (_, record) = try await json(http, .GET, instance.baseURL + "/runs/\(id)")
                #expect(record["status"] == "stopped", "\(instance.baseURL)")
            }
            // Resumed on yet another instance: exactly the events after the one seen.
            var resume = HTTPClientRequest(url: b.baseURL + "/runs/\(id)/events")
            resume.headers.add(name: "Last-Event-ID", value: "2")
            let resumed = try await http.execute(resume, timeout: .seconds(60))
            let rest = try await withTimeout(seconds: 60, "the resumed stream") {
                var reader = SSEReader(resumed)
                return try await reader.read { $0.event == "done" }
            }
            let (_, shownAgain) = try await json(http, .GET, a.baseURL + "/runs/\(id)")
            let total = shownAgain["events"]?.arrayValue?.count ?? 0
            #expect(rest.ofEvent("progress").compactMap { $0.id.flatMap(Int.init) } == Array(3...max(3, total)))
            let (_, listed) = try await json(http, .GET, b.baseURL + "/runs")
            #expect(listed["runs"]?.arrayValue?.contains { $0["id"] == .string(id) } == true, "any instance lists it")
        }
    }

    /// The call in flight on A streams to a reader on C (notices only: no polling), also
    /// while a stop sent through C lets it finish.
    @Test func theCallInFlightOnAStreamsToAReaderOnC() async throws {
        let answer = "Light traps draw moths at night, and the catch is counted at dawn."
        let chunks = HeldChatServer.Streaming.words(answer)
        let llm = try await HeldChatServer.start(holdAnswers: false, answer: { _, _ in answer }, streaming: .init(holdsChunks: true))
        let cluster = try await Instances.start(["a", "c"], llm: llm, poll: 600)
        let (a, c) = (cluster.processes[0], cluster.processes[1])
        try await running(cluster, llm) { http in
            let (status, started) = try await json(http, .POST, a.baseURL + "/runs", #"{"agent": "two-calls"}"#)
            #expect(status == 202)
            let id = try #require(started["runId"]?.stringValue)
            try await withTimeout(seconds: 60, "the first LLM call") { await llm.waitForRequests(1) }
            let stream = try await http.execute(HTTPClientRequest(url: c.baseURL + "/runs/\(id)/events"), timeout: .seconds(120))
            try await withTimeout(seconds: 60, "the deltas on C") {
                var reader = SSEReader(stream)
                let seen = TextSoFar()
                llm.releaseChunks(of: 0, upTo: 3)
                _ = try await reader.read { seen.take($0) == chunks.prefix(3).joined() }
                #expect(llm.state.completedResponses == 0, "the text came before the answer ended")
                let (stopStatus, _) = try await json(http, .POST, c.baseURL + "/runs/\(id)/stop")
                #expect(stopStatus == 202)
                _ = try await reader.read { frame in
                    _ = seen.take(frame)
                    return frame.event == "status" && frame.json?["status"] == "stopping"
                }
                llm.releaseChunks(of: 0, upTo: 5)
                _ = try await reader.read { seen.take($0) == chunks.prefix(5).joined() }
                llm.releaseAll()
                let rest = try await reader.read { $0.event == "done" }
                #expect(rest.last?.json?["status"] == "stopped")
            }
            let (_, record) = try await json(http, .GET, c.baseURL + "/runs/\(id)")
            let finished = record["events"]?.arrayValue?.first { $0["kind"] == "llm.finished" }
            #expect(finished?["data"]?["text"] == .string(answer))
            #expect(llm.state.requests.count == 1)
        }
    }

    @Test func aStopWhoseNotificationIsLostStillArrives() async throws {
        let llm = try await HeldChatServer.start(holdAnswers: true)
        let cluster = try await Instances.start(["a", "b"], llm: llm)
        let (a, b) = (cluster.processes[0], cluster.processes[1])
        try await running(cluster, llm) { http in
            let (_, started) = try await json(http, .POST, a.baseURL + "/runs", #"{"agent": "two-calls"}"#)
            let id = try #require(started["runId"]?.stringValue)
            try await withTimeout(seconds: 60, "the first LLM call") { await llm.waitForRequests(1) }
            // Every listening connection on the database is cut, A's among them; and the
            // stop below is never notified.
            let cut = try await TestPostgres.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
                on: cluster.database
            )
            #expect(cut >= 1, "a listener was connected")
            let stream = try await http.execute(HTTPClientRequest(url: b.baseURL + "/runs/\(id)/events"), timeout: .seconds(120))
            let frames = try await withTimeout(seconds: 60, "the run's end") {
                var reader = SSEReader(stream)
                _ = try await reader.read { $0.event == "status" }
                // The stop as B records it, but with its notification lost: only the row.
                try await TestPostgres.execute(
                    "INSERT INTO stop_requests (run_id, instance, force, requested_at) VALUES ('\(id)', 'a', false, 0)",
                    on: cluster.database
                )
                // A takes the stop in all the same, on its next round of pending stops.
                _ = try await reader.read { $0.event == "progress" && $0.json?["kind"] == "stop.requested" }
                llm.release(0)
                return try await reader.read { $0.event == "done" }
            }
            #expect(frames.last?.json?["status"] == "stopped")
            #expect(llm.state.requests.count == 1, "stopped before its second call")
        }
    }

    @Test func theRunsOfAKilledInstanceAreMarkedInterruptedByTheOthers() async throws {
        let llm = try await HeldChatServer.start(holdAnswers: true)
        let lease = 4
        let cluster = try await Instances.start(["a", "b"], llm: llm, lease: lease)
        let (a, b) = (cluster.processes[0], cluster.processes[1])
        try await running(cluster, llm) { http in
            let (_, started) = try await json(http, .POST, a.baseURL + "/runs", #"{"agent": "two-calls"}"#)
            let id = try #require(started["runId"]?.stringValue)
            try await withTimeout(seconds: 60, "the first LLM call") { await llm.waitForRequests(1) }
            let stream = try await http.execute(HTTPClientRequest(url: b.baseURL + "/runs/\(id)/events"), timeout: .seconds(120))
            try await withTimeout(seconds: 60, "the run marked interrupted") {
                var reader = SSEReader(stream)
                _ = try await reader.read { $0.event == "status" }
                try await a.kill9()
                let killed = ContinuousClock.now
                let rest = try await reader.read { $0.event == "done" }
                let elapsed = ContinuousClock.now - killed
                print("cluster: a killed instance's run was marked interrupted on another after \(elapsed) (lease \(lease) s)")
                #expect(elapsed < .seconds(lease + 5), "within the lease and 5 s")
                #expect(rest.last?.json?["status"] == "interrupted")
                let finished = try #require(rest.ofEvent("progress").last?.json)
                #expect(finished["kind"] == "run.finished")
                #expect(finished["data"]?["reason"] == "lease")
            }
            let (_, record) = try await json(http, .GET, b.baseURL + "/runs/\(id)")
            #expect(record["status"] == "interrupted")
        }
    }

    @Test func theRunOfAKilledInstanceIsResumedByTheInstanceThatMarksIt() async throws {
        let llm = try await HeldChatServer.start(holdAnswers: true)
        let cluster = try await Instances.start(["a", "b"], llm: llm, lease: 3, extra: ["--resume-interrupted", "true"])
        let (a, b) = (cluster.processes[0], cluster.processes[1])
        try await running(cluster, llm) { http in
            let (_, started) = try await json(http, .POST, a.baseURL + "/runs", #"{"agent": "two-calls"}"#)
            let id = try #require(started["runId"]?.stringValue)
            let stream = try await http.execute(HTTPClientRequest(url: b.baseURL + "/runs/\(id)/events"), timeout: .seconds(120))
            try await withTimeout(seconds: 60, "the run marked interrupted") {
                await llm.waitForRequests(1)
                llm.release(0)
                // The first answer and its write are in the journal; the second call is in flight.
                var reader = SSEReader(stream)
                _ = try await reader.read { $0.json?["kind"] == "llm.started" && $0.json?["data"]?["prompt"] == "Second question" }
                try await a.kill9()
                llm.releaseAll()
                _ = try await reader.read { $0.event == "done" }
            }
            try await withTimeout(seconds: 60, "the resumed run") { await b.waitForLog("resumed an interrupted run") }
            let (_, listing) = try await json(http, .GET, b.baseURL + "/runs?agent=two-calls")
            let resumed = try #require(listing["runs"]?.arrayValue?.first { $0["resumedFrom"]?.stringValue == id })
            let resumedID = try #require(resumed["id"]?.stringValue)
            let events = try await http.execute(HTTPClientRequest(url: b.baseURL + "/runs/\(resumedID)/events"), timeout: .seconds(60))
            let frames = SSEFrame.parse(String(buffer: try await events.body.collect(upTo: 1 << 20)))
            #expect(frames.last?.json?["status"] == "succeeded")
            let (_, record) = try await json(http, .GET, b.baseURL + "/runs/\(resumedID)")
            #expect(record["instance"] == "b" && record["resumedFrom"]?.stringValue == id)
            let kinds = record["events"]?.arrayValue?.compactMap { $0["kind"]?.stringValue } ?? []
            #expect(kinds.filter { $0 == "replayed" }.count == 2, "the first call and its write")
            #expect(llm.state.requests.count == 3, "only the call the kill cut was made again")
            #expect(b.log.contains("resumed an interrupted run"))
        }
    }

    @Test func anInstanceThatLostItsLeaseStopsRatherThanRaceTheOneThatTookOver() async throws {
        let llm = try await HeldChatServer.start(holdAnswers: true)
        let lease = 4
        let cluster = try await Instances.start(["a", "b"], llm: llm, lease: lease)
        let (a, b) = (cluster.processes[0], cluster.processes[1])
        do {
            try await withHTTPClient { http in
                let (_, started) = try await json(http, .POST, a.baseURL + "/runs", #"{"agent": "two-calls"}"#)
                let id = try #require(started["runId"]?.stringValue)
                try await withTimeout(seconds: 60, "the first LLM call") { await llm.waitForRequests(1) }
                // A long pause: A is frozen past its lease, B takes its run over.
                a.send(SIGSTOP)
                let stream = try await http.execute(HTTPClientRequest(url: b.baseURL + "/runs/\(id)/events"), timeout: .seconds(120))
                let frames = try await withTimeout(seconds: 60, "the run marked interrupted by B") {
                    var reader = SSEReader(stream)
                    return try await reader.read { $0.event == "done" }
                }
                #expect(frames.last?.json?["status"] == "interrupted")
                // A wakes up with its call answered, and finds its lease gone.
                llm.release(0)
                a.send(SIGCONT)
                let status = try await a.exitStatus()
                #expect(status != 0, "A ends rather than go on")
                #expect(a.log.contains("lost its lease"))
                let (_, record) = try await json(http, .GET, b.baseURL + "/runs/\(id)?limit=1000")
                #expect(record["status"] == "interrupted", "A changed nothing after B ended the run")
                let events = record["events"]?.arrayValue ?? []
                #expect(events.filter { $0["kind"] == "run.finished" }.count == 1, "one end in the log")
                #expect(events.last?["kind"] == "run.finished")
                #expect(!events.contains { $0["kind"] == "llm.finished" }, "A's answer never landed in the log")
            }
        } catch {
            a.send(SIGCONT)
            for process in cluster.processes { print("log of \(process.baseURL):\n\(process.log)") }
            await cluster.stopAll()
            await llm.shutdown()
            throw error
        }
        await cluster.stopAll()
        await llm.shutdown()
    }

    @Test func aStopTakenInBeforeTheFirstBoundaryIsHonouredThere() async throws {
        let llm = try await HeldChatServer.start(holdAnswers: false)
        let database = try await TestPostgres.freshDatabase()
        var processes: [TetherProcess] = []
        do {
            for id in ["a", "b"] {
                let data = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-data-\(UUID())").path
                processes.append(
                    try await TetherProcess.startTestServer(
                        dataDirectory: data,
                        environment: [
                            "TETHER_DATABASE_URL": database, "TETHER_INSTANCE_ID": id, "TETHER_LLM": "openai",
                            "TETHER_LLM_BASE_URL": llm.baseURL, "TETHER_LLM_MODEL": "test-model",
                        ]
                    )
                )
            }
            let (a, b) = (processes[0], processes[1])
            let gate = FileManager.default.temporaryDirectory.appendingPathComponent("gate-\(UUID())").path
            try await withHTTPClient { http in
                let (_, started) = try await json(http, .POST, a.baseURL + "/runs", #"{"agent": "gated", "input": {"gate": "\#(gate)"}}"#)
                let id = try #require(started["runId"]?.stringValue)
                let stream = try await http.execute(HTTPClientRequest(url: b.baseURL + "/runs/\(id)/events"), timeout: .seconds(120))
                let frames = try await withTimeout(seconds: 60, "the run's end") {
                    var reader = SSEReader(stream)
                    _ = try await reader.read { $0.event == "progress" && $0.json?["kind"] == "log" }
                    let (status, _) = try await json(http, .POST, b.baseURL + "/runs/\(id)/stop")
                    #expect(status == 202)
                    _ = try await reader.read { $0.event == "progress" && $0.json?["kind"] == "stop.requested" }
                    // Only now may the agent reach its first boundary.
                    FileManager.default.createFile(atPath: gate, contents: Data())
                    return try await reader.read { $0.event == "done" }
                }
                #expect(frames.last?.json?["status"] == "stopped")
                let finished = try #require(frames.ofEvent("progress").last?.json)
                #expect(finished["data"]?["boundary"] == "llm", "the first boundary threw")
                #expect(llm.state.requests.isEmpty, "no LLM call was made")
            }
        } catch {
            for process in processes { print("log of \(process.baseURL):\n\(process.log)") }
            for process in processes { _ = try? await process.terminate() }
            await llm.shutdown()
            throw error
        }
        for process in processes { _ = try? await process.terminate() }
        await llm.shutdown()
    }

    @Test func anInstanceRestartedWithItsIdRecoversItsOwnRunsAndNoOthers() async throws {
        let llm = try await HeldChatServer.start(holdAnswers: true)
        // A lease far longer than the test: only A's own start-up may mark its runs.
        let cluster = try await Instances.start(["a", "b"], llm: llm, lease: 600)
        let (a, b) = (cluster.processes[0], cluster.processes[1])
        var restarted: TetherProcess?
        do {
            try await withHTTPClient { http in
                let (_, onA) = try await json(http, .POST, a.baseURL + "/runs", #"{"agent": "two-calls"}"#)
                let (_, onB) = try await json(http, .POST, b.baseURL + "/runs", #"{"agent": "two-calls"}"#)
                let (idA, idB) = (try #require(onA["runId"]?.stringValue), try #require(onB["runId"]?.stringValue))
                try await withTimeout(seconds: 60, "both first calls") { await llm.waitForRequests(2) }
                try await a.kill9()

                let data = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-data-\(UUID())").path
                let agents = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-agents-\(UUID())")
                try FileManager.default.createDirectory(at: agents, withIntermediateDirectories: true)
                let again = try await TetherProcess.start(
                    dataDirectory: data,
                    agentsDirectory: agents.path,
                    extra: [
                        "--database-url", cluster.database, "--instance-id", "a", "--llm", "openai", "--llm-base-url", llm.baseURL,
                        "--llm-model", "test-model",
                    ]
                )
                restarted = again
                let (_, recovered) = try await json(http, .GET, b.baseURL + "/runs/\(idA)?limit=1000")
                #expect(recovered["status"] == "interrupted", "marked by A's own start-up")
                #expect(recovered["events"]?.arrayValue?.last?["data"]?["reason"] == "restart")
                let (_, untouched) = try await json(http, .GET, again.baseURL + "/runs/\(idB)")
                #expect(untouched["status"] == "running", "B's run is B's")
                llm.releaseAll()
                let stream = try await http.execute(HTTPClientRequest(url: again.baseURL + "/runs/\(idB)/events"), timeout: .seconds(120))
                let frames = try await withTimeout(seconds: 60, "B's run's end, followed from A") {
                    var reader = SSEReader(stream)
                    return try await reader.read { $0.event == "done" }
                }
                #expect(frames.last?.json?["status"] == "succeeded")
            }
        } catch {
            for process in cluster.processes + [restarted].compactMap({ $0 }) { print("log of \(process.baseURL):\n\(process.log)") }
            _ = try? await restarted?.terminate()
            await cluster.stopAll()
            await llm.shutdown()
            throw error
        }
        _ = try? await restarted?.terminate()
        await cluster.stopAll()
        await llm.shutdown()
    }

    @Test func aSecondLiveProcessWithTheSameInstanceIDIsRefused() async throws {
        let llm = try await HeldChatServer.start(holdAnswers: false)
        let cluster = try await Instances.start(["a"], llm: llm)
        do {
            let data = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-data-\(UUID())").path
            let (status, output) = try await TetherProcess.runToEnd(
                ["serve", "--port", "0", "--data-dir", data, "--database-url", cluster.database, "--instance-id", "a"],
                in: packageRoot
            )
            #expect(status == 1)
            #expect(output.contains("already uses the instance id a"), "\(output)")
            // The first goes on serving, its lease untouched.
            try await withHTTPClient { http in
                let (code, health) = try await json(http, .GET, cluster.processes[0].baseURL + "/healthz")
                #expect(code == 200 && health["instance"] == "a")
            }
        } catch {
            await cluster.stopAll()
            await llm.shutdown()
            throw error
        }
        await cluster.stopAll()
        await llm.shutdown()
    }

    @Test func runsLeftInFlightWithoutALeaseAreMarkedOnceNoProcessHoldsTheirInstance() async throws {
        let llm = try await HeldChatServer.start(holdAnswers: true)
        // A lease far longer than the test: only the missing lease can mark the run.
        let cluster = try await Instances.start(["a", "b"], llm: llm, lease: 600)
        let (a, b) = (cluster.processes[0], cluster.processes[1])
        try await running(cluster, llm) { http in
            let (_, started) = try await json(http, .POST, a.baseURL + "/runs", #"{"agent": "two-calls"}"#)
            let id = try #require(started["runId"]?.stringValue)
            try await withTimeout(seconds: 60, "the first LLM call") { await llm.waitForRequests(1) }
            // The lease row goes (as after a resignation whose final writes failed); A
            // still holds its instance's lock, so nobody marks its run yet.
            try await TestPostgres.execute("DELETE FROM instances WHERE id = 'a'", on: cluster.database)
            let stream = try await http.execute(HTTPClientRequest(url: b.baseURL + "/runs/\(id)/events"), timeout: .seconds(120))
            let frames = try await withTimeout(seconds: 60, "the run marked interrupted") {
                var reader = SSEReader(stream)
                _ = try await reader.read { $0.event == "status" }
                try await a.kill9()
                return try await reader.read { $0.event == "done" }
            }
            #expect(frames.last?.json?["status"] == "interrupted")
        }
    }

    @Test func aBulkStopThroughOneInstanceReachesTheRunsOfEvery() async throws {
        let llm = try await HeldChatServer.start(holdAnswers: true)
        let cluster = try await Instances.start(["a", "b", "c"], llm: llm)
        let (a, b, c) = (cluster.processes[0], cluster.processes[1], cluster.processes[2])
        try await running(cluster, llm) { http in
            var ids: [String] = []
            for instance in [a, a, b] {
                let (_, started) = try await json(http, .POST, instance.baseURL + "/runs", #"{"agent": "two-calls"}"#)
                ids.append(try #require(started["runId"]?.stringValue))
            }
            try await withTimeout(seconds: 60, "the three first calls") { await llm.waitForRequests(3) }
            let (status, bulk) = try await json(http, .POST, c.baseURL + "/runs/stop?agent=two-calls")
            #expect(status == 202)
            let stopped = Set(bulk["runIds"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            #expect(stopped == Set(ids), "every matching run, wherever it runs: \(bulk)")
            for id in ids {
                let stream = try await http.execute(HTTPClientRequest(url: c.baseURL + "/runs/\(id)/events"), timeout: .seconds(120))
                _ = try await withTimeout(seconds: 60, "stop.requested of \(id)") {
                    var reader = SSEReader(stream)
                    return try await reader.read { $0.event == "progress" && $0.json?["kind"] == "stop.requested" }
                }
            }
            llm.releaseAll()
            for id in ids {
                let stream = try await http.execute(HTTPClientRequest(url: c.baseURL + "/runs/\(id)/events"), timeout: .seconds(120))
                let frames = try await withTimeout(seconds: 60, "the end of \(id)") {
                    var reader = SSEReader(stream)
                    return try await reader.read { $0.event == "done" }
                }
                #expect(frames.last?.json?["status"] == "stopped")
            }
            #expect(llm.state.requests.count == 3, "no run made its second call")
        }
    }
}
