/// A run tree's events, replayed then live, whatever reads them (one process's live logs, or
/// a shared database): the sequence a ``RunReadModel`` hands out. Iteration ends after the
/// tree's last event, or early and without error when the iterating task is cancelled.
public struct EventFeed: AsyncSequence, Sendable {
    public typealias Element = ProgressEvent

    private let makeIterator: @Sendable () -> Iterator

    /// Wraps a concrete sequence of events.
    public init<Base: AsyncSequence & Sendable>(_ base: Base) where Base.Element == ProgressEvent {
        makeIterator = { Iterator(base.makeAsyncIterator()) }
    }

    public func makeAsyncIterator() -> Iterator { makeIterator() }

    public struct Iterator: AsyncIteratorProtocol {
        private let advance: () async throws -> ProgressEvent?

        init<Base: AsyncIteratorProtocol>(_ base: Base) where Base.Element == ProgressEvent {
            let box = IteratorBox(base)
            advance = { try await box.next() }
        }

        public mutating func next() async throws -> ProgressEvent? {
            try await advance()
        }
    }
}

/// Holds a mutable iterator for ``EventFeed/Iterator``, which is used by one task at a time.
private final class IteratorBox<Base: AsyncIteratorProtocol> where Base.Element == ProgressEvent {
    var base: Base

    init(_ base: Base) {
        self.base = base
    }

    func next() async throws -> ProgressEvent? {
        try await base.next()
    }
}
