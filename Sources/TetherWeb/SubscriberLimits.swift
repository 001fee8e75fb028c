import Synchronization
import TetherCore

/// How many event streams may be open at once, per run tree and in all
/// (`TETHER_MAX_SUBSCRIBERS_PER_RUN`, `TETHER_MAX_SUBSCRIBERS`); one more is
/// `429 too_many_subscribers`. A stream holds a ``Slot`` for as long as its response lives.
final class SubscriberLimits: Sendable {
    let perRun: Int
    let total: Int
    private struct State {
        var total = 0
        var byRoot: [RunID: Int] = [:]
    }
    private let state = Mutex(State())

    init(perRun: Int, total: Int) {
        self.perRun = perRun
        self.total = total
    }

    /// A stream's place under the limits, given back when the stream's response is gone
    /// (whether or not its body ever ran).
    final class Slot: Sendable {
        private let release: @Sendable () -> Void
        init(release: @escaping @Sendable () -> Void) { self.release = release }
        deinit { release() }
    }

    /// Takes a place for a stream of the tree rooted at `root`.
    /// - Throws: `429 too_many_subscribers` past either limit.
    func admit(root: RunID) throws -> Slot {
        let refusal: String? = state.withLock { state in
            if state.total >= total { return "\(total) event streams are open on this server (TETHER_MAX_SUBSCRIBERS)" }
            if state.byRoot[root, default: 0] >= perRun {
                return "\(perRun) event streams are open on this run (TETHER_MAX_SUBSCRIBERS_PER_RUN)"
            }
            state.total += 1
            state.byRoot[root, default: 0] += 1
            return nil
        }
        if let refusal { throw APIError(.tooManySubscribers, refusal + "; try again when one closes") }
        return Slot { [weak self] in
            self?.state.withLock { state in
                state.total -= 1
                state.byRoot[root, default: 1] -= 1
                if state.byRoot[root] == 0 { state.byRoot[root] = nil }
            }
        }
    }

    var open: Int { state.withLock { $0.total } }
}
