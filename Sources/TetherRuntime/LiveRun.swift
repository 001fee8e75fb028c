import Foundation
import Synchronization
import TetherCore

/// A run in flight: its record (the truth while it runs), its token, and the signals the
/// supervisor uses to force or await it. Owned by the ``RunSupervisor``.
final class LiveRun: Sendable {
    let id: RunID
    let descriptor: AgentDescriptor
    let token: CancelToken
    let log: EventLog
    /// Opened by a force stop: the run's work is cancelled.
    let forceSignal = Latch()
    /// Opened once the final record and `run.finished` are written.
    let finished = Latch()
    /// Orders this run's record writes.
    let recordWrites = SerialQueue()

    private struct State {
        var record: RunRecord
        var children: [RunID] = []
        var stopBoundary: Boundary?
        var toolsClosed = false
    }
    private let state: Mutex<State>

    init(record: RunRecord, descriptor: AgentDescriptor, token: CancelToken, log: EventLog) {
        self.id = record.id
        self.descriptor = descriptor
        self.token = token
        self.log = log
        self.state = Mutex(State(record: record))
    }

    var record: RunRecord { state.withLock { $0.record } }
    var parentID: RunID? { state.withLock { $0.record.parentRunID } }
    var rootID: RunID { state.withLock { $0.record.rootRunID } }
    var depth: Int { state.withLock { $0.record.depth } }
    var isRoot: Bool { parentID == nil }
    var isTerminal: Bool { state.withLock { $0.record.status.isTerminal } }
    var children: [RunID] { state.withLock { $0.children } }

    func addChild(_ id: RunID) {
        state.withLock { $0.children.append(id) }
    }

    /// Changes the record under the lock and returns what `change` returned.
    func update<T>(_ change: (inout RunRecord) -> T) -> T {
        state.withLock { change(&$0.record) }
    }

    /// Feeds the status state machine and keeps the record in step with it.
    func transition<T>(_ input: (inout RunLifecycle) -> T, also: (inout RunRecord, T) -> Void = { _, _ in }) -> T {
        update { record in
            var lifecycle = record.lifecycle
            let action = input(&lifecycle)
            record.status = lifecycle.status
            record.stopRequestedAt = lifecycle.stopRequestedAt
            record.forced = lifecycle.forced
            also(&record, action)
            return action
        }
    }

    var stopBoundary: Boundary? { state.withLock { $0.stopBoundary } }

    /// Keeps the first boundary that threw ``AgentStopped``.
    func noteStop(at boundary: Boundary) {
        state.withLock { state in
            if state.stopBoundary == nil { state.stopBoundary = boundary }
        }
    }

    var isToolsClosed: Bool { state.withLock { $0.toolsClosed } }

    func closeTools() {
        state.withLock { $0.toolsClosed = true }
    }
}
