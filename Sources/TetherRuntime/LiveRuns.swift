import Synchronization
import TetherCore

/// The runs this process is executing, by id, and the admission count of root runs: the
/// registry the supervisor admits into, each execution leaves, and the read model looks up
/// first. It also keeps final records the store refused (``unsaved``), so such a run reads
/// as ended.
final class LiveRuns: Sendable {
    let unsaved = UnsavedRecords()

    private struct State {
        var runs: [RunID: RunExecution] = [:]
        var rootsInFlight = 0
        var isAccepting = true
    }
    private let state = Mutex(State())

    /// Admits a new root run, unless the process is shutting down or `maxRoots` are in flight.
    func admit(_ root: RunExecution, maxRoots: Int) throws(SupervisorError) {
        let refusal: SupervisorError? = state.withLock { state in
            guard state.isAccepting else { return .shuttingDown }
            guard state.rootsInFlight < maxRoots else { return .tooManyRuns(limit: maxRoots) }
            state.rootsInFlight += 1
            state.runs[root.id] = root
            return nil
        }
        if let refusal { throw refusal }
    }

    /// Adds a child run (it counts under its root's admission).
    func add(child: RunExecution) {
        state.withLock { $0.runs[child.id] = child }
    }

    /// Lets go of an ended run; `unsaved` is its final record if the store refused it.
    func remove(_ run: RunExecution, unsaved record: RunRecord?) {
        // Kept before the run leaves, so that it never reads as its stale stored state.
        if let record, let dropped = unsaved.keep(record) {
            run.environment.logger.warning(
                "too many final records the store refused are held; the oldest is dropped",
                metadata: ["run": "\(dropped)"]
            )
        }
        _ = state.withLock { $0.runs.removeValue(forKey: run.id) }
    }

    /// Frees a root run's admission slot: once it has ended and its work has unwound (a
    /// force-stopped run whose code ignores cancellation keeps its slot until it does).
    func releaseSlot() {
        state.withLock { $0.rootsInFlight -= 1 }
    }

    /// Refuses new root runs from now on; returns the roots in flight.
    func refuseNewRuns() -> [RunExecution] {
        state.withLock { state in
            state.isAccepting = false
            return state.runs.values.filter(\.isRoot)
        }
    }

    subscript(id: RunID) -> RunExecution? {
        state.withLock { $0.runs[id] }
    }

    func unsavedRecord(_ id: RunID) -> RunRecord? {
        unsaved[id]
    }

    /// Every run in flight.
    var all: [RunExecution] { state.withLock { Array($0.runs.values) } }

    /// Root runs in flight.
    var roots: [RunExecution] { state.withLock { $0.runs.values.filter(\.isRoot) } }

    var rootsInFlight: Int { state.withLock { $0.rootsInFlight } }

    /// `root` and every live run below it, parents before children.
    func subtree(of root: RunExecution) -> [RunExecution] {
        var result = [root]
        var index = 0
        while index < result.count {
            result.append(contentsOf: result[index].children.compactMap { self[$0] })
            index += 1
        }
        return result
    }

    /// The ids of the live runs above `run`.
    func ancestors(of run: RunExecution) -> [RunID] {
        var result: [RunID] = []
        var current = run.parentID
        while let id = current {
            result.append(id)
            current = self[id]?.parentID
        }
        return result
    }
}
