import Foundation
import Synchronization
import TetherCore

/// The ordered, gap-free event log of one live run tree (DESIGN §3).
///
/// ``append(_:)`` numbers an event under a lock and returns at once; a flusher writes what
/// is pending to the ``RunStore`` in batches (everything appended while the previous write
/// was in progress goes in the next one), so a tree that emits fast does not wait on the
/// disk once per event. An event becomes visible to subscribers only once it is durable, so
/// nothing a client saw can be lost by a crash. ``flush()`` waits for durability.
///
/// A failed write is final for the tree: nothing more is published, and every later append
/// throws it, so the run that emits next fails with the reason instead of going on unlogged.
///
/// Each event is encoded once, before it is written, and subscribers share those bytes.
/// They read a window of the latest durable events at their own cursor: there is no buffer
/// per subscriber, a slow one only lags, and it never holds up the run or the others. The
/// window is bounded (``windowSize`` to twice that), so a tree that logs without end holds
/// a bounded number of events in memory; a reader behind the window reads the store, which
/// holds every event the window ever did.
public final class EventLog: Sendable {
    /// The root run of the tree.
    public let rootID: RunID
    /// How many of the latest events the window keeps at least.
    public let windowSize: Int
    private let store: any RunStore
    private let now: @Sendable () -> Date

    /// What the tree's LLM calls in flight have streamed so far (never stored).
    public let answersInFlight = AnswersInFlight()

    /// How many events a tree keeps in memory by default (at least; at most twice).
    public static let defaultWindowSize = 4_096

    private struct State {
        /// The latest durable events: `window[i].seq == evicted + i + 1`.
        var window: [EncodedEvent] = []
        /// How many durable events left the window (the store still has them).
        var evicted = 0
        var pending: [ProgressEvent] = []
        var nextSeq = 1
        var isFlushing = false
        var isClosed = false
        var failure: (any Error)?
        /// Subscribers waiting for the published count to reach a `seq`.
        var waiters = WaiterSet<Int>()
        /// Boundaries admitted whose event is still to come (``admit(_:)``).
        var admitted = 0
        var admittedWaiters = WaiterSet<Void>()

        /// Numbers `draft` and queues it; returns the event and whether a flusher must start.
        mutating func enqueue(_ draft: EventDraft, root: RunID, at date: Date) throws -> (ProgressEvent, Bool) {
            if let failure { throw failure }
            guard !isClosed else { throw EventLogError.closed(root) }
            let event = ProgressEvent(
                seq: nextSeq,
                runID: draft.runID,
                at: date,
                kind: draft.kind,
                message: draft.message,
                data: draft.data
            )
            nextSeq += 1
            pending.append(event)
            guard !isFlushing else { return (event, false) }
            isFlushing = true
            return (event, true)
        }

        /// The highest durable `seq`.
        var publishedCount: Int { evicted + window.count }

        /// Publishes durable events, dropping the oldest once the window holds twice `size`.
        mutating func publish(_ batch: [EncodedEvent], keeping size: Int) {
            window.append(contentsOf: batch)
            guard window.count >= 2 * size else { return }
            let dropped = window.count - size
            window.removeFirst(dropped)
            evicted += dropped
        }
    }
    private let state = Mutex(State())

    init(
        rootID: RunID,
        store: any RunStore,
        windowSize: Int = EventLog.defaultWindowSize,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        precondition(windowSize > 0, "an event window holds at least one event")
        self.rootID = rootID
        self.windowSize = windowSize
        self.store = store
        self.now = now
    }

    /// Numbers `draft` and queues it for writing; returns the numbered event.
    /// - Throws: ``EventLogError/closed(_:)`` after ``close()``, or the error of an earlier
    ///   write that failed.
    @discardableResult
    public func append(_ draft: EventDraft) throws -> ProgressEvent {
        try append { draft }
    }

    /// Runs `check` and appends the event it returns as one step: no other append, and no
    /// ``exclusively(_:)`` section, comes in between. A boundary's entry check and its first
    /// event go through here, so a stop being recorded either follows the event or makes the
    /// check throw — never a boundary event after the stop (DESIGN §1).
    /// - Throws: what `check` throws (nothing is appended), or the log's error.
    @discardableResult
    public func append(after check: () throws -> EventDraft) throws -> ProgressEvent {
        let (event, startsFlusher) = try state.withLock { state in
            try state.enqueue(try check(), root: rootID, at: now())
        }
        if startsFlusher { Task { await self.drain() } }
        return event
    }

    /// Admits a boundary whose event comes after its work (a store operation): runs `check`
    /// as one step with the admission, like ``append(after:)``; the boundary then owes the log
    /// ``finishAdmitted(_:)``.
    public func admit(_ check: () throws -> Void) throws {
        try state.withLock { state in
            if let failure = state.failure { throw failure }
            try check()
            state.admitted += 1
        }
    }

