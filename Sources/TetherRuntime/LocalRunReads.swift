import TetherCore

/// The ``RunReadModel`` of an instance: a run in flight here is read from its live
/// execution, its tree's events from the live log while the tree runs, and everything else
/// from the store, which on a shared database holds what the other instances execute too.
public struct LocalRunReads: RunReadModel {
    let live: LiveRuns
    let hub: EventHub
    let store: any RunStore
    let cluster: (any RunCluster)?

    public func record(_ id: RunID) async throws -> RunRecord? {
        if let run = live[id] { return run.record }
        if let unsaved = live.unsavedRecord(id) { return unsaved }
        return try await store.run(id)
    }

    public func runs(inTree root: RunID) async throws -> [RunRecord] {
        try await store.runs(inTree: root).map(current)
    }

    public func subtree(of id: RunID) async throws -> [RunRecord] {
        guard let record = try await record(id) else { return [] }
        return try await store.subtree(of: id, inTree: record.rootRunID).map(current)
    }

    public func listRuns(_ query: RunQuery) async throws -> [RunRecord] {
        try await store.listRuns(query).map(current)
    }

    public func inFlightCount(agent: String) async throws -> Int {
        live.all.filter { $0.record.agent == agent && $0.record.status.isInFlight }.count
    }

    public func eventBatches(ofTree root: RunID, after seq: Int) -> EventBatchFeed {
        EventBatchFeed(hub.eventBatches(ofTree: root, after: seq))
    }

    /// From the live log's window where it holds them, otherwise from the store (an event is
    /// published only once it is stored).
    public func loggedEvents(ofTree root: RunID, after seq: Int, limit: Int) async throws -> [ProgressEvent] {
        if let log = hub.log(of: root) {
            switch log.read(after: seq, limit: limit) {
            case .events(let events): return events.map(\.event)
            case .waiting, .ended: return []
            case .evicted: break
            }
        }
        return try await store.events(inTree: root, after: seq, limit: limit)
    }

    /// A tree another instance executes is read from it, through the cluster.
    public func answersInFlight(ofTree root: RunID) -> [AnswerInFlight] {
        if let log = hub.log(of: root) { return log.answersInFlight.snapshot }
        return cluster?.answersInFlight(ofTree: root) ?? []
    }

    public func answerUpdates(ofTree root: RunID, every interval: Duration) -> AsyncStream<[AnswerInFlight]> {
        if let log = hub.log(of: root) { return log.answersInFlight.updates(every: interval) }
        return cluster?.answerUpdates(ofTree: root, every: interval) ?? AsyncStream { $0.finish() }
    }

    /// The answers in flight of a tree this instance executes, for the other instances;
    /// `nil` for any other tree.
    public func localAnswerUpdates(ofTree root: RunID, every interval: Duration) -> AsyncStream<[AnswerInFlight]>? {
        hub.log(of: root)?.answersInFlight.updates(every: interval)
    }

    public func resumption(of id: RunID) async throws -> RunRecord? {
        try await store.resumption(of: id).map(current)
    }

    public func lastSeq(ofTree root: RunID) async throws -> Int {
        if let log = hub.log(of: root) { return log.lastSeq }
        return try await store.lastSeq(inTree: root)
    }

    public func finishedEvent(of id: RunID, inTree root: RunID) async throws -> ProgressEvent? {
        if let event = hub.log(of: root)?.finishedEvent(of: id) { return event }
        return try await store.finishedEvent(of: id, inTree: root)
    }

    /// - Throws: ``SupervisorError/notFound(_:)`` for an unknown id.
    public func waitUntilFinished(_ id: RunID) async throws -> RunRecord {
        if let run = live[id] {
            await run.finished.wait()
            try Task.checkCancellation()
        }
        guard var record = try await record(id) else { throw SupervisorError.notFound(id) }
        // A run another instance executes: its end is a `run.finished` event there.
        if let cluster, record.status.isInFlight, live[id] == nil {
            var seen = try await store.lastSeq(inTree: record.rootRunID)
            while record.status.isInFlight {
                await cluster.waitForEvents(ofTree: record.rootRunID, after: seen)
                try Task.checkCancellation()
                seen = try await store.lastSeq(inTree: record.rootRunID)
                guard let current = try await store.run(id) else { throw SupervisorError.notFound(id) }
                record = current
            }
        }
        return record
    }

    /// The live record of a stored one while its run is in flight, or the final record the
    /// store refused.
    private func current(_ stored: RunRecord) -> RunRecord {
        live[stored.id]?.record ?? live.unsavedRecord(stored.id) ?? stored
    }
}
