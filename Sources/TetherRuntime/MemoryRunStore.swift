import Foundation
import Synchronization
import TetherCore

/// A ``RunStore`` in memory, for tests and benchmarks. Nothing survives the process.
public final class MemoryRunStore: RunStore {
    private struct State {
        var runs: [RunID: RunRecord] = [:]
        var order: [RunID: Int] = [:]
        var nextOrder = 0
        var trees: [RunID: [RunID]] = [:]
        var events: [RunID: [ProgressEvent]] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    public func insertRun(_ record: RunRecord) async throws {
        try state.withLock { state in
            guard state.runs[record.id] == nil else { throw MemoryStoreError.duplicateRun(record.id) }
            if let source = record.resumedFrom, record.isWholeResume,
                state.runs.values.contains(where: { $0.resumedFrom == source && $0.isWholeResume })
            {
                throw MemoryStoreError.duplicateRun(record.id)
            }
            state.runs[record.id] = record
            state.order[record.id] = state.nextOrder
            state.nextOrder += 1
            state.trees[record.rootRunID, default: []].append(record.id)
        }
    }

    public func updateRun(_ record: RunRecord) async throws {
        try state.withLock { state in
            guard state.runs[record.id] != nil else { throw MemoryStoreError.unknownRun(record.id) }
            state.runs[record.id] = record
        }
    }

    public func run(_ id: RunID) async throws -> RunRecord? {
        state.withLock { $0.runs[id] }
    }

    public func runs(inTree root: RunID) async throws -> [RunRecord] {
        state.withLock { state in
            (state.trees[root] ?? []).compactMap { state.runs[$0] }
        }
    }

    public func lastSeq(inTree root: RunID) async throws -> Int {
        state.withLock { $0.events[root]?.count ?? 0 }
    }

    public func finishedEvent(of id: RunID, inTree root: RunID) async throws -> ProgressEvent? {
        state.withLock { $0.events[root]?.last { $0.kind == .runFinished && $0.runID == id } }
    }

    public func resumption(of id: RunID) async throws -> RunRecord? {
        state.withLock { state in state.runs.values.first { $0.resumedFrom == id && $0.isWholeResume } }
    }

    public func unfinishedRuns() async throws -> [RunRecord] {
        state.withLock { state in
            state.runs.values.filter { $0.status.isInFlight }.sorted { ($0.depth, $0.createdAt) > ($1.depth, $1.createdAt) }
        }
    }

    public func deleteTrees(finishedBefore date: Date) async throws -> Int {
        state.withLock { state in
            let doomed = state.trees.filter { root, members in
                guard let rootRecord = state.runs[root], let finished = rootRecord.finishedAt, finished < date else { return false }
                return members.allSatisfy { state.runs[$0]?.status.isTerminal ?? true }
            }
            for (root, members) in doomed {
                for id in members {
                    state.runs[id] = nil
                    state.order[id] = nil
                }
                state.trees[root] = nil
                state.events[root] = nil
            }
            return doomed.count
        }
    }

    public func listRuns(_ query: RunQuery) async throws -> [RunRecord] {
        state.withLock { state in
            state.runs.values
                .filter { record in
                    query.matches(record) && (query.before.map { $0.isBefore(RunPosition(of: record)) } ?? true)
                }
                .sorted { RunPosition(of: $0).isBefore(RunPosition(of: $1)) }
                .prefix(query.limit)
                .map { $0 }
        }
    }

    public func appendEvents(_ events: [ProgressEvent], tree root: RunID) async throws {
        try state.withLock { state in
            let count = state.events[root]?.count ?? 0
            for (offset, event) in events.enumerated() where event.seq != count + offset + 1 {
                throw MemoryStoreError.outOfOrder(root, expected: count + offset + 1, got: event.seq)
            }
            state.events[root, default: []].append(contentsOf: events)
        }
    }

    public func events(inTree root: RunID, after seq: Int, limit: Int) async throws -> [ProgressEvent] {
        state.withLock { state in
            guard let log = state.events[root], seq < log.count else { return [] }
            let start = max(0, seq)
            return Array(log[start..<min(log.count, start + limit)])
        }
    }
}

/// Errors of the memory stores: each is a bug in the caller.
public enum MemoryStoreError: Error, Sendable {
    case duplicateRun(RunID)
    case unknownRun(RunID)
    case outOfOrder(RunID, expected: Int, got: Int)
}
