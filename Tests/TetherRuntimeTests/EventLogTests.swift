import Synchronization
import Testing
import TetherTestSupport

@testable import TetherCore
@testable import TetherRuntime

@Suite struct EventLogTests {
    /// Appends `count` events to a fresh tree from `writers` tasks at once.
    static func draft(_ root: RunID, _ index: Int) -> EventDraft {
        EventDraft(runID: root, kind: .log, message: "event \(index)")
    }

    @Test func subscribersAttachingAtRandomMomentsEachSeeEveryEventExactlyOnce() async throws {
        let store = MemoryRunStore()
        let hub = EventHub(store: store)
        let root = RunID()
        let log = hub.open(root: root)
        let total = 3000
        let writers = 4
        let subscribers = 60

        let seen = try await withThrowingTaskGroup(of: [Int].self) { group in
            for index in 0..<subscribers {
                // Attach once a random number of events is out (some before the first, some
                // after the last: those replay from the store).
                let attachAt = Int.random(in: 0...total)
                let late = index % 10 == 0
                group.addTask {
                    if late {
                        await log.waitForPublished(atLeast: total)
                    } else if attachAt > 0 {
                        await log.waitForPublished(atLeast: attachAt)
                    }
                    var seqs: [Int] = []
                    for try await event in hub.events(ofTree: root) { seqs.append(event.seq) }
                    return seqs
                }
            }
            group.addTask {
                try await withThrowingTaskGroup(of: Void.self) { writersGroup in
                    for writer in 0..<writers {
                        writersGroup.addTask {
                            for index in 0..<(total / writers) {
                                try log.append(Self.draft(root, writer * 10_000 + index))
                            }
                        }
                    }
                    try await writersGroup.waitForAll()
                }
                await log.close()
                hub.retire(root: root)
                return []
            }
            var results: [[Int]] = []
            for try await seqs in group where !seqs.isEmpty || results.count < subscribers {
                results.append(seqs)
            }
            return results.filter { !$0.isEmpty }
        }
        #expect(seen.count == subscribers)
        for seqs in seen {
            #expect(seqs == Array(1...total))
        }
        let stored = try await store.events(inTree: root, after: 0, limit: .max)
        #expect(stored.map(\.seq) == Array(1...total))
        #expect(Set(stored.map(\.message)).count == total, "every appended event is there once")
    }

    @Test func resumingAfterASeqGivesExactlyTheRest() async throws {
        let store = MemoryRunStore()
        let hub = EventHub(store: store)
        let root = RunID()
        let log = hub.open(root: root)
        for index in 0..<10 { try log.append(Self.draft(root, index)) }
        let resumed = Task {
            var seqs: [Int] = []
            for try await event in hub.events(ofTree: root, after: 7) { seqs.append(event.seq) }
            return seqs
        }
        for index in 10..<15 { try log.append(Self.draft(root, index)) }
        await log.close()
        #expect(try await resumed.value == Array(8...15))
        hub.retire(root: root)
        var fromStore: [Int] = []
        for try await event in hub.events(ofTree: root, after: 12) { fromStore.append(event.seq) }
        #expect(fromStore == [13, 14, 15])
    }

    @Test func aSlowSubscriberDoesNotHoldUpTheWriter() async throws {
        let store = MemoryRunStore()
        let hub = EventHub(store: store)
        let root = RunID()
        let log = hub.open(root: root)
        let gate = Latch()
        // A subscriber that reads one event, then blocks until the writer is done.
        let slow = Task {
            var seqs: [Int] = []
            for try await event in hub.events(ofTree: root) {
                seqs.append(event.seq)
                if seqs.count == 1 { await gate.wait() }
            }
            return seqs
        }
        for index in 0..<500 { try log.append(Self.draft(root, index)) }
        await log.close()
        // The writer finished all 500 while the subscriber was stuck after the first.
        #expect(log.lastSeq == 500)
        gate.open()
        #expect(try await slow.value == Array(1...500))
    }

    @Test func aClosedLogRefusesAppends() async throws {
        let hub = EventHub(store: MemoryRunStore())
        let root = RunID()
        let log = hub.open(root: root)
        await log.close()
        #expect(throws: EventLogError.self) { try log.append(Self.draft(root, 0)) }
    }

    @Test func aRunTreesSubscribersAllSeeTheSameCompleteLog() async throws {
        let agent = AgentDescriptor.closure("chatty") { _, tools in
            for index in 0..<200 { try await tools.log("line \(index)") }
            return "done"
        }
        try await withSupervisor(agents: [agent], llm: GatedLLM()) { supervisor in
            let run = try await supervisor.start(agent: "chatty", input: [:])
            let logs = try await withThrowingTaskGroup(of: [ProgressEvent].self) { group in
                for _ in 0..<20 {
                    group.addTask { try await supervisor.allEvents(ofTree: run.id) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let expected = try await supervisor.allEvents(ofTree: run.id)
            #expect(expected.count == 202)
            #expect(expected.first?.kind == .runStarted && expected.last?.kind == .runFinished)
            for log in logs { #expect(log == expected) }
        }
    }
}
