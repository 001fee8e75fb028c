import Foundation
import Testing
import TetherCore
import TetherPostgres
import TetherRuntime
import TetherSQLite
import TetherTestSupport

/// The stores under test, each fresh: one test body runs over every implementation.
/// PostgreSQL's when the tests have a cluster (`scripts/with-postgres`, which the README's
/// test command uses).
enum StoreKind: String, CaseIterable, CustomTestStringConvertible {
    case memory, sqlite, postgres

    var testDescription: String { rawValue }

    static var available: [StoreKind] { TestPostgres.isAvailable ? allCases : [.memory, .sqlite] }

    /// Runs `body` with a fresh pair of stores of this kind, closed afterwards.
    func with<T: Sendable>(_ body: (any RunStore, any DataStore) async throws -> T) async throws -> T {
        switch self {
        case .memory:
            return try await body(MemoryRunStore(), MemoryDataStore())
        case .sqlite:
            let database = try SQLiteDatabase.open(directory: temporaryFolder())
            return try await body(SQLiteRunStore(database: database), SQLiteDataStore(database: database))
        case .postgres:
            let database = try await PostgresDatabase.open(url: try await TestPostgres.freshDatabase())
            defer { database.close() }
            return try await body(PostgresRunStore(database: database), PostgresDataStore(database: database))
        }
    }
}

func temporaryFolder() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("tether-\(UUID())").path
}

func record(
    _ id: RunID = RunID(),
    agent: String = "brief",
    parent: RunRecord? = nil,
    at date: Date = Date(),
    status: RunStatus = .running
) -> RunRecord {
    RunRecord(
        id: id,
        agent: agent,
        input: ["topic": "owls é \"q\"", "n": 3],
        status: status,
        parentRunID: parent?.id,
        rootRunID: parent?.rootRunID ?? id,
        depth: (parent?.depth ?? -1) + 1,
        createdAt: date
    )
}

func event(_ seq: Int, _ run: RunID, _ kind: EventKind = .log) -> ProgressEvent {
    ProgressEvent(
        seq: seq,
        runID: run,
        at: Date(),
        kind: kind,
        message: "event \(seq) ✓",
        data: ["n": .number(Double(seq)), "nested": ["a": [1, nil]]]
    )
}

@Suite struct StoreContractTests {
    @Test(arguments: StoreKind.available)
    func aRecordComesBackExactly(kind: StoreKind) async throws {
        try await kind.with { store, _ in
            var original = record(at: Date(timeIntervalSinceReferenceDate: 812_345_678.123456789))
            original.instance = "instance-a"
            original.resumedFrom = RunID()
            try await store.insertRun(original)
            #expect(try await store.run(original.id) == original)
            original.status = .stopped
            original.startedAt = Date()
            original.stopRequestedAt = Date()
            original.finishedAt = Date()
            original.forced = true
            original.result = ["list": [1, "two"]]
            original.error = "why ✗"
            try await store.updateRun(original)
            #expect(try await store.run(original.id) == original)
            #expect(try await store.run(RunID()) == nil)
            await #expect(throws: (any Error).self) { try await store.updateRun(record()) }
            await #expect(throws: (any Error).self) { try await store.insertRun(original) }
        }
    }

    @Test(arguments: StoreKind.available)
    func aTreeListsParentsFirst(kind: StoreKind) async throws {
        try await kind.with { store, _ in
            let root = record()
            let child = record(parent: root)
            let grandchild = record(parent: child)
            let sibling = record(parent: root)
            for run in [root, child, grandchild, sibling] { try await store.insertRun(run) }
            try await store.insertRun(record())
            let tree = try await store.runs(inTree: root.id).map(\.id)
            #expect(Set(tree) == [root.id, child.id, grandchild.id, sibling.id])
            #expect(tree.first == root.id)
            #expect(tree.firstIndex(of: child.id)! < tree.firstIndex(of: grandchild.id)!)
            #expect(try await store.subtree(of: child.id, inTree: root.id).map(\.id) == [child.id, grandchild.id])
        }
    }

    @Test(arguments: StoreKind.available)
    func eventsReadBackInOrderFromAnyPosition(kind: StoreKind) async throws {
        try await kind.with { store, _ in
            let root = record()
            try await store.insertRun(root)
            let other = record()
            try await store.insertRun(other)
            try await store.appendEvents((1...5).map { event($0, root.id) }, tree: root.id)
            try await store.appendEvents([event(1, other.id)], tree: other.id)
            try await store.appendEvents((6...9).map { event($0, root.id) }, tree: root.id)
            let all = try await store.events(inTree: root.id, after: 0, limit: 100)
            #expect(all.map(\.seq) == Array(1...9))
            #expect(all[0].data == ["n": 1, "nested": ["a": [1, nil]]] && all[0].message == "event 1 ✓")
            #expect(try await store.events(inTree: root.id, after: 4, limit: 3).map(\.seq) == [5, 6, 7])
            #expect(try await store.events(inTree: root.id, after: 9, limit: 3).isEmpty)
            #expect(try await store.lastSeq(inTree: root.id) == 9)
            #expect(try await store.lastSeq(inTree: RunID()) == 0)
            await #expect(throws: (any Error).self) { try await store.appendEvents([event(3, root.id)], tree: root.id) }
            #expect(try await store.lastSeq(inTree: root.id) == 9, "a refused batch changes nothing")
        }
    }

