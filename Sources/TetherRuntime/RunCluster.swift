import TetherCore

/// What a supervisor shares with the other instances on one database (DESIGN §7); a single
/// process has none.
///
/// Each instance executes the runs it accepted. Any instance reads any run from the shared
/// store; what crosses instances besides is a stop (written durably, then signalled to the
/// executing instance) and word that a tree has new events.
public protocol RunCluster: Sendable {
    /// This instance's id (`TETHER_INSTANCE_ID`), recorded in every run it executes.
    var instanceID: String { get }
    /// Records a stop of run `id`, executed by instance `executor`, where that instance reads
    /// it (the source of truth), then signals it. The executor stops the run and its subtree.
    func requestStop(of id: RunID, executedBy executor: String, force: Bool) async throws
    /// Returns when tree `root` may have events after `seq` that another instance committed:
    /// on its signal, or after a short period at most, since a signal can be lost.
    func waitForEvents(ofTree root: RunID, after seq: Int) async
    /// What the LLM calls in flight of tree `root`, which another instance executes, have
    /// streamed: snapshots while the caller iterates (it watches the tree meanwhile).
    func answerUpdates(ofTree root: RunID, every interval: Duration) -> AsyncStream<[AnswerInFlight]>
    /// The same, now, for a tree being watched (empty otherwise).
    func answersInFlight(ofTree root: RunID) -> [AnswerInFlight]
}

extension RunCluster {
    public func answerUpdates(ofTree root: RunID, every interval: Duration) -> AsyncStream<[AnswerInFlight]> {
        AsyncStream { $0.finish() }
    }

    public func answersInFlight(ofTree root: RunID) -> [AnswerInFlight] { [] }
}
