import Synchronization
import TetherCore

/// Final records the store refused (a full disk, a read-only file), kept so that such runs
/// still read as ended everywhere — lists, trees, pages, streams, the stop route — until the
/// store takes them. Bounded: past ``limit`` the oldest is dropped with a log line (a
/// restart then shows that run `interrupted`, its last stored state being in flight).
final class UnsavedRecords: Sendable {
    let limit: Int
    private struct State {
        var records: [RunID: RunRecord] = [:]
        /// Oldest first.
        var order: [RunID] = []
    }
    private let state = Mutex(State())

    init(limit: Int = 10_000) {
        self.limit = limit
    }

    /// Keeps `record`; returns the id of the record dropped to make room, if any.
    @discardableResult
    func keep(_ record: RunRecord) -> RunID? {
        state.withLock { state in
            if state.records.updateValue(record, forKey: record.id) == nil { state.order.append(record.id) }
            guard state.order.count > limit else { return nil }
            let dropped = state.order.removeFirst()
            state.records[dropped] = nil
            return dropped
        }
    }

    subscript(id: RunID) -> RunRecord? {
        state.withLock { $0.records[id] }
    }

    /// Every record kept, oldest first.
    var all: [RunRecord] {
        state.withLock { state in state.order.compactMap { state.records[$0] } }
    }

    var isEmpty: Bool { state.withLock { $0.order.isEmpty } }

    /// Forgets a record the store has taken.
    func forget(_ id: RunID) {
        state.withLock { state in
            guard state.records.removeValue(forKey: id) != nil else { return }
            state.order.removeAll { $0 == id }
        }
    }

    /// Writes the kept records again, oldest first, forgetting each the store takes; stops at
    /// the first it refuses (the store is still failing).
    func retry(into store: any RunStore) async {
        for record in all {
            do {
                try await store.updateRun(record)
                forget(record.id)
            } catch {
                return
            }
        }
    }
}