    @Test(arguments: StoreKind.available)
    func listingIsNewestFirstWithFiltersAndAStableCursor(kind: StoreKind) async throws {
        try await kind.with { store, _ in
            let base = Date()
            var roots: [RunRecord] = []
            for index in 0..<6 {
                let run = record(
                    agent: index % 2 == 0 ? "even" : "odd",
                    at: base.addingTimeInterval(Double(index) * 0.001),
                    status: index < 3 ? .succeeded : .running
                )
                try await store.insertRun(run)
                roots.append(run)
            }
            let child = record(agent: "even", parent: roots[0], at: base.addingTimeInterval(1))
            try await store.insertRun(child)
            let newestFirst = roots.reversed().map(\.id)
            #expect(try await store.listRuns(RunQuery(limit: 50)).map(\.id) == newestFirst, "roots only")
            let page = try await store.listRuns(RunQuery(limit: 2))
            let next = try await store.listRuns(RunQuery(limit: 2, before: RunPosition(of: page.last!)))
            #expect((page + next).map(\.id) == Array(newestFirst.prefix(4)))
            #expect(try await store.listRuns(RunQuery(status: .succeeded)).map(\.id) == roots.prefix(3).reversed().map(\.id))
            let even = try await store.listRuns(RunQuery(agent: "even", includeChildren: true)).map(\.id)
            #expect(even == [child.id, roots[4].id, roots[2].id, roots[0].id])
        }
    }

    @Test(arguments: StoreKind.available)
    func unfinishedRunsComeDeepestFirst(kind: StoreKind) async throws {
        try await kind.with { store, _ in
            let root = record()
            let child = record(parent: root, status: .stopping)
            try await store.insertRun(root)
            try await store.insertRun(child)
            try await store.insertRun(record(status: .succeeded))
            #expect(try await store.unfinishedRuns().map(\.id) == [child.id, root.id])
        }
    }

    @Test(arguments: StoreKind.available)
    func theDataStoreKeepsNamespacesApart(kind: StoreKind) async throws {
        try await kind.with { _, data in
            try await data.setValue("one", for: StoreKey(parsing: "brief/intro"))
            try await data.setValue("two", for: StoreKey(parsing: "brief/intro"))
            try await data.setValue("50%_off", for: StoreKey(parsing: "brief/i%_x"))
            try await data.setValue("other", for: StoreKey(parsing: "notes/intro"))
            try await data.setValue("plain", for: StoreKey(parsing: "intro"))
            #expect(try await data.value(for: StoreKey(parsing: "brief/intro")) == "two")
            #expect(try await data.value(for: StoreKey(namespace: "default", key: "intro")) == "plain")
            #expect(try await data.entries(in: "brief", prefix: "").map(\.key) == ["i%_x", "intro"])
            #expect(try await data.entries(in: "brief", prefix: "i%").map(\.value) == ["50%_off"], "no LIKE wildcards")
            #expect(try await data.entries(in: "brief", prefix: "in").map(\.key) == ["intro"])
            #expect(try await data.deleteValue(for: StoreKey(parsing: "brief/intro")))
            #expect(try await !data.deleteValue(for: StoreKey(parsing: "brief/intro")))
            #expect(try await data.value(for: StoreKey(parsing: "brief/intro")) == nil)
            #expect(try await data.value(for: StoreKey(parsing: "notes/intro")) == "other")
            try await data.setValue("nul \u{0} inside, é ✓", for: StoreKey(parsing: "odd/nul"))
            #expect(try await data.value(for: StoreKey(parsing: "odd/nul")) == "nul \u{0} inside, é ✓", "a value comes back byte for byte")
            #expect(try await data.namespaces().first { $0.namespace == "odd" }?.bytes == "nul \u{0} inside, é ✓".utf8.count)
        }
    }
}

@Suite struct FinishedEventContractTests {
    @Test(arguments: StoreKind.available)
    func theFinishedEventOfARunIsFoundByItsRun(kind: StoreKind) async throws {
        try await kind.with { store, _ in
            let root = record()
            let child = record(parent: root)
            try await store.insertRun(root)
            try await store.insertRun(child)
            try await store.appendEvents(
                [event(1, root.id, .runStarted), event(2, child.id, .runStarted), event(3, child.id, .runFinished), event(4, root.id, .log)],
                tree: root.id
            )
            #expect(try await store.finishedEvent(of: child.id, inTree: root.id)?.seq == 3)
            #expect(try await store.finishedEvent(of: root.id, inTree: root.id) == nil)
            try await store.appendEvents([event(5, root.id, .runFinished)], tree: root.id)
            #expect(try await store.finishedEvent(of: root.id, inTree: root.id)?.seq == 5)
        }
    }
}
