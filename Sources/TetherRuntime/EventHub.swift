import Synchronization
import TetherCore

/// The logs of the run trees in flight, and subscriptions to any tree's events: replay,
/// then live, then the end once the tree has finished.
public final class EventHub: Sendable {
    private let store: any RunStore
    private let logs = Mutex<[RunID: EventLog]>([:])

    public init(store: any RunStore) {
        self.store = store
    }

    /// Opens the log of a new tree.
    package func open(root: RunID) -> EventLog {
        let log = EventLog(rootID: root, store: store)
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

    /// The events of the tree rooted at `root` with `seq` greater than `seq`: first those
    /// already logged, then each new one as it is published, ending after the tree's last
    /// event. Ends at once for a tree unknown to the store. Each event comes exactly once,
    /// in order, however many subscribers there are and whenever they attach.
    public func events(ofTree root: RunID, after seq: Int = 0) -> EventSubscription {
        EventSubscription(root: root, after: seq, hub: self, store: store)
    }
}

/// The events of one run tree, replayed then live (see ``EventHub/events(ofTree:after:)``).
/// Iteration ends early, without error, when the iterating task is cancelled.
public struct EventSubscription: AsyncSequence, Sendable {
    public typealias Element = ProgressEvent

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
        var buffer: [ProgressEvent] = []
        var bufferIndex = 0
        /// Looked up on the first call, so that a log retired meanwhile is read from the store.
        var source: Source?

        enum Source {
            case live(EventLog)
            case stored
        }

        static let pageSize = 256

        public mutating func next() async throws -> ProgressEvent? {
            while true {
                if bufferIndex < buffer.count {
                    defer { bufferIndex += 1 }
                    cursor = buffer[bufferIndex].seq
                    return buffer[bufferIndex]
                }
                if Task.isCancelled { return nil }
                if source == nil {
                    source = subscription.hub.log(of: subscription.root).map(Source.live) ?? .stored
                }
                switch source! {
                case .live(let log):
                    let read = log.read(after: cursor, limit: Self.pageSize)
                    if !read.events.isEmpty {
                        buffer = read.events
                        bufferIndex = 0
                    } else if read.isEnded {
                        return nil
                    } else {
                        await log.waitForPublished(atLeast: cursor + 1)
                    }
                case .stored:
                    let page = try await subscription.store.events(
                        inTree: subscription.root,
                        after: cursor,
                        limit: Self.pageSize
                    )
                    if page.isEmpty { return nil }
                    buffer = page
                    bufferIndex = 0
                }
            }
        }
    }
}