    /// Appends the event of an admitted boundary (`nil` if its work failed) and ends its
    /// admission.
    @discardableResult
    public func finishAdmitted(_ draft: EventDraft?) throws -> ProgressEvent? {
        let (event, startsFlusher, woken) = state.withLock { state in
            state.admitted -= 1
            let woken = state.admitted == 0 ? state.admittedWaiters.takeAll() : []
            guard let draft else { return (Result<ProgressEvent, any Error>?.none, false, woken) }
            do {
                let (event, starts) = try state.enqueue(draft, root: rootID, at: now())
                return (.success(event), starts, woken)
            } catch {
                return (.failure(error), false, woken)
            }
        }
        for waiter in woken { waiter.wake() }
        if startsFlusher { Task { await self.drain() } }
        return try event?.get()
    }

    /// Runs `body` as one step with respect to every append and admission (see
    /// ``append(after:)``); `body` must not use the log.
    public func exclusively<T>(_ body: () throws -> T) rethrows -> T {
        try state.withLock { _ in try body() }
    }

    /// Returns once no admitted boundary is still to log its event (or when cancelled).
    public func waitForAdmitted() async {
        await WaiterSet<Void>.suspend { waiter in
            state.withLock { state in
                state.admitted == 0 ? nil : state.admittedWaiters.add(waiter, waitingFor: ())
            }
        } unregister: { id in
            state.withLock { $0.admittedWaiters.remove(id) }
        }
    }

    /// Waits until every event appended so far is durable and published.
    /// - Throws: the write error, if a write failed.
    public func flush() async throws {
        let target = state.withLock { $0.nextSeq - 1 }
        await waitForPublished(atLeast: target)
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// Encodes and writes pending events in batches until none is left.
    private func drain() async {
        while true {
            let batch = state.withLock { state -> [ProgressEvent]? in
                guard !state.pending.isEmpty, state.failure == nil else {
                    state.isFlushing = false
                    return nil
                }
                defer { state.pending = [] }
                return state.pending
            }
            guard let batch else { return }
            let encoded = batch.map(EncodedEvent.init)
            do {
                try await store.appendEvents(batch, tree: rootID)
            } catch {
                let woken = state.withLock { state in
                    state.failure = error
                    state.pending = batch + state.pending
                    state.isFlushing = false
                    return state.waiters.takeAll()
                }
                for waiter in woken { waiter.wake() }
                return
            }
            let woken = state.withLock { state in
                state.publish(encoded, keeping: windowSize)
                let count = state.publishedCount
                return state.waiters.take { $0 <= count }
            }
            for waiter in woken { waiter.wake() }
        }
    }

    /// Ends the log once everything appended is durable: no more appends, and subscribers
    /// end after the last event.
    public func close() async {
        try? await flush()
        let woken = state.withLock { state in
            state.isClosed = true
            return state.waiters.takeAll()
        }
        for waiter in woken { waiter.wake() }
        answersInFlight.close()
    }

    /// The highest published `seq` (0 when empty).
    public var lastSeq: Int { state.withLock { $0.publishedCount } }

    /// How many events the log holds in memory now (at most twice ``windowSize``).
    package var windowCount: Int { state.withLock { $0.window.count } }

    /// What ``read(after:limit:)`` found.
    enum Read {
        /// Published events after the cursor, in order (never empty).
        case events([EncodedEvent])
        /// The events after the cursor left the window: read them from the store.
        case evicted
        /// Nothing after the cursor yet (``waitForPublished(atLeast:)``).
        case waiting
        /// The log has ended with no event after the cursor (closed, or failed).
        case ended
    }

    /// Published events after `seq`, at most `limit`.
    func read(after seq: Int, limit: Int) -> Read {
        state.withLock { state in
            let start = max(0, seq)
            guard start >= state.evicted else { return .evicted }
            guard start < state.publishedCount else {
                return state.isClosed || state.failure != nil ? .ended : .waiting
            }
            let first = start - state.evicted
            let end = min(state.window.count, first + limit)
            return .events(Array(state.window[first..<end]))
        }
    }

    /// The `run.finished` event of run `id`, if it is in the window.
    func finishedEvent(of id: RunID) -> ProgressEvent? {
        state.withLock { state in
            state.window.last { $0.event.kind == .runFinished && $0.event.runID == id }?.event
        }
    }

    /// Returns once an event with `seq >= n` is published, the log ends, or the calling
    /// task is cancelled.
    func waitForPublished(atLeast n: Int) async {
        await WaiterSet<Int>.suspend { waiter in
            state.withLock { state in
                guard state.publishedCount < n, !state.isClosed, state.failure == nil else { return nil }
                return state.waiters.add(waiter, waitingFor: n)
            }
        } unregister: { id in
            state.withLock { $0.waiters.remove(id) }
        }
    }
}

/// Errors of an ``EventLog``.
public enum EventLogError: Error, Sendable, CustomStringConvertible {
    /// The tree has ended; its log takes no more events.
    case closed(RunID)

    public var description: String {
        switch self {
        case .closed(let root): "the event log of run tree \(root) is closed"
        }
    }
}

/// The store refused a run's event: the run fails with this reason (an event is never
/// dropped silently).
public struct EventWriteFailed: Error, Sendable, CustomStringConvertible {
    public var reason: String

    public var description: String { "the progress log could not be written: \(reason)" }
}
