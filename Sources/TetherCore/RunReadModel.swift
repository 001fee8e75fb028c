import Foundation

/// The questions the HTTP layer and clients ask about runs, with the answer each must give:
/// the live state of a run in flight, the stored state of one that ended.
///
/// One process answers them from its own runs and its store (`LocalRunReads` in
/// TetherRuntime); a second implementation can answer them for several instances sharing a
/// database, without the web layer changing.
public protocol RunReadModel: Sendable {
    /// One run's current record, or `nil` for an unknown id.
    func record(_ id: RunID) async throws -> RunRecord?
    /// Every run of the tree rooted at `root`, the root first, then by creation.
    func runs(inTree root: RunID) async throws -> [RunRecord]
    /// The run `id` and every run below it, parents first (empty for an unknown id).
    func subtree(of id: RunID) async throws -> [RunRecord]
    /// A page of runs, newest first.
    func listRuns(_ query: RunQuery) async throws -> [RunRecord]
    /// How many runs of `agent` are in flight (roots and children).
    func inFlightCount(agent: String) async throws -> Int
    /// The tree's events after `seq` in batches: those logged so far, then the new ones as
    /// they come, ending after the tree's last event.
    func eventBatches(ofTree root: RunID, after seq: Int) -> EventBatchFeed
    /// At most `limit` of the events the tree has logged after `seq`, in order, without
    /// waiting for more.
    func loggedEvents(ofTree root: RunID, after seq: Int, limit: Int) async throws -> [ProgressEvent]
    /// The highest `seq` the tree has logged (0 for none).
    func lastSeq(ofTree root: RunID) async throws -> Int
    /// The `run.finished` event of run `id` in the tree rooted at `root`, once logged.
    func finishedEvent(of id: RunID, inTree root: RunID) async throws -> ProgressEvent?
    /// Waits until run `id` is terminal and returns its final record.
    /// - Throws: `CancellationError` if the waiting task is cancelled first; an error of the
    ///   implementation's for an unknown id.
    func waitUntilFinished(_ id: RunID) async throws -> RunRecord
    /// The root run that resumed run `id` whole, if one did (``RunStore/resumption(of:)``).
    func resumption(of id: RunID) async throws -> RunRecord?
    /// The LLM calls in flight in the tree, with what they have streamed so far; empty when
    /// none is, or when the tree runs on another instance (answers in flight are never
    /// stored).
    func answersInFlight(ofTree root: RunID) -> [AnswerInFlight]
    /// The same as they grow: the first element at once, then one whenever an answer grew,
    /// began or ended, at most one per `interval` (coalesced); ends when the tree's log does.
    func answerUpdates(ofTree root: RunID, every interval: Duration) -> AsyncStream<[AnswerInFlight]>
}

extension RunReadModel {
    /// None: a read model that cannot see calls in flight.
    public func answersInFlight(ofTree root: RunID) -> [AnswerInFlight] { [] }

    public func answerUpdates(ofTree root: RunID, every interval: Duration) -> AsyncStream<[AnswerInFlight]> {
        AsyncStream { $0.finish() }
    }

    /// Every event the tree has logged so far, without waiting for more.
    public func loggedEvents(ofTree root: RunID) async throws -> [ProgressEvent] {
        var events: [ProgressEvent] = []
        while true {
            let page = try await loggedEvents(ofTree: root, after: events.last?.seq ?? 0, limit: 1024)
            events += page
            if page.count < 1024 { return events }
        }
    }

    /// The tree's events after `seq`, one at a time (see ``eventBatches(ofTree:after:)``).
    public func events(ofTree root: RunID, after seq: Int = 0) -> EventFeed {
        EventFeed(eventBatches(ofTree: root, after: seq))
    }
}
