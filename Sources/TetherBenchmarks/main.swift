// tether-bench: figures for the closing notes, measured here rather than asserted in tests.
//
//   swift run -c release tether-bench
//
// 1. The boundary check's cost, in ns per call: `Tools.enter` with a token bound through
//    `@TaskLocal`, as every tool runs it on entry.
// 2. Events per second through one tree's log, fanned out to 1, 100 and 1,000 subscribers
//    (memory store; each subscriber receives every event, in batches as the SSE stream does).
// 3. Events persisted per second to SQLite (WAL, in a temporary folder) by one tree's log,
//    with 0, 10 and 100 subscribers reading along.
// 4. Replay speed: boundaries a resumed run replays per second from its journal (SQLite),
//    against the same run done live with a simulated LLM that answers at once.
import Foundation
import TetherCore
import TetherRuntime
import TetherSQLite
import TetherTestSupport

/// A backend that does nothing: only the entry check is measured.
struct NoopBackend: ToolBackend {
    let runID = RunID()
    func complete(_ request: LLMRequest) async throws -> LLMResponse { LLMResponse(text: "", model: "") }
    func storeValue(for key: StoreKey) async throws -> String? { nil }
    func storeSet(_ value: String, for key: StoreKey) async throws {}
    func storeDelete(_ key: StoreKey) async throws -> Bool { false }
    func storeList(namespace: String, prefix: String) async throws -> [StoreEntry] { [] }
    func callAgent(named name: String, input: JSONValue) async throws -> JSONValue { .null }
    func wait(for duration: Duration) async throws {}
    func log(_ message: String, data: [String: JSONValue]) async throws {}
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func benchmarkBoundaryCheck() throws {
    let token = CancelToken()
    let tools = Tools(gate: BoundaryGate(token: token), backend: NoopBackend())
    let iterations = 20_000_000
    let clock = ContinuousClock()
    var best = Double.infinity
    for _ in 0..<5 {
        let elapsed = try CancelToken.$current.withValue(token) {
            try clock.measure {
                for _ in 0..<iterations { try tools.enter(.llm) }
            }
        }
        best = min(best, seconds(elapsed) * 1e9 / Double(iterations))
    }
    var bare = Double.infinity
    for _ in 0..<5 {
        let elapsed = try clock.measure {
            for _ in 0..<iterations { try token.checkStop(at: .llm) }
        }
        bare = min(bare, seconds(elapsed) * 1e9 / Double(iterations))
    }
    var local = Double.infinity
    for _ in 0..<5 {
        let elapsed = CancelToken.$current.withValue(token) {
            clock.measure {
                for _ in 0..<iterations where CancelToken.current == nil { preconditionFailure("the token is bound") }
            }
        }
        local = min(local, seconds(elapsed) * 1e9 / Double(iterations))
    }
    print(String(format: "boundary check (Tools.enter, task-local + run token): %.2f ns/call (best of 5 × %d)", best, iterations))
    print(String(format: "token check alone (CancelToken.checkStop):           %.2f ns/call", bare))
    print(String(format: "task-local read alone (CancelToken.current):         %.2f ns/call", local))
}

func benchmarkFanOut(
    subscribers: Int,
    events: Int,
    store: any RunStore = MemoryRunStore()
) async throws -> (eventsPerSecond: Double, deliveriesPerSecond: Double) {
    let hub = EventHub(store: store)
    let root = RunID()
    let log = hub.open(root: root)
    let clock = ContinuousClock()
    let start = clock.now
    try await withThrowingTaskGroup(of: Int.self) { group in
        for _ in 0..<subscribers {
            group.addTask {
                var count = 0
                for try await batch in hub.eventBatches(ofTree: root) { count += batch.count }
                return count
            }
        }
        group.addTask {
            for index in 0..<events {
                try log.append(EventDraft(runID: root, kind: .log, message: "event \(index)"))
            }
            await log.close()
            return -1
        }
        for try await count in group where count >= 0 {
            precondition(count == events, "a subscriber missed events: \(count) of \(events)")
        }
    }
    let elapsed = seconds(clock.now - start)
    hub.retire(root: root)
    return (Double(events) / elapsed, Double(events * subscribers) / elapsed)
}

/// A JSON body of about 1 MiB: one object of 100,000 members (`{"k0":0,"k1":1,…,"k99999":9}`), parsed
/// by `JSONValue.parse` (the request-body parser), best of 5.
func benchmarkLargeObjectParse() throws {
    let members = 100_000
    var text = "{"
    for index in 0..<members {
        if index > 0 { text += "," }
        text += "\"k\(index)\":\(index % 10)"
    }
    text += "}"
    let clock = ContinuousClock()
    var best = Double.infinity
    for _ in 0..<5 {
        let elapsed = try clock.measure { _ = try JSONValue.parse(text) }
        best = min(best, seconds(elapsed))
    }
    print(
        String(
            format: "JSON body of %.2f MiB, one object of %d members, parsed in %.3f s (best of 5)",
            Double(text.utf8.count) / 1_048_576,
            members,
            best
        )
    )
}

try benchmarkBoundaryCheck()
try benchmarkLargeObjectParse()
for (subscribers, events) in [(1, 200_000), (100, 50_000), (1_000, 10_000)] {
    var best: (Double, Double) = (0, 0)
    for _ in 0..<3 {
        let result = try await benchmarkFanOut(subscribers: subscribers, events: events)
        if result.eventsPerSecond > best.0 { best = result }
    }
    print(
        String(
            format: "fan-out to %5d subscribers: %10.0f events/s appended and delivered to all (%11.0f deliveries/s; best of 3 × %d events)",
            subscribers,
            best.0,
            best.1,
            events
        )
    )
}

for subscribers in [0, 10, 100] {
    let events = 50_000
    var best = 0.0
    for _ in 0..<3 {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tether-bench-\(UUID())").path
        let database = try SQLiteDatabase.open(directory: folder)
        let result = try await benchmarkFanOut(subscribers: subscribers, events: events, store: SQLiteRunStore(database: database))
        best = max(best, result.eventsPerSecond)
        try database.pool.close()
        try? FileManager.default.removeItem(atPath: folder)
    }
    print(String(format: "SQLite, %3d subscribers: %8.0f events/s persisted (and delivered; best of 3 × %d events)", subscribers, best, events))
}

/// A run of `steps` LLM calls, each stored, done live, then forked at its last event so that
/// every boundary replays: returns both durations.
func benchmarkReplay(steps: Int) async throws -> (live: Double, replay: Double, replayed: Int) {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tether-bench-\(UUID())").path
    let database = try SQLiteDatabase.open(directory: folder)
    defer {
        try? database.pool.close()
        try? FileManager.default.removeItem(atPath: folder)
    }
    let agent = AgentDescriptor.closure("steps") { _, tools in
        for step in 0..<steps {
            let answer = try await tools.llm.complete("Step \(step)")
            try await tools.store.set("bench/\(step)", to: answer)
        }
        return "done"
    }
    return try await withSupervisor(
        agents: [agent],
        llm: SimulatedLLM(latency: .zero),
        configuration: SupervisorConfiguration(),
        runStore: SQLiteRunStore(database: database),
        dataStore: SQLiteDataStore(database: database)
    ) { supervisor in
        let clock = ContinuousClock()
        let start = clock.now
        let first = try await supervisor.start(agent: "steps", input: [:])
        _ = try await supervisor.waitUntilFinished(first.id)
        let live = seconds(clock.now - start)
        let events = try await supervisor.allEvents(ofTree: first.id)
        let resumedAt = clock.now
        let second = try await supervisor.resume(first.id, at: events.last!.seq)
        let record = try await supervisor.waitUntilFinished(second.id)
        precondition(record.status == .succeeded, "the replay ended \(record.status)")
        let replay = seconds(clock.now - resumedAt)
        let replayed = try await supervisor.allEvents(ofTree: second.id).filter { $0.kind == .replayed }.count
        return (live, replay, replayed)
    }
}

for steps in [500, 5_000] {
    var best = (live: Double.infinity, replay: Double.infinity, replayed: 0)
    for _ in 0..<3 {
        let result = try await benchmarkReplay(steps: steps)
        if result.replay < best.replay { best = result }
    }
    print(
        String(
            format:
                "replay, SQLite: %d boundaries (%d LLM calls, %d writes) replayed in %.3f s: %.0f boundaries/s (live, 0 ms LLM: %.3f s; best of 3)",
            best.replayed,
            steps,
            steps,
            best.replay,
            Double(best.replayed) / best.replay,
            best.live
        )
    )
}
