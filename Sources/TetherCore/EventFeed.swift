/// A run tree's events in batches, replayed then live, whatever reads them (one process's
/// live logs, or a shared database): the sequence a ``RunReadModel`` hands out. A batch is
/// every event ready when it was asked for (up to a page), so a reader that lags catches up
/// in a few large steps rather than one await per event. Iteration ends after the tree's
/// last event, or early and without error when the iterating task is cancelled. Batches are
/// never empty.
public struct EventBatchFeed: AsyncSequence, Sendable {
    public typealias Element = [EncodedEvent]

    private let makeIterator: @Sendable () -> Iterator

    /// Wraps a concrete sequence of batches.
    public init<Base: AsyncSequence & Sendable>(_ base: Base) where Base.Element == [EncodedEvent] {
        makeIterator = { Iterator(base.makeAsyncIterator()) }
    }

    public func makeAsyncIterator() -> Iterator { makeIterator() }

    public struct Iterator: AsyncIteratorProtocol {
        private let advance: () async throws -> [EncodedEvent]?

        init<Base: AsyncIteratorProtocol>(_ base: Base) where Base.Element == [EncodedEvent] {
            let box = IteratorBox(base)
            advance = { try await box.next() }
        }

        public mutating func next() async throws -> [EncodedEvent]? {
            try await advance()
        }
    }
}

/// A run tree's events one at a time (``EventBatchFeed``, flattened).
public struct EventFeed: AsyncSequence, Sendable {
    public typealias Element = ProgressEvent

    let batches: EventBatchFeed

    public init(_ batches: EventBatchFeed) {
        self.batches = batches
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(batches: batches.makeAsyncIterator())
    }

    public struct Iterator: AsyncIteratorProtocol {
        var batches: EventBatchFeed.Iterator
        var batch: [EncodedEvent] = []
        var index = 0

        public mutating func next() async throws -> ProgressEvent? {
            while index == batch.count {
                guard let next = try await batches.next() else { return nil }
                (batch, index) = (next, 0)
            }
            defer { index += 1 }
            return batch[index].event
        }
    }
}

/// Holds a mutable iterator for ``EventBatchFeed/Iterator``, which is used by one task at a
/// time.
private final class IteratorBox<Base: AsyncIteratorProtocol> where Base.Element == [EncodedEvent] {
    var base: Base

    init(_ base: Base) {
        self.base = base
    }

    func next() async throws -> [EncodedEvent]? {
        try await base.next()
    }
}
