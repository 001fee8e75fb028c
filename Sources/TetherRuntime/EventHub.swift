import Synchronization
import TetherCore

/// The logs of the run trees in flight, and subscriptions to any tree's events: replay,
/// then live, then the end once the tree has finished.
public final class EventHub: Sendable {
    private let store: any RunStore
    private let windowSize: Int
    /// Where trees that other instances execute get their word of new events.
    let cluster: (any RunCluster)?
    private let logs = Mutex<[RunID: EventLog]>([:])

    /// - Parameters:
    ///   - windowSize: how many of its latest events each live tree keeps in memory
    ///     (``EventLog/windowSize``).
    ///   - cluster: the other instances on the database, whose trees are followed in the store.
    public init(store: any RunStore, windowSize: Int = EventLog.defaultWindowSize, cluster: (any RunCluster)? = nil) {
        self.store = store
        self.windowSize = windowSize
        self.cluster = cluster
    }

    /// Opens the log of a new tree.
    package func open(root: RunID) -> EventLog {
        let log = EventLog(rootID: root, store: store, windowSize: windowSize)
        logs.withLock { $0[root] = log }
        return log
    }

    /// Forgets a finished tree's log (after ``EventLog/close()``); its events stay in the store.
    package func retire(root: RunID) {
        _ = logs.withLock { $0.removeValue(forKey: root) }
    }

    /// The live log of a tree, if it is in flight.
    public func log(of root: RunID) -> EventLog? {
        logs.withLock { $0[root] }
    }

    /// The events of the tree rooted at `root` with `seq` greater than `seq`, in batches:
    /// first those already logged, then the new ones as they are published, ending after the
    /// tree's last event. Ends at once for a tree unknown to the store. A tree that another
    /// instance executes is followed in the store as that instance commits its events. Each event comes
    /// exactly once, in order, however many subscribers there are and whenever they attach.
    public func eventBatches(ofTree root: RunID, after seq: Int = 0) -> EventSubscription {
        EventSubscription(root: root, after: seq, hub: self, store: store)
    }

    /// The same events one at a time.
    public func events(ofTree root: RunID, after seq: Int = 0) -> EventFeed {
        EventFeed(EventBatchFeed(eventBatches(ofTree: root, after: seq)))
    }
}

/// The events of one run tree in batches, replayed then live (see
/// ``EventHub/eventBatches(ofTree:after:)``). While the tree is live a batch is what its log's
/// window holds after the cursor (up to a page); behind the window, and once the tree has
/// ended, pages come from the store. Iteration ends early, without error, when the iterating
/// task is cancelled.
public struct EventSubscription: AsyncSequence, Sendable {
    public typealias Element = [EncodedEvent]

    let root: RunID
    let after: Int
    let hub: EventHub
    let store: any RunStore

    public func makeAsyncIterator() -> Iterator {
        Iterator(subscription: self, cursor: after)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let subscription: EventSubscription
        var cursor: Int
        /// Looked up on the first call, so that a log retired meanwhile is read from the store.
        var log: EventLog??

        static let pageSize = 1_024

        public mutating func next() async throws -> [EncodedEvent]? {
            while !Task.isCancelled {
                if log == nil { log = .some(subscription.hub.log(of: subscription.root)) }
                if let live = log! {
                    switch live.read(after: cursor, limit: Self.pageSize) {
                    case .events(let batch):
                        cursor = batch.last!.seq
                        return batch
                    case .evicted:
                        return try await storedPage()
                    case .waiting:
                        await live.waitForPublished(atLeast: cursor + 1)
                    case .ended:
                        return nil
                    }
                } else {
                    return try await storedPage()
                }
            }
            return nil
        }

        /// The next page from the store, or `nil` after the tree's last event. While another
        /// instance executes the tree, an empty page waits for its word of new events: the
        /// tree's end is its root's final record, whose `run.finished` is stored before it.
        private mutating func storedPage() async throws -> [EncodedEvent]? {
            let store = subscription.store
            let root = subscription.root
            while !Task.isCancelled {
                if let page = try await nextStoredPage() { return page }
                guard let cluster = subscription.hub.cluster, try await store.run(root)?.status.isInFlight == true else {
                    // Ended: what was committed before the final record was read.
                    return try await nextStoredPage()
                }
                await cluster.waitForEvents(ofTree: root, after: cursor)
            }
            return nil
        }

        private mutating func nextStoredPage() async throws -> [EncodedEvent]? {
            let page = try await subscription.store.events(inTree: subscription.root, after: cursor, limit: Self.pageSize)
            guard let last = page.last else { return nil }
            cursor = last.seq
            return page.map(EncodedEvent.init)
        }
    }
}
